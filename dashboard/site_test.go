package dashboard

import (
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"analytics/aggregator/sketch"
	"analytics/schema"
	"analytics/schema/chtest"
)

// dashRow is a stats_hourly row with every counter the site page reads.
type dashRow struct {
	dim, goal, value, hour    string
	pageviews, events         uint64
	visits, bounces, duration uint64
	from, to                  uint64 // visitor keys [from, to)
}

func insertDash(t *testing.T, db *schema.DB, site string, rows []dashRow) {
	t.Helper()
	ctx := context.Background()
	batch, err := db.Conn.PrepareBatch(ctx, "INSERT INTO stats_hourly (site, hour, dimension, goal, value, writer, ver, "+
		"pageviews, events, visits, bounces, duration, sketch)")
	if err != nil {
		t.Fatal(err)
	}
	defer batch.Close()
	for _, r := range rows {
		hour, err := time.Parse(time.RFC3339, r.hour)
		if err != nil {
			t.Fatal(err)
		}
		s := sketch.New()
		for k := r.from; k < r.to; k++ {
			s.Add(k * 0x9E3779B97F4A7C15)
		}
		b, err := s.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if err := batch.Append(site, hour.UTC(), r.dim, r.goal, r.value, "w1", uint64(1),
			r.pageviews, r.events, r.visits, r.bounces, r.duration, string(b)); err != nil {
			t.Fatal(err)
		}
	}
	if err := batch.Send(); err != nil {
		t.Fatal(err)
	}
}

const (
	hostileScript = "<script>alert(1)</script>"
	hostileImg    = `"><img src=x onerror=alert(1)>`
	hostileJS     = "javascript:alert(1)"
	hostileCSV    = `=HYPERLINK("http://evil")`
)

// dashFixture: example.com (min_visitors 3, Berlin) over 2026-11-20..27
// (testNow is the 27th, 11:00 in Berlin), with hostile values everywhere a
// visitor can put one.
func dashFixture(t *testing.T) *schema.DB {
	db := chtest.NewDB(t)
	var rows []dashRow
	for d := 20; d <= 26; d++ {
		h := "2026-11-" + itoa(d) + "T09:00:00Z"
		base := uint64(d * 1000)
		rows = append(rows,
			dashRow{hour: h, pageviews: 30, events: 32, visits: 12, bounces: 6, duration: 600, from: base, to: base + 10},
			dashRow{dim: "event:page", value: "/", hour: h, pageviews: 20, events: 20, from: base, to: base + 8},
			dashRow{dim: "event:page", value: hostileJS, hour: h, pageviews: 5, events: 5, from: base, to: base + 4},
			dashRow{dim: "event:page", value: "/" + hostileScript, hour: h, pageviews: 5, events: 5, from: base + 4, to: base + 8},
			dashRow{dim: "visit:source", value: hostileImg, hour: h, pageviews: 10, events: 10, visits: 4, from: base, to: base + 4},
			dashRow{dim: "visit:source", value: "", hour: h, pageviews: 20, events: 20, visits: 8, from: base + 4, to: base + 10},
			dashRow{dim: "event:goal", value: "Outbound Link: Click", hour: h, events: 2, from: base, to: base + 2},
			dashRow{dim: "event:props:url", goal: "Outbound Link: Click", value: hostileCSV, hour: h, events: 2, from: base, to: base + 2},
		)
	}
	// Germany: 10 visitors on the 25th, 2 on the 26th (under k=3 that day).
	rows = append(rows,
		dashRow{dim: "visit:country", value: "DE", hour: "2026-11-25T09:00:00Z", pageviews: 20, events: 20, visits: 10, bounces: 5, duration: 300, from: 25000, to: 25010},
		dashRow{dim: "visit:country", value: "DE", hour: "2026-11-26T09:00:00Z", pageviews: 3, events: 3, visits: 2, bounces: 1, duration: 60, from: 26000, to: 26002},
		dashRow{dim: "visit:country", value: "FR", hour: "2026-11-26T09:00:00Z", pageviews: 2, events: 2, visits: 1, from: 26005, to: 26007},
		// Today.
		dashRow{hour: "2026-11-27T08:00:00Z", pageviews: 20, events: 20, visits: 17, bounces: 9, duration: 900, from: 0, to: 17},
		dashRow{dim: "event:page", value: "/pricing", hour: "2026-11-27T08:00:00Z", pageviews: 12, events: 12, from: 0, to: 12},
		dashRow{dim: "event:page", value: "/" + hostileScript, hour: "2026-11-27T08:00:00Z", pageviews: 5, events: 5, from: 12, to: 17},
	)
	insertDash(t, db, "example.com", rows)
	insertDash(t, db, "other.com", []dashRow{{hour: "2026-11-27T08:00:00Z", pageviews: 7, events: 7, from: 0, to: 7}})
	return db
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestParseRange(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	for _, tc := range []struct {
		query, from, to, interval string
		bad                       bool
	}{
		{"", "2026-11-27", "2026-11-27", intervalHour, false},
		{"period=yesterday", "2026-11-26", "2026-11-26", intervalHour, false},
		{"period=7d", "2026-11-20", "2026-11-26", intervalDay, false},
		{"period=30d", "2026-10-28", "2026-11-26", intervalDay, false},
		{"period=month", "2026-11-01", "2026-11-27", intervalDay, false},
		{"period=lastmonth", "2026-10-01", "2026-10-31", intervalDay, false},
		{"period=12mo", "2025-12-01", "2026-11-27", intervalMonth, false},
		{"period=custom&from=2026-01-01&to=2026-01-31", "2026-01-01", "2026-01-31", intervalDay, false},
		{"from=2026-01-01&to=2026-06-30", "2026-01-01", "2026-06-30", intervalMonth, false},
		{"period=custom&from=2026-02-01&to=2026-01-31", "", "", "", true},
		{"period=custom&from=nope&to=2026-01-31", "", "", "", true},
		{"period=forever", "", "", "", true},
	} {
		t.Run(tc.query, func(t *testing.T) {
			v, _ := url.ParseQuery(tc.query)
			r, err := parseRange(v, testNow, berlin)
			if tc.bad {
				if err == nil {
					t.Fatalf("accepted: %+v", r)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := r.apiRange()
			if got[0] != tc.from || got[1] != tc.to || r.interval != tc.interval {
				t.Errorf("got %v %s, want %s..%s %s", got, r.interval, tc.from, tc.to, tc.interval)
			}
		})
	}
}

func TestCSVCell(t *testing.T) {
	for in, want := range map[string]string{
		hostileCSV: `'` + hostileCSV, "+1": "'+1", "-1": "'-1", "@SUM(A1)": "'@SUM(A1)", "\tx": "'\tx",
		"/page": "/page", "": "", "a=b": "a=b",
	} {
		if got := csvCell(in); got != want {
			t.Errorf("csvCell(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMaskedValue(t *testing.T) {
	for _, tc := range []struct {
		v        uint64
		filtered bool
		want     string
	}{{2, true, "< 3"}, {0, true, "< 3"}, {3, true, "3"}, {2, false, "2"}} {
		if got, _ := maskedValue(tc.v, tc.filtered, 3); got != tc.want {
			t.Errorf("maskedValue(%d, %v) = %q, want %q", tc.v, tc.filtered, got, tc.want)
		}
	}
}

func TestSiteDashboard(t *testing.T) {
	db := dashFixture(t)
	s := newPageServer(t, db)
	b := newBrowser(t, s.Handler())
	wantStatus(t, b.login(ownerEmail, password, "/"), http.StatusSeeOther)

	get := func(t *testing.T, path string, status int) string {
		t.Helper()
		rec := b.do(http.MethodGet, path, nil)
		wantStatus(t, rec, status)
		body := rec.Body.String()
		for _, bad := range []string{"<script>alert", "<img src=x", `href="javascript:`} {
			if strings.Contains(body, bad) {
				t.Errorf("%s: unescaped %q", path, bad)
			}
		}
		return body
	}
	contains := func(t *testing.T, body string, want ...string) {
		t.Helper()
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Errorf("page lacks %q", w)
			}
		}
	}

	t.Run("today", func(t *testing.T) {
		body := get(t, "/example.com", http.StatusOK)
		contains(t, body, "Visitors per hour", `Unique visitors</dt><dd class="value">17<`, "Views per visit", "Fri 27 Nov 2026",
			"/pricing", "&lt;script&gt;alert(1)&lt;/script&gt;", `<svg class="chart"`, "<title>Fri 27 Nov 09:00: 17 visitors</title>",
			`<script src="/static/site.js" defer></script>`)
	})
	t.Run("7d", func(t *testing.T) {
		body := get(t, "/example.com?period=7d", http.StatusOK)
		contains(t, body, "Visitors per day", "20 Nov 2026 – 26 Nov 2026", `Unique visitors</dt><dd class="value">70<`,
			`Total visits</dt><dd class="value">84<`, "Sat 21 Nov 2026: 10 visitors", "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;",
			"Direct / None", "javascript:alert(1)", "DE", "(other)", "Outbound Link: Click", "=HYPERLINK")
		// Comparison with the 7 days before: no data then.
		contains(t, body, `class="change up"`)
		// Rows filter the page; the hostile page is a query value, never a URL.
		contains(t, body, `href="/example.com?filter=visit%3Acountry%3ADE&amp;period=7d"`, `filter=event%3Apage%3Ajavascript%3Aalert%281%29`)
		if strings.Contains(body, "filter=visit%3Acountry%3A%28other%29") {
			t.Error("(other) offered as a filter")
		}
	})
	t.Run("12 months by month", func(t *testing.T) {
		body := get(t, "/example.com?period=12mo", http.StatusOK)
		contains(t, body, "Visitors per month", "November 2026: 87 visitors", "December 2025: 0 visitors")
	})
	t.Run("custom", func(t *testing.T) {
		body := get(t, "/example.com?period=custom&from=2026-11-25&to=2026-11-26", http.StatusOK)
		contains(t, body, `value="2026-11-25"`, "Wed 25 Nov 2026: 10 visitors")
		get(t, "/example.com?period=custom&from=2026-11-26&to=2026-11-25", http.StatusBadRequest)
	})
	t.Run("filter and k masking", func(t *testing.T) {
		body := get(t, "/example.com?period=7d&filter=visit:country:DE", http.StatusOK)
		contains(t, body, "Filtered by <strong>", `href="/example.com?period=7d" title="Clear the filter"`,
			`Unique visitors</dt><dd class="value">12<`, `Total visits</dt><dd class="value">12<`,
			"Thu 26 Nov 2026: &lt; 3 visitors", "Wed 25 Nov 2026: 10 visitors", "<td>&lt; 3</td>", "k-anonymity",
			"— not available with this filter")
		if strings.Contains(body, "26 Nov 2026: 2 visitors") {
			t.Error("a small bucket shown exactly")
		}
		// A page filter cannot answer visit metrics: a dash with the reason.
		body = get(t, "/example.com?period=7d&filter=event:page:/", http.StatusOK)
		contains(t, body, `Total visits</dt><dd class="value" title="#/metrics/0: metric &#34;visits&#34; cannot be queried for &#34;event:page&#34;`,
			`Pageviews</dt><dd class="value">140<`)
		// Unfiltered, small buckets are exact.
		body = get(t, "/example.com?period=custom&from=2026-11-26&to=2026-11-26&filter=", http.StatusOK)
		if strings.Contains(body, "&lt; 3") {
			t.Error("unfiltered series masked")
		}
	})
	t.Run("goal properties", func(t *testing.T) {
		body := get(t, "/example.com?period=7d&goal="+url.QueryEscape("Outbound Link: Click"), http.StatusOK)
		contains(t, body, "Properties of the selected goal", "Outbound Link: Click: url")
	})
	t.Run("other sites", func(t *testing.T) {
		a := get(t, "/other.com?period=7d", http.StatusNotFound)
		c := get(t, "/nope.com", http.StatusNotFound)
		e := get(t, "/other.com/export.csv?panel=page", http.StatusNotFound)
		if a != c || a != e {
			t.Error("another user's site answers differently from an unknown one")
		}
	})
}

func readCSV(t *testing.T, body string) [][]string {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("CSV %q: %v", body, err)
	}
	return recs
}

func TestSiteExport(t *testing.T) {
	db := dashFixture(t)
	s := newPageServer(t, db)
	b := newBrowser(t, s.Handler())
	wantStatus(t, b.login(ownerEmail, password, "/"), http.StatusSeeOther)

	rec := b.do(http.MethodGet, "/example.com/export.csv?panel=outbound&period=7d", nil)
	wantStatus(t, rec, http.StatusOK)
	if cd := rec.Header().Get("Content-Disposition"); cd != `attachment; filename="example.com-outbound-20261120-20261126.csv"` {
		t.Errorf("Content-Disposition %q", cd)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	recs := readCSV(t, rec.Body.String())
	if len(recs) != 2 || recs[0][0] != "url" || recs[1][0] != "'"+hostileCSV || recs[1][1] != "14" || recs[1][2] != "14" {
		t.Errorf("outbound CSV %q", recs)
	}

	rec = b.do(http.MethodGet, "/example.com/export.csv?panel=page&period=7d", nil)
	wantStatus(t, rec, http.StatusOK)
	body := rec.Body.String()
	for _, want := range []string{"page,visitors\n", hostileJS + ",", "/" + hostileScript} {
		if !strings.Contains(body, want) {
			t.Errorf("pages CSV lacks %q:\n%s", want, body)
		}
	}

	// The filtered series: the small day is "< 3" in the file too.
	rec = b.do(http.MethodGet, "/example.com/export.csv?panel=visitors&period=7d&filter=visit:country:DE", nil)
	wantStatus(t, rec, http.StatusOK)
	recs = readCSV(t, rec.Body.String())
	want := map[string]string{"2026-11-25": "10", "2026-11-26": "< 3", "2026-11-20": "< 3"}
	for _, r := range recs[1:] {
		if w, ok := want[r[0]]; ok && r[1] != w {
			t.Errorf("bucket %s: %q, want %q", r[0], r[1], w)
		}
	}
	if len(recs) != 8 {
		t.Errorf("%d series rows, want 7 and a header", len(recs)-1)
	}

	// A panel the filter cannot answer: 400 with the reason.
	rec = b.do(http.MethodGet, "/example.com/export.csv?panel=page&period=7d&filter=visit:country:DE", nil)
	wantStatus(t, rec, http.StatusBadRequest)
	wantStatus(t, b.do(http.MethodGet, "/example.com/export.csv?panel=nope", nil), http.StatusBadRequest)

	t.Run("shared link", func(t *testing.T) {
		anon := newBrowser(t, s.Handler())
		rec := anon.do(http.MethodGet, "/share/example.com/export.csv?panel=source&period=7d&auth="+shareToken, nil)
		wantStatus(t, rec, http.StatusOK)
		if !strings.Contains(rec.Body.String(), "Direct / None,42") {
			t.Errorf("shared CSV %s", rec.Body)
		}
		wantStatus(t, anon.do(http.MethodGet, "/share/example.com/export.csv?panel=source&auth=x", nil), http.StatusNotFound)
		wantStatus(t, anon.do(http.MethodGet, "/share/other.com/export.csv?panel=source&auth="+shareToken, nil), http.StatusNotFound)
		// Unsigned, the private export redirects to the login.
		wantStatus(t, anon.do(http.MethodGet, "/example.com/export.csv?panel=source", nil), http.StatusSeeOther)
		// The shared page keeps the token in its links.
		page := anon.do(http.MethodGet, "/share/example.com?period=7d&auth="+shareToken, nil)
		wantStatus(t, page, http.StatusOK)
		if !strings.Contains(page.Body.String(), "/share/example.com/export.csv?auth="+shareToken) {
			t.Error("shared page export link lacks the token")
		}
	})
}
