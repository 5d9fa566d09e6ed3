package aggregator

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"analytics/aggregator/sketch"
	"analytics/schema"
)

// memStore is a Store that keeps the latest version of every row, as
// ClickHouse's ReplacingMergeTree does, for tests of the in-memory side;
// the ClickHouse path is tested in chstore.
type memStore struct {
	mu   sync.Mutex
	rows map[string]Row
	last []Row
}

func (m *memStore) Write(_ context.Context, rows []Row) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.rows == nil {
		m.rows = map[string]Row{}
	}
	for _, r := range rows {
		k := fmt.Sprint(r.Site, r.Hour.Unix(), r.Dimension, r.Goal, r.Value, r.Writer)
		if old, ok := m.rows[k]; !ok || r.Ver > old.Ver {
			m.rows[k] = r
		}
	}
	m.last = rows
	return nil
}

// sum adds the latest rows of one dimension value over all hours.
func (m *memStore) sum(dim, goal, value string) Row {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out Row
	for _, r := range m.rows {
		if r.Dimension == dim && r.Goal == goal && r.Value == value {
			out.Pageviews += r.Pageviews
			out.Events += r.Events
			out.Visits += r.Visits
			out.Bounces += r.Bounces
			out.Duration += r.Duration
			out.Engagements += r.Engagements
			out.ScrollSum += r.ScrollSum
			out.EngagedMS += r.EngagedMS
		}
	}
	return out
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newAgg(t testing.TB, opts Options) (*Aggregator, *memStore, *clock) {
	t.Helper()
	st := &memStore{}
	c := &clock{t: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
	opts.Store, opts.Now = st, c.now
	a, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return a, st, c
}

func pv(at time.Time, visitor uint64, path, source string) *Event {
	return &Event{Time: at, Site: "a.com", Kind: Pageview, Name: "pageview", Path: path, Source: source, Referrer: source,
		Country: "DE", Browser: "Chrome", BrowserVersion: "131", OS: "Windows", OSVersion: "10",
		Device: "Desktop", Visitor: visitor, Interactive: true}
}

func flush(t testing.TB, a *Aggregator) {
	t.Helper()
	if err := a.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestVisits(t *testing.T) {
	a, st, c := newAgg(t, Options{})
	t0 := c.t
	// Visitor 1: three pageviews over 5 minutes, from Google: one visit,
	// no bounce, 300 s. Visitor 2: one pageview, a bounce. Visitor 3: a
	// pageview and a non-interactive event: still a bounce.
	a.Add(pv(t0, 1, "/", "google.com"))
	a.Add(pv(t0.Add(2*time.Minute), 1, "/pricing", ""))
	a.Add(pv(t0.Add(5*time.Minute), 1, "/signup", ""))
	a.Add(pv(t0.Add(time.Minute), 2, "/pricing", "news.ycombinator.com"))
	a.Add(pv(t0.Add(time.Minute), 3, "/", ""))
	a.Add(&Event{Time: t0.Add(2 * time.Minute), Site: "a.com", Kind: Custom, Name: "Video played", Path: "/", Visitor: 3, Interactive: false})
	// A late event of visitor 2 after the timeout starts a new visit.
	c.t = t0.Add(40 * time.Minute)
	a.Add(pv(c.t, 2, "/blog", ""))
	c.t = t0.Add(80 * time.Minute) // every visit is over
	flush(t, a)

	for _, tc := range []struct {
		dim, value                        string
		visits, bounces, duration, pviews uint64
	}{
		{schema.DimTotal, "", 4, 3, 360, 6},
		{schema.DimSource, "google.com", 1, 0, 300, 3}, // later pageviews count under the visit's source
		{schema.DimSource, "news.ycombinator.com", 1, 1, 0, 1},
		{schema.DimSource, "", 2, 2, 60, 2},
		{schema.DimEntryPage, "/", 2, 1, 360, 0},
		{schema.DimEntryPage, "/pricing", 1, 1, 0, 0},
		{schema.DimExitPage, "/signup", 1, 0, 300, 0},
		{schema.DimExitPage, "/pricing", 1, 1, 0, 0},
		{schema.DimExitPage, "/", 1, 1, 60, 0},
		{schema.DimExitPage, "/blog", 1, 1, 0, 0},
		{schema.DimBrowserVersion, "Chrome 131", 4, 3, 360, 6},
		{schema.DimOSVersion, "Windows 10", 4, 3, 360, 6},
		{schema.DimChannel, "Organic Search", 1, 0, 300, 3},
	} {
		got := st.sum(tc.dim, "", tc.value)
		if got.Visits != tc.visits || got.Bounces != tc.bounces || got.Duration != tc.duration || got.Pageviews != tc.pviews {
			t.Errorf("%s=%q: visits %d bounces %d duration %d pageviews %d; want %d %d %d %d", tc.dim, tc.value,
				got.Visits, got.Bounces, got.Duration, got.Pageviews, tc.visits, tc.bounces, tc.duration, tc.pviews)
		}
	}
	if got := st.sum(schema.DimGoal, "", "Video played"); got.Events != 1 || got.Pageviews != 0 {
		t.Errorf("goal: %+v", got)
	}
}

func TestEngagement(t *testing.T) {
	a, st, c := newAgg(t, Options{})
	eng := func(v uint64, path string, sd int, ms int64) bool {
		return a.Add(&Event{Time: c.t, Site: "a.com", Kind: Engagement, Name: "engagement", Path: path, Visitor: v, ScrollDepth: sd, EngagedMS: ms})
	}
	if eng(9, "/", 50, 1000) {
		t.Fatal("engagement without a visit was counted")
	}
	a.Add(pv(c.t, 1, "/post", ""))
	eng(1, "/post", 40, 3000)
	eng(1, "/post", 80, 2000) // same pageview: scroll grows to 80
	eng(1, "/post", 60, 500)  // scroll went back up the page: max stays 80
	a.Add(pv(c.t, 2, "/post", ""))
	eng(2, "/post", 100, 10000)
	a.Add(pv(c.t, 1, "/post", "")) // a new pageview of the same page
	eng(1, "/post", 20, 1000)
	flush(t, a)
	got := st.sum(schema.DimPage, "", "/post")
	if got.Engagements != 3 || got.ScrollSum != 80+100+20 || got.EngagedMS != 16500 || got.Pageviews != 3 {
		t.Fatalf("engagement: %+v", got)
	}
}

func TestPropsPerGoal(t *testing.T) {
	a, st, c := newAgg(t, Options{})
	add := func(v uint64, name string, props ...Prop) {
		a.Add(&Event{Time: c.t, Site: "a.com", Kind: Custom, Name: name, Path: "/", Visitor: v, Interactive: true, Props: props})
	}
	add(1, "Signup", Prop{"plan", "pro"})
	add(2, "Signup", Prop{"plan", "free"})
	add(3, "Signup", Prop{"plan", "pro"})
	add(3, "Outbound Link: Click", Prop{"url", "https://example.org/"})
	flush(t, a)
	if got := st.sum("event:props:plan", "Signup", "pro"); got.Events != 2 {
		t.Errorf("plan=pro: %+v", got)
	}
	if got := st.sum("event:props:url", "Outbound Link: Click", "https://example.org/"); got.Events != 1 {
		t.Errorf("outbound url: %+v", got)
	}
	if got := st.sum(schema.DimGoal, "", "Signup"); got.Events != 3 {
		t.Errorf("goal: %+v", got)
	}
}

func TestCapsFoldIntoOther(t *testing.T) {
	a, st, c := newAgg(t, Options{MaxValues: 10, MaxPropKeys: 2})
	for i := 0; i < 100; i++ {
		a.Add(pv(c.t, uint64(i), fmt.Sprintf("/p/%d", i), ""))
		a.Add(&Event{Time: c.t, Site: "a.com", Kind: Custom, Name: "E", Path: "/", Visitor: uint64(i), Interactive: true,
			Props: []Prop{{"k", fmt.Sprint(i)}, {fmt.Sprint("key", i), "v"}}})
	}
	flush(t, a)
	if got := st.sum(schema.DimPage, "", schema.OtherValue); got.Pageviews != 91 { // "/p/0".."/p/8" and "/" fit
		t.Errorf("(other) pages: %d pageviews, want 91", got.Pageviews)
	}
	if got := st.sum(schema.DimTotal, "", ""); got.Pageviews != 100 || got.Events != 200 {
		t.Errorf("totals must not fold: %+v", got)
	}
	// Keys: "k" and "key0" fit the 2 keys of event E; key1..key99 fold
	// into E's (other) key. Values: k=0..8 and key0=v fill the 10 values
	// of the bucket's properties; k=9..99 fold into the one (other) cell.
	if got := st.sum("event:props:(other)", "E", schema.OtherValue); got.Events != 99 {
		t.Errorf("(other) keys of E: %+v", got)
	}
	if got := st.sum("event:props:(other)", schema.OtherValue, schema.OtherValue); got.Events != 91 {
		t.Errorf("(other) values: %+v", got)
	}
	if got := st.sum("event:props:k", "E", "8"); got.Events != 1 {
		t.Errorf("k=8: %+v", got)
	}
	pages := 0
	for _, r := range st.rows {
		if r.Dimension == schema.DimPage {
			pages++
		}
	}
	if pages != 11 {
		t.Errorf("%d page rows, want 10 values + (other)", pages)
	}
}

func TestVisitEndsAtUTCMidnight(t *testing.T) {
	a, st, c := newAgg(t, Options{})
	c.t = time.Date(2026, 11, 27, 23, 50, 0, 0, time.UTC)
	a.Add(pv(c.t, 1, "/", ""))
	c.t = c.t.Add(15 * time.Minute) // 00:05 next day, within 30 minutes
	a.Add(pv(c.t, 1, "/", ""))
	c.t = c.t.Add(time.Hour)
	flush(t, a)
	if got := st.sum(schema.DimTotal, "", ""); got.Visits != 2 || got.Bounces != 2 {
		t.Fatalf("a visit crossed midnight: %+v", got)
	}
}

func TestMemoryIsReleased(t *testing.T) {
	a, _, c := newAgg(t, Options{})
	for i := 0; i < 1000; i++ {
		a.Add(pv(c.t, uint64(i), fmt.Sprint("/", i%50), ""))
	}
	flush(t, a)
	if a.nSess != 1000 || a.nCells == 0 {
		t.Fatalf("sessions %d cells %d", a.nSess, a.nCells)
	}
	c.t = c.t.Add(2 * time.Hour)
	flush(t, a) // visits end, exit pages written
	flush(t, a) // buckets closed and clean: dropped
	if a.nSess != 0 || a.nCells != 0 || len(a.sites) != 0 {
		t.Fatalf("after the hour: sessions %d cells %d sites %d", a.nSess, a.nCells, len(a.sites))
	}
}

func TestStopEndsVisits(t *testing.T) {
	a, st, c := newAgg(t, Options{FlushInterval: time.Hour})
	a.Add(pv(c.t, 1, "/a", ""))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := a.Run(ctx, time.Second); err != nil {
		t.Fatal(err)
	}
	if got := st.sum(schema.DimExitPage, "", "/a"); got.Visits != 1 {
		t.Fatalf("exit page after a clean stop: %+v", got)
	}
}

func TestVersionsIncrease(t *testing.T) {
	a, st, c := newAgg(t, Options{})
	var last uint64
	for i := 0; i < 3; i++ {
		a.Add(pv(c.t, uint64(i), "/", "")) // frozen clock
		flush(t, a)
		if v := st.last[0].Ver; v <= last {
			t.Fatalf("ver %d after %d", v, last)
		} else {
			last = v
		}
	}
}

func BenchmarkAdd(b *testing.B) {
	a, _, c := newAgg(b, Options{})
	paths := []string{"/", "/pricing", "/blog/a", "/blog/b", "/docs"}
	ev := pv(c.t, 0, "/", "google.com")
	b.ReportAllocs()
	i := uint64(0)
	for b.Loop() {
		i++
		ev.Path = paths[i%5]
		ev.Visitor = (i % 5000) * 0x9E3779B97F4A7C15 // 5000 visitors, ~N pageviews each
		a.Add(ev)
	}
}

// TestMemoryFlatUnderAdversarialStream sends ever-new paths, sources,
// event names and property keys: the number of cells must stop growing at
// the caps, whatever the stream.
func TestMemoryFlatUnderAdversarialStream(t *testing.T) {
	a, _, c := newAgg(t, Options{MaxValues: 100, MaxPropKeys: 5})
	send := func(from, to int) {
		for i := from; i < to; i++ {
			e := pv(c.t, uint64(i), fmt.Sprint("/random/", i), fmt.Sprint("spam", i, ".example"))
			e.UTMCampaign = fmt.Sprint("c", i)
			a.Add(e)
			a.Add(&Event{Time: c.t, Site: "a.com", Kind: Custom, Name: fmt.Sprint("ev", i), Path: "/", Visitor: uint64(i), Interactive: true,
				Props: []Prop{{fmt.Sprint("k", i), fmt.Sprint("v", i)}}})
		}
	}
	send(0, 5000)
	after5k := a.nCells
	send(5000, 20000)
	if a.nCells != after5k {
		t.Fatalf("cells grew from %d to %d under an adversarial stream", after5k, a.nCells)
	}
	// Each capped dimension holds at most 100 values and its (other).
	if limit := 30 * 101; a.nCells > limit {
		t.Fatalf("%d cells, want at most %d", a.nCells, limit)
	}
}

// BenchmarkAddRealistic: three events per visitor, so a third of the events
// start a visit, over 200 paths and a handful of sources and browsers.
func BenchmarkAddRealistic(b *testing.B) {
	a, _, c := newAgg(b, Options{})
	paths := make([]string, 200)
	for i := range paths {
		paths[i] = fmt.Sprint("/p/", i)
	}
	sources := []string{"", "google.com", "news.ycombinator.com", "t.co"}
	countries := []string{"US", "DE", "GB", "FR", "IN"}
	browsers := []string{"Chrome", "Firefox", "Safari", "Edge"}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		v := i / 3
		e := Event{Time: c.t, Site: "a.com", Kind: Pageview, Name: "pageview", Path: paths[i%200],
			Source: sources[v%4], Referrer: sources[v%4], Country: countries[v%5], Browser: browsers[v%4],
			BrowserVersion: "131", OS: "Windows", OSVersion: "10", Device: "Desktop",
			Visitor: uint64(v) * 0x9E3779B97F4A7C15, Interactive: true}
		a.Add(&e)
	}
}

func TestDropsPerMinute(t *testing.T) {
	a, st, c := newAgg(t, Options{})
	a.Drop("a.com", "bot", c.t)
	a.Drop("a.com", "bot", c.t.Add(10*time.Second))
	a.Drop("(unknown)", "malformed", c.t)
	a.Drop("a.com", "bot", c.t.Add(time.Minute))
	flush(t, a)
	got := map[string]uint64{}
	for _, r := range st.rows {
		if r.Dimension == schema.DimDrops {
			got[fmt.Sprint(r.Site, "/", r.Value, "/", r.Hour.Format("15:04"))] += r.Events
		}
	}
	want := map[string]uint64{"a.com/bot/10:00": 2, "a.com/bot/10:01": 1, "(unknown)/malformed/10:00": 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("drop rows %v, want %v", got, want)
	}
	c.t = c.t.Add(time.Hour)
	flush(t, a)
	if a.nCells != 0 || len(a.sites) != 0 {
		t.Fatalf("drop counts still held: cells %d sites %d", a.nCells, len(a.sites))
	}
}

// TestCachedCellsFollowHoursAndMinutes: Add reuses the last bucket, minute
// cell and page cell and skips sketch inserts that cannot change a sketch;
// across hour and minute boundaries, reloads and engagement events, every
// row must still be what counting from scratch gives.
func TestCachedCellsFollowHoursAndMinutes(t *testing.T) {
	a, st, c := newAgg(t, Options{})
	at := func(hm string, sec int) time.Time {
		tm, err := time.Parse("15:04", hm)
		if err != nil {
			t.Fatal(err)
		}
		return time.Date(2026, 11, 27, tm.Hour(), tm.Minute(), sec, 0, time.UTC)
	}
	eng := func(tm time.Time, v uint64, path string) {
		if !a.Add(&Event{Time: tm, Site: "a.com", Kind: Engagement, Name: "engagement", Path: path, Visitor: v, ScrollDepth: 50, EngagedMS: 1000}) {
			t.Fatalf("engagement of visitor %d at %v not counted", v, tm)
		}
	}
	a.Add(pv(at("10:59", 30), 1, "/a", ""))
	eng(at("11:00", 10), 1, "/a") // the visit's page, but in the next hour
	a.Add(pv(at("11:00", 20), 1, "/a", ""))
	eng(at("11:00", 40), 1, "/a")
	a.Add(pv(at("11:00", 30), 2, "/a", ""))
	a.Add(pv(at("11:01", 0), 1, "/b", ""))
	a.Add(&Event{Time: at("11:01", 10), Site: "a.com", Kind: Custom, Name: "Signup", Path: "/b", Visitor: 1, Interactive: true})
	c.t = at("11:05", 0)
	flush(t, a)

	type want struct{ pageviews, events, engagements, visitors uint64 }
	check := func(hour time.Time, dim, value string, w want) {
		t.Helper()
		st.mu.Lock()
		defer st.mu.Unlock()
		for _, r := range st.rows {
			if r.Hour.Equal(hour) && r.Dimension == dim && r.Value == value {
				sk, err := sketch.Unmarshal(r.Sketch)
				if err != nil {
					t.Fatal(err)
				}
				got := want{r.Pageviews, r.Events, r.Engagements, sk.Estimate()}
				if got != w {
					t.Errorf("%v %s=%q: got %+v, want %+v", hour.Format("15:04"), dim, value, got, w)
				}
				return
			}
		}
		t.Errorf("no row %v %s=%q", hour.Format("15:04"), dim, value)
	}
	check(at("10:00", 0), schema.DimPage, "/a", want{1, 1, 0, 1})
	check(at("11:00", 0), schema.DimPage, "/a", want{2, 2, 2, 2})
	check(at("11:00", 0), schema.DimPage, "/b", want{1, 2, 0, 1})
	check(at("11:00", 0), schema.DimTotal, "", want{3, 4, 0, 2})
	check(at("10:59", 0), schema.DimRealtime, "", want{1, 1, 0, 1})
	check(at("11:00", 0), schema.DimRealtime, "", want{2, 4, 0, 2})
	check(at("11:01", 0), schema.DimRealtime, "", want{1, 2, 0, 1})

	// Once its hour is closed, written and without visits, a bucket is
	// forgotten: a late event of that hour must start a new one, not land
	// in the forgotten bucket that Add last used.
	a.Add(pv(at("12:59", 50), 5, "/", "")) // keeps the site alive
	a.Add(pv(at("11:59", 0), 3, "/late", ""))
	c.t = at("13:00", 0)
	flush(t, a) // ends the visits; the 11:00 bucket is written
	flush(t, a) // and forgotten
	a.Add(pv(at("11:59", 30), 4, "/late", ""))
	flush(t, a)
	written := false
	for _, r := range st.last {
		written = written || r.Dimension == schema.DimPage && r.Value == "/late" && r.Hour.Equal(at("11:00", 0))
	}
	if !written {
		t.Error("a late event of a forgotten hour was not written")
	}
}

// TestCountAsksForLocationOnlyAtVisitStart: an unlocated event is counted
// when its visit is in progress; one that would start a visit is refused
// with NeedsLocation and changes nothing, so counting it again located
// gives what counting it located right away gives.
func TestCountAsksForLocationOnlyAtVisitStart(t *testing.T) {
	a, st, c := newAgg(t, Options{})
	unlocated := func(e *Event) *Event { e.Unlocated, e.Country = true, ""; return e }
	eng := &Event{Time: c.t, Site: "a.com", Kind: Engagement, Name: "engagement", Path: "/", Visitor: 1, ScrollDepth: 10}
	if got := a.Count(unlocated(eng)); got != NoVisit {
		t.Fatalf("engagement without a visit: %v, want NoVisit", got)
	}
	if got := a.Count(unlocated(pv(c.t, 1, "/", "google.com"))); got != NeedsLocation {
		t.Fatalf("first pageview: %v, want NeedsLocation", got)
	}
	if a.Add(unlocated(pv(c.t, 1, "/", "google.com"))) {
		t.Fatal("Add counted an unlocated visit start")
	}
	flush(t, a)
	if len(st.rows) != 0 {
		t.Fatalf("refused events left rows: %+v", st.rows)
	}
	if got := a.Count(pv(c.t, 1, "/", "google.com")); got != Counted { // located: Country DE
		t.Fatalf("located first pageview: %v", got)
	}
	for i, e := range []*Event{pv(c.t.Add(time.Minute), 1, "/pricing", ""), eng} {
		if got := a.Count(unlocated(e)); got != Counted {
			t.Fatalf("event %d of the visit: %v, want Counted", i, got)
		}
	}
	// After the visit timed out, the next event starts a new visit.
	if got := a.Count(unlocated(pv(c.t.Add(2*time.Hour), 1, "/", ""))); got != NeedsLocation {
		t.Fatalf("after the timeout: %v, want NeedsLocation", got)
	}
	c.t = c.t.Add(3 * time.Hour)
	flush(t, a)
	if got := st.sum(schema.DimCountry, "", "DE"); got.Visits != 1 || got.Pageviews != 2 || got.Events != 2 {
		t.Errorf("country DE: %+v, want 1 visit, 2 pageviews, 2 events (engagement is no event)", got)
	}
	if got := st.sum(schema.DimCountry, "", ""); got.Visits != 0 || got.Events != 0 {
		t.Errorf("unknown country: %+v, want nothing", got)
	}
	if got := st.sum(schema.DimExitPage, "", "/"); got.Visits != 1 { // the engagement was on /
		t.Errorf("exit page: %+v", got)
	}
}

// BenchmarkAddVisitsInProgress: events of visits in progress, as most events
// are: visitors each with a visit started, then pageviews over 200 paths,
// custom events with a property and engagement events of random visitors.
// With many visitors, Add's cost is mostly the memory it touches per event.
func BenchmarkAddVisitsInProgress(b *testing.B) {
	for _, visitors := range []int{1000, 50000} {
		b.Run(fmt.Sprint("visitors=", visitors), func(b *testing.B) {
			a, _, c := newAgg(b, Options{})
			paths := make([]string, 200)
			for i := range paths {
				paths[i] = fmt.Sprint("/p/", i)
			}
			key := func(v int) uint64 { return uint64(v+1) * 0x9E3779B97F4A7C15 }
			for v := range visitors {
				e := pv(c.t, key(v), paths[v%200], []string{"", "google.com", "t.co"}[v%3])
				e.Country = []string{"US", "DE", "GB", "FR", "IN"}[v%5]
				a.Add(e)
			}
			props := []Prop{{"plan", "pro"}}
			b.ReportAllocs()
			x := uint64(88172645463325252)
			for b.Loop() {
				x ^= x << 13
				x ^= x >> 7
				x ^= x << 17
				v := int(x % uint64(visitors))
				e := Event{Time: c.t, Site: "a.com", Kind: Pageview, Name: "pageview", Path: paths[x>>32%200],
					Visitor: key(v), Interactive: true}
				switch x >> 40 % 20 {
				case 0, 1:
					e.Kind, e.Name, e.Props = Custom, "Signup", props
				case 2:
					e.Kind, e.Name, e.ScrollDepth, e.EngagedMS = Engagement, "engagement", 50, 1000
				}
				a.Add(&e)
			}
		})
	}
}

// TestFlushTimingDoesNotChangeRows: visits keep some counts pending until
// the cells are read; flushing after every event or once at the end must
// leave the same rows in the store.
func TestFlushTimingDoesNotChangeRows(t *testing.T) {
	often, stOften, cOften := newAgg(t, Options{})
	once, stOnce, cOnce := newAgg(t, Options{})
	start := cOften.t
	x := uint64(88172645463325252)
	next := func(n uint64) uint64 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		return x % n
	}
	at := start
	var events, pageviews uint64
	for i := range 3000 {
		at = at.Add(time.Duration(next(20)) * time.Second) // ~4 hours in all
		v := next(40)
		var e *Event
		switch k := next(10); {
		case k < 7:
			e = pv(at, v, fmt.Sprint("/p/", next(15)), []string{"", "google.com"}[next(2)])
			e.Interactive = next(4) != 0
		case k < 9:
			e = &Event{Time: at, Site: "a.com", Kind: Custom, Name: "Signup", Path: "/p/1", Visitor: v,
				Interactive: next(2) == 0, Props: []Prop{{"plan", "pro"}}}
		default:
			e = &Event{Time: at, Site: "a.com", Kind: Engagement, Name: "engagement", Path: fmt.Sprint("/p/", next(15)),
				Visitor: v, ScrollDepth: int(next(101)), EngagedMS: int64(next(5000))}
		}
		c1, c2 := *e, *e
		counted := often.Add(&c1)
		if counted != once.Add(&c2) {
			t.Fatalf("event %d counted differently", i)
		}
		if counted && e.Kind != Engagement {
			events++
			if e.Kind == Pageview {
				pageviews++
			}
		}
		cOften.t = at
		flush(t, often)
		// Every flush writes every count so far, pending ones included.
		if got := stOften.sum(schema.DimTotal, "", ""); got.Events != events || got.Pageviews != pageviews {
			t.Fatalf("after event %d: totals %d events %d pageviews, want %d %d", i, got.Events, got.Pageviews, events, pageviews)
		}
	}
	cOften.t, cOnce.t = at.Add(2*time.Hour), at.Add(2*time.Hour)
	flush(t, often)
	flush(t, once)
	rows := func(st *memStore) map[string]string {
		out := map[string]string{}
		for _, r := range st.rows {
			sk, err := sketch.Unmarshal(r.Sketch)
			if err != nil {
				t.Fatal(err)
			}
			out[fmt.Sprint(r.Hour.Format("15:04"), " ", r.Dimension, "|", r.Goal, "|", r.Value)] = fmt.Sprint(r.Pageviews, r.Events,
				r.Engagements, r.ScrollSum, r.EngagedMS, r.Visits, r.Bounces, r.Duration, sk.Estimate())
		}
		return out
	}
	a, b := rows(stOften), rows(stOnce)
	if len(a) == 0 || len(a) != len(b) {
		t.Fatalf("%d rows flushing often, %d flushing once", len(a), len(b))
	}
	for k, v := range a {
		if b[k] != v {
			t.Errorf("%s: flushing often %s, once %s", k, v, b[k])
		}
	}
}
