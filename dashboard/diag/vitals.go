// Package diag reads the technical data for ops from ClickHouse: web vitals
// histograms (vitals_hourly), JavaScript errors (the error:* rows of
// stats_hourly), drops (drops_minutely) and the writers' flush activity.
// Like the rest of the dashboard it sees only aggregates, and it applies the
// site's k-anonymity threshold to every breakdown it returns.
package diag

import (
	"context"
	"fmt"
	"sort"
	"time"

	"analytics/aggregator/vitals"
	"analytics/dashboard/query"
	"analytics/schema"
)

// Range is a half-open span of UTC hours [From, To).
type Range struct {
	From, To time.Time
}

// Dist is the distribution of one metric: the histogram and the exact
// rating counts.
type Dist struct {
	Samples, Good, Poor uint64
	Hist                vitals.Hist
}

// Quantile returns the q-quantile in the metric's sent unit (ms, or the CLS
// score).
func (d *Dist) Quantile(m vitals.Metric, q float64) float64 {
	return d.Hist.Quantile(q) / vitals.Defs[m].Scale
}

// Shares returns the good, needs-improvement and poor shares in percent.
func (d *Dist) Shares() (good, ni, poor float64) {
	if d.Samples == 0 {
		return 0, 0, 0
	}
	n := float64(d.Samples)
	good = 100 * float64(d.Good) / n
	poor = 100 * float64(d.Poor) / n
	return good, 100 - good - poor, poor
}

func (d *Dist) add(samples, good, poor uint64, idx []uint16, counts []uint64) {
	d.Samples += samples
	d.Good += good
	d.Poor += poor
	for i := range min(len(idx), len(counts)) {
		if int(idx[i]) < vitals.NumBuckets {
			d.Hist.Add(int(idx[i]), counts[i])
		}
	}
}

// Metrics holds one Dist per metric.
type Metrics [vitals.NumMetrics]Dist

// VitalsRow is one value of a vitals breakdown.
type VitalsRow struct {
	Value   string
	Metrics Metrics
}

// Samples is the row's largest sample count over the metrics.
func (r *VitalsRow) Samples() uint64 {
	var n uint64
	for i := range r.Metrics {
		n = max(n, r.Metrics[i].Samples)
	}
	return n
}

// readVitals runs the newest-version-per-key read of vitals_hourly for one
// dimension and hands each (group, metric) histogram to add; group is the
// value, or the hour when byHour is set.
func readVitals(ctx context.Context, q query.Querier, site, dim, value string, r Range, byHour bool,
	add func(group string, hour time.Time, m vitals.Metric, samples, good, poor uint64, idx []uint16, counts []uint64)) error {
	where := "site = ? AND dimension = ? AND hour >= toDateTime(?, 'UTC') AND hour < toDateTime(?, 'UTC')"
	args := []any{site, dim, r.From.Unix(), r.To.Unix()}
	if byHour && value != "" {
		where += " AND value = ?"
		args = append(args, value)
	}
	// Newest row per key, then histograms added bucket by bucket (per
	// value, or per hour for a series).
	var sql string
	if !byHour {
		sql = `
		SELECT metric, value, toDateTime(0, 'UTC'), sum(s), sum(g), sum(p), tupleElement(sumMap(b, c), 1), tupleElement(sumMap(b, c), 2)
		FROM (
			SELECT metric, value, argMax(samples, ver) AS s, argMax(good, ver) AS g, argMax(poor, ver) AS p,
			       argMax(buckets, ver) AS b, argMax(counts, ver) AS c
			FROM vitals_hourly
			WHERE ` + where + `
			GROUP BY metric, value, hour, writer
		)
		GROUP BY metric, value`
	} else {
		sql = `
		SELECT metric, '', hour, sum(s), sum(g), sum(p), tupleElement(sumMap(b, c), 1), tupleElement(sumMap(b, c), 2)
		FROM (
			SELECT metric, hour, argMax(samples, ver) AS s, argMax(good, ver) AS g, argMax(poor, ver) AS p,
			       argMax(buckets, ver) AS b, argMax(counts, ver) AS c
			FROM vitals_hourly
			WHERE ` + where + `
			GROUP BY metric, value, hour, writer
		)
		GROUP BY metric, hour`
	}
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return fmt.Errorf("query vitals_hourly: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var metric, val string
		var hour time.Time
		var samples, good, poor uint64
		var idx []uint16
		var counts []uint64
		if err := rows.Scan(&metric, &val, &hour, &samples, &good, &poor, &idx, &counts); err != nil {
			return fmt.Errorf("read vitals_hourly: %w", err)
		}
		m, ok := vitals.ByName(metric)
		if !ok {
			continue // a metric of a newer collector
		}
		add(val, hour, m, samples, good, poor, idx, counts)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read vitals_hourly: %w", err)
	}
	return nil
}

// VitalsTotals returns the site's distribution of every metric over r.
func VitalsTotals(ctx context.Context, q query.Querier, site string, r Range) (Metrics, error) {
	var out Metrics
	err := readVitals(ctx, q, site, schema.DimVitals, "", r, false,
		func(_ string, _ time.Time, m vitals.Metric, s, g, p uint64, idx []uint16, c []uint64) {
			out[m].add(s, g, p, idx, c)
		})
	return out, err
}

// VitalsBreakdown returns the metrics per value of dim (schema.DimVitalsPage,
// DimVitalsBrowser, DimVitalsDevice), most samples first. Values with fewer
// than k samples of every metric fold into "(other)", as breakdowns with
// fewer than k visitors do elsewhere: a page seen once must not show up
// with its one visitor's timings.
func VitalsBreakdown(ctx context.Context, q query.Querier, site, dim string, r Range, k, limit int) ([]VitalsRow, error) {
	by := map[string]*VitalsRow{}
	err := readVitals(ctx, q, site, dim, "", r, false,
		func(v string, _ time.Time, m vitals.Metric, s, g, p uint64, idx []uint16, c []uint64) {
			row := by[v]
			if row == nil {
				row = &VitalsRow{Value: v}
				by[v] = row
			}
			row.Metrics[m].add(s, g, p, idx, c)
		})
	if err != nil {
		return nil, err
	}
	var out []VitalsRow
	other := VitalsRow{Value: schema.OtherValue}
	for v, row := range by {
		if v == schema.OtherValue || row.Samples() < uint64(max(k, 1)) {
			for m := range row.Metrics {
				d := &row.Metrics[m]
				other.Metrics[m].add(d.Samples, d.Good, d.Poor, nil, nil)
				other.Metrics[m].Hist.Merge(d.Hist)
			}
			continue
		}
		out = append(out, *row)
	}
	sort.Slice(out, func(i, j int) bool {
		if a, b := out[i].Samples(), out[j].Samples(); a != b {
			return a > b
		}
		return out[i].Value < out[j].Value
	})
	if limit > 0 && len(out) > limit {
		for _, row := range out[limit:] {
			for m := range row.Metrics {
				d := &row.Metrics[m]
				other.Metrics[m].add(d.Samples, d.Good, d.Poor, nil, nil)
				other.Metrics[m].Hist.Merge(d.Hist)
			}
		}
		out = out[:limit]
	}
	if other.Samples() > 0 {
		out = append(out, other)
	}
	return out, nil
}

// VitalsPoint is one bucket of a vitals time series.
type VitalsPoint struct {
	Start   time.Time
	Metrics Metrics
}

// VitalsSeries returns the site's metrics per bucket of the series: the
// hours of r grouped by bucket (which maps an hour to its bucket start,
// e.g. the local day). value, when set, restricts the series to one page
// (dimension DimVitalsPage), browser or device: dim says which.
func VitalsSeries(ctx context.Context, q query.Querier, site, dim, value string, r Range, bucket func(time.Time) time.Time) ([]VitalsPoint, error) {
	if dim == "" {
		dim = schema.DimVitals
	}
	by := map[time.Time]*VitalsPoint{}
	err := readVitals(ctx, q, site, dim, value, r, true,
		func(_ string, hour time.Time, m vitals.Metric, s, g, p uint64, idx []uint16, c []uint64) {
			start := bucket(hour)
			pt := by[start]
			if pt == nil {
				pt = &VitalsPoint{Start: start}
				by[start] = pt
			}
			pt.Metrics[m].add(s, g, p, idx, c)
		})
	if err != nil {
		return nil, err
	}
	out := make([]VitalsPoint, 0, len(by))
	for _, pt := range by {
		out = append(out, *pt)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out, nil
}
