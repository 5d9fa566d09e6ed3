-- Web vitals histograms (technical data for ops), per site, UTC hour, metric
-- ('lcp', 'inp', 'cls', 'fcp', 'ttfb') and breakdown: dimension 'vitals' is
-- the site's totals (value ''), 'vitals:page' per templated page path,
-- 'vitals:browser' per browser family, 'vitals:device' per device class.
-- Rows are cumulative per writer with a growing ver, like stats_hourly:
-- readers take argMax(..., ver) per key, then add across writers and hours.
--
-- samples counts the values; good and poor those rated good (<= the good
-- threshold) and poor (> the poor threshold) by web.dev's thresholds; the
-- histogram is sparse: bucket indexes and their counts in the fixed
-- log-scale layout of aggregator/vitals (bucket i >= 1 holds values in
-- [2^((i-1)/8), 2^(i/8)) milliseconds, or thousandths for CLS), so
-- histograms add up bucket by bucket (sumMap) across writers, hours, pages.
-- Nothing here is per visitor: there is no sketch.
CREATE TABLE IF NOT EXISTS vitals_hourly (
    site      {{.LowCardinalityString}},
    hour      DateTime('UTC'),
    metric    {{.LowCardinalityString}},
    dimension {{.LowCardinalityString}},
    value     String,
    writer    String,
    ver       UInt64,
    samples   UInt64,
    good      UInt64,
    poor      UInt64,
    buckets   Array(UInt16),
    counts    Array(UInt64)
) ENGINE = ReplacingMergeTree(ver)
PARTITION BY toYYYYMM(hour)
ORDER BY (site, metric, dimension, hour, value, writer)
