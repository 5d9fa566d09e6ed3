package collector_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"analytics/aggregator"
	"analytics/collector"
	"analytics/collector/snippet"
	"analytics/collector/visitor"
)

// The browser tests load real pages in headless Chromium and check what
// reaches the collector's Sink and /metrics, for two trackers: our snippet
// (collector/snippet, served by the collector at /js/script.js) and
// Plausible's unmodified npm package @plausible-analytics/tracker, which must
// work against our /api/event as it does against Plausible's.
//
// Needs: Chromium (/usr/bin/chromium, or ANALYTICS_CHROMIUM) and the npm
// package unpacked in ANALYTICS_PLAUSIBLE_TRACKER_DIR (default
// data/npm/plausible-analytics-tracker-0.4.6); scripts/browser-deps installs
// both. Without them the tests skip, unless ANALYTICS_REQUIRE_BROWSER=1.
//
// Pages are served from http://localhost:PORT (the site "localhost" accepts
// that host); the collector listens on 127.0.0.1, so every beacon is a
// cross-origin request, as on a real site. Chromium resolves no other host
// name, so a test never reaches the network.

const (
	trackerDirEnv     = "ANALYTICS_PLAUSIBLE_TRACKER_DIR"
	defaultTrackerDir = "../data/npm/plausible-analytics-tracker-0.4.6"
	requireBrowserEnv = "ANALYTICS_REQUIRE_BROWSER"
	// A desktop Chrome User-Agent: headless Chromium's own says
	// "HeadlessChrome", which the collector rightly drops as a bot.
	desktopChromeUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"
	eventTimeout    = 10 * time.Second
)

// missing skips the test, or fails it when ANALYTICS_REQUIRE_BROWSER=1.
func missing(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...) + " (run scripts/browser-deps)"
	if os.Getenv(requireBrowserEnv) == "1" {
		t.Fatal(msg + "; " + requireBrowserEnv + "=1 makes this a failure")
	}
	t.Skip(msg)
}

func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("ANALYTICS_CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err != nil {
			missing(t, "browser tests: ANALYTICS_CHROMIUM=%s: %v", p, err)
		}
		return p
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	missing(t, "browser tests: Chromium not found")
	return ""
}

// trackerDir returns the unpacked npm package, or why it is missing.
func trackerDir() (dir, missing string) {
	dir = os.Getenv(trackerDirEnv)
	if dir == "" {
		dir = defaultTrackerDir
	}
	if _, err := os.Stat(filepath.Join(dir, "plausible.js")); err != nil {
		return "", fmt.Sprintf("browser tests of Plausible's tracker: @plausible-analytics/tracker not found in %s (set %s)", dir, trackerDirEnv)
	}
	return dir, ""
}

// sink records a copy of every event the collector accepts. An Event's
// strings are valid only during Add, so they are cloned.
type sink struct {
	mu     sync.Mutex
	events []aggregator.Event
}

func (s *sink) Add(e *aggregator.Event) bool {
	c := *e
	v := reflect.ValueOf(&c).Elem() // every string field, whatever fields Event gains
	for i := range v.NumField() {
		if f := v.Field(i); f.Kind() == reflect.String && f.CanSet() {
			f.SetString(strings.Clone(f.String()))
		}
	}
	c.Props = make([]aggregator.Prop, len(e.Props))
	for i, p := range e.Props {
		c.Props[i] = aggregator.Prop{Key: strings.Clone(p.Key), Value: strings.Clone(p.Value)}
	}
	s.mu.Lock()
	s.events = append(s.events, c)
	s.mu.Unlock()
	return true
}

func (s *sink) Drop(string, string, time.Time) {}

func (s *sink) all() []aggregator.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]aggregator.Event(nil), s.events...)
}

func prop(e aggregator.Event, key string) string {
	for _, p := range e.Props {
		if p.Key == key {
			return p.Value
		}
	}
	return ""
}

func describe(e aggregator.Event) string {
	return fmt.Sprintf("%s %s source=%q sd=%d e=%d props=%v", e.Name, e.Path, e.Source, e.ScrollDepth, e.EngagedMS, e.Props)
}

// harness is one collector, one page server and one browser, shared by all
// scenarios; each scenario opens its own tab and uses its own page paths.
type harness struct {
	sink      *sink
	collector string // http://127.0.0.1:PORT
	pages     string // http://localhost:PORT
	other     string // the same page server as http://127.0.0.1:PORT: another host
	browser   context.Context

	mu       sync.Mutex
	problems []string // script exceptions and beacons the collector refused
}

// startCollector serves a real collector for the site "localhost" on
// 127.0.0.1 and returns its base URL.
func startCollector(t *testing.T, sink collector.Sink) string {
	t.Helper()
	salts, err := visitor.NewSalts(t.TempDir(), time.Now, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := collector.New(collector.Options{
		Sites: []collector.Site{{Domain: "localhost", Hosts: []string{"localhost"}}},
		Sink:  sink,
		Salts: salts,
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown() })
	return "http://" + ln.Addr().String()
}

// TestScriptRoute checks that the collector serves the snippet (the
// headers are tested in collector/snippet) and answers revalidation with 304.
func TestScriptRoute(t *testing.T) {
	base := startCollector(t, &sink{})
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	get := func(header ...string) *http.Response {
		t.Helper()
		req, err := http.NewRequest("GET", base+"/js/script.js", nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	resp := get("Accept-Encoding", "gzip, deflate, br")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != "br" ||
		resp.Header.Get("Content-Type") != snippet.ContentType || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("GET /js/script.js: %d %v", resp.StatusCode, resp.Header)
	}
	etag := resp.Header.Get("ETag")
	if resp := get("Accept-Encoding", "gzip, deflate, br", "If-None-Match", etag); resp.StatusCode != 304 {
		t.Errorf("revalidation with %s: %d", etag, resp.StatusCode)
	}
	if resp := get(); resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != "" ||
		resp.ContentLength != int64(len(snippet.Source())) {
		t.Errorf("identity: %d %v", resp.StatusCode, resp.Header)
	}
}

func newHarness(t *testing.T, chromium, tracker string) *harness {
	t.Helper()
	h := &harness{sink: &sink{}}
	h.collector = startCollector(t, h.sink)

	pages := httptest.NewServer(h.pageHandler(tracker))
	t.Cleanup(pages.Close)
	port := pages.Listener.Addr().(*net.TCPAddr).Port
	h.pages = "http://localhost:" + strconv.Itoa(port)
	h.other = "http://127.0.0.1:" + strconv.Itoa(port)

	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("password-store", "basic"),
		// Only the test servers exist: nothing leaves the machine.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"),
		chromedp.UserAgent(desktopChromeUA),
		chromedp.WindowSize(1280, 800),
	)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
	})
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("start %s: %v", chromium, err)
	}
	h.browser = browser
	return h
}

// pageTmpl is every test page: the tracker install, then links and a long
// body to scroll.
var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>{{.Name}}</title>
{{.Install}}
</head><body>
<h1>{{.Name}}</h1>
<p><a id="outbound" href="{{.Other}}/landing.html?from=test">an outbound link</a></p>
<p><a id="download" href="/files/report.pdf?token=secret">a PDF</a></p>
<p><a id="notes" href="/files/notes.md">notes</a></p>
<div style="height: 5000px">a long page</div>
<p id="end">the end</p>
</body></html>
`))

const stubQueue = `<script>window.plausible = window.plausible || function () { (window.plausible.q = window.plausible.q || []).push(arguments) }</script>`

// install returns the tracker's installation for a page: tracker is
// "snippet" or "npm"; the page name selects options (hash*: hash routing,
// filetypes: a custom download list, custom: a call queued before load,
// xhr: no fetch).
func (h *harness) install(tracker, name string) string {
	hash := strings.HasPrefix(name, "hash")
	switch tracker {
	case "snippet":
		var b strings.Builder
		b.WriteString(stubQueue + "\n")
		switch name {
		case "custom.html":
			b.WriteString(`<script>plausible('Queued', {props: {early: 'yes'}})</script>` + "\n")
		case "xhr.html":
			b.WriteString(`<script>window.fetch = undefined</script>` + "\n")
		}
		b.WriteString(`<script defer data-domain="localhost" src="` + h.collector + `/js/script.js"`)
		if hash {
			b.WriteString(` data-hash`)
		}
		if name == "filetypes.html" {
			b.WriteString(` data-file-types="md, txt"`)
		}
		b.WriteString(`></script>`)
		return b.String()
	case "npm":
		// captureOnLocalhost: Plausible's tracker ignores localhost pages
		// by default; ours does not.
		return `<script type="module">
import { init } from '/tracker/plausible.js';
init({ domain: 'localhost', endpoint: '` + h.collector + `/api/event', captureOnLocalhost: true, logging: false,
  outboundLinks: true, fileDownloads: true, hashBasedRouting: ` + strconv.FormatBool(hash) + ` });
</script>`
	}
	return ""
}

func (h *harness) pageHandler(tracker string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /t/{tracker}/{name}", func(w http.ResponseWriter, r *http.Request) {
		install := h.install(r.PathValue("tracker"), r.PathValue("name"))
		if install == "" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		pageTmpl.Execute(w, map[string]string{"Name": r.PathValue("name"), "Install": install, "Other": h.other})
	})
	mux.HandleFunc("GET /landing.html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!doctype html><title>landing</title><p id="landing">landed</p>`)
	})
	mux.HandleFunc("GET /files/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "a file\n")
	})
	if tracker != "" {
		mux.Handle("GET /tracker/", http.StripPrefix("/tracker/", http.FileServer(http.Dir(tracker))))
	}
	return mux
}

// tab opens a tab that reports script exceptions and refused beacons as
// problems, with focus emulated so that engaged time runs as in a
// foreground window.
func (h *harness) tab(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(h.browser)
	t.Cleanup(cancel)
	var mu sync.Mutex
	bodies := map[network.RequestID]string{}
	err := chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil && d.Exception.Description != "" {
				msg = d.Exception.Description
			}
			h.problem(fmt.Sprintf("script exception at %s:%d: %s", d.URL, d.LineNumber+1, msg))
		case *network.EventRequestWillBeSent:
			if strings.HasSuffix(ev.Request.URL, "/api/event") {
				var b strings.Builder
				for _, e := range ev.Request.PostDataEntries {
					b.Write(e.Bytes)
				}
				mu.Lock()
				bodies[ev.RequestID] = b.String()
				mu.Unlock()
			}
		case *network.EventResponseReceived:
			if strings.HasSuffix(ev.Response.URL, "/api/event") && ev.Response.Status != 202 && ev.Response.Status != 204 {
				mu.Lock()
				body := bodies[ev.RequestID]
				mu.Unlock()
				h.problem(fmt.Sprintf("collector answered %d to the beacon %s", ev.Response.Status, body))
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true}); err != nil {
		t.Fatal(err)
	}
	return ctx
}

func (h *harness) problem(p string) {
	h.mu.Lock()
	h.problems = append(h.problems, p)
	h.mu.Unlock()
}

// do runs browser actions under a deadline.
func do(t *testing.T, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, eventTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatal(err)
	}
}

func eval(js string) chromedp.Action[chromedp.Void] { return chromedp.Evaluate[chromedp.Void](js) }

// open loads a page in the tab as if a visitor came from referrer.
func open(t *testing.T, ctx context.Context, url, referrer string) {
	t.Helper()
	nav := chromedp.Func(func(ctx context.Context, tt *chromedp.Target) error {
		res, err := cdp.Call(ctx, tt, page.Navigate, page.NavigateParams{URL: url, Referrer: referrer})
		if err == nil && res.ErrorText != "" {
			err = errors.New(res.ErrorText)
		}
		return err
	})
	ctx, cancel := context.WithTimeout(ctx, eventTimeout)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.WaitEvent(page.LoadEventFired, nil, nav)); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	// Until the new page answers, scripts can still reach the old one.
	pollJS(t, ctx, `document.readyState === 'complete' && location.href === `+strconv.Quote(url))
}

// waitEvent polls the recorded events until one matches.
func (h *harness) waitEvent(t *testing.T, what string, match func(e aggregator.Event) bool) aggregator.Event {
	t.Helper()
	deadline := time.Now().Add(eventTimeout)
	for {
		for _, e := range h.sink.all() {
			if match(e) {
				return e
			}
		}
		if time.Now().After(deadline) {
			h.fatalf(t, "no %s reached the collector within %v", what, eventTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// fatalf fails the test and lists what the collector got, and any problems.
func (h *harness) fatalf(t *testing.T, format string, args ...any) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, format, args...)
	b.WriteString("\nevents recorded:")
	for _, e := range h.sink.all() {
		b.WriteString("\n  " + describe(e))
	}
	h.mu.Lock()
	for _, p := range h.problems {
		b.WriteString("\nproblem: " + p)
	}
	h.mu.Unlock()
	t.Fatal(b.String())
}

func (h *harness) events(match func(e aggregator.Event) bool) []aggregator.Event {
	var out []aggregator.Event
	for _, e := range h.sink.all() {
		if match(e) {
			out = append(out, e)
		}
	}
	return out
}

func isPageview(path string) func(e aggregator.Event) bool {
	return func(e aggregator.Event) bool { return e.Kind == aggregator.Pageview && e.Path == path }
}

func isNamed(name, path string) func(e aggregator.Event) bool {
	return func(e aggregator.Event) bool { return e.Name == name && e.Path == path }
}

// pollJS waits until a JavaScript expression is true in the tab. It retries
// through errors: just after a navigation, an evaluation can still reach the
// old page's context.
func pollJS(t *testing.T, ctx context.Context, expr string) {
	t.Helper()
	deadline := time.Now().Add(eventTimeout)
	for {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		ok, err := chromedp.Run(cctx, chromedp.Evaluate[bool](expr))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: %v", expr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitLocation waits until the tab shows url, across navigations (which
// make a JavaScript poll lose its context).
func waitLocation(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	deadline := time.Now().Add(eventTimeout)
	for {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		got, err := chromedp.Run(cctx, chromedp.Location())
		cancel()
		if err == nil && got == url {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the tab shows %q (%v), want %q", got, err, url)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// scrollToEnd scrolls to the end of the page and waits until the scroll
// event has been dispatched (after the tracker's own listener).
func scrollToEnd(t *testing.T, ctx context.Context) {
	t.Helper()
	do(t, ctx, eval(`window.scrolled = false; document.addEventListener('scroll', function () { window.scrolled = true })`),
		eval(`document.getElementById('end').scrollIntoView()`))
	pollJS(t, ctx, `window.scrolled`)
}

// acceptedMetric reads analytics_events_accepted_total{site="localhost"}.
func (h *harness) acceptedMetric(t *testing.T) int {
	t.Helper()
	v := h.metric(t, `analytics_events_accepted_total{site="localhost"}`)
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatalf(`/metrics: analytics_events_accepted_total{site="localhost"} is %q`, v)
	}
	return n
}

// metricLines returns the lines of /metrics that start with prefix.
// allCounted waits until analytics_events_accepted_total counts every event
// the Sink got, then checks that no beacon was answered 400 and none was
// dropped; it returns the number of events.
func (h *harness) allCounted(t *testing.T) int {
	t.Helper()
	deadline := time.Now().Add(eventTimeout)
	n, got := len(h.sink.all()), h.acceptedMetric(t)
	for ; n != got; n, got = len(h.sink.all()), h.acceptedMetric(t) {
		if time.Now().After(deadline) {
			t.Fatalf(`analytics_events_accepted_total{site="localhost"} = %d, but the Sink got %d events`, got, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if v := h.metric(t, `analytics_collector_requests_total{code="400"}`); v != "0" {
		t.Errorf("the collector answered 400 to %s beacons", v)
	}
	for _, line := range h.metricLines(t, "analytics_events_dropped_total{") {
		if !strings.HasSuffix(line, " 0") {
			t.Errorf("/metrics: %s", line)
		}
	}
	return n
}

func (h *harness) metricLines(t *testing.T, prefix string) []string {
	t.Helper()
	resp, err := http.Get(h.collector + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var lines []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), prefix) {
			lines = append(lines, sc.Text())
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// metric returns the value of one series of /metrics, "" if absent.
func (h *harness) metric(t *testing.T, series string) string {
	t.Helper()
	for _, line := range h.metricLines(t, series+" ") {
		return strings.TrimPrefix(line, series+" ")
	}
	return ""
}

func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	chromium := chromiumPath(t)
	npmDir, npmMissing := trackerDir()
	h := newHarness(t, chromium, npmDir)
	start := time.Now()

	for _, tracker := range []string{"snippet", "npm"} {
		t.Run(tracker, func(t *testing.T) {
			if tracker == "npm" && npmMissing != "" {
				missing(t, "%s", npmMissing)
			}
			base := h.pages + "/t/" + tracker + "/"
			path := "/t/" + tracker + "/"

			t.Run("pageview", func(t *testing.T) {
				ctx := h.tab(t)
				open(t, ctx, base+"pageview.html?utm_campaign=spring", "http://news.example.org/item?id=7")
				e := h.waitEvent(t, "pageview", isPageview(path+"pageview.html"))
				if e.Source != "news.example.org" || e.UTMCampaign != "spring" || e.Site != "localhost" ||
					e.Browser != "Chrome" || e.Visitor == 0 || !e.Interactive {
					t.Errorf("pageview %+v", e)
				}
			})

			t.Run("spa", func(t *testing.T) {
				ctx := h.tab(t)
				open(t, ctx, base+"spa.html", "")
				h.waitEvent(t, "first pageview", isPageview(path+"spa.html"))
				scrollToEnd(t, ctx)
				do(t, ctx, eval(`history.pushState({}, '', 'spa-next')`))
				h.waitEvent(t, "pageview after pushState", isPageview(path+"spa-next"))
				if tracker != "snippet" {
					return
				}
				// Before the navigation, the first page's engagement.
				e := h.waitEvent(t, "engagement of the first page", func(e aggregator.Event) bool {
					return e.Kind == aggregator.Engagement && e.Path == path+"spa.html"
				})
				if e.ScrollDepth < 90 {
					t.Errorf("engagement before SPA navigation: %s", describe(e))
				}
				// Same path, replaceState: no page view; back two steps: one.
				do(t, ctx, eval(`history.pushState({}, '', 'spa-next?tab=2')`),
					eval(`history.replaceState({}, '', 'spa-replaced')`),
					eval(`history.go(-2)`))
				pollJS(t, ctx, `location.pathname.endsWith('/spa.html')`)
				h.waitEvent(t, "pageview after popstate", func(e aggregator.Event) bool {
					return len(h.events(isPageview(path+"spa.html"))) == 2
				})
				if n := len(h.events(isPageview(path + "spa-next"))); n != 1 {
					t.Errorf("%d pageviews of spa-next, want 1 (pushState to the same path counted)", n)
				}
				if n := len(h.events(isPageview(path + "spa-replaced"))); n != 0 {
					t.Errorf("replaceState counted as a pageview")
				}
			})

			t.Run("outbound link", func(t *testing.T) {
				ctx := h.tab(t)
				open(t, ctx, base+"outbound.html", "")
				h.waitEvent(t, "pageview", isPageview(path+"outbound.html"))
				if tracker == "snippet" {
					// Middle click opens a tab; it counts too.
					nodes, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.ID("outbound")))
					if err != nil {
						t.Fatal(err)
					}
					do(t, ctx, chromedp.MouseClickNode(nodes[0], chromedp.ButtonMiddle))
					h.waitEvent(t, "outbound click (middle button)", isNamed("Outbound Link: Click", path+"outbound.html"))
				}
				do(t, ctx, chromedp.Click(chromedp.ID("outbound")))
				want := 1
				if tracker == "snippet" {
					want = 2
				}
				h.waitEvent(t, "outbound click", func(aggregator.Event) bool {
					return len(h.events(isNamed("Outbound Link: Click", path+"outbound.html"))) == want
				})
				for _, e := range h.events(isNamed("Outbound Link: Click", path+"outbound.html")) {
					// The collector drops the link's query string (it can carry tokens).
					if got := prop(e, "url"); got != h.other+"/landing.html" || e.Kind != aggregator.Custom {
						t.Errorf("outbound event: %s", describe(e))
					}
				}
				// The click still navigates.
				waitLocation(t, ctx, h.other+"/landing.html?from=test")
			})

			t.Run("file download", func(t *testing.T) {
				ctx := h.tab(t)
				open(t, ctx, base+"download.html", "")
				h.waitEvent(t, "pageview", isPageview(path+"download.html"))
				do(t, ctx, chromedp.Click(chromedp.ID("download")))
				e := h.waitEvent(t, "file download", isNamed("File Download", path+"download.html"))
				if got := prop(e, "url"); got != h.pages+"/files/report.pdf" {
					t.Errorf("download url %q, want the link without its query", got)
				}
				waitLocation(t, ctx, h.pages+"/files/report.pdf?token=secret")
				if tracker != "snippet" {
					return
				}
				// data-file-types replaces the list.
				open(t, ctx, base+"filetypes.html", "")
				h.waitEvent(t, "pageview", isPageview(path+"filetypes.html"))
				do(t, ctx, chromedp.Click(chromedp.ID("notes")))
				e = h.waitEvent(t, "file download (data-file-types)", isNamed("File Download", path+"filetypes.html"))
				if got := prop(e, "url"); got != h.pages+"/files/notes.md" {
					t.Errorf("download url %q", got)
				}
			})

			t.Run("custom event", func(t *testing.T) {
				ctx := h.tab(t)
				open(t, ctx, base+"custom.html", "")
				h.waitEvent(t, "pageview", isPageview(path+"custom.html"))
				pollJS(t, ctx, `typeof window.plausible === 'function'`)
				do(t, ctx, eval(`window.plausible('Signup', {props: {plan: 'pro', seats: 3},
					revenue: {amount: 9.99, currency: 'EUR'},
					callback: function (r) { window.signupStatus = r && r.status }})`),
					eval(`window.plausible('404', {props: {path: document.location.pathname}})`),
					eval(`window.plausible('Autoplay', {interactive: false})`))
				e := h.waitEvent(t, "custom event", isNamed("Signup", path+"custom.html"))
				if prop(e, "plan") != "pro" || prop(e, "seats") != "3" || e.Kind != aggregator.Custom || !e.Interactive {
					t.Errorf("custom event: %s", describe(e))
				}
				pollJS(t, ctx, `window.signupStatus === 202`)
				e = h.waitEvent(t, "404 event", isNamed("404", path+"custom.html"))
				if prop(e, "path") != path+"custom.html" {
					t.Errorf("404 event: %s", describe(e))
				}
				if e := h.waitEvent(t, "non-interactive event", isNamed("Autoplay", path+"custom.html")); e.Interactive {
					t.Errorf("interactive: false was not sent: %s", describe(e))
				}
				if tracker == "snippet" {
					e := h.waitEvent(t, "queued call", isNamed("Queued", path+"custom.html"))
					if prop(e, "early") != "yes" {
						t.Errorf("queued event: %s", describe(e))
					}
				}
			})

			t.Run("engagement", func(t *testing.T) {
				ctx := h.tab(t)
				open(t, ctx, base+"engagement.html", "")
				h.waitEvent(t, "pageview", isPageview(path+"engagement.html"))
				scrollToEnd(t, ctx)
				// Leaving the page hides it: visibilitychange and pagehide.
				open(t, ctx, h.pages+"/landing.html", "")
				e := h.waitEvent(t, "engagement", func(e aggregator.Event) bool {
					return e.Kind == aggregator.Engagement && e.Path == path+"engagement.html"
				})
				if e.ScrollDepth < 90 || e.EngagedMS < 0 {
					t.Errorf("engagement: %s", describe(e))
				}
				t.Logf("engagement: scroll depth %d%%, engaged %d ms", e.ScrollDepth, e.EngagedMS)
			})

			t.Run("hash routing", func(t *testing.T) {
				ctx := h.tab(t)
				open(t, ctx, base+"hash.html", "")
				h.waitEvent(t, "pageview", isPageview(path+"hash.html"))
				do(t, ctx, eval(`location.hash = '#/settings'`))
				h.waitEvent(t, "pageview of the hash route", isPageview(path+"hash.html#/settings"))
			})

			t.Run("without fetch", func(t *testing.T) {
				if tracker != "snippet" {
					t.Skip("Plausible's tracker needs fetch")
				}
				ctx := h.tab(t)
				open(t, ctx, base+"xhr.html", "")
				h.waitEvent(t, "pageview over XMLHttpRequest", isPageview(path+"xhr.html"))
				do(t, ctx, eval(`window.plausible('Over XHR', {callback: function (r) { window.xhrStatus = r && r.status }})`))
				h.waitEvent(t, "custom event over XMLHttpRequest", isNamed("Over XHR", path+"xhr.html"))
				pollJS(t, ctx, `window.xhrStatus === 202`)
			})

			t.Run("plausible_ignore", func(t *testing.T) {
				ctx := h.tab(t)
				open(t, ctx, h.pages+"/landing.html", "")
				do(t, ctx, eval(`localStorage.setItem('plausible_ignore', 'true')`))
				t.Cleanup(func() { chromedp.Do(ctx, eval(`localStorage.removeItem('plausible_ignore')`)) })
				open(t, ctx, base+"ignore.html", "")
				pollJS(t, ctx, `typeof window.plausible === 'function'`)
				do(t, ctx, eval(`window.plausible('Ignored', {callback: function (r) { window.ignored = r === undefined }})`))
				pollJS(t, ctx, `window.ignored === true`)
				do(t, ctx, eval(`localStorage.removeItem('plausible_ignore')`),
					eval(`window.plausible('After')`))
				h.waitEvent(t, "event after opting in again", isNamed("After", path+"ignore.html"))
				for _, e := range h.events(func(e aggregator.Event) bool { return e.Path == path+"ignore.html" }) {
					if e.Name != "After" {
						t.Errorf("sent while plausible_ignore was set: %s", describe(e))
					}
				}
			})
		})
	}

	// Every event the Sink got is counted once in /metrics (after the
	// last keepalive beacons of closed tabs arrived), and nothing was refused.
	n := h.allCounted(t)
	t.Logf("%d events accepted and recorded in %v", n, time.Since(start).Round(time.Millisecond))
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, p := range h.problems {
		t.Error(p)
	}
}
