package schema

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
)

// DefaultRetentionMonths is how long aggregates are kept when a site sets no
// retention_months.
const DefaultRetentionMonths = 25

// MaxRetentionMonths bounds retention_months.
const MaxRetentionMonths = 120

// statsTable is the table retention applies to: it is partitioned by
// toYYYYMM(hour).
const statsTable = "stats_hourly"

// RetentionCutoff is the first hour a site with a retention of months still
// keeps at now: the start of the month months calendar months before now's
// month (UTC). With 25 months on 2026-11-27 it is 2024-10-01, so the current
// month and the 25 full months before it are kept. Whole months keep the
// cutoff aligned with the monthly partitions.
func RetentionCutoff(now time.Time, months int) time.Time {
	now = now.UTC()
	return time.Date(now.Year(), now.Month()-time.Month(months), 1, 0, 0, 0, 0, time.UTC)
}

// PartitionDrop is a partition that retention drops whole.
type PartitionDrop struct {
	// Table is set for the rollup tables (Plan.Rollups) only.
	Table     string `json:"table,omitempty"`
	Partition string `json:"partition"` // YYYYMM, or YYYYMMDD for the per-minute tables
	Rows      uint64 `json:"rows"`
}

// SiteDelete is a delete of the rows of one site older than Before, for a
// site whose retention is shorter than the partitions that are kept.
type SiteDelete struct {
	Site   string    `json:"site"`
	Months int       `json:"retention_months"`
	Before time.Time `json:"before"`
	Rows   uint64    `json:"rows"`
}

// Plan is what retention would remove at Now.
type Plan struct {
	Now        time.Time       `json:"now"`
	Partitions []PartitionDrop `json:"partitions"`
	Deletes    []SiteDelete    `json:"deletes"`
	// Realtime are daily partitions (YYYYMMDD) of stats_minutely older than
	// yesterday: the per-minute rows only serve the realtime view.
	Realtime []PartitionDrop `json:"realtime_partitions"`
	// Drops are daily partitions of drops_minutely older than DropsDays.
	Drops []PartitionDrop `json:"drops_partitions"`
	// Rollups are the monthly partitions of the daily rollups (rollupTables)
	// that stats_hourly's retention drops too; Deletes apply to them as well.
	Rollups []PartitionDrop `json:"rollup_partitions"`
}

// rollupTables are the tables that follow stats_hourly's retention, all
// partitioned by toYYYYMM of their date column: its daily and monthly
// rollups (schema/rollup), with the daily rows that rank long breakdowns,
// and the web vitals histograms.
var rollupTables = []string{"stats_daily", "stats_daily_rolls", "stats_daily_top", "stats_monthly", "stats_monthly_rolls", "vitals_hourly"}

// rollupDate is the date (expression) of a rollup table's rows.
func rollupDate(table string) string {
	switch {
	case table == "vitals_hourly":
		return "toDate(hour)"
	case strings.HasPrefix(table, "stats_monthly"):
		return "month"
	}
	return "day"
}

// DropsDays is how long the per-minute counts of dropped requests are kept.
const DropsDays = 31

const dropsTable = "drops_minutely"

// minutesTable holds the per-minute realtime rows, partitioned by day.
const minutesTable = "stats_minutely"

// Empty reports whether the plan removes nothing.
func (p *Plan) Empty() bool {
	return len(p.Partitions) == 0 && len(p.Deletes) == 0 && len(p.Realtime) == 0 && len(p.Drops) == 0 && len(p.Rollups) == 0
}

// PlanRetention works out what retention removes at now. retention maps site
// domains to their retention in months; sites found in the data but not in
// retention (no longer configured) get DefaultRetentionMonths. A monthly
// partition goes when every site's retention has passed for the whole month;
// rows of sites with a shorter retention than that are deleted per site.
func PlanRetention(ctx context.Context, db *DB, retention map[string]int, now time.Time) (*Plan, error) {
	months := map[string]int{}
	for site, m := range retention {
		if m < 1 || m > MaxRetentionMonths {
			return nil, fmt.Errorf("retention of site %s: %d months is outside 1..%d", site, m, MaxRetentionMonths)
		}
		months[site] = m
	}
	stored, err := storedSites(ctx, db)
	if err != nil {
		return nil, err
	}
	for _, s := range stored {
		if _, ok := months[s]; !ok {
			months[s] = DefaultRetentionMonths
		}
	}
	plan := &Plan{Now: now.UTC()}
	minuteParts, err := Partitions(ctx, db, minutesTable)
	if err != nil {
		return nil, err
	}
	keepFrom := now.UTC().AddDate(0, 0, -1).Format("20060102")
	for _, p := range minuteParts {
		if dayPartitionRe.MatchString(p.Partition) && p.Partition < keepFrom {
			plan.Realtime = append(plan.Realtime, p)
		}
	}
	dropParts, err := Partitions(ctx, db, dropsTable)
	if err != nil {
		return nil, err
	}
	keepDrops := now.UTC().AddDate(0, 0, -DropsDays).Format("20060102")
	for _, p := range dropParts {
		if dayPartitionRe.MatchString(p.Partition) && p.Partition < keepDrops {
			plan.Drops = append(plan.Drops, p)
		}
	}
	if len(months) == 0 {
		return plan, nil
	}
	longest := 0
	for _, m := range months {
		longest = max(longest, m)
	}
	// Every site keeps everything from keepAll on; whole partitions before
	// it hold only expired rows.
	keepAll := RetentionCutoff(now, longest)
	parts, err := Partitions(ctx, db, statsTable)
	if err != nil {
		return nil, err
	}
	for _, p := range parts {
		start, ok := partitionMonth(p.Partition)
		if ok && start.Before(keepAll) {
			plan.Partitions = append(plan.Partitions, p)
		}
	}
	for _, table := range rollupTables {
		parts, err := Partitions(ctx, db, table)
		if err != nil {
			return nil, err
		}
		for _, p := range parts {
			start, ok := partitionMonth(p.Partition)
			if ok && start.Before(keepAll) {
				p.Table = table
				plan.Rollups = append(plan.Rollups, p)
			}
		}
	}
	for site, m := range months {
		cut := RetentionCutoff(now, m)
		if !cut.After(keepAll) {
			continue
		}
		var n uint64
		if err := db.Conn.QueryRow(ctx,
			"SELECT count() FROM "+statsTable+" WHERE site = ? AND hour >= toDateTime(?, 'UTC') AND hour < toDateTime(?, 'UTC')",
			site, keepAll.Unix(), cut.Unix()).Scan(&n); err != nil {
			return nil, fmt.Errorf("retention: count rows of %s: %w", site, err)
		}
		for _, table := range rollupTables {
			var r uint64
			if err := db.Conn.QueryRow(ctx,
				"SELECT count() FROM "+table+" WHERE site = ? AND "+rollupDate(table)+" >= toDate(?) AND "+rollupDate(table)+" < toDate(?)",
				site, keepAll.Format(time.DateOnly), cut.Format(time.DateOnly)).Scan(&r); err != nil {
				return nil, fmt.Errorf("retention: count rows of %s in %s: %w", site, table, err)
			}
			n += r
		}
		if n > 0 {
			plan.Deletes = append(plan.Deletes, SiteDelete{Site: site, Months: m, Before: cut, Rows: n})
		}
	}
	sort.Slice(plan.Deletes, func(i, j int) bool { return plan.Deletes[i].Site < plan.Deletes[j].Site })
	return plan, nil
}

// Apply drops the plan's partitions, then runs its deletes and waits (up to
// wait) for those mutations to finish.
func (p *Plan) Apply(ctx context.Context, db *DB, wait time.Duration) error {
	for _, t := range []struct {
		table string
		parts []PartitionDrop
	}{{minutesTable, p.Realtime}, {dropsTable, p.Drops}} {
		for _, d := range t.parts {
			if !dayPartitionRe.MatchString(d.Partition) {
				return fmt.Errorf("retention: unexpected partition %q", d.Partition)
			}
			if err := db.Conn.Exec(ctx, "ALTER TABLE "+t.table+" DROP PARTITION "+d.Partition); err != nil {
				return fmt.Errorf("retention: drop partition %s of %s: %w", d.Partition, t.table, err)
			}
		}
	}
	// The hourly rows go first: a rollup job running meanwhile only rolls
	// days that still have hourly rows.
	for _, d := range p.Partitions {
		if !partitionRe.MatchString(d.Partition) {
			return fmt.Errorf("retention: unexpected partition %q", d.Partition)
		}
		if err := db.Conn.Exec(ctx, "ALTER TABLE "+statsTable+" DROP PARTITION "+d.Partition); err != nil {
			return fmt.Errorf("retention: drop partition %s: %w", d.Partition, err)
		}
	}
	for _, d := range p.Rollups {
		if !partitionRe.MatchString(d.Partition) || !slices.Contains(rollupTables, d.Table) {
			return fmt.Errorf("retention: unexpected partition %q of %q", d.Partition, d.Table)
		}
		if err := db.Conn.Exec(ctx, "ALTER TABLE "+d.Table+" DROP PARTITION "+d.Partition); err != nil {
			return fmt.Errorf("retention: drop partition %s of %s: %w", d.Partition, d.Table, err)
		}
	}
	for _, d := range p.Deletes {
		if err := db.Conn.Exec(ctx, "ALTER TABLE "+statsTable+" DELETE WHERE site = ? AND hour < toDateTime(?, 'UTC')",
			d.Site, d.Before.Unix()); err != nil {
			return fmt.Errorf("retention: delete rows of %s: %w", d.Site, err)
		}
		for _, table := range rollupTables {
			if err := db.Conn.Exec(ctx, "ALTER TABLE "+table+" DELETE WHERE site = ? AND "+rollupDate(table)+" < toDate(?)",
				d.Site, d.Before.Format(time.DateOnly)); err != nil {
				return fmt.Errorf("retention: delete rows of %s from %s: %w", d.Site, table, err)
			}
		}
	}
	if len(p.Deletes) > 0 {
		for _, table := range append([]string{statsTable}, rollupTables...) {
			if err := WaitMutations(ctx, db, table, wait); err != nil {
				return err
			}
		}
	}
	return nil
}

var (
	partitionRe    = regexp.MustCompile(`^[0-9]{6}$`)
	dayPartitionRe = regexp.MustCompile(`^[0-9]{8}$`)
)

func partitionMonth(p string) (time.Time, bool) {
	if !partitionRe.MatchString(p) {
		return time.Time{}, false
	}
	t, err := time.Parse("200601", p)
	return t, err == nil
}

// Partitions lists the partitions of table with active parts and their row
// counts (rows of parts not yet merged count once per part), oldest first.
func Partitions(ctx context.Context, db *DB, table string) ([]PartitionDrop, error) {
	rows, err := db.Conn.Query(ctx,
		"SELECT partition, sum(rows) FROM system.parts WHERE active AND database = ? AND table = ? GROUP BY partition ORDER BY partition",
		db.Name, table)
	if err != nil {
		return nil, fmt.Errorf("list partitions of %s: %w", table, err)
	}
	defer rows.Close()
	var out []PartitionDrop
	for rows.Next() {
		var p PartitionDrop
		if err := rows.Scan(&p.Partition, &p.Rows); err != nil {
			return nil, fmt.Errorf("list partitions of %s: %w", table, err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func storedSites(ctx context.Context, db *DB) ([]string, error) {
	rows, err := db.Conn.Query(ctx, "SELECT DISTINCT site FROM "+statsTable)
	if err != nil {
		return nil, fmt.Errorf("list stored sites: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("list stored sites: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// ErrMutationTimeout is returned when mutations are still running after the
// wait given to WaitMutations.
var ErrMutationTimeout = errors.New("mutations still running")

// WaitMutations waits until table has no unfinished mutations
// (system.mutations is_done), at most timeout.
func WaitMutations(ctx context.Context, db *DB, table string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		var pending uint64
		if err := db.Conn.QueryRow(ctx,
			"SELECT count() FROM system.mutations WHERE database = ? AND table = ? AND is_done = 0",
			db.Name, table).Scan(&pending); err != nil {
			return fmt.Errorf("read mutations of %s: %w", table, err)
		}
		if pending == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: %d on %s after %s; they finish in the background (see system.mutations)", ErrMutationTimeout, pending, table, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
