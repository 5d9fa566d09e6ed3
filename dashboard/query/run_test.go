package query

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"analytics/aggregator/sketch"
	"analytics/schema"
	"analytics/schema/chtest"
)

// StatsRow is one stats_hourly row for tests; visitors are the keys
// [From, To).
type StatsRow struct {
	Site, Dimension, Goal, Value, Writer string
	Hour                                 string // RFC 3339
	Ver, Pageviews, Events               uint64
	Visits, Bounces, Duration            uint64
	Engagements, ScrollSum, EngagedMS    uint64
	From, To                             uint64
}

// visitorKey spreads test keys like the real keyed hashes (splitmix64).
func visitorKey(i uint64) uint64 {
	z := i + 0x9E3779B97F4A7C15
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

func insertRows(t testing.TB, db *schema.DB, rows []StatsRow) {
	t.Helper()
	ctx := context.Background()
	batch, err := db.Conn.PrepareBatch(ctx, "INSERT INTO stats_hourly (site, hour, dimension, goal, value, writer, ver, "+
		"pageviews, events, visits, bounces, duration, engagements, scroll_sum, engaged_ms, sketch)")
	if err != nil {
		t.Fatal(err)
	}
	defer batch.Close()
	for _, r := range rows {
		hour, err := time.Parse(time.RFC3339, r.Hour)
		if err != nil {
			t.Fatal(err)
		}
		s := sketch.New()
		for k := r.From; k < r.To; k++ {
			s.Add(visitorKey(k))
		}
		b, err := s.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		site := r.Site
		if site == "" {
			site = "example.com"
		}
		writer := r.Writer
		if writer == "" {
			writer = "a"
		}
		ver := r.Ver
		if ver == 0 {
			ver = 1
		}
		if err := batch.Append(site, hour.UTC(), r.Dimension, r.Goal, r.Value, writer, ver,
			r.Pageviews, r.Events, r.Visits, r.Bounces, r.Duration, r.Engagements, r.ScrollSum, r.EngagedMS, string(b)); err != nil {
			t.Fatal(err)
		}
	}
	if err := batch.Send(); err != nil {
		t.Fatal(err)
	}
}

// testRows: site example.com in Europe/Berlin, queried at
// 2026-11-27 10:00 UTC, so "7d" is 2026-11-19T23:00Z..2026-11-26T23:00Z.
var testRows = []StatsRow{
	// Totals. Writer a wrote the 10:00 hour twice; the older version must
	// be ignored. Writer b's visitors overlap a's: 0..15 is 15 visitors.
	{Dimension: "", Hour: "2026-11-25T10:00:00Z", Writer: "a", Ver: 1, Pageviews: 5, Events: 6, From: 0, To: 5},
	{Dimension: "", Hour: "2026-11-25T10:00:00Z", Writer: "a", Ver: 2, Pageviews: 10, Events: 12, From: 0, To: 10},
	{Dimension: "", Hour: "2026-11-25T10:00:00Z", Writer: "b", Ver: 7, Pageviews: 7, Events: 7, From: 5, To: 15},
	// 23:00 UTC on the 25th is midnight of the 26th in Berlin.
	{Dimension: "", Hour: "2026-11-25T23:00:00Z", Pageviews: 3, Events: 3, From: 100, To: 103},
	// Outside 7d: the hour before the range, and today.
	{Dimension: "", Hour: "2026-11-19T22:00:00Z", Pageviews: 1000, Events: 1000, From: 200, To: 300},
	{Dimension: "", Hour: "2026-11-26T23:00:00Z", Pageviews: 50, Events: 50, From: 300, To: 340},
	// Another site.
	{Site: "other.com", Dimension: "", Hour: "2026-11-25T10:00:00Z", Pageviews: 999, Events: 999, From: 0, To: 500},

	// Pages: "/" 12 visitors (two writers, two versions), "/pricing" 6,
	// "/blog/x" 5 over two days; "/a" (2) and "/b" (1) are below the
	// threshold of 3 and fold into "(other)".
	{Dimension: "event:page", Value: "/", Hour: "2026-11-25T10:00:00Z", Writer: "a", Ver: 1, Pageviews: 1, Events: 1, From: 0, To: 1},
	{Dimension: "event:page", Value: "/", Hour: "2026-11-25T10:00:00Z", Writer: "a", Ver: 2, Pageviews: 8, Events: 8, From: 0, To: 8},
	{Dimension: "event:page", Value: "/", Hour: "2026-11-25T10:00:00Z", Writer: "b", Ver: 1, Pageviews: 4, Events: 4, From: 5, To: 12},
	{Dimension: "event:page", Value: "/pricing", Hour: "2026-11-25T10:00:00Z", Pageviews: 6, Events: 6, From: 20, To: 26},
	{Dimension: "event:page", Value: "/blog/x", Hour: "2026-11-22T10:00:00Z", Pageviews: 2, Events: 2, From: 50, To: 53},
	{Dimension: "event:page", Value: "/blog/x", Hour: "2026-11-23T10:00:00Z", Pageviews: 3, Events: 3, From: 52, To: 55},
	{Dimension: "event:page", Value: "/a", Hour: "2026-11-25T10:00:00Z", Pageviews: 2, Events: 2, From: 30, To: 32},
	{Dimension: "event:page", Value: "/b", Hour: "2026-11-25T10:00:00Z", Pageviews: 1, Events: 1, From: 40, To: 41},
	{Dimension: "event:page", Value: "/old", Hour: "2026-11-10T10:00:00Z", Pageviews: 90, Events: 90, From: 0, To: 90},

	// Sources: no referrer shows as "Direct / None".
	{Dimension: "visit:source", Value: "", Hour: "2026-11-25T10:00:00Z", Pageviews: 9, Events: 9, From: 0, To: 9},
	{Dimension: "visit:source", Value: "google.com", Hour: "2026-11-25T10:00:00Z", Pageviews: 4, Events: 4, From: 9, To: 13},

	// Countries: unknown shows as "(not set)".
	{Dimension: "visit:country", Value: "", Hour: "2026-11-25T10:00:00Z", Pageviews: 3, Events: 3, From: 0, To: 3},
	{Dimension: "visit:country", Value: "DE", Hour: "2026-11-25T10:00:00Z", Pageviews: 11, Events: 11, From: 3, To: 15},

	// Goals count custom events only.
	{Dimension: "event:goal", Value: "Signup", Hour: "2026-11-25T10:00:00Z", Events: 4, From: 0, To: 4},
	{Dimension: "event:goal", Value: "Signup", Hour: "2026-11-25T10:00:00Z", Writer: "b", Events: 1, From: 3, To: 4},
}

// want is an expected result row: dimension value (or "" for none) and
// metrics visitors, pageviews, events.
type want struct {
	dim                         string
	visitors, pageviews, events uint64
}

func TestRun(t *testing.T) {
	db := chtest.NewDB(t)
	insertRows(t, db, testRows)
	berlin := mustLoad(t, "Europe/Berlin")
	site := Site{ID: "example.com", Location: berlin, MinVisitors: 3}
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

	const all = `"metrics":["visitors","pageviews","events"]`
	tests := []struct {
		name string
		body string // without site_id and metrics
		site *Site
		want []want
		meta string // expected meta JSON, if set
	}{
		{name: "totals over 7d ignore old versions, other hours and sites",
			body: `"date_range":"7d"`,
			want: []want{{"", 18, 20, 22}}},
		{name: "today",
			body: `"date_range":"day"`,
			want: []want{{"", 40, 50, 50}}},
		{name: "days in the site time zone",
			body: `"date_range":"7d","dimensions":["time:day"],"include":{"time_labels":true,"total_rows":true}`,
			want: []want{{"2026-11-25", 15, 17, 19}, {"2026-11-26", 3, 3, 3}},
			meta: `{"time_labels":["2026-11-20","2026-11-21","2026-11-22","2026-11-23","2026-11-24","2026-11-25","2026-11-26"],"total_rows":2}`},
		{name: "days in UTC",
			site: &Site{ID: "example.com", MinVisitors: 3},
			body: `"date_range":["2026-11-20","2026-11-26"],"dimensions":["time"]`,
			want: []want{{"2026-11-25", 18, 20, 22}, {"2026-11-26", 40, 50, 50}}},
		{name: "hours of one local day",
			body: `"date_range":["2026-11-26","2026-11-26"],"dimensions":["time"]`,
			want: []want{{"2026-11-26 00:00:00", 3, 3, 3}}},
		{name: "hours in descending order",
			body: `"date_range":["2026-11-25","2026-11-26"],"dimensions":["time:hour"],"order_by":[["time:hour","desc"]]`,
			want: []want{{"2026-11-26 00:00:00", 3, 3, 3}, {"2026-11-25 11:00:00", 15, 17, 19}}},
		{name: "page breakdown folds small rows into (other)",
			body: `"date_range":"7d","dimensions":["event:page"],"include":{"total_rows":true}`,
			want: []want{{"/", 12, 12, 12}, {"/pricing", 6, 6, 6}, {"/blog/x", 5, 5, 5}, {OtherLabel, 3, 3, 3}},
			meta: `{"total_rows":4}`},
		{name: "a threshold of 1 shows every row",
			site: &Site{ID: "example.com", Location: berlin, MinVisitors: 1},
			body: `"date_range":"7d","dimensions":["event:page"]`,
			want: []want{{"/", 12, 12, 12}, {"/pricing", 6, 6, 6}, {"/blog/x", 5, 5, 5}, {"/a", 2, 2, 2}, {"/b", 1, 1, 1}}},
		{name: "ordered by page, (other) stays last",
			body: `"date_range":"7d","dimensions":["event:page"],"order_by":[["event:page","asc"]]`,
			want: []want{{"/", 12, 12, 12}, {"/blog/x", 5, 5, 5}, {"/pricing", 6, 6, 6}, {OtherLabel, 3, 3, 3}}},
		{name: "ordered by pageviews ascending",
			body: `"date_range":"7d","dimensions":["event:page"],"order_by":[["pageviews","asc"]]`,
			want: []want{{"/blog/x", 5, 5, 5}, {"/pricing", 6, 6, 6}, {"/", 12, 12, 12}, {OtherLabel, 3, 3, 3}}},
		{name: "pagination",
			body: `"date_range":"7d","dimensions":["event:page"],"pagination":{"limit":2,"offset":1},"include":{"total_rows":true}`,
			want: []want{{"/pricing", 6, 6, 6}, {"/blog/x", 5, 5, 5}},
			meta: `{"total_rows":4}`},
		{name: "offset past the end",
			body: `"date_range":"7d","dimensions":["event:page"],"pagination":{"offset":4}`,
			want: nil},
		{name: "breakdown filtered by contains",
			body: `"date_range":"7d","dimensions":["event:page"],"filters":[["contains","event:page",["/BLOG"],{"case_sensitive":false}]]`,
			want: []want{{"/blog/x", 5, 5, 5}}},
		{name: "breakdown filtered by is_not keeps (other)",
			body: `"date_range":"7d","dimensions":["event:page"],"filters":[["is_not","event:page",["/","/pricing"]]]`,
			want: []want{{"/blog/x", 5, 5, 5}, {OtherLabel, 3, 3, 3}}},
		{name: "breakdown filtered by is on a hidden value shows nothing",
			body: `"date_range":"7d","dimensions":["event:page"],"filters":[["is","event:page",["/a","/pricing"]]]`,
			want: []want{{"/pricing", 6, 6, 6}}},
		{name: "aggregate filtered by one page",
			body: `"date_range":"7d","filters":[["is","event:page",["/"]]]`,
			want: []want{{"", 12, 12, 12}}},
		{name: "aggregate filtered by a hidden page is zero",
			body: `"date_range":"7d","filters":[["is","event:page",["/a"]]]`,
			want: []want{{"", 0, 0, 0}}},
		{name: "aggregate filtered by (other)",
			body: `"date_range":"7d","filters":[["is","event:page",["(other)"]]]`,
			want: []want{{"", 3, 3, 3}}},
		{name: "aggregate filtered by is_not",
			body: `"date_range":"7d","filters":[["is_not","event:page",["/"]]]`,
			want: []want{{"", 14, 14, 14}}},
		{name: "aggregate filtered by or",
			body: `"date_range":"7d","filters":[["or",[["is","event:page",["/pricing"]],["contains","event:page",["blog"]]]]]`,
			want: []want{{"", 11, 11, 11}}},
		{name: "time series filtered by a page",
			body: `"date_range":"7d","dimensions":["time:day"],"filters":[["is","event:page",["/blog/x"]]]`,
			want: []want{{"2026-11-22", 3, 2, 2}, {"2026-11-23", 3, 3, 3}}},
		{name: "time series filtered by a hidden page is empty",
			body: `"date_range":"7d","dimensions":["time:day"],"filters":[["is","event:page",["/b"]]]`,
			want: nil},
		{name: "sources name direct traffic",
			body: `"date_range":"7d","dimensions":["visit:source"]`,
			want: []want{{"Direct / None", 9, 9, 9}, {"google.com", 4, 4, 4}}},
		{name: "filter by Direct / None",
			body: `"date_range":"7d","filters":[["is","visit:source",["Direct / None"]]]`,
			want: []want{{"", 9, 9, 9}}},
		{name: "countries name the unknown",
			body: `"date_range":"7d","dimensions":["visit:country"]`,
			want: []want{{"DE", 12, 11, 11}, {"(not set)", 3, 3, 3}}},
		{name: "goals",
			body: `"date_range":"7d","dimensions":["event:goal"]`,
			want: []want{{"Signup", 4, 0, 5}}},
		{name: "explicit dates include the old page",
			body: `"date_range":["2026-11-01","2026-11-30"],"filters":[["is","event:page",["/old"]]]`,
			want: []want{{"", 90, 90, 90}}},
		{name: "empty range",
			body: `"date_range":["2025-01-01","2025-01-31"],"dimensions":["event:page"]`,
			want: nil},
		{name: "empty aggregate is zero",
			body: `"date_range":["2025-01-01","2025-01-31"]`,
			want: []want{{"", 0, 0, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustParse(t, `{"site_id":"example.com",`+all+`,`+tt.body+`}`)
			s := site
			if tt.site != nil {
				s = *tt.site
			}
			p, err := r.Resolve(s, now)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := Run(context.Background(), db.Conn, p)
			if err != nil {
				t.Fatal(err)
			}
			checkResults(t, resp, tt.want)
			if tt.meta != "" {
				got, _ := json.Marshal(resp.Meta)
				if string(got) != tt.meta {
					t.Errorf("meta %s, want %s", got, tt.meta)
				}
			}
		})
	}
}

func checkResults(t *testing.T, resp *Response, want []want) {
	t.Helper()
	var got, exp []string
	for _, r := range resp.Results {
		got = append(got, fmt.Sprintf("%q %v", r.Dimensions, r.Metrics))
	}
	for _, w := range want {
		dims := []string{}
		if w.dim != "" {
			dims = []string{w.dim}
		}
		exp = append(exp, fmt.Sprintf("%q %v", dims, []uint64{w.visitors, w.pageviews, w.events}))
	}
	if len(resp.Results) != len(want) {
		t.Fatalf("results:\n got %s\nwant %s", strings.Join(got, "; "), strings.Join(exp, "; "))
	}
	for i, w := range want {
		r := resp.Results[i]
		if (w.dim == "" && len(r.Dimensions) != 0) || (w.dim != "" && (len(r.Dimensions) != 1 || r.Dimensions[0] != w.dim)) ||
			r.Metrics[1] != w.pageviews || r.Metrics[2] != w.events || !near(r.Metrics[0].(uint64), w.visitors) {
			t.Fatalf("results:\n got %s\nwant %s", strings.Join(got, "; "), strings.Join(exp, "; "))
		}
	}
}

// near accepts a visitor estimate within HyperLogLog's error: 2%, at least 1.
func near(got, want uint64) bool {
	return math.Abs(float64(got)-float64(want)) <= math.Max(1, 0.02*float64(want))
}

func TestRunVisitorsAtScale(t *testing.T) {
	db := chtest.NewDB(t)
	// 48 hours from two writers each; visitors overlap between hours and
	// writers, 30000 distinct in all.
	var rows []StatsRow
	start := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	for h := 0; h < 48; h++ {
		hour := start.Add(time.Duration(h) * time.Hour).Format(time.RFC3339)
		from := uint64(h * 600)
		rows = append(rows,
			StatsRow{Hour: hour, Writer: "a", Pageviews: 2, Events: 3, From: from, To: from + 1000},
			StatsRow{Hour: hour, Writer: "b", Pageviews: 1, Events: 1, From: from + 500, To: from + 1800},
		)
	}
	insertRows(t, db, rows)
	r := mustParse(t, `{"site_id":"example.com","metrics":["visitors","pageviews","events"],"date_range":["2026-11-20","2026-11-21"]}`)
	p, err := r.Resolve(Site{ID: "example.com"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := Run(context.Background(), db.Conn, p)
	if err != nil {
		t.Fatal(err)
	}
	m := resp.Results[0].Metrics
	// Keys 0 .. 47*600+1800.
	const distinct = 47*600 + 1800
	if !near(m[0].(uint64), distinct) || m[1] != uint64(48*3) || m[2] != uint64(48*4) {
		t.Fatalf("metrics %v, want ~%d, %d, %d", m, distinct, 48*3, 48*4)
	}
}

// TestFilteredSeriesHidesSmallBuckets: a time series narrowed to one page
// shows no numbers for buckets with fewer visitors than min_visitors (the
// 3 visitors a day of /blog/x, under a threshold of 4), says how many it
// hid, and leaves unfiltered series alone.
func TestFilteredSeriesHidesSmallBuckets(t *testing.T) {
	db := chtest.NewDB(t)
	insertRows(t, db, testRows)
	site := Site{ID: "example.com", Location: time.UTC, MinVisitors: 4}
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	run := func(body string) *Response {
		t.Helper()
		req, err := Parse([]byte(`{"site_id":"example.com","metrics":["visitors","pageviews"],` + body + `}`))
		if err != nil {
			t.Fatal(err)
		}
		plan, err := req.Resolve(site, now)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := Run(context.Background(), db.Conn, plan)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	resp := run(`"date_range":"7d","dimensions":["time:day"],"filters":[["is","event:page",["/blog/x"]]],"include":{"comparisons":{"mode":"previous_period"}}`)
	// With a comparison every day of the range is listed; all seven have
	// fewer than 4 visitors (two have 3, the others none).
	if len(resp.Results) != 7 || resp.Meta.KAnonymized == nil || *resp.Meta.KAnonymized != 7 {
		t.Fatalf("meta %+v, results %+v", resp.Meta, resp.Results)
	}
	for _, r := range resp.Results {
		for _, m := range r.Metrics {
			if m != nil {
				t.Errorf("bucket %v shows %v", r.Dimensions, r.Metrics)
			}
		}
	}
	unfiltered := run(`"date_range":"7d","dimensions":["time:day"]`)
	if unfiltered.Meta.KAnonymized != nil || unfiltered.Results[0].Metrics[0] == nil {
		t.Fatalf("an unfiltered series was masked: %+v", unfiltered)
	}
}
