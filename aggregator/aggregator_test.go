package aggregator

import (
	"context"
	"sync"
	"testing"
	"time"
)

// discard is a Store that keeps only the last batch, for tests of the
// in-memory side; the ClickHouse path is tested in chstore.
type discard struct {
	mu   sync.Mutex
	last []Row
}

func (d *discard) Write(_ context.Context, rows []Row) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.last = rows
	return nil
}

func pageview(at time.Time, path string, visitor uint64) *Event {
	return &Event{Time: at, Site: "a.com", Kind: Pageview, Name: "pageview", Path: path,
		Browser: "Chrome", BrowserVersion: "131", OS: "Windows", Device: "Desktop", Visitor: visitor}
}

func TestRowsPerDimension(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	st := &discard{}
	a, err := New(Options{Store: st, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	a.Add(pageview(now, "/", 1))
	a.Add(&Event{Time: now, Site: "a.com", Kind: Custom, Name: "Signup", Path: "/", Visitor: 1})
	a.Add(&Event{Time: now, Site: "a.com", Kind: Engagement, Name: "engagement", Path: "/", Visitor: 1})
	if err := a.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := map[string]Row{}
	for _, r := range st.last {
		got[r.Dimension+"="+r.Value] = r
	}
	for key, want := range map[string][2]uint64{
		"=":                                {1, 2},
		"event:page=/":                     {1, 2},
		"event:goal=Signup":                {0, 1},
		"visit:browser=Chrome":             {1, 1},
		"visit:browser_version=Chrome 131": {1, 1},
		"visit:os=Windows":                 {1, 1},
		"visit:device=Desktop":             {1, 1},
	} {
		r, ok := got[key]
		if !ok {
			t.Errorf("no row %s", key)
			continue
		}
		if r.Pageviews != want[0] || r.Events != want[1] {
			t.Errorf("%s: pageviews %d events %d, want %v", key, r.Pageviews, r.Events, want)
		}
		if !r.Hour.Equal(now) || r.Writer != a.Writer() || r.Ver == 0 || len(r.Sketch) == 0 {
			t.Errorf("%s: bad row %+v", key, r)
		}
	}
	if _, ok := got["event:goal=pageview"]; ok {
		t.Error("pageviews must not appear as a goal")
	}
}

func TestClosedBucketsAreForgottenAfterTheirLastFlush(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 59, 30, 0, time.UTC)
	a, err := New(Options{Store: &discard{}, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	a.Add(pageview(now, "/", 1))
	ctx := context.Background()
	if err := a.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if a.cellCount() == 0 {
		t.Fatal("open bucket dropped")
	}
	now = now.Add(2 * time.Minute)
	if err := a.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := a.cellCount(); n != 0 {
		t.Fatalf("%d cells still held after the hour closed and was written", n)
	}
}

func TestVersionsIncrease(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	st := &discard{}
	a, _ := New(Options{Store: st, Now: func() time.Time { return now }}) // frozen clock
	var last uint64
	for i := 0; i < 3; i++ {
		a.Add(pageview(now, "/", uint64(i)))
		if err := a.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		if v := st.last[0].Ver; v <= last {
			t.Fatalf("ver %d after %d", v, last)
		} else {
			last = v
		}
	}
}

func BenchmarkAdd(b *testing.B) {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	a, _ := New(Options{Store: &discard{}, Now: func() time.Time { return now }})
	paths := []string{"/", "/pricing", "/blog/a", "/blog/b", "/docs"}
	ev := pageview(now, "/", 0)
	b.ReportAllocs()
	i := uint64(0)
	for b.Loop() {
		i++
		ev.Path = paths[i%5]
		ev.Visitor = i * 0x9E3779B97F4A7C15
		a.Add(ev)
	}
}
