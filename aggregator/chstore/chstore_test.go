package chstore_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"analytics/aggregator"
	"analytics/aggregator/chstore"
	"analytics/aggregator/sketch"
	"analytics/aggregator/vitals"
	"analytics/schema"
	"analytics/schema/chtest"
)

// flaky fails the first n writes, as a store outage would, and otherwise
// passes rows to the real store.
type flaky struct {
	next  aggregator.Store
	fails atomic.Int32
}

func (f *flaky) Write(ctx context.Context, rows []aggregator.Row) error {
	if f.fails.Add(-1) >= 0 {
		return errors.New("injected outage")
	}
	return f.next.Write(ctx, rows)
}

type totals struct {
	pageviews, events, visitors uint64
}

// read returns what the dashboard would see for one dimension value over
// all hours: latest version per key, summed across hours and writers.
func read(t *testing.T, db *schema.DB, site, dim, value string) totals {
	t.Helper()
	rows, err := db.Conn.Query(context.Background(), `
		SELECT argMax(pageviews, ver), argMax(events, ver), argMax(sketch, ver)
		FROM stats_hourly
		WHERE site = ? AND dimension = ? AND value = ?
		GROUP BY hour, writer`, site, dim, value)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out totals
	all := sketch.New()
	for rows.Next() {
		var pv, ev uint64
		var sk string
		if err := rows.Scan(&pv, &ev, &sk); err != nil {
			t.Fatal(err)
		}
		out.pageviews += pv
		out.events += ev
		if err := all.MergeBinary([]byte(sk)); err != nil {
			t.Fatal(err)
		}
	}
	out.visitors = all.Estimate()
	return out
}

func event(site, path string, visitor uint64, at time.Time) *aggregator.Event {
	return &aggregator.Event{
		Time: at, Site: site, Kind: aggregator.Pageview, Name: "pageview", Path: path,
		Source: "news.ycombinator.com", Country: "DE", Browser: "Firefox", BrowserVersion: "120",
		OS: "GNU/Linux", Device: "Desktop", Visitor: visitor, Interactive: true,
	}
}

func TestCumulativeFlushesNeverDoubleCount(t *testing.T) {
	db := chtest.NewDB(t)
	ctx := context.Background()
	store := &flaky{next: chstore.New(db)}
	now := time.Date(2026, 11, 27, 10, 30, 0, 0, time.UTC)
	agg, err := aggregator.New(aggregator.Options{Store: store, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		agg.Add(event("a.com", "/x", uint64(i%40)*0x9E3779B97F4A7C15, now))
	}
	if err := agg.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// The same state again (nothing dirty), then more events, a failed flush
	// and its retry: the table must hold exactly the cumulative totals.
	if err := agg.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		agg.Add(event("a.com", "/x", uint64(1000+i)*0x9E3779B97F4A7C15, now))
	}
	store.fails.Store(1)
	if err := agg.Flush(ctx); err == nil {
		t.Fatal("flush through an outage succeeded")
	}
	if err := agg.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for _, dim := range []struct{ dim, value string }{
		{schema.DimTotal, ""}, {schema.DimPage, "/x"}, {schema.DimCountry, "DE"},
		{schema.DimBrowserVersion, "Firefox 120"}, {schema.DimSource, "news.ycombinator.com"},
	} {
		got := read(t, db, "a.com", dim.dim, dim.value)
		if got.pageviews != 150 || got.events != 150 || got.visitors != 90 {
			t.Errorf("%s=%q: got %+v, want 150 pageviews, 150 events, 90 visitors", dim.dim, dim.value, got)
		}
	}

	// A second process (another writer) adds to the same hour.
	agg2, err := aggregator.New(aggregator.Options{Store: chstore.New(db), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		agg2.Add(event("a.com", "/x", uint64(i)*0x9E3779B97F4A7C15, now)) // visitors 0..9 seen before
	}
	if err := agg2.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := read(t, db, "a.com", schema.DimTotal, ""); got.pageviews != 160 || got.visitors != 90 {
		t.Errorf("after second writer: %+v, want 160 pageviews and still 90 visitors", got)
	}
}

func TestClosedHoursLeaveMemory(t *testing.T) {
	db := chtest.NewDB(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 27, 10, 59, 0, 0, time.UTC)
	agg, err := aggregator.New(aggregator.Options{Store: chstore.New(db), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	agg.Add(event("a.com", "/", 1, now))
	if err := agg.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Minute) // 11:01, past the one-minute grace of the 10:00 hour
	agg.Add(event("a.com", "/", 2, now))
	for i := 0; i < 2; i++ {
		if err := agg.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var hours uint64
	if err := db.Conn.QueryRow(ctx, "SELECT uniqExact(hour) FROM stats_hourly WHERE site = 'a.com'").Scan(&hours); err != nil {
		t.Fatal(err)
	}
	if hours != 2 {
		t.Fatalf("stored %d hours, want 2", hours)
	}
	if got := read(t, db, "a.com", schema.DimTotal, ""); got.pageviews != 2 {
		t.Fatalf("pageviews %d, want 2", got.pageviews)
	}
}

func BenchmarkWrite(b *testing.B) {
	db := chtest.NewDB(b)
	store := chstore.New(db)
	rows := make([]aggregator.Row, 10000)
	sk := sketch.New()
	for i := range 50 {
		sk.Add(uint64(i) * 0x9E3779B97F4A7C15)
	}
	skb, _ := sk.MarshalBinary()
	hour := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	for i := range rows {
		rows[i] = aggregator.Row{Site: "a.com", Hour: hour, Dimension: schema.DimPage, Value: fmt.Sprintf("/p/%d", i),
			Writer: "w", Ver: 1, Pageviews: 3, Events: 3, Sketch: skb}
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := store.Write(context.Background(), rows); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(rows)), "rows/op")
}

// TestVitalsHistogramsAddUp writes web vitals from two writers, with a
// retried flush, and reads them back the way the dashboard does: the newest
// row per key, then histograms added bucket by bucket with sumMap.
func TestVitalsHistogramsAddUp(t *testing.T) {
	db := chtest.NewDB(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 27, 10, 30, 0, 0, time.UTC)
	sample := func(lcp float64) *aggregator.Event {
		e := event("a.com", "/x", 1, now)
		e.Kind, e.Name = aggregator.Vitals, "$web_vitals"
		e.Vitals.Has[vitals.LCP], e.Vitals.Value[vitals.LCP] = true, lcp
		return e
	}
	want := map[uint16]uint64{}
	for w := range 2 {
		store := &flaky{next: chstore.New(db)}
		agg, err := aggregator.New(aggregator.Options{Store: store, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 300 {
			v := float64(100 + 37*i + w)
			agg.Add(sample(v))
			want[uint16(vitals.Bucket(v))]++
			if i == 150 {
				if err := agg.Flush(ctx); err != nil {
					t.Fatal(err)
				}
				store.fails.Store(1)
				if err := agg.Flush(ctx); err != nil { // nothing dirty: no write
					t.Fatal(err)
				}
			}
		}
		if err := agg.Flush(ctx); err == nil {
			t.Fatal("flush through an outage succeeded")
		}
		if err := agg.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var samples, good, poor uint64
	var idx []uint16
	var counts []uint64
	err := db.Conn.QueryRow(ctx, `
		SELECT sum(s), sum(g), sum(p), tupleElement(sumMap(b, c), 1), tupleElement(sumMap(b, c), 2) FROM (
			SELECT argMax(samples, ver) AS s, argMax(good, ver) AS g, argMax(poor, ver) AS p,
			       argMax(buckets, ver) AS b, argMax(counts, ver) AS c
			FROM vitals_hourly
			WHERE site = 'a.com' AND metric = 'lcp' AND dimension = 'vitals:page' AND value = '/x'
			GROUP BY hour, writer)`).Scan(&samples, &good, &poor, &idx, &counts)
	if err != nil {
		t.Fatal(err)
	}
	if samples != 600 {
		t.Errorf("%d samples, want 600", samples)
	}
	got := map[uint16]uint64{}
	for i := range idx {
		got[idx[i]] = counts[i]
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("histogram\n got %v\nwant %v", got, want)
	}
	var wantGood, wantPoor uint64
	for w := range 2 {
		for i := range 300 {
			switch vitals.Defs[vitals.LCP].Rate(float64(100 + 37*i + w)) {
			case vitals.Good:
				wantGood++
			case vitals.Poor:
				wantPoor++
			}
		}
	}
	if good != wantGood || poor != wantPoor {
		t.Errorf("good %d poor %d, want %d %d", good, poor, wantGood, wantPoor)
	}
}
