// Package rollup keeps stats_daily, the daily rollup of stats_hourly that
// the dashboard reads for the whole UTC days of a range, and stats_monthly,
// the monthly rollup of stats_daily for its whole UTC months (see
// schema/migrations/0010 to 0013).
//
// A closed UTC day of a site is rolled up whole: the latest version of
// every hourly key is read, counters are summed over hours and writers per
// (dimension, goal, value), and sketches are merged in Go. The rows go into
// stats_daily in one INSERT under a version of their own, those that rank
// long breakdowns (schema.TopRow) into stats_daily_top too, followed by its
// marker row, then the roll is recorded in stats_daily_rolls with a
// fingerprint of the hourly rows it read. Readers use exactly the rows of
// the recorded roll, so a day is either rolled completely or read from
// stats_hourly.
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

	"github.com/ClickHouse/clickhouse-go/v2"

	"analytics/aggregator/sketch"
	"analytics/schema"
)

// Defaults of Options.
const (
	DefaultGrace       = time.Hour
	DefaultRecheckDays = 7
	DefaultInterval    = 10 * time.Minute
)

// TopDays is how many of the latest closed days the first pass of a job
// rolls again when their roll in force has no stats_daily_top rows (a roll
// of an older version of analytics): the dashboard ranks by that table for
// ranges read from days only, not months, so recent ones.
const TopDays = 62

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
	// whose fingerprint was compared, Months the (site, month) rolls
	// written.
	Rolled, Checked, Months int
	Rows                    int
	Duration                time.Duration
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
// recheck window whose hourly rows changed since their roll; a job's first
// pass also the days of the last TopDays whose roll wrote no
// stats_daily_top rows.
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
	// The first pass also rolls again the recent days whose roll has no
	// stats_daily_top rows.
	var marked map[siteDayVer]bool
	topFrom := closedEnd.AddDate(0, 0, -TopDays)
	if !j.scanned {
		if marked, err = topMarkers(ctx, db, topFrom, closedEnd); err != nil {
			return pass, err
		}
	}
	var todo []SiteDay
	var check []SiteDay
	for _, d := range days {
		r, ok := rolls[d]
		switch {
		case !ok:
			todo = append(todo, d)
		case marked != nil && !d.Day.Before(topFrom) && !marked[siteDayVer{d, r.Ver}]:
			todo = append(todo, d)
		case !d.Day.Before(recheckFrom):
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
	newestFirst(todo)
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
	if err := j.rollMonths(ctx, &pass, closedEnd); err != nil {
		return pass, err
	}
	j.scanned = true
	pass.Duration = time.Since(start)
	return pass, nil
}

// rollMonths rolls up every month that ended before closedEnd whose days
// all have a roll, unless its roll in force read exactly those day rolls.
func (j *Job) rollMonths(ctx context.Context, pass *Pass, closedEnd time.Time) error {
	db := j.opts.DB
	rolls, err := Rolls(ctx, db)
	if err != nil {
		return err
	}
	months, err := MonthRolls(ctx, db)
	if err != nil {
		return err
	}
	type siteMonth = SiteDay
	seen := map[siteMonth]bool{}
	var todo []siteMonth
	for d := range rolls {
		m := SiteDay{Site: d.Site, Day: MonthOf(d.Day)}
		if seen[m] || m.Day.AddDate(0, 1, 0).After(closedEnd) {
			continue
		}
		seen[m] = true
		fp, n, ok := DaysFingerprint(m.Day, func(day time.Time) (uint64, bool) {
			r, ok := rolls[SiteDay{Site: m.Site, Day: day}]
			return r.Ver, ok
		})
		if !ok {
			continue
		}
		if r, ok := months[m]; ok && r.Fingerprint == fp && r.Keys == n {
			continue
		}
		todo = append(todo, m)
	}
	newestFirst(todo)
	for _, m := range todo {
		if err := ctx.Err(); err != nil {
			return err
		}
		var vers []any
		for d := m.Day; d.Before(m.Day.AddDate(0, 1, 0)); d = d.AddDate(0, 0, 1) {
			vers = append(vers, rolls[SiteDay{Site: m.Site, Day: d}].Ver)
		}
		n, err := RollMonth(ctx, db, m.Site, m.Day, vers, months[m].Ver)
		if err != nil {
			return err
		}
		pass.Months++
		pass.Rows += n
	}
	return nil
}

// MonthOf is the first day of t's UTC month.
func MonthOf(t time.Time) time.Time {
	y, m, _ := t.UTC().Date()
	return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
}

// DaysFingerprint returns the wrapping sum of the versions of the day
// rolls of month and their number, as ver(day) gives them, and false when a
// day of the month has no roll.
func DaysFingerprint(month time.Time, ver func(day time.Time) (uint64, bool)) (uint64, uint64, bool) {
	var fp, n uint64
	for d := month; d.Before(month.AddDate(0, 1, 0)); d = d.AddDate(0, 0, 1) {
		v, ok := ver(d)
		if !ok {
			return 0, 0, false
		}
		fp += v
		n++
	}
	return fp, n, true
}

// MonthRolls returns the roll in force of every recorded (site, month):
// its version, and in Fingerprint and Keys the fingerprint and number of
// the day rolls it read.
func MonthRolls(ctx context.Context, db *schema.DB) (map[SiteDay]Roll, error) {
	return readRolls(ctx, db, "stats_monthly_rolls", "month", "days_fingerprint", "days")
}

// RollMonth rolls up the month of site from the stats_daily rows of the day
// rolls vers (one per day of the month, in order) and records the roll;
// prevVer is the version of the month's roll in force (0 if none). It
// returns the rows written.
func RollMonth(ctx context.Context, db *schema.DB, site string, month time.Time, vers []any, prevVer uint64) (int, error) {
	month = MonthOf(month)
	last := month.AddDate(0, 1, -1)
	ver := Version(month, time.Now(), prevVer)
	var fp uint64
	for _, v := range vers {
		fp += v.(uint64)
	}
	name := month.Format("2006-01")
	rs, err := db.Conn.Query(ctx, `SELECT dimension, goal, value, sum(pageviews), sum(events), sum(visits), sum(bounces), sum(duration),
sum(engagements), sum(scroll_sum), sum(engaged_ms), groupArray(sketch)
FROM stats_daily WHERE site = ? AND day >= toDate(?) AND day <= toDate(?) AND ver IN ?
GROUP BY dimension, goal, value`, site, month.Format(time.DateOnly), last.Format(time.DateOnly), clickhouse.GroupSet{Value: vers})
	if err != nil {
		return 0, fmt.Errorf("roll up %s %s: %w", site, name, err)
	}
	defer rs.Close()
	batch, err := db.Conn.PrepareBatch(ctx, "INSERT INTO stats_monthly (site, month, dimension, goal, value, ver, "+
		"pageviews, events, visits, bounces, duration, engagements, scroll_sum, engaged_ms, visitors, sketch)")
	if err != nil {
		return 0, fmt.Errorf("roll up %s %s: %w", site, name, err)
	}
	defer batch.Close()
	n := 0
	for rs.Next() {
		var (
			dim, goal, value string
			c                [8]uint64
			sks              []string
		)
		if err := rs.Scan(&dim, &goal, &value, &c[0], &c[1], &c[2], &c[3], &c[4], &c[5], &c[6], &c[7], &sks); err != nil {
			return 0, fmt.Errorf("roll up %s %s: %w", site, name, err)
		}
		sk, visitors, err := union(sks)
		if err != nil {
			return 0, fmt.Errorf("roll up %s %s %s: %w", site, name, dim, err)
		}
		if err := batch.Append(site, month, dim, goal, value, ver, c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], visitors, sk); err != nil {
			return 0, fmt.Errorf("roll up %s %s: %w", site, name, err)
		}
		n++
	}
	if err := rs.Err(); err != nil {
		return 0, fmt.Errorf("roll up %s %s: %w", site, name, err)
	}
	if n > 0 {
		if err := batch.Send(); err != nil {
			return 0, fmt.Errorf("write stats_monthly %s %s: %w", site, name, err)
		}
	}
	rb, err := db.Conn.PrepareBatch(ctx, "INSERT INTO stats_monthly_rolls (site, month, ver, days_fingerprint, days, monthly_rows, rolled_at)")
	if err != nil {
		return 0, fmt.Errorf("record roll %s %s: %w", site, name, err)
	}
	defer rb.Close()
	if err := rb.Append(site, month, ver, fp, uint64(len(vers)), uint64(n), time.Now().UTC()); err != nil {
		return 0, fmt.Errorf("record roll %s %s: %w", site, name, err)
	}
	if err := rb.Send(); err != nil {
		return 0, fmt.Errorf("record roll %s %s: %w", site, name, err)
	}
	return n, nil
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
		case p.Rolled > 0 || p.Months > 0:
			j.log.Info("days rolled up", "days", p.Rolled, "months", p.Months, "rows", p.Rows, "checked", p.Checked,
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
	return readRolls(ctx, db, "stats_daily_rolls", "day", "source_fingerprint", "source_keys")
}

// readRolls reads the roll in force (highest ver) of every (site, date) of
// a rolls table, with its fingerprint and key count columns.
func readRolls(ctx context.Context, db *schema.DB, table, date, fingerprint, keys string) (map[SiteDay]Roll, error) {
	rs, err := db.Conn.Query(ctx, "SELECT site, "+date+", max(ver), argMax("+fingerprint+", ver), argMax("+keys+", ver) FROM "+table+" GROUP BY site, "+date)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", table, err)
	}
	defer rs.Close()
	out := map[SiteDay]Roll{}
	for rs.Next() {
		var d SiteDay
		var r Roll
		if err := rs.Scan(&d.Site, &d.Day, &r.Ver, &r.Fingerprint, &r.Keys); err != nil {
			return nil, fmt.Errorf("read %s: %w", table, err)
		}
		d.Day = utcDay(d.Day)
		out[d] = r
	}
	return out, rs.Err()
}

// newestFirst sorts days newest first (then by site): recent days are the
// ones dashboards ask for most.
func newestFirst(ds []SiteDay) {
	sort.Slice(ds, func(a, b int) bool {
		if !ds[a].Day.Equal(ds[b].Day) {
			return ds[a].Day.After(ds[b].Day)
		}
		return ds[a].Site < ds[b].Site
	})
}

// siteDayVer names one roll of a day.
type siteDayVer struct {
	SiteDay
	ver uint64
}

// topMarkers returns the rolls of the days [from, to) whose rows of
// stats_daily_top are complete: those with its marker row.
func topMarkers(ctx context.Context, db *schema.DB, from, to time.Time) (map[siteDayVer]bool, error) {
	rs, err := db.Conn.Query(ctx, `SELECT site, day, ver FROM stats_daily_top
WHERE dimension = '' AND day >= toDate(?) AND day < toDate(?) GROUP BY site, day, ver`, from.Format(time.DateOnly), to.Format(time.DateOnly))
	if err != nil {
		return nil, fmt.Errorf("read stats_daily_top markers: %w", err)
	}
	defer rs.Close()
	out := map[siteDayVer]bool{}
	for rs.Next() {
		var k siteDayVer
		if err := rs.Scan(&k.Site, &k.Day, &k.ver); err != nil {
			return nil, fmt.Errorf("read stats_daily_top markers: %w", err)
		}
		k.Day = utcDay(k.Day)
		out[k] = true
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
	// top are the rows that go into stats_daily_top too.
	type topRow struct {
		dim, value string
		c          [8]uint64
		visitors   uint64
		sk         string
	}
	var top []topRow
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
		if goal == "" && schema.TopRow(dim, c[0], c[1], c[2]) {
			top = append(top, topRow{dim, value, c, visitors, sk})
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
	// The ranking rows, then the marker that says they are all there (an
	// INSERT of its own, so that it never lands before them).
	for _, rows := range [][]topRow{top, {{}}} {
		if len(rows) == 0 {
			continue
		}
		tb, err := db.Conn.PrepareBatch(ctx, "INSERT INTO stats_daily_top (site, day, dimension, goal, value, ver, "+
			"pageviews, events, visits, bounces, duration, engagements, scroll_sum, engaged_ms, visitors, sketch)")
		if err != nil {
			return 0, fmt.Errorf("write stats_daily_top %s %s: %w", site, day.Format(time.DateOnly), err)
		}
		defer tb.Close()
		for _, r := range rows {
			c := r.c
			if err := tb.Append(site, day, r.dim, "", r.value, ver, c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], r.visitors, r.sk); err != nil {
				return 0, fmt.Errorf("write stats_daily_top %s %s: %w", site, day.Format(time.DateOnly), err)
			}
		}
		if err := tb.Send(); err != nil {
			return 0, fmt.Errorf("write stats_daily_top %s %s: %w", site, day.Format(time.DateOnly), err)
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
