package dashboard

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"golang.org/x/crypto/bcrypt"

	"analytics/aggregator"
	"analytics/aggregator/chstore"
	"analytics/aggregator/vitals"
	"analytics/collector"
	"analytics/collector/visitor"
	"analytics/dashboard/auth"
	"analytics/dashboard/diag"
	"analytics/schema"
	"analytics/schema/chtest"
)

// TestTechnicalView writes web vitals, JavaScript errors and drops through
// the real aggregator into ClickHouse, runs a real collector node, and
// checks what the technical view shows: quantiles and shares, the k-
// anonymity fold of rare pages and errors, hostile messages as text, drops
// by reason, the writer's flush, and the node's readiness and metrics.
func TestTechnicalView(t *testing.T) {
	db := chtest.NewDB(t)
	ctx := context.Background()
	at := time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC) // testNow is 10:00
	agg, err := aggregator.New(aggregator.Options{Store: chstore.New(db), Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	key := func(i int) uint64 { return uint64(i+1) * 0x9E3779B97F4A7C15 }
	var lcps []float64
	for i := range 40 {
		e := &aggregator.Event{Time: at, Site: "example.com", Kind: aggregator.Vitals, Name: "$web_vitals", Path: "/a",
			Browser: "Chrome", Device: "Desktop", Visitor: key(i)}
		lcp := 800 + 97*float64(i)
		lcps = append(lcps, lcp)
		e.Vitals.Has[vitals.LCP], e.Vitals.Value[vitals.LCP] = true, lcp
		e.Vitals.Has[vitals.CLS], e.Vitals.Value[vitals.CLS] = true, 0.01*float64(i%30)
		agg.Add(e)
	}
	rare := &aggregator.Event{Time: at, Site: "example.com", Kind: aggregator.Vitals, Name: "$web_vitals", Path: "/rare-page",
		Browser: "Firefox", Device: "Mobile", Visitor: key(99)}
	rare.Vitals.Has[vitals.INP], rare.Vitals.Value[vitals.INP] = true, 640
	agg.Add(rare)

	hostile := `TypeError: <img src=x onerror=alert(1)> is not a function`
	for i := range 6 {
		agg.Add(&aggregator.Event{Time: at, Site: "example.com", Kind: aggregator.JSError, Name: "$js_error", Path: "/checkout",
			Browser: "Safari", BrowserVersion: "18", Visitor: key(i),
			Error: aggregator.ErrorReport{Fingerprint: "00000000000000aa", Message: hostile, Source: "/static/app.js:3:9"}})
	}
	agg.Add(&aggregator.Event{Time: at, Site: "example.com", Kind: aggregator.JSError, Name: "$js_error", Path: "/x",
		Browser: "Chrome", BrowserVersion: "131", Visitor: key(50),
		Error: aggregator.ErrorReport{Fingerprint: "00000000000000bb", Message: "RareError: seen once", Source: "/b.js:1:1"}})
	for i := range 4 {
		agg.Add(&aggregator.Event{Time: at, Site: "example.com", Kind: aggregator.Pageview, Name: "pageview", Path: "/a", Visitor: key(i),
			Interactive: true, Browser: "Safari", BrowserVersion: "18", OS: "iOS", OSVersion: "18"})
	}
	for range 3 {
		agg.Drop("example.com", collector.ReasonBot, at)
	}
	agg.Drop("example.com", collector.ReasonConsent, at)
	if err := agg.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	// A real collector node to read /readyz and /metrics from.
	salts, err := visitor.NewSalts(t.TempDir(), time.Now, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	nodeAgg, err := aggregator.New(aggregator.Options{Store: chstore.New(db)})
	if err != nil {
		t.Fatal(err)
	}
	set := metrics.NewSet()
	node, err := collector.New(collector.Options{Sites: []collector.Site{{Domain: "example.com"}}, Sink: nodeAgg, Salts: salts, Metrics: set})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go node.Serve(ln)
	t.Cleanup(func() { node.Shutdown() })
	nodeURL := "http://" + ln.Addr().String()
	for _, body := range []string{
		`{"n":"pageview","u":"https://example.com/","d":"example.com"}`,
		`{"n":"pageview","u":"https://example.com/","d":"nope.example"}`,
		`{"n":"pageview"}`,
	} {
		req, _ := http.NewRequest(http.MethodPost, nodeURL+"/api/event", strings.NewReader(body))
		req.Header.Set("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}

	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	s, err := New(Options{
		DB: db,
		Sites: []Site{{Domain: "example.com", MinVisitors: 3, Location: berlin,
			SharedLinks: []SharedLink{{Name: "team", SHA256: sha256.Sum256([]byte(shareToken))}}}},
		Users:         []auth.User{{Email: ownerEmail, PasswordBcrypt: string(h), Sites: []string{"example.com"}}},
		Now:           func() time.Time { return testNow },
		CollectorURLs: []string{nodeURL, "http://127.0.0.1:1"},
		Logger:        slog.New(slog.NewTextHandler(tlog{t}, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, s.Handler())
	wantStatus(t, b.do(http.MethodGet, "/example.com/technical", nil), http.StatusSeeOther)
	wantStatus(t, b.login(ownerEmail, password, "/"), http.StatusSeeOther)
	rec := b.do(http.MethodGet, "/example.com/technical?period=day", nil)
	wantStatus(t, rec, http.StatusOK)
	body := rec.Body.String()

	var hist vitals.Hist
	for _, v := range lcps {
		hist.Add(vitals.Bucket(v), 1)
	}
	p75 := hist.Quantile(0.75)
	slices.Sort(lcps)
	if truth := lcps[29]; math.Abs(float64(vitals.Bucket(p75)-vitals.Bucket(truth))) > 1 {
		t.Fatalf("p75 %v vs truth %v: more than a bucket apart", p75, truth)
	}
	good, poor := 0, 0
	for _, v := range lcps {
		switch vitals.Defs[vitals.LCP].Rate(v) {
		case vitals.Good:
			good++
		case vitals.Poor:
			poor++
		}
	}
	for _, want := range []string{
		"<h3>LCP</h3>",
		fmt.Sprintf(`%s <small>p75</small>`, formatVital(vitals.LCP, p75)),
		fmt.Sprintf("good %.0f%%", 100*float64(good)/40),
		fmt.Sprintf("poor %.0f%%", 100*float64(poor)/40),
		"40 samples",
		`<a href="/example.com/technical?period=day&amp;vitals=vitals%3Apage%3A%2Fa" title="Charts for this value">/a</a></td><td>40</td>`,
		`<td class="name">(other)</td><td>1</td>`, // /rare-page: 1 sample < k
		"&lt;img src=x onerror=alert(1)&gt;",
		"/static/app.js:3:9 (6)",
		"Safari 18 (6)",
		"(other errors)",
		`<td class="name">bot</td><td>3</td>`,
		`<td class="name">consent</td><td>1</td>`,
		agg.Writer(),
		nodeURL, `<span class="good">ok</span>`,
		"http://127.0.0.1:1", "unreachable",
		"Events accepted</td><td>1<",
		"unknown_site</td><td>1<",
		"url</td><td>1<", // the 400 without a url
		"<h2>Browser versions</h2>", "<span>Safari 18</span></td><td>4</td>", "<span>iOS 18</span></td><td>4</td>",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("technical view lacks %q", want)
		}
	}
	for _, never := range []string{"/rare-page", "RareError", "<img src=x"} {
		if strings.Contains(body, never) {
			t.Errorf("technical view shows %q", never)
		}
	}
	if m := regexp.MustCompile(`<script[^>]*>`).FindAllString(body, -1); len(m) != 1 || m[0] != `<script src="/static/site.js" defer>` {
		t.Errorf("scripts on the page: %q", m)
	}
	if strings.Contains(body, "could not be loaded") {
		t.Errorf("a part failed:\n%s", body)
	}

	// Narrowed to one page: its own numbers; a page under k samples shows
	// nothing (its one visitor's INP must not appear).
	rec = b.do(http.MethodGet, "/example.com/technical?period=day&vitals=vitals:page:/a", nil)
	wantStatus(t, rec, http.StatusOK)
	if body := rec.Body.String(); !strings.Contains(body, "Narrowed to <strong>page /a</strong>") ||
		!strings.Contains(body, fmt.Sprintf(`%s <small>p75</small>`, formatVital(vitals.LCP, p75))) ||
		!strings.Contains(body, `<input type="hidden" name="vitals" value="vitals:page:/a">`) {
		t.Errorf("narrowed to /a:\n%s", body)
	}
	rec = b.do(http.MethodGet, "/example.com/technical?period=day&vitals=vitals:page:/rare-page", nil)
	wantStatus(t, rec, http.StatusOK)
	if body := rec.Body.String(); strings.Contains(body, formatVital(vitals.INP, vitals.Mid(vitals.Bucket(640)))) ||
		strings.Contains(body, "<h3>INP</h3>\n<p class=\"p75") {
		t.Errorf("a page with 1 sample shows its INP")
	}

	// Shared links and other users do not get the technical view.
	anon := newBrowser(t, s.Handler())
	wantStatus(t, anon.do(http.MethodGet, "/share/example.com/technical?auth="+shareToken, nil), http.StatusNotFound)
	wantStatus(t, b.do(http.MethodGet, "/other.com/technical", nil), http.StatusNotFound)

	// Quantiles per hour of the series come from the same histograms.
	series, err := diag.VitalsSeries(ctx, db.Conn, "example.com", "", "", diag.Range{From: at.Add(-time.Hour), To: at.Add(time.Hour)},
		func(h time.Time) time.Time { return h })
	if err != nil {
		t.Fatal(err)
	}
	if len(series) != 1 || series[0].Metrics[vitals.LCP].Samples != 40 || series[0].Metrics[vitals.INP].Samples != 1 ||
		series[0].Metrics[vitals.LCP].Quantile(vitals.LCP, 0.75) != p75 {
		t.Errorf("series %+v", series)
	}
	_ = schema.DimVitals
}

// tlog sends a logger's lines to the test's log.
type tlog struct{ t *testing.T }

func (l tlog) Write(p []byte) (int, error) { l.t.Log(strings.TrimSpace(string(p))); return len(p), nil }
