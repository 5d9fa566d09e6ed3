-- Daily rollups of stats_hourly, so that the dashboard reads one row per
-- UTC day instead of 24 (see schema/rollup). A row holds the whole UTC day
-- of one (site, dimension, goal, value): the latest version of every hourly
-- key, counters summed over hours and writers, sketches merged (only Go can
-- merge them, so no materialized view: the hourly rows are cumulative and
-- rewritten on every flush anyway). Same meanings as in stats_hourly;
-- visitors is the estimate of the row's sketch, so that a daily series of
-- the site totals needs no sketch at all.
--
-- A day is rolled up whole, as one INSERT, and then recorded in
-- stats_daily_rolls; every roll of a day has its own ver, and readers take
-- exactly the rows whose (day, ver) stats_daily_rolls names (its latest
-- entry), never argMax over rows. A re-roll (late rows of a closed day)
-- writes every key again with a higher ver, so merges fold the old roll away.
CREATE TABLE IF NOT EXISTS stats_daily (
    site        {{.LowCardinalityString}},
    day         Date,
    dimension   {{.LowCardinalityString}},
    goal        String,
    value       String,
    ver         UInt64,
    pageviews   UInt64,
    events      UInt64,
    visits      UInt64,
    bounces     UInt64,
    duration    UInt64,
    engagements UInt64,
    scroll_sum  UInt64,
    engaged_ms  UInt64,
    visitors    UInt64,
    sketch      String
) ENGINE = ReplacingMergeTree(ver)
PARTITION BY toYYYYMM(day)
ORDER BY (site, dimension, goal, day, value)
