package schema_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"analytics/schema"
	"analytics/schema/chtest"
	"analytics/schema/rollup"
)

// rollDays rolls up the given UTC days (YYYY-MM-DD) of site into
// stats_daily.
func rollDays(t *testing.T, db *schema.DB, site string, days ...string) {
	t.Helper()
	for _, d := range days {
		day, err := time.Parse(time.DateOnly, d)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rollup.RollDay(context.Background(), db, site, day, 0); err != nil {
			t.Fatal(err)
		}
	}
}

// countRollups counts the rows of site in stats_daily and stats_daily_rolls.
func countRollups(t *testing.T, db *schema.DB, site string) [2]uint64 {
	t.Helper()
	var out [2]uint64
	for i, table := range []string{"stats_daily", "stats_daily_rolls"} {
		if err := db.Conn.QueryRow(context.Background(), "SELECT count() FROM "+table+" WHERE site = ?", site).Scan(&out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestRetentionCutoff(t *testing.T) {
	for _, tc := range []struct {
		now    string
		months int
		want   string
	}{
		{"2026-11-27T08:00:00Z", 25, "2024-10-01T00:00:00Z"},
		{"2026-01-01T00:00:00Z", 1, "2025-12-01T00:00:00Z"},
		{"2026-03-31T23:59:59Z", 120, "2016-03-01T00:00:00Z"},
	} {
		now, _ := time.Parse(time.RFC3339, tc.now)
		if got := schema.RetentionCutoff(now, tc.months).Format(time.RFC3339); got != tc.want {
			t.Errorf("RetentionCutoff(%s, %d) = %s, want %s", tc.now, tc.months, got, tc.want)
		}
	}
}

// insertHours writes one stats_hourly row per (site, hour).
func insertHours(t *testing.T, db *schema.DB, rows map[string][]string) {
	t.Helper()
	ctx := context.Background()
	batch, err := db.Conn.PrepareBatch(ctx, "INSERT INTO stats_hourly (site, hour, dimension, goal, value, writer, ver, pageviews)")
	if err != nil {
		t.Fatal(err)
	}
	defer batch.Close()
	for site, hours := range rows {
		for _, h := range hours {
			ts, err := time.Parse("2006-01-02T15", h)
			if err != nil {
				t.Fatal(err)
			}
			if err := batch.Append(site, ts, "", "", "", "w1", uint64(1), uint64(3)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := batch.Send(); err != nil {
		t.Fatal(err)
	}
}

func countBySite(t *testing.T, db *schema.DB) map[string]uint64 {
	t.Helper()
	rows, err := db.Conn.Query(context.Background(), "SELECT site, count() FROM stats_hourly GROUP BY site")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]uint64{}
	for rows.Next() {
		var s string
		var n uint64
		if err := rows.Scan(&s, &n); err != nil {
			t.Fatal(err)
		}
		out[s] = n
	}
	return out
}

func TestRetentionPlanAndApply(t *testing.T) {
	db := chtest.NewDB(t)
	ctx := context.Background()
	insertHours(t, db, map[string][]string{
		// 25 months: keeps 2024-10 on (now is 2026-11).
		"a.example": {"2024-08-10T05", "2024-09-30T23", "2024-10-01T00", "2026-07-01T00"},
		// 3 months: keeps 2026-08 on.
		"b.example": {"2024-09-02T00", "2026-01-15T12", "2026-07-31T23", "2026-08-01T00"},
		// no longer configured: the default 25 months.
		"gone.example": {"2024-10-05T00"},
	})
	rollDays(t, db, "a.example", "2024-08-10", "2026-07-01")
	rollDays(t, db, "b.example", "2024-09-02", "2026-01-15", "2026-08-01")
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	// Web vitals histograms follow the same per-site retention.
	vbatch, err := db.Conn.PrepareBatch(ctx, "INSERT INTO vitals_hourly (site, hour, metric, dimension, value, writer, ver, samples, good, poor, buckets, counts)")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []struct {
		site string
		hour time.Time
	}{
		{"a.example", time.Date(2024, 9, 3, 0, 0, 0, 0, time.UTC)},
		{"b.example", time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)},
		{"b.example", time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)},
	} {
		if err := vbatch.Append(v.site, v.hour, "lcp", "vitals", "", "w", uint64(1), uint64(1), uint64(1), uint64(0), []uint16{90}, []uint64{1}); err != nil {
			t.Fatal(err)
		}
	}
	if err := vbatch.Send(); err != nil {
		t.Fatal(err)
	}
	// Drop counts: 31 days stay.
	dbatch, err := db.Conn.PrepareBatch(ctx, "INSERT INTO drops_minutely (site, minute, reason, writer, ver, dropped)")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []time.Time{now.AddDate(0, 0, -38), now.AddDate(0, 0, -30)} {
		if err := dbatch.Append("a.example", m, "bot", "w", uint64(1), uint64(3)); err != nil {
			t.Fatal(err)
		}
	}
	if err := dbatch.Send(); err != nil {
		t.Fatal(err)
	}
	// Realtime minutes: only today's and yesterday's stay.
	batch, err := db.Conn.PrepareBatch(ctx, "INSERT INTO stats_minutely (site, minute, writer, ver, pageviews, events, sketch)")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []time.Time{now.Add(-50 * time.Hour), now.Add(-30 * time.Hour), now.Add(-time.Minute)} {
		if err := batch.Append("a.example", m, "w", uint64(1), uint64(1), uint64(1), ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := batch.Send(); err != nil {
		t.Fatal(err)
	}
	plan, err := schema.PlanRetention(ctx, db, map[string]int{"a.example": 25, "b.example": 3}, now)
	if err != nil {
		t.Fatal(err)
	}
	if want := []schema.PartitionDrop{{Partition: "20261125", Rows: 1}}; !reflect.DeepEqual(plan.Realtime, want) {
		t.Errorf("realtime partitions = %+v, want %+v", plan.Realtime, want)
	}
	if len(plan.Drops) != 1 || plan.Drops[0].Partition != "20261020" {
		t.Errorf("drops partitions = %+v, want 20261020 only", plan.Drops)
	}
	wantParts := []schema.PartitionDrop{{Partition: "202408", Rows: 1}, {Partition: "202409", Rows: 2}}
	if !reflect.DeepEqual(plan.Partitions, wantParts) {
		t.Errorf("partitions = %+v, want %+v", plan.Partitions, wantParts)
	}
	wantRollups := []schema.PartitionDrop{
		{Table: "stats_daily", Partition: "202408", Rows: 1}, {Table: "stats_daily", Partition: "202409", Rows: 1},
		{Table: "stats_daily_rolls", Partition: "202408", Rows: 1}, {Table: "stats_daily_rolls", Partition: "202409", Rows: 1},
		{Table: "stats_daily_top", Partition: "202408", Rows: 1}, {Table: "stats_daily_top", Partition: "202409", Rows: 1},
		{Table: "vitals_hourly", Partition: "202409", Rows: 1},
	}
	if !reflect.DeepEqual(plan.Rollups, wantRollups) {
		t.Errorf("rollup partitions = %+v, want %+v", plan.Rollups, wantRollups)
	}
	// b.example: 2 hourly rows, the daily row, stats_daily_top marker and
	// roll of 2026-01-15, and the vitals row of 2026-02.
	wantDel := []schema.SiteDelete{{Site: "b.example", Months: 3, Before: time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC), Rows: 6}}
	if !reflect.DeepEqual(plan.Deletes, wantDel) {
		t.Errorf("deletes = %+v, want %+v", plan.Deletes, wantDel)
	}
	if err := plan.Apply(ctx, db, time.Minute); err != nil {
		t.Fatal(err)
	}
	want := map[string]uint64{"a.example": 2, "b.example": 1, "gone.example": 1}
	if got := countBySite(t, db); !reflect.DeepEqual(got, want) {
		t.Errorf("after apply: %v, want %v", got, want)
	}
	for site, want := range map[string][2]uint64{"a.example": {1, 1}, "b.example": {1, 1}} {
		if got := countRollups(t, db, site); got != want {
			t.Errorf("rollup rows of %s after apply: %v, want %v", site, got, want)
		}
	}
	for _, table := range []string{"stats_hourly", "vitals_hourly"} {
		parts, err := schema.Partitions(ctx, db, table)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range parts {
			if p.Partition < "202410" {
				t.Errorf("partition %s of %s still there", p.Partition, table)
			}
		}
	}
	var vitalsLeft uint64
	if err := db.Conn.QueryRow(ctx, "SELECT count() FROM vitals_hourly FINAL").Scan(&vitalsLeft); err != nil {
		t.Fatal(err)
	}
	if vitalsLeft != 1 {
		t.Errorf("vitals_hourly keeps %d rows, want 1 (b.example's September row)", vitalsLeft)
	}
	again, err := schema.PlanRetention(ctx, db, map[string]int{"a.example": 25, "b.example": 3}, now)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Empty() {
		t.Errorf("second plan not empty: %+v", again)
	}
	if _, err := schema.PlanRetention(ctx, db, map[string]int{"a.example": 0}, now); err == nil {
		t.Error("0 months accepted")
	}
}

func TestPurgeSite(t *testing.T) {
	db := chtest.NewDB(t)
	ctx := context.Background()
	insertHours(t, db, map[string][]string{
		"keep.example":  {"2026-11-01T00", "2026-10-01T00"},
		"purge.example": {"2026-11-01T00", "2026-10-01T00", "2025-01-01T00"},
	})
	rollDays(t, db, "keep.example", "2026-11-01")
	rollDays(t, db, "purge.example", "2026-11-01", "2026-10-01")
	before, after, err := schema.PurgeSite(ctx, db, "purge.example", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if want := []schema.TableRows{{Table: "drops_minutely", Rows: 0}, {Table: "stats_daily", Rows: 2}, {Table: "stats_daily_rolls", Rows: 2},
		{Table: "stats_daily_top", Rows: 2}, {Table: "stats_hourly", Rows: 3}, {Table: "stats_minutely", Rows: 0}, {Table: "stats_monthly", Rows: 0}, {Table: "stats_monthly_rolls", Rows: 0}, {Table: "vitals_hourly", Rows: 0}}; !reflect.DeepEqual(before, want) {
		t.Errorf("before = %+v, want %+v", before, want)
	}
	if want := []schema.TableRows{{Table: "drops_minutely", Rows: 0}, {Table: "stats_daily", Rows: 0}, {Table: "stats_daily_rolls", Rows: 0},
		{Table: "stats_daily_top", Rows: 0}, {Table: "stats_hourly", Rows: 0}, {Table: "stats_minutely", Rows: 0}, {Table: "stats_monthly", Rows: 0}, {Table: "stats_monthly_rolls", Rows: 0}, {Table: "vitals_hourly", Rows: 0}}; !reflect.DeepEqual(after, want) {
		t.Errorf("after = %+v, want %+v", after, want)
	}
	if got := countRollups(t, db, "keep.example"); got != [2]uint64{1, 1} {
		t.Errorf("rollup rows of keep.example: %v, want one each", got)
	}
	if got, want := countBySite(t, db), map[string]uint64{"keep.example": 2}; !reflect.DeepEqual(got, want) {
		t.Errorf("rows = %v, want %v", got, want)
	}
}
