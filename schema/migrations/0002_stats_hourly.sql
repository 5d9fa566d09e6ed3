-- Hourly aggregates per site, dimension and value, one row set per writer
-- (collector process). Rows are cumulative: every flush rewrites the current
-- totals of a (site, dimension, hour, value, writer) key with a higher ver, so
-- a retried or repeated flush replaces instead of adding. Readers take
-- argMax(..., ver) per key, then sum counters and merge sketches across
-- writers and hours.
--
-- dimension is '' for the site totals, else a Stats API dimension name such as
-- 'event:page' or 'visit:country'. sketch is a HyperLogLog sketch
-- (github.com/axiomhq/hyperloglog binary form) of the day's salted visitor
-- keys: useless without that salt, which never leaves the collector.
CREATE TABLE IF NOT EXISTS stats_hourly (
    site      {{.LowCardinalityString}},
    hour      DateTime('UTC'),
    dimension {{.LowCardinalityString}},
    value     String,
    writer    String,
    ver       UInt64,
    pageviews UInt64,
    events    UInt64,
    sketch    String
) ENGINE = ReplacingMergeTree(ver)
PARTITION BY toYYYYMM(hour)
ORDER BY (site, dimension, hour, value, writer)
