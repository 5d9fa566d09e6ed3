package schema

import "slices"

// TableDoc says what a table of the database holds. Tables lists every table
// the migrations create; `analytics audit` reports any table or column that
// is missing here, so new storage cannot arrive undocumented. /privacy.json
// publishes the list.
type TableDoc struct {
	Name    string      `json:"name"`
	Meaning string      `json:"meaning"`
	Columns []ColumnDoc `json:"columns"`
}

// ColumnDoc says what a column holds.
type ColumnDoc struct {
	Name    string `json:"name"`
	Meaning string `json:"meaning"`
	// Binary columns hold bytes that are not text (sketches); the audit
	// does not scan them for client data.
	Binary bool `json:"-"`
}

// Tables documents every table and column of the database.
// dayCounters are the counter columns of a daily row (stats_daily and its
// copy stats_daily_top).
var dayCounters = []ColumnDoc{
	{Name: "pageviews", Meaning: "pageview count"},
	{Name: "events", Meaning: "event count"},
	{Name: "visits", Meaning: "visits started in the day"},
	{Name: "bounces", Meaning: "visits with at most one interactive event"},
	{Name: "duration", Meaning: "total visit duration in seconds"},
	{Name: "engagements", Meaning: "pageviews with scroll or time data"},
	{Name: "scroll_sum", Meaning: "sum of maximum scroll depths in percent"},
	{Name: "engaged_ms", Meaning: "sum of engaged time in milliseconds"},
	{Name: "visitors", Meaning: "estimated unique visitors of the day (the estimate of sketch)"},
}

var Tables = []TableDoc{
	{
		Name:    "schema_migrations",
		Meaning: "the migrations applied to this database",
		Columns: []ColumnDoc{
			{Name: "version", Meaning: "migration number"},
			{Name: "name", Meaning: "migration file name"},
			{Name: "applied_at", Meaning: "when it was applied"},
		},
	},
	{
		Name:    "stats_hourly",
		Meaning: "aggregate counters and visitor sketches per site, UTC hour, dimension and value; partitioned by month",
		Columns: []ColumnDoc{
			{Name: "site", Meaning: "configured site domain"},
			{Name: "hour", Meaning: "UTC hour the counts belong to"},
			{Name: "dimension", Meaning: "Stats API dimension name ('' for site totals), e.g. event:page, visit:country"},
			{Name: "goal", Meaning: "custom event name for event:props:* rows, else ''"},
			{Name: "value", Meaning: "coarsened dimension value: templated path, referrer host, country code, browser family, ... or (other)"},
			{Name: "writer", Meaning: "random id of the collector process that wrote the row"},
			{Name: "ver", Meaning: "version of the row; the highest replaces the others"},
			{Name: "pageviews", Meaning: "pageview count"},
			{Name: "events", Meaning: "event count"},
			{Name: "visits", Meaning: "visits started in the hour"},
			{Name: "bounces", Meaning: "visits with at most one interactive event"},
			{Name: "duration", Meaning: "total visit duration in seconds"},
			{Name: "engagements", Meaning: "pageviews with scroll or time data"},
			{Name: "scroll_sum", Meaning: "sum of maximum scroll depths in percent"},
			{Name: "engaged_ms", Meaning: "sum of engaged time in milliseconds"},
			{Name: "sketch", Meaning: "HyperLogLog sketch of the day's salted visitor keys; useless without the salt, which is destroyed after its day", Binary: true},
		},
	},
	{
		Name:    "vitals_hourly",
		Meaning: "web vitals histograms (LCP, INP, CLS, FCP, TTFB) per site, UTC hour, metric and breakdown (total, page, browser family, device class); partitioned by month",
		Columns: []ColumnDoc{
			{Name: "site", Meaning: "configured site domain"},
			{Name: "hour", Meaning: "UTC hour the samples belong to"},
			{Name: "metric", Meaning: "lcp, inp, cls, fcp or ttfb"},
			{Name: "dimension", Meaning: "vitals (site totals), vitals:page, vitals:browser or vitals:device"},
			{Name: "value", Meaning: "templated page path, browser family or device class ('' for totals), or (other)"},
			{Name: "writer", Meaning: "random id of the collector process that wrote the row"},
			{Name: "ver", Meaning: "version of the row; the highest replaces the others"},
			{Name: "samples", Meaning: "number of values measured"},
			{Name: "good", Meaning: "values within web.dev's good threshold"},
			{Name: "poor", Meaning: "values beyond web.dev's poor threshold"},
			{Name: "buckets", Meaning: "indexes of the non-empty buckets of the fixed log-scale histogram"},
			{Name: "counts", Meaning: "values counted in each of those buckets"},
		},
	},
	{
		Name:    "stats_daily",
		Meaning: "daily rollup of stats_hourly (schema/rollup): the same counters and merged visitor sketches per site, UTC day, dimension and value, for the dashboard's whole days; partitioned by month",
		Columns: slices.Concat([]ColumnDoc{
			{Name: "site", Meaning: "configured site domain"},
			{Name: "day", Meaning: "UTC day the counts belong to"},
			{Name: "dimension", Meaning: "Stats API dimension name ('' for site totals), e.g. event:page, visit:country"},
			{Name: "goal", Meaning: "custom event name for event:props:* rows, else ''"},
			{Name: "value", Meaning: "coarsened dimension value, as in stats_hourly"},
			{Name: "ver", Meaning: "version of the roll that wrote the row (stats_daily_rolls.ver)"},
		}, dayCounters, []ColumnDoc{
			{Name: "sketch", Meaning: "union of the day's hourly HyperLogLog sketches of salted visitor keys; useless without the salt, which is destroyed after its day", Binary: true},
		}),
	},
	{
		Name:    "stats_daily_top",
		Meaning: "the rows of stats_daily that rank long breakdowns (pages, entry and exit pages, regions with at least 5 pageviews, or 5 events and visits, a day), copied by the roll that wrote them, and one marker row per roll (dimension '', zeros); partitioned by month",
		Columns: slices.Concat([]ColumnDoc{
			{Name: "site", Meaning: "configured site domain"},
			{Name: "day", Meaning: "UTC day the counts belong to"},
			{Name: "dimension", Meaning: "event:page, visit:entry_page, visit:exit_page or visit:region; '' for the marker"},
			{Name: "goal", Meaning: "'' (these dimensions have no custom event)"},
			{Name: "value", Meaning: "coarsened dimension value, as in stats_hourly"},
			{Name: "ver", Meaning: "version of the roll that wrote the row (stats_daily_rolls.ver)"},
		}, dayCounters, []ColumnDoc{
			{Name: "sketch", Meaning: "the stats_daily row's sketch: union of the day's hourly HyperLogLog sketches of salted visitor keys; useless without the salt, which is destroyed after its day", Binary: true},
		}),
	},
	{
		Name:    "stats_daily_rolls",
		Meaning: "the days rolled up into stats_daily, one entry per roll of a site's UTC day, with a fingerprint of the hourly rows it read; partitioned by month",
		Columns: []ColumnDoc{
			{Name: "site", Meaning: "configured site domain"},
			{Name: "day", Meaning: "UTC day rolled up"},
			{Name: "ver", Meaning: "version of the roll; the highest is in force"},
			{Name: "source_fingerprint", Meaning: "wrapping sum of the latest ver of every stats_hourly key of the day, to notice late rows"},
			{Name: "source_keys", Meaning: "number of stats_hourly keys of the day"},
			{Name: "daily_rows", Meaning: "rows the roll wrote to stats_daily"},
			{Name: "rolled_at", Meaning: "when the roll was written"},
		},
	},
	{
		Name:    "stats_monthly",
		Meaning: "monthly rollup of stats_daily (schema/rollup): the same counters and merged visitor sketches per site, UTC month, dimension and value, for ranges of whole months; partitioned by month",
		Columns: []ColumnDoc{
			{Name: "site", Meaning: "configured site domain"},
			{Name: "month", Meaning: "first day of the UTC month the counts belong to"},
			{Name: "dimension", Meaning: "Stats API dimension name ('' for site totals), e.g. event:page, visit:country"},
			{Name: "goal", Meaning: "custom event name for event:props:* rows, else ''"},
			{Name: "value", Meaning: "coarsened dimension value, as in stats_hourly"},
			{Name: "ver", Meaning: "version of the roll that wrote the row (stats_monthly_rolls.ver)"},
			{Name: "pageviews", Meaning: "pageview count"},
			{Name: "events", Meaning: "event count"},
			{Name: "visits", Meaning: "visits started in the month"},
			{Name: "bounces", Meaning: "visits with at most one interactive event"},
			{Name: "duration", Meaning: "total visit duration in seconds"},
			{Name: "engagements", Meaning: "pageviews with scroll or time data"},
			{Name: "scroll_sum", Meaning: "sum of maximum scroll depths in percent"},
			{Name: "engaged_ms", Meaning: "sum of engaged time in milliseconds"},
			{Name: "visitors", Meaning: "estimated unique visitors of the month, counted once per day (the estimate of sketch)"},
			{Name: "sketch", Meaning: "union of the month's daily HyperLogLog sketches of salted visitor keys; useless without the salts, which are destroyed after their day", Binary: true},
		},
	},
	{
		Name:    "stats_monthly_rolls",
		Meaning: "the months rolled up into stats_monthly, one entry per roll of a site's UTC month, with the day rolls it read; partitioned by month",
		Columns: []ColumnDoc{
			{Name: "site", Meaning: "configured site domain"},
			{Name: "month", Meaning: "first day of the UTC month rolled up"},
			{Name: "ver", Meaning: "version of the roll; the highest is in force"},
			{Name: "days_fingerprint", Meaning: "wrapping sum of the versions of the day rolls (stats_daily_rolls.ver) it read"},
			{Name: "days", Meaning: "number of day rolls it read"},
			{Name: "monthly_rows", Meaning: "rows the roll wrote to stats_monthly"},
			{Name: "rolled_at", Meaning: "when the roll was written"},
		},
	},
	{
		Name:    "stats_minutely",
		Meaning: "visitor sketches and counts per site and UTC minute, for realtime visitors; partitioned by day, kept two days",
		Columns: []ColumnDoc{
			{Name: "site", Meaning: "configured site domain"},
			{Name: "minute", Meaning: "UTC minute the counts belong to"},
			{Name: "writer", Meaning: "random id of the collector process that wrote the row"},
			{Name: "ver", Meaning: "version of the row; the highest replaces the others"},
			{Name: "pageviews", Meaning: "pageview count"},
			{Name: "events", Meaning: "event count, engagement events included"},
			{Name: "sketch", Meaning: "HyperLogLog sketch of the day's salted visitor keys; useless without the salt, which is destroyed after its day", Binary: true},
		},
	},
	{
		Name:    "drops_minutely",
		Meaning: "requests the collector refused or dropped, per site, UTC minute and reason; partitioned by day, kept 31 days",
		Columns: []ColumnDoc{
			{Name: "site", Meaning: "configured site domain, or (unknown) for unconfigured sites and unreadable requests"},
			{Name: "minute", Meaning: "UTC minute of the drops"},
			{Name: "reason", Meaning: "drop reason: malformed, too_large, unknown_site, host_not_allowed, bot:<class> (crawler, headless, preview, monitor, library, invalid), spam_referrer, consent, engagement_without_visit, rate_limited; folded counts values that the cap on distinct values folded into (other) (the event itself was counted)"},
			{Name: "writer", Meaning: "random id of the collector process that wrote the row"},
			{Name: "ver", Meaning: "version of the row; the highest replaces the others"},
			{Name: "dropped", Meaning: "number of events dropped"},
		},
	},
	{
		Name:    "salts",
		Meaning: "the daily visitor salts shared by the collector nodes (shared mode), sealed with AES-256-GCM under ANALYTICS_SALT_KEY; one partition per day, dropped after the day and its grace period",
		Columns: []ColumnDoc{
			{Name: "day", Meaning: "UTC day of the salt"},
			{Name: "sealed", Meaning: "the day's 16-byte salt, encrypted; useless without ANALYTICS_SALT_KEY", Binary: true},
			{Name: "created", Meaning: "when the salt was created"},
		},
	},
}
