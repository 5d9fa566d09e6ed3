-- The months rolled up into stats_monthly, one entry per roll of a (site,
-- UTC month), written after its rows. ver is the roll's version (the ver of
-- its stats_monthly rows); days_fingerprint the wrapping sum of the
-- versions of the day rolls it read (stats_daily_rolls.ver), days their
-- number. The latest entry of a month is the roll in force.
CREATE TABLE IF NOT EXISTS stats_monthly_rolls (
    site             {{.LowCardinalityString}},
    month            Date,
    ver              UInt64,
    days_fingerprint UInt64,
    days             UInt64,
    monthly_rows     UInt64,
    rolled_at        DateTime('UTC')
) ENGINE = ReplacingMergeTree(ver)
PARTITION BY toYYYYMM(month)
ORDER BY (site, month)
