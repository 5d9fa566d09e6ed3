package query

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
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
	// hours are the [from, to) spans read from stats_hourly.
	hours [][2]time.Time
	// estimates says that the daily rows are read without their sketches,
	// with the estimate stored next to them (stats_daily.visitors): for a
	// daily series of the site totals whose every daily day is a bucket of
	// its own, the estimate of the bucket is the day's.
	estimates bool
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
	rolled, err := p.rolls.get(ctx, q, p.site.ID, first, last)
	if err != nil {
		return err
	}
	p.srcs = p.chooseSources(first, last, rolled)
	return nil
}

// rollCache holds the rolls of stats_daily_rolls that the plans of one
// request read (the plan, its percentage base and goal selection share a
// range), so that they ask ClickHouse once.
type rollCache struct {
	mu sync.Mutex
	m  map[[2]time.Time]map[time.Time]uint64
}

// get returns the version of the roll in force of every rolled day of site
// in [first, last).
func (c *rollCache) get(ctx context.Context, q Querier, site string, first, last time.Time) (map[time.Time]uint64, error) {
	if c == nil {
		c = &rollCache{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	key := [2]time.Time{first, last}
	if r, ok := c.m[key]; ok {
		return r, nil
	}
	rs, err := q.Query(ctx, "SELECT day, max(ver) FROM stats_daily_rolls WHERE site = ? AND day >= toDate(?) AND day < toDate(?) GROUP BY day",
		site, first.Format(dateLayout), last.Format(dateLayout))
	if err != nil {
		return nil, fmt.Errorf("query stats_daily_rolls: %w", err)
	}
	defer rs.Close()
	rolled := map[time.Time]uint64{}
	for rs.Next() {
		var day time.Time
		var ver uint64
		if err := rs.Scan(&day, &ver); err != nil {
			return nil, fmt.Errorf("read stats_daily_rolls: %w", err)
		}
		y, m, d := day.Date()
		rolled[time.Date(y, m, d, 0, 0, 0, 0, time.UTC)] = ver
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("read stats_daily_rolls: %w", err)
	}
	if c.m == nil {
		c.m = map[[2]time.Time]map[time.Time]uint64{}
	}
	c.m[key] = rolled
	return rolled, nil
}

// chooseSources splits the range into the rolled days of [first, last) that
// the plan may read whole, and hourly spans for the rest.
func (p *Plan) chooseSources(first, last time.Time, rolled map[time.Time]uint64) *sources {
	s := &sources{}
	cur := p.start
	for d := first; d.Before(last); d = d.Add(24 * time.Hour) {
		ver, ok := rolled[d]
		if !ok || (p.gran == byDay && p.bucketLabel(d) != p.bucketLabel(d.Add(23*time.Hour))) {
			continue
		}
		if cur.Before(d) {
			s.hours = append(s.hours, [2]time.Time{cur, d})
		}
		s.days = append(s.days, d)
		s.vers = append(s.vers, ver)
		cur = d.Add(24 * time.Hour)
	}
	if cur.Before(p.end) {
		s.hours = append(s.hours, [2]time.Time{cur, p.end})
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
	hourlySketch = ", argMax(sketch, ver) AS sk"
	dailyColumns = "toDateTime(day, 'UTC') AS hour, value, pageviews AS pv, events AS ev, visits AS vi, bounces AS bo, duration AS du, engagements AS en, scroll_sum AS sc, engaged_ms AS em"
	dailySketch  = ", sketch AS sk"
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
		b.WriteString(" FROM stats_daily WHERE site = ? AND dimension = ? AND day >= toDate(?) AND day <= toDate(?) AND ver IN ?")
		args = append(args, p.site.ID, p.storedDim, s.days[0].Format(dateLayout), s.days[len(s.days)-1].Format(dateLayout),
			clickhouse.GroupSet{Value: vers})
		filters()
	}
	return b.String(), args
}
