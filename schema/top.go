package schema

// The long breakdowns (pages, entry and exit pages, regions) have tens of
// thousands of values a month, nearly all seen a few times a day. The
// dashboard ranks their values by counters before it merges sketches, and
// over a week or more ranks by the daily rows that reach TopMin only (see
// dashboard/query/fast.go); the rollup job copies those rows of every roll
// into stats_daily_top (schema/migrations/0014), a tenth of the rows, which
// the dashboard ranks by instead of stats_daily.

// TopMin is the daily count that puts a stats_daily row of a TopDimension
// into stats_daily_top: its pageviews, or its events and visits together.
// Every ranking order (visitors, bounded by events + visits; pageviews;
// events; visits) of a row left out is below TopMin.
const TopMin = 5

// TopDimension reports whether stats_daily_top holds rows of dim. Custom
// properties are not ranked that way: a value has a row per custom event.
func TopDimension(dim string) bool {
	switch dim {
	case DimPage, DimEntryPage, DimExitPage, DimRegion:
		return true
	}
	return false
}

// TopRow reports whether a stats_daily row goes into stats_daily_top too.
func TopRow(dim string, pageviews, events, visits uint64) bool {
	return TopDimension(dim) && (pageviews >= TopMin || events+visits >= TopMin)
}
