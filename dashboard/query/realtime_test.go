package query_test

import (
	"context"
	"testing"
	"time"

	"analytics/aggregator"
	"analytics/aggregator/chstore"
	"analytics/dashboard/query"
	"analytics/schema/chtest"
)

// TestRealtime counts the visitors of the last five minutes from what the
// real aggregator wrote through the real store.
func TestRealtime(t *testing.T) {
	db := chtest.NewDB(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 27, 12, 30, 40, 0, time.UTC)
	clock := now
	agg, err := aggregator.New(aggregator.Options{Store: chstore.New(db), Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	add := func(at time.Time, visitor uint64) {
		// Visitor keys are uniform hashes: spread the small test numbers.
		agg.Add(&aggregator.Event{Time: at, Site: "a.com", Kind: aggregator.Pageview, Name: "pageview", Path: "/", Visitor: visitor * 0x9E3779B97F4A7C15, Interactive: true})
	}
	for v := uint64(1); v <= 30; v++ {
		add(now.Add(-10*time.Minute), v) // too old
	}
	for v := uint64(21); v <= 60; v++ {
		add(now.Add(-time.Duration(v%5)*time.Minute), v) // 40 visitors in the window
		add(now, v)                                      // and again now: still 40
	}
	add(now, 1000) // a visitor of another site does not count
	agg.Add(&aggregator.Event{Time: now, Site: "b.com", Kind: aggregator.Pageview, Name: "pageview", Path: "/", Visitor: 2000, Interactive: true})
	if err := agg.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := query.Realtime(ctx, db.Conn, "a.com", now)
	if err != nil {
		t.Fatal(err)
	}
	if got != 41 {
		t.Fatalf("realtime visitors %d, want 41", got)
	}
	if got, _ := query.Realtime(ctx, db.Conn, "a.com", now.Add(time.Hour)); got != 0 {
		t.Fatalf("an hour later: %d, want 0", got)
	}
}
