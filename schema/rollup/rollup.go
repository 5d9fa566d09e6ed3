// Package rollup keeps stats_daily, the daily rollup of stats_hourly that
// the dashboard reads for the whole UTC days of a range (see
// schema/migrations/0010_stats_daily.sql and 0011_stats_daily_rolls.sql).
//
// A closed UTC day of a site is rolled up whole: the latest version of
// every hourly key is read, counters are summed over hours and writers per
// (dimension, goal, value), and sketches are merged in Go. The rows go into
// stats_daily in one INSERT under a version of their own, then the roll is
// recorded in stats_daily_rolls with a fingerprint of the hourly rows it
// read. Readers use exactly the rows of the recorded roll, so a day is
// either rolled completely or read from stats_hourly.
//
// Rolling is idempotent and safe from several processes at once: a roll of
// unchanged hourly rows writes identical rows, and whichever roll is
// recorded last is complete. Rows that arrive late for a closed day (a
// collector replaying its spool after an outage) change the day's
// fingerprint; every run compares the fingerprints of the last RecheckDays
// closed days and rolls the changed ones again.
package rollup

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"analytics/aggregator/sketch"
	"analytics/schema"
)

// Defaults of Options.
const (
	DefaultGrace       = time.Hour
	DefaultRecheckDays = 7
	DefaultInterval    = 10 * time.Minute
)

// Options configure a Job.
type Options struct {
	DB     *schema.DB
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Grace is how long after its end a UTC day is rolled up: hours stay
	// in a collector's memory until their visits end, a minute or so past
	// midnight (default DefaultGrace).
	Grace time.Duration
	// RecheckDays is how many of the latest closed days every run compares
	// with stats_hourly, to roll again the days that got late rows
	// (default DefaultRecheckDays). Older days are rolled once.
	RecheckDays int
}

// Job rolls days up; Run does one pass, Loop repeats it.
type Job struct {
	opts Options
	log  *slog.Logger
	// scanned is set after the first pass, which looks at every day in
	// stats_hourly; later passes look at the recheck window only.
	scanned bool
}

// New returns a Job with the defaults filled in.
func New(opts Options) *Job {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Grace <= 0 {
		opts.Grace = DefaultGrace
	}
	if opts.RecheckDays <= 0 {
		opts.RecheckDays = DefaultRecheckDays
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Job{opts: opts, log: opts.Logger.With("component", "rollup")}
}

// Pass reports what one Run did.
type Pass struct {
	// Rolled are the (site, day) rolls written, Checked the recorded days
	// whose fingerprint was compared.
	Rolled, Checked int
	Rows            int
	Duration        time.Duration
}

// SiteDay names one UTC day of one site.
type SiteDay struct {
	Site string
	Day  time.Time // UTC midnight
}

// Roll is a recorded roll of a day: its version and the fingerprint of the
// hourly rows it read (see Fingerprints).
type Roll struct {
	Ver, Fingerprint, Keys uint64
}

// Run rolls up every closed day that has no roll yet, and the days of the
// recheck window whose hourly rows changed since their roll.
func (j *Job) Run(ctx context.Context) (Pass, error) {
	start := time.Now()
	var pass Pass
	db := j.opts.DB
	closedEnd := j.opts.Now().UTC().Add(-j.opts.Grace).Truncate(24 * time.Hour)
	recheckFrom := closedEnd.AddDate(0, 0, -j.opts.RecheckDays)
	rolls, err := Rolls(ctx, db)
	if err != nil {
		return pass, err
	}
	scanFrom := recheckFrom
	if !j.scanned {
		scanFrom = time.Unix(0, 0).UTC()
	}
	days, err := hourlyDays(ctx, db, scanFrom, closedEnd)
	if err != nil {
		return pass, err
	}
	var todo []SiteDay
	var check []SiteDay
	for _, d := range days {
		if _, ok := rolls[d]; !ok {
			todo = append(todo, d)
		} else if !d.Day.Before(recheckFrom) {
			check = append(check, d)
		}
	}
	if len(check) > 0 {
		fps, err := Fingerprints(ctx, db, recheckFrom, closedEnd)
		if err != nil {
			return pass, err
		}
		for _, d := range check {
			pass.Checked++
			r, f := rolls[d], fps[d]
			if r.Fingerprint != f[0] || r.Keys != f[1] {
				todo = append(todo, d)
			}
		}
	}
	// Newest first: recent days are the ones dashboards ask for most.
	sort.Slice(todo, func(a, b int) bool {
		if !todo[a].Day.Equal(todo[b].Day) {
			return todo[a].Day.After(todo[b].Day)
		}
		return todo[a].Site < todo[b].Site
	})
	for _, d := range todo {
		if err := ctx.Err(); err != nil {
			return pass, err
		}
		n, err := RollDay(ctx, db, d.Site, d.Day, rolls[d].Ver)
		if err != nil {
			return pass, err
		}
		pass.Rolled++
		pass.Rows += n
	}
	j.scanned = true
	pass.Duration = time.Since(start)
	return pass, nil
}

// Loop runs Run now and then every interval until ctx ends, logging
// failures (the next run retries).
func (j *Job) Loop(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultInterval
	}
	for {
		p, err := j.Run(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			j.log.Error("rollup failed; retrying at the next run", "err", err)
		case p.Rolled > 0:
			j.log.Info("days rolled up", "days", p.Rolled, "rows", p.Rows, "checked", p.Checked,
				"duration", p.Duration.Round(time.Millisecond))
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}

// Rolls returns the roll in force of every recorded (site, day).
func Rolls(ctx context.Context, db *schema.DB) (map[SiteDay]Roll, error) {
	rs, err := db.Conn.Query(ctx, `SELECT site, day, max(ver), argMax(source_fingerprint, ver), argMax(source_keys, ver)
FROM stats_daily_rolls GROUP BY site, day`)
	if err != nil {
		return nil, fmt.Errorf("read stats_daily_rolls: %w", err)
	}
	defer rs.Close()
	out := map[SiteDay]Roll{}
	for rs.Next() {
		var d SiteDay
		var r Roll
		if err := rs.Scan(&d.Site, &d.Day, &r.Ver, &r.Fingerprint, &r.Keys); err != nil {
			return nil, fmt.Errorf("read stats_daily_rolls: %w", err)
		}
		d.Day = utcDay(d.Day)
		out[d] = r
	}
	return out, rs.Err()
}

// hourlyDays lists the (site, UTC day) pairs with hourly rows in [from, to).
func hourlyDays(ctx context.Context, db *schema.DB, from, to time.Time) ([]SiteDay, error) {
	rs, err := db.Conn.Query(ctx, `SELECT site, toDate(hour) AS d FROM stats_hourly
WHERE hour >= toDateTime(?, 'UTC') AND hour < toDateTime(?, 'UTC') GROUP BY site, d`, from.Unix(), to.Unix())
	if err != nil {
		return nil, fmt.Errorf("list days of stats_hourly: %w", err)
	}
	defer rs.Close()
	var out []SiteDay
	for rs.Next() {
		var d SiteDay
		if err := rs.Scan(&d.Site, &d.Day); err != nil {
			return nil, fmt.Errorf("list days of stats_hourly: %w", err)
		}
		d.Day = utcDay(d.Day)
		out = append(out, d)
	}
	return out, rs.Err()
}

// Fingerprints returns, per (site, UTC day) of [from, to), the wrapping sum
// of the latest ver of every hourly key and the number of keys. Merges of
// stats_hourly do not change it (they drop only older versions); any row
// that changes what readers see does.
func Fingerprints(ctx context.Context, db *schema.DB, from, to time.Time) (map[SiteDay][2]uint64, error) {
	rs, err := db.Conn.Query(ctx, `SELECT site, d, sum(v), count() FROM (
SELECT site, toDate(hour) AS d, max(ver) AS v FROM stats_hourly
WHERE hour >= toDateTime(?, 'UTC') AND hour < toDateTime(?, 'UTC')
GROUP BY site, dimension, goal, hour, value, writer) GROUP BY site, d`, from.Unix(), to.Unix())
	if err != nil {
		return nil, fmt.Errorf("fingerprint stats_hourly: %w", err)
	}
	defer rs.Close()
	out := map[SiteDay][2]uint64{}
	for rs.Next() {
		var d SiteDay
		var f [2]uint64
		if err := rs.Scan(&d.Site, &d.Day, &f[0], &f[1]); err != nil {
			return nil, fmt.Errorf("fingerprint stats_hourly: %w", err)
		}
		d.Day = utcDay(d.Day)
		out[d] = f
	}
	return out, rs.Err()
}

// RollDay rolls up one UTC day of site and records the roll; prevVer is the
// version of the day's roll in force (0 if none), which the new one must
// exceed. It returns the rows written.
func RollDay(ctx context.Context, db *schema.DB, site string, day time.Time, prevVer uint64) (int, error) {
	day = utcDay(day)
	ver := Version(day, time.Now(), prevVer)
	rs, err := db.Conn.Query(ctx, `SELECT dimension, goal, value, sum(pv), sum(ev), sum(vi), sum(bo), sum(du),
sum(en), sum(sc), sum(em), groupArray(sk), sum(v), count()
FROM (SELECT dimension, goal, hour, value, writer, argMax(pageviews, ver) AS pv, argMax(events, ver) AS ev,
argMax(visits, ver) AS vi, argMax(bounces, ver) AS bo, argMax(duration, ver) AS du,
argMax(engagements, ver) AS en, argMax(scroll_sum, ver) AS sc, argMax(engaged_ms, ver) AS em,
argMax(sketch, ver) AS sk, max(ver) AS v
FROM stats_hourly WHERE site = ? AND hour >= toDateTime(?, 'UTC') AND hour < toDateTime(?, 'UTC')
GROUP BY dimension, goal, hour, value, writer)
GROUP BY dimension, goal, value`, site, day.Unix(), day.Add(24*time.Hour).Unix())
	if err != nil {
		return 0, fmt.Errorf("roll up %s %s: %w", site, day.Format(time.DateOnly), err)
	}
	defer rs.Close()
	batch, err := db.Conn.PrepareBatch(ctx, "INSERT INTO stats_daily (site, day, dimension, goal, value, ver, "+
		"pageviews, events, visits, bounces, duration, engagements, scroll_sum, engaged_ms, visitors, sketch)")
	if err != nil {
		return 0, fmt.Errorf("roll up %s %s: %w", site, day.Format(time.DateOnly), err)
	}
	defer batch.Close()
	var fingerprint, keys uint64
	n := 0
	for rs.Next() {
		var (
			dim, goal, value string
			c                [8]uint64
			sks              []string
			fp, k            uint64
		)
		if err := rs.Scan(&dim, &goal, &value, &c[0], &c[1], &c[2], &c[3], &c[4], &c[5], &c[6], &c[7], &sks, &fp, &k); err != nil {
			return 0, fmt.Errorf("roll up %s %s: %w", site, day.Format(time.DateOnly), err)
		}
		fingerprint += fp // wraps, as ClickHouse's sum does
		keys += k
		sk, visitors, err := union(sks)
		if err != nil {
			return 0, fmt.Errorf("roll up %s %s %s: %w", site, day.Format(time.DateOnly), dim, err)
		}
		if err := batch.Append(site, day, dim, goal, value, ver, c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], visitors, sk); err != nil {
			return 0, fmt.Errorf("roll up %s %s: %w", site, day.Format(time.DateOnly), err)
		}
		n++
	}
	if err := rs.Err(); err != nil {
		return 0, fmt.Errorf("roll up %s %s: %w", site, day.Format(time.DateOnly), err)
	}
	if n > 0 {
		if err := batch.Send(); err != nil {
			return 0, fmt.Errorf("write stats_daily %s %s: %w", site, day.Format(time.DateOnly), err)
		}
	}
	rb, err := db.Conn.PrepareBatch(ctx, "INSERT INTO stats_daily_rolls (site, day, ver, source_fingerprint, source_keys, daily_rows, rolled_at)")
	if err != nil {
		return 0, fmt.Errorf("record roll %s %s: %w", site, day.Format(time.DateOnly), err)
	}
	defer rb.Close()
	if err := rb.Append(site, day, ver, fingerprint, keys, uint64(n), time.Now().UTC()); err != nil {
		return 0, fmt.Errorf("record roll %s %s: %w", site, day.Format(time.DateOnly), err)
	}
	if err := rb.Send(); err != nil {
		return 0, fmt.Errorf("record roll %s %s: %w", site, day.Format(time.DateOnly), err)
	}
	return n, nil
}

// Version returns the version of a new roll of day made at now, above
// prevVer (the roll in force, or 0). Its low 16 bits are the day's number
// (days since 1970, modulo 65536), the rest the time: a version belongs to
// one day only, so readers select the rolls in force of a range with
// "ver IN (...)" and never pick up an older roll of another day.
func Version(day, now time.Time, prevVer uint64) uint64 {
	const dayBits = 0xFFFF
	n := uint64(utcDay(day).Unix()/86400) & dayBits
	ver := uint64(now.UnixNano())&^dayBits | n
	if ver <= prevVer {
		ver = (prevVer&^dayBits + dayBits + 1) | n
	}
	return ver
}

// union merges stored sketches into one stored sketch ("" when all are
// empty) and returns its estimate. Estimate settles the form (sparse or
// dense) as a reader's union would, so that merging daily sketches gives
// what merging the hourly ones gives.
func union(stored []string) (string, uint64, error) {
	empty := true
	for _, b := range stored {
		empty = empty && b == ""
	}
	if empty {
		return "", 0, nil
	}
	s, err := sketch.UnionBinary(stored)
	if err != nil {
		return "", 0, err
	}
	n := s.Estimate()
	b, err := s.MarshalBinary()
	return string(b), n, err
}

func utcDay(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
