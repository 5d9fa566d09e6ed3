-- Requests the collector refused or dropped, counted per site, UTC minute
-- and reason (malformed, unknown_site, host_not_allowed, bot, spam_referrer,
-- consent, engagement_without_visit, too_large), so that site owners see
-- silent drops. Events of unconfigured sites and requests too broken to
-- name a site count under site '(unknown)'. Cumulative per writer like the
-- other tables; daily partitions, kept 31 days.
CREATE TABLE IF NOT EXISTS drops_minutely (
    site    {{.LowCardinalityString}},
    minute  DateTime('UTC'),
    reason  {{.LowCardinalityString}},
    writer  String,
    ver     UInt64,
    dropped UInt64
) ENGINE = ReplacingMergeTree(ver)
PARTITION BY toYYYYMMDD(minute)
ORDER BY (site, minute, reason, writer)
