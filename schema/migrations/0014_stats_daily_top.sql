-- The rows of stats_daily that rank the long breakdowns (dashboard/query
-- fast.go): a page list over a month ranks tens of thousands of values by
-- counters, and nearly all of stats_daily's rows for them are the long tail,
-- a few visits a day. For every roll of a day, this table holds that roll's
-- rows (same columns, same ver) of the dimensions schema.TopDimension names
-- whose pageviews, or events and visits together, reach schema.TopMin: about
-- a tenth of them. Readers rank by these rows and read the candidates' rows
-- from here too when every day of a candidate is here (see fast.go).
--
-- The roll writes them after its stats_daily rows, then, in an INSERT of its
-- own, a marker row (dimension '', goal '', value '', zeros), then records
-- the roll in stats_daily_rolls. Readers use this table for a roll only when
-- its marker is here: rolls by older versions of analytics have none.
CREATE TABLE IF NOT EXISTS stats_daily_top (
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
