-- Hourly aggregates per site, dimension and value, one row set per writer
-- (collector process). Rows are cumulative: every flush rewrites the current
-- totals of a (site, dimension, goal, hour, value, writer) key with a higher
-- ver, so a retried, repeated or replayed flush replaces instead of adding.
-- Readers take argMax(..., ver) per key, then sum counters and merge
-- sketches across writers and hours.
--
-- dimension is '' for the site totals, else a Stats API dimension name such
-- as 'event:page', 'visit:country' or 'event:props:plan'. goal qualifies
-- 'event:props:*' rows with the custom event name they were sent with ('' for
-- every other dimension). value '(other)' collects the values past the
-- per-bucket cap of distinct values.
--
-- Event metrics count in the hour the event arrived: pageviews, events,
-- engagements (pageviews with scroll/time data), scroll_sum (percent),
-- engaged_ms. Visit metrics count in the hour the visit started, under the
-- visit's entry values (source, country, browser, entry page...): visits,
-- bounces, duration (seconds). Exit pages are counted when the visit ends.
--
-- sketch is a HyperLogLog sketch (github.com/axiomhq/hyperloglog binary form)
-- of the day's salted visitor keys: useless without that salt, which never
-- leaves the collector and is destroyed after its day.
CREATE TABLE IF NOT EXISTS stats_hourly (
    site        {{.LowCardinalityString}},
    hour        DateTime('UTC'),
    dimension   {{.LowCardinalityString}},
    goal        String,
    value       String,
    writer      String,
    ver         UInt64,
    pageviews   UInt64,
    events      UInt64,
    visits      UInt64,
    bounces     UInt64,
    duration    UInt64,
    engagements UInt64,
    scroll_sum  UInt64,
    engaged_ms  UInt64,
    sketch      String
) ENGINE = ReplacingMergeTree(ver)
PARTITION BY toYYYYMM(hour)
ORDER BY (site, dimension, goal, hour, value, writer)
