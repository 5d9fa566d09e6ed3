-- The days rolled up into stats_daily, one entry per roll of a (site, UTC
-- day), written after its rows. ver is the roll's version (the ver of its
-- stats_daily rows); the latest entry of a day is the roll in force.
-- source_fingerprint and source_keys describe the stats_hourly rows the roll
-- read: the wrapping sum of the latest ver of every hourly key of the day
-- and the number of keys. A day whose hourly rows no longer match (rows
-- that arrived late, e.g. replayed from a collector's spool) is rolled
-- again. The dashboard reads stats_daily only for the days listed here.
CREATE TABLE IF NOT EXISTS stats_daily_rolls (
    site               {{.LowCardinalityString}},
    day                Date,
    ver                UInt64,
    source_fingerprint UInt64,
    source_keys        UInt64,
    daily_rows         UInt64,
    rolled_at          DateTime('UTC')
) ENGINE = ReplacingMergeTree(ver)
PARTITION BY toYYYYMM(day)
ORDER BY (site, day)
