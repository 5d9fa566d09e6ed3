-- Monthly rollups of stats_daily (see schema/rollup), for ranges of many
-- months: one row per site, UTC calendar month, dimension, goal and value,
-- the month's daily rows summed and their sketches merged; visitors is the
-- estimate of the row's sketch. A month is rolled up once it ended and every
-- one of its days is rolled up, and recorded in stats_monthly_rolls with the
-- versions of the day rolls it read: readers use a month only while those
-- are still the days' rolls in force, else its days. Like stats_daily,
-- readers take exactly the rows of the roll in force (ver IN ...).
CREATE TABLE IF NOT EXISTS stats_monthly (
    site        {{.LowCardinalityString}},
    month       Date,
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
PARTITION BY toYYYYMM(month)
ORDER BY (site, dimension, goal, month, value)
