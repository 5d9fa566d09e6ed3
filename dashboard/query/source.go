package query

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"analytics/schema"
)

// sources says where a plan's rows come from: whole UTC days that the
// rollup job (schema/rollup) has rolled up are read from stats_daily, one
// row per day and value instead of 24 or more; every other hour of the range
// (the edges of a range in a time zone off UTC, today, days not rolled yet)
// from stats_hourly. A day is read from stats_daily only when that gives
// the same answer: when the query sums over the range, or groups by day and
// the UTC day falls into one bucket of the site's time zone. Hourly series
// read stats_hourly only.
type sources struct {
	// days are the UTC midnights read from stats_daily, vers the versions
	// of their rolls in force: exactly one complete roll per day is read.
	days []time.Time
	vers []uint64
	// months are the first days of the UTC months read from stats_monthly
	// (whole months of a range summed over, whose roll read the day rolls
	// in force), mvers the versions of their rolls.
	months []time.Time
	mvers  []uint64
	// hours are the [from, to) spans read from stats_hourly.
	hours [][2]time.Time
	// estimates says that the daily rows are read without their sketches,
	// with the estimate stored next to them (stats_daily.visitors): for a
	// daily series of the site totals whose every daily day is a bucket of
	// its own, the estimate of the bucket is the day's.
	estimates bool
	// topReady says that the roll in force of every day has its rows in
	// stats_daily_top (schema.TopDimension plans only).
	topReady bool
	// top makes inner read the daily rows from stats_daily_top: only those
	// that reach schema.TopMin (see fast.go).
	top bool
}

// hourlySources reads the whole range from stats_hourly.
func (p *Plan) hourlySources() *sources {
	return &sources{hours: [][2]time.Time{{p.start, p.end}}}
}

// loadSources chooses the plan's sources, once: the days of the range with a
// roll in stats_daily_rolls, unless the plan reads hourly rows only.
func (p *Plan) loadSources(ctx context.Context, q Querier) error {
	if p.srcs != nil {
		return nil
	}
	first := p.start.Truncate(24 * time.Hour)
	if first.Before(p.start) {
		first = first.Add(24 * time.Hour)
	}
	last := p.end.Truncate(24 * time.Hour) // exclusive
	if p.hourlyOnly || p.gran == byHour || !first.Before(last) {
		p.srcs = p.hourlySources()
		return nil
	}
	top := p.breakdown != "" && schema.TopDimension(p.storedDim)
	r, err := p.rolls.get(ctx, q, p.site.ID, first, last, top)
	if err != nil {
		return err
	}
	p.srcs = p.chooseSources(first, last, r)
	return nil
}

// rollCache holds the rolls of stats_daily_rolls and stats_monthly_rolls
// that the plans of one request read (the plan, its percentage base and
// goal selection share a range), so that they ask ClickHouse once.
type rollCache struct {
	mu sync.Mutex
	m  map[[2]time.Time]*rolled
}

// rolled are the rolls in force of a range: the version of every rolled
// day, and of every rolled month with the fingerprint and number of the day
// rolls it read; with top read, the day rolls whose stats_daily_top rows
// are complete (their marker row is there).
type rolled struct {
	days    map[time.Time]uint64
	months  map[time.Time][3]uint64
	top     map[dayRoll]bool
	topRead bool
}

// dayRoll names one roll of a day.
type dayRoll struct {
	day time.Time
	ver uint64
}

// get returns the rolls in force of site in the days [first, last), with
// the stats_daily_top markers if top.
func (c *rollCache) get(ctx context.Context, q Querier, site string, first, last time.Time, top bool) (*rolled, error) {
	if c == nil {
		c = &rollCache{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	key := [2]time.Time{first, last}
	if r, ok := c.m[key]; ok && (r.topRead || !top) {
		return r, nil
	}
	from, to := first.Format(dateLayout), last.Format(dateLayout)
	query := `SELECT 0 AS k, day, max(ver), toUInt64(0), toUInt64(0) FROM stats_daily_rolls
WHERE site = ? AND day >= toDate(?) AND day < toDate(?) GROUP BY day
UNION ALL SELECT 1 AS k, month, max(ver), argMax(days_fingerprint, ver), argMax(days, ver) FROM stats_monthly_rolls
WHERE site = ? AND month >= toDate(?) AND month < toDate(?) GROUP BY month`
	args := []any{site, from, to, site, from, to}
	if top {
		query += `
UNION ALL SELECT 2 AS k, day, ver, toUInt64(0), toUInt64(0) FROM stats_daily_top
WHERE site = ? AND dimension = '' AND day >= toDate(?) AND day < toDate(?) GROUP BY day, ver`
		args = append(args, site, from, to)
	}
	rs, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query rollups: %w", err)
	}
	defer rs.Close()
	r := &rolled{days: map[time.Time]uint64{}, months: map[time.Time][3]uint64{}, top: map[dayRoll]bool{}, topRead: top}
	for rs.Next() {
		var (
			kind      uint8
			day       time.Time
			ver, f, n uint64
		)
		if err := rs.Scan(&kind, &day, &ver, &f, &n); err != nil {
			return nil, fmt.Errorf("read rollups: %w", err)
		}
		y, m, d := day.Date()
		day = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
		switch kind {
		case 0:
			r.days[day] = ver
		case 1:
			r.months[day] = [3]uint64{ver, f, n}
		default:
			r.top[dayRoll{day, ver}] = true
		}
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("read rollups: %w", err)
	}
	if c.m == nil {
		c.m = map[[2]time.Time]*rolled{}
	}
	c.m[key] = r
	return r, nil
}

// chooseSources splits the range into the rolled months and days of
// [first, last) that the plan may read whole, and hourly spans for the rest.
// A month is read whole when the plan sums over the range, the month lies
// in it, and its roll read the day rolls now in force.
func (p *Plan) chooseSources(first, last time.Time, r *rolled) *sources {
	s := &sources{}
	cur := p.start
	for d := first; d.Before(last); {
		if next := d.AddDate(0, 1, 0); p.gran == noTime && d.Day() == 1 && !next.After(last) {
			if m, ok := r.months[d]; ok {
				var fp, n uint64
				for x := d; x.Before(next); x = x.Add(24 * time.Hour) {
					if v, ok := r.days[x]; ok {
						fp += v
						n++
					}
				}
				if n == uint64(next.Sub(d)/(24*time.Hour)) && fp == m[1] && n == m[2] {
					if cur.Before(d) {
						s.hours = append(s.hours, [2]time.Time{cur, d})
					}
					s.months = append(s.months, d)
					s.mvers = append(s.mvers, m[0])
					cur, d = next, next
					continue
				}
			}
		}
		ver, ok := r.days[d]
		if !ok || (p.gran == byDay && p.bucketLabel(d) != p.bucketLabel(d.Add(23*time.Hour))) {
			d = d.Add(24 * time.Hour)
			continue
		}
		if cur.Before(d) {
			s.hours = append(s.hours, [2]time.Time{cur, d})
		}
		s.days = append(s.days, d)
		s.vers = append(s.vers, ver)
		cur = d.Add(24 * time.Hour)
		d = cur
	}
	if cur.Before(p.end) {
		s.hours = append(s.hours, [2]time.Time{cur, p.end})
	}
	s.topReady = len(s.days) > 0
	for i, d := range s.days {
		s.topReady = s.topReady && r.top[dayRoll{d, s.vers[i]}]
	}
	s.estimates = len(s.days) > 0 && p.gran == byDay && p.storedDim == "" && p.sketches
	for _, d := range s.days {
		if !s.estimates {
			break
		}
		// A bucket is a run of hours with one label: the day is a bucket of
		// its own unless the hour before or after it, in the range, shares
		// its label (a 25-hour local day around a UTC day).
		before, after := d.Add(-time.Hour), d.Add(24*time.Hour)
		if (!before.Before(p.start) && p.bucketLabel(before) == p.bucketLabel(d)) ||
			(after.Before(p.end) && p.bucketLabel(after) == p.bucketLabel(d.Add(23*time.Hour))) {
			s.estimates = false
		}
	}
	return s
}

// columns is the select list of the inner queries: the counters, and the
// sketch when the plan reads sketches.
const (
	hourlyColumns = "hour, value, argMax(pageviews, ver) AS pv, argMax(events, ver) AS ev" +
		", argMax(visits, ver) AS vi, argMax(bounces, ver) AS bo, argMax(duration, ver) AS du" +
		", argMax(engagements, ver) AS en, argMax(scroll_sum, ver) AS sc, argMax(engaged_ms, ver) AS em"
	hourlySketch   = ", argMax(sketch, ver) AS sk"
	dailyColumns   = "toDateTime(day, 'UTC') AS hour, value, pageviews AS pv, events AS ev, visits AS vi, bounces AS bo, duration AS du, engagements AS en, scroll_sum AS sc, engaged_ms AS em"
	dailySketch    = ", sketch AS sk"
	monthlyColumns = "toDateTime(month, 'UTC') AS hour, value, pageviews AS pv, events AS ev, visits AS vi, bounces AS bo, duration AS du, engagements AS en, scroll_sum AS sc, engaged_ms AS em"
	// In estimates mode the daily rows carry their estimate instead.
	hourlyNoEstimate = ", toUInt64(0) AS vs"
	dailyEstimate    = ", '' AS sk, visitors AS vs"
	counterTotals    = "sum(pv), sum(ev), sum(vi), sum(bo), sum(du), sum(en), sum(sc), sum(em)"
)

// inner returns the query of the plan's rows with the columns hour, value,
// pv, ev, vi, bo, du, en, sc, em (and sk with sketches): the latest version
// of every hourly key of the hourly spans, and the rows of the rolls in
// force of the daily days, united. goals, if not nil, restricts event:props
// rows to these custom events. With source, a column d says which table a
// row comes from: 0 stats_hourly, 1 stats_daily.
func (p *Plan) inner(s *sources, sketches bool, goals []string, source bool) (string, []any) {
	return p.innerOf(s, sketches, goals, source, nil)
}

// innerOf is inner restricted to the stored values only, unless nil.
func (p *Plan) innerOf(s *sources, sketches bool, goals []string, source bool, only []string) (string, []any) {
	var b strings.Builder
	var args []any
	filters := func() {
		if len(p.values) > 0 {
			b.WriteString(" AND has(?, value)")
			args = append(args, p.values)
		}
		if goals != nil {
			b.WriteString(" AND has(?, goal)")
			args = append(args, goals)
		}
		if only != nil {
			set := make([]any, len(only))
			for i, v := range only {
				set[i] = v
			}
			b.WriteString(" AND value IN ?")
			args = append(args, clickhouse.GroupSet{Value: set})
		}
	}
	if len(s.hours) > 0 {
		b.WriteString("SELECT " + hourlyColumns)
		if sketches {
			b.WriteString(hourlySketch)
			if s.estimates {
				b.WriteString(hourlyNoEstimate)
			}
		}
		if source || s.estimates {
			b.WriteString(", 0 AS d")
		}
		b.WriteString(" FROM stats_hourly WHERE site = ? AND dimension = ? AND ")
		args = append(args, p.site.ID, p.storedDim)
		if len(s.hours) > 1 {
			b.WriteString("(")
		}
		for i, h := range s.hours {
			if i > 0 {
				b.WriteString(" OR ")
			}
			if len(s.hours) > 1 {
				b.WriteString("(hour >= ? AND hour < ?)")
			} else {
				b.WriteString("hour >= ? AND hour < ?")
			}
			args = append(args, h[0], h[1])
		}
		if len(s.hours) > 1 {
			b.WriteString(")")
		}
		filters()
		b.WriteString(" GROUP BY hour, goal, value, writer")
	}
	if len(s.days) > 0 {
		if len(s.hours) > 0 {
			b.WriteString(" UNION ALL ")
		}
		b.WriteString("SELECT " + dailyColumns)
		switch {
		case sketches && s.estimates:
			b.WriteString(dailyEstimate)
		case sketches:
			b.WriteString(dailySketch)
		}
		if source || s.estimates {
			b.WriteString(", 1 AS d")
		}
		// The versions name the rolls: ver is unique to a roll of a day
		// (schema/rollup), so older rolls still waiting for a merge, and
		// rolls of days outside the range, are not read.
		vers := make([]any, len(s.vers))
		for i, v := range s.vers {
			vers[i] = v
		}
		table := "stats_daily"
		if s.top {
			table = "stats_daily_top"
		}
		b.WriteString(" FROM " + table + " WHERE site = ? AND dimension = ? AND day >= toDate(?) AND day <= toDate(?) AND ver IN ?")
		args = append(args, p.site.ID, p.storedDim, s.days[0].Format(dateLayout), s.days[len(s.days)-1].Format(dateLayout),
			clickhouse.GroupSet{Value: vers})
		filters()
	}
	if len(s.months) > 0 {
		if len(s.hours) > 0 || len(s.days) > 0 {
			b.WriteString(" UNION ALL ")
		}
		b.WriteString("SELECT " + monthlyColumns)
		if sketches {
			b.WriteString(dailySketch)
		}
		if source {
			b.WriteString(", 1 AS d")
		}
		vers := make([]any, len(s.mvers))
		for i, v := range s.mvers {
			vers[i] = v
		}
		b.WriteString(" FROM stats_monthly WHERE site = ? AND dimension = ? AND month >= toDate(?) AND month <= toDate(?) AND ver IN ?")
		args = append(args, p.site.ID, p.storedDim, s.months[0].Format(dateLayout), s.months[len(s.months)-1].Format(dateLayout),
			clickhouse.GroupSet{Value: vers})
		filters()
	}
	return b.String(), args
}
