-- Per-minute visitor sketches and counts per site, for the dashboard's
-- realtime view (visitors in the last minutes). Rows are cumulative per
-- writer like stats_hourly's. One partition per day; retention keeps only
-- the last two days, so this table never holds more than realtime needs.
CREATE TABLE IF NOT EXISTS stats_minutely (
    site      {{.LowCardinalityString}},
    minute    DateTime('UTC'),
    writer    String,
    ver       UInt64,
    pageviews UInt64,
    events    UInt64,
    sketch    String
) ENGINE = ReplacingMergeTree(ver)
PARTITION BY toYYYYMMDD(minute)
ORDER BY (site, minute, writer)
