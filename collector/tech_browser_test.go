package collector_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"

	"analytics/aggregator"
	"analytics/aggregator/vitals"
)

// The technical events of the snippet (docs/snippet.md, "Web vitals" and
// "JavaScript errors"): real pages in headless Chromium that paint, shift,
// get clicked and throw, and what the snippet sends for them, read from the
// browser's own network events (the request bodies of its POSTs to
// /api/event) and from the collector's answers.

// techBeacon is one POST of the snippet to /api/event, as the browser sent
// it, and the collector's answer.
type techBeacon struct {
	Raw     string
	Status  int64          // the collector's answer
	Dropped string         // its X-Plausible-Dropped header
	N       string         `json:"n"`
	U       string         `json:"u"`
	D       string         `json:"d"`
	P       map[string]any `json:"p"`
}

func (b *techBeacon) String() string { return fmt.Sprintf("%d %q %s", b.Status, b.Dropped, b.Raw) }

// beaconLog records every beacon a tab sends, in order.
type beaconLog struct {
	mu   sync.Mutex
	list []*techBeacon
}

// watchBeacons records the tab's POSTs to /api/event from now on, with the
// collector's answers. It intercepts them (CDP Fetch domain, at the response
// stage) because the Network domain of a tab does not report the keepalive
// beacons a page sends while it is being left.
func watchBeacons(t *testing.T, ctx context.Context) *beaconLog {
	t.Helper()
	l := &beaconLog{}
	paused := make(chan fetch.RequestID, 64)
	err := chromedp.Listen(ctx, func(ev any) {
		ev2, ok := ev.(*fetch.EventRequestPaused)
		if !ok {
			return
		}
		var raw bytes.Buffer
		for _, e := range ev2.Request.PostDataEntries {
			raw.Write(e.Bytes)
		}
		b := &techBeacon{Raw: raw.String(), Status: ev2.ResponseStatusCode}
		for _, h := range ev2.ResponseHeaders {
			if strings.EqualFold(h.Name, "X-Plausible-Dropped") {
				b.Dropped = h.Value
			}
		}
		if err := json.Unmarshal(raw.Bytes(), b); err != nil {
			b.N = "(not JSON: " + err.Error() + ")"
		}
		l.mu.Lock()
		l.list = append(l.list, b)
		l.mu.Unlock()
		paused <- ev2.RequestID // room for a burst; the listener must not block
	})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for id := range paused {
			chromedp.Call(ctx, fetch.ContinueResponse, fetch.ContinueResponseParams{RequestID: id})
		}
	}()
	if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{
		{URLPattern: "*/api/event", RequestStage: fetch.RequestStageResponse},
	}}); err != nil {
		t.Fatal(err)
	}
	return l
}

// all returns copies of the beacons recorded so far that match.
func (l *beaconLog) all(match func(b *techBeacon) bool) []techBeacon {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []techBeacon
	for _, b := range l.list {
		if match(b) {
			out = append(out, *b)
		}
	}
	return out
}

// wait waits until n beacons match, and returns them.
func (l *beaconLog) wait(t *testing.T, n int, what string, match func(b *techBeacon) bool) []techBeacon {
	t.Helper()
	deadline := time.Now().Add(eventTimeout)
	for {
		got := l.all(match)
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d %s within %v; the tab sent:\n%s", len(got), n, what, eventTimeout, l.dump())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (l *beaconLog) dump() string {
	var b strings.Builder
	for _, e := range l.all(func(*techBeacon) bool { return true }) {
		b.WriteString("  " + e.String() + "\n")
	}
	return b.String()
}

// accepted checks that the collector took every beacon of the tab: 202
// and nothing dropped.
func (l *beaconLog) accepted(t *testing.T) {
	t.Helper()
	for _, b := range l.all(func(*techBeacon) bool { return true }) {
		if b.Status != 202 || b.Dropped != "" {
			t.Errorf("the collector did not take the beacon: %s", b.String())
		}
	}
}

func isKind(kind aggregator.Kind, path string) func(e aggregator.Event) bool {
	return func(e aggregator.Event) bool { return e.Kind == kind && e.Path == path }
}

// sinkEvents returns the events of kind at path that the Sink got.
func sinkEvents(h *harness, kind aggregator.Kind, path string) []aggregator.Event {
	return h.events(isKind(kind, path))
}

// sameVitals checks that the Sink got exactly the metrics the beacon sent.
func sameVitals(t *testing.T, b techBeacon, got aggregator.VitalsSample) {
	t.Helper()
	for m, def := range vitals.Defs {
		sent, ok := num(b.P, def.Name)
		if got.Has[m] != ok || ok && math.Abs(got.Value[m]-sent) > 1e-9*math.Max(1, sent) {
			t.Errorf("%s: the Sink got %v (%v), the beacon sent %v (%v)", def.Name, got.Value[m], got.Has[m], sent, ok)
		}
	}
}

// messages returns the sorted messages of error beacons.
func messages(bs []techBeacon) []string {
	var out []string
	for _, b := range bs {
		out = append(out, fmt.Sprint(b.P["message"]))
	}
	slices.Sort(out)
	return out
}

func named(n, u string) func(b *techBeacon) bool {
	return func(b *techBeacon) bool { return b.N == n && b.U == u }
}

// num reads a numeric member of p; ok is false when absent or not a number.
func num(p map[string]any, key string) (v float64, ok bool) {
	v, ok = p[key].(float64)
	return v, ok
}

// techPages serves the pages of the technical events on their own
// localhost port (the collector's site "localhost" accepts any port).
type techPages struct {
	collector string
	base      string // http://localhost:PORT
}

// boomJS is an external script: the line numbers below are asserted.
const boomJS = `// errors thrown from a script file
function explode(message) {
  throw new TypeError(message);
}
function reject(message) {
  return Promise.reject(new RangeError(message));
}
`

const (
	explodeLine, explodeColumn = 3, 9 // V8: where the Error is made
	rejectLine                 = 6
)

var techPageTmpl = `<!doctype html>
<html><head><meta charset="utf-8"><title>%[1]s</title>
<script defer data-domain="localhost" src="%[2]s/js/script.js" %[3]s></script>
<script src="/tech/boom.js?v=3&amp;token=secret"></script>
<style>body { margin: 0; font: 18px/1.4 sans-serif } #hero { display: block; width: 900px; height: 560px }</style>
</head><body>
<p id="intro">%[1]s: a paragraph that paints first.</p>
<button id="slow" style="font-size: 24px">a slow button</button>
<img id="hero" alt="">
<img id="missing" src="/tech/missing.png" alt="">
<div style="height: 3000px">a long page</div>
<script>
  // The interaction is slow: its handler runs for 150 ms.
  document.getElementById('slow').addEventListener('click', function () {
    var t = performance.now();
    while (performance.now() - t < 150) {}
    window.clicked = true;
  });
  // The browser times an interaction once the next frame is presented: a
  // visitor who leaves before that, leaves no INP.
  new PerformanceObserver(function (list) {
    list.getEntries().forEach(function (e) { if (e.name == 'click' && e.interactionId) window.clickTimed = true; });
  }).observe({ type: 'event', durationThreshold: 16 });
  // The hero image (the LCP) is asked for after the first contentful paint.
  new PerformanceObserver(function (list) {
    list.getEntries().forEach(function (e) {
      if (e.name == 'first-contentful-paint') document.getElementById('hero').src = '/tech/hero.png';
    });
  }).observe({ type: 'paint', buffered: true });
  // Once the hero image has loaded, a banner pushes everything down.
  document.getElementById('hero').addEventListener('load', function () {
    setTimeout(function () {
      var b = document.createElement('div');
      b.style.height = '200px';
      b.textContent = 'a late banner';
      document.body.insertBefore(b, document.body.firstChild);
      requestAnimationFrame(function () { setTimeout(function () { window.shifted = true; }, 100); });
    }, 300);
  });
</script>
</body></html>
`

func (p *techPages) handler() http.Handler {
	var hero bytes.Buffer
	// Noise, upscaled 2x: Chrome ignores low-entropy images for LCP.
	img := image.NewRGBA(image.Rect(0, 0, 450, 280))
	rnd := rand.New(rand.NewPCG(1, 2))
	for y := range 280 {
		for x := range 450 {
			img.Set(x, y, color.RGBA{uint8(rnd.Uint32()), uint8(rnd.Uint32()), uint8(rnd.Uint32()), 255})
		}
	}
	if err := png.Encode(&hero, img); err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /tech/{name}", func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		switch name {
		case "boom.js":
			w.Header().Set("Content-Type", "text/javascript")
			io.WriteString(w, boomJS)
		case "hero.png":
			// Late: the largest paint comes 200 ms after the first, at least.
			time.Sleep(200 * time.Millisecond)
			w.Header().Set("Content-Type", "image/png")
			w.Write(hero.Bytes())
		case "landing.html":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			io.WriteString(w, `<!doctype html><title>landing</title><p>landed</p>`)
		default:
			if !strings.HasSuffix(name, ".html") {
				http.NotFound(w, r)
				return
			}
			var attrs string
			if v := r.URL.Query().Get("sample"); v != "" {
				attrs += ` data-vitals-sample="` + v + `"`
			}
			if v := r.URL.Query().Get("errors"); v != "" {
				attrs += ` data-errors="` + v + `"`
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, techPageTmpl, name, p.collector, attrs)
		}
	})
	return mux
}

func TestTechBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	h := newHarness(t, chromiumPath(t), "")
	p := &techPages{collector: h.collector}
	srv := httptest.NewServer(p.handler())
	t.Cleanup(srv.Close)
	p.base = "http://localhost:" + strconv.Itoa(srv.Listener.Addr().(*net.TCPAddr).Port)
	// Leaving hides the page: visibilitychange, then pagehide.
	leave := func(t *testing.T, ctx context.Context) { open(t, ctx, p.base+"/tech/landing.html", "") }

	t.Run("web vitals", func(t *testing.T) {
		ctx := h.tab(t)
		beacons := watchBeacons(t, ctx)
		url := p.base + "/tech/vitals.html"
		open(t, ctx, url, "")
		beacons.wait(t, 1, "pageview", named("pageview", url))
		pollJS(t, ctx, `window.shifted === true`) // after the image
		// A real click (CDP input events), after the paints and the shift.
		do(t, ctx, chromedp.Click(chromedp.ID("slow")))
		pollJS(t, ctx, `window.clicked === true && window.clickTimed === true`)
		if got := beacons.all(named("$web_vitals", url)); len(got) != 0 {
			t.Fatalf("web vitals sent before the page was hidden: %v", got)
		}
		leave(t, ctx) // hides the page: visibilitychange, pagehide
		b := beacons.wait(t, 1, "$web_vitals", named("$web_vitals", url))[0]
		t.Logf("web vitals: %s", b.Raw)
		lcp, okL := num(b.P, "lcp")
		fcp, okF := num(b.P, "fcp")
		cls, okC := num(b.P, "cls")
		ttfb, okT := num(b.P, "ttfb")
		inp, okI := num(b.P, "inp")
		if !okL || !okF || !okC || !okT || !okI || len(b.P) != 5 {
			t.Fatalf("want exactly lcp, fcp, cls, ttfb and inp as numbers: %s", b.Raw)
		}
		if fcp <= 0 || lcp < fcp || ttfb < 0 || ttfb > fcp {
			t.Errorf("timings: fcp %v, lcp %v, ttfb %v: want 0 <= ttfb <= fcp <= lcp, fcp > 0", fcp, lcp, ttfb)
		}
		// The image, asked for after the FCP and served 200 ms late, is the LCP.
		if lcp-fcp < 200 {
			t.Errorf("lcp %v is not the late image (fcp %v)", lcp, fcp)
		}
		// The banner moved the content of the whole viewport by 200 px:
		// 200 / 1280 (the larger side) = 0.156.
		if cls <= 0.05 || cls > 1 {
			t.Errorf("cls %v, want the banner's shift (> 0.05)", cls)
		}
		// The click's handler ran for 150 ms.
		if inp < 100 || inp > 5000 {
			t.Errorf("inp %v ms, want the slow click's ~150 ms", inp)
		}
		if b.D != "localhost" {
			t.Errorf("d = %q", b.D)
		}
		if n := len(beacons.all(named("$web_vitals", url))); n != 1 {
			t.Errorf("%d web vitals events, want one per document", n)
		}
		beacons.accepted(t)
		e := h.waitEvent(t, "web vitals in the Sink", isKind(aggregator.Vitals, "/tech/vitals.html"))
		sameVitals(t, b, e.Vitals)
		if e.Browser != "Chrome" || e.Site != "localhost" || e.Name != "$web_vitals" {
			t.Errorf("vitals event: %+v", e)
		}
	})

	t.Run("web vitals without interaction", func(t *testing.T) {
		ctx := h.tab(t)
		beacons := watchBeacons(t, ctx)
		url := p.base + "/tech/still.html?sample=1"
		open(t, ctx, url, "")
		beacons.wait(t, 1, "pageview", named("pageview", url))
		pollJS(t, ctx, `window.shifted === true`) // after the image
		leave(t, ctx)
		b := beacons.wait(t, 1, "$web_vitals", named("$web_vitals", url))[0]
		if _, ok := b.P["inp"]; ok {
			t.Errorf("inp without any interaction: %s", b.Raw)
		}
		for _, k := range []string{"lcp", "fcp", "cls", "ttfb"} {
			if _, ok := num(b.P, k); !ok {
				t.Errorf("no %s: %s", k, b.Raw)
			}
		}
		beacons.accepted(t)
		sameVitals(t, b, h.waitEvent(t, "web vitals in the Sink", isKind(aggregator.Vitals, "/tech/still.html")).Vitals)
	})

	t.Run("vitals sampled out", func(t *testing.T) {
		ctx := h.tab(t)
		beacons := watchBeacons(t, ctx)
		url := p.base + "/tech/sampled.html?sample=0"
		open(t, ctx, url, "")
		beacons.wait(t, 1, "pageview", named("pageview", url))
		pollJS(t, ctx, `window.shifted === true`)
		do(t, ctx, chromedp.Click(chromedp.ID("slow")))
		pollJS(t, ctx, `window.clicked === true`)
		leave(t, ctx)
		// The engagement event is sent by the same visibilitychange, just
		// before the vitals would be.
		beacons.wait(t, 1, "engagement", named("engagement", url))
		time.Sleep(300 * time.Millisecond)
		if got := beacons.all(named("$web_vitals", url)); len(got) != 0 {
			t.Errorf("data-vitals-sample=\"0\" sent web vitals: %v", got)
		}
		beacons.accepted(t)
		if got := sinkEvents(h, aggregator.Vitals, "/tech/sampled.html"); len(got) != 0 {
			t.Errorf("the Sink got web vitals of a page sampled out: %v", got)
		}
	})

	isError := func(b *techBeacon) bool { return b.N == "$js_error" }
	throw := func(t *testing.T, ctx context.Context, calls ...string) {
		t.Helper()
		js := `window.thrown = false;`
		for _, c := range calls {
			// Each from its own task: uncaught, as in a real event handler.
			js += `setTimeout(function () { ` + c + ` });`
		}
		do(t, ctx, eval(js+`setTimeout(function () { window.thrown = true });`))
		pollJS(t, ctx, `window.thrown === true`)
	}

	t.Run("javascript errors", func(t *testing.T) {
		ctx := h.tab(t)
		beacons := watchBeacons(t, ctx)
		url := p.base + "/tech/errors.html"
		open(t, ctx, url, "")
		beacons.wait(t, 1, "pageview", named("pageview", url))

		// An uncaught error and an unhandled rejection from the file.
		throw(t, ctx, `explode('boom from a file')`, `reject('rejected in a file')`)
		got := beacons.wait(t, 2, "$js_error", isError)
		byKind := map[string]techBeacon{}
		for _, b := range got {
			byKind[fmt.Sprint(b.P["kind"])] = b
			if b.U != url || b.D != "localhost" {
				t.Errorf("error event u %q d %q", b.U, b.D)
			}
		}
		e := byKind["error"]
		if e.P["message"] != "TypeError: boom from a file" || e.P["source"] != "/tech/boom.js" ||
			e.P["line"] != float64(explodeLine) || e.P["column"] != float64(explodeColumn) {
			t.Errorf("uncaught error: %s", e.Raw)
		}
		r := byKind["rejection"]
		if r.P["message"] != "RangeError: rejected in a file" || r.P["source"] != "/tech/boom.js" ||
			r.P["line"] != float64(rejectLine) {
			t.Errorf("rejection: %s", r.Raw)
		}
		if c, ok := num(r.P, "column"); !ok || c < 1 {
			t.Errorf("rejection without a column: %s", r.Raw)
		}

		// A rejection that is not an Error, from no file.
		throw(t, ctx, `Promise.reject('plain reason')`)
		b := beacons.wait(t, 3, "$js_error", isError)[2]
		if b.P["message"] != "plain reason" || b.P["kind"] != "rejection" || b.P["source"] != "" ||
			b.P["line"] != nil || b.P["column"] != nil {
			t.Errorf("rejection with a string: %s", b.Raw)
		}

		// The third was the last of this page view.
		throw(t, ctx, `explode('one too many')`)

		// A new page view (SPA navigation) resets the counter: of five
		// distinct errors, three are sent.
		next := p.base + "/tech/errors-next"
		do(t, ctx, eval(`history.pushState({}, '', '/tech/errors-next')`))
		beacons.wait(t, 1, "pageview after pushState", named("pageview", next))
		throw(t, ctx, `explode('first')`, `explode('second')`, `explode('third')`, `explode('fourth')`, `explode('fifth')`)
		beacons.wait(t, 3, "errors of the second page view", named("$js_error", next))

		// The same error twice: sent once; another one still is.
		again := p.base + "/tech/errors-again"
		do(t, ctx, eval(`history.pushState({}, '', '/tech/errors-again')`))
		beacons.wait(t, 1, "pageview after pushState", named("pageview", again))
		throw(t, ctx, `explode('twice')`, `explode('twice')`, `reject('twice')`)
		beacons.wait(t, 2, "errors of the third page view", named("$js_error", again))

		// Whatever else was going to arrive has arrived by the time the
		// page is left and its engagement is sent.
		leave(t, ctx)
		beacons.wait(t, 1, "engagement", named("engagement", again))
		time.Sleep(300 * time.Millisecond)
		if got := beacons.all(named("$js_error", url)); len(got) != 3 {
			t.Errorf("%d errors of the first page view, want 3 (the fourth over the cap; the missing image is no script error):\n%s", len(got), beacons.dump())
		}
		second := beacons.all(named("$js_error", next))
		if len(second) != 3 {
			t.Errorf("%d errors of the second page view, want 3 of 5:\n%s", len(second), beacons.dump())
		}
		// Beacons travel concurrently: their order is not the order of
		// the errors.
		if got, want := messages(second), []string{"TypeError: first", "TypeError: second", "TypeError: third"}; !slices.Equal(got, want) {
			t.Errorf("errors of the second page view %q, want %q (the first three)", got, want)
		}
		third := beacons.all(named("$js_error", again))
		if got, want := messages(third), []string{"RangeError: twice", "TypeError: twice"}; !slices.Equal(got, want) {
			t.Errorf("errors of the third page view %q, want %q (the TypeError once)", got, want)
		}
		for _, b := range beacons.all(isError) {
			if strings.Contains(b.Raw, "token") || strings.Contains(b.Raw, "v=3") {
				t.Errorf("the script's query string was sent: %s", b.Raw)
			}
		}

		// The collector took them all, as errors (not custom events).
		beacons.accepted(t)
		for path, want := range map[string][]aggregator.ErrorReport{
			"/tech/errors.html": {
				{Message: "TypeError: boom from a file", Source: "/tech/boom.js:3:9"},
				{Message: "(unhandled rejection) RangeError: rejected in a file", Source: fmt.Sprintf("/tech/boom.js:%d:%v", rejectLine, r.P["column"])},
				{Message: "(unhandled rejection) plain reason", Source: ""},
			},
			"/tech/errors-next": {
				{Message: "TypeError: first", Source: "/tech/boom.js:3:9"},
				{Message: "TypeError: second", Source: "/tech/boom.js:3:9"},
				{Message: "TypeError: third", Source: "/tech/boom.js:3:9"},
			},
			"/tech/errors-again": {
				{Message: "TypeError: twice", Source: "/tech/boom.js:3:9"},
				{Message: "(unhandled rejection) RangeError: twice", Source: fmt.Sprintf("/tech/boom.js:%d:%v", rejectLine, r.P["column"])},
			},
		} {
			got := sinkEvents(h, aggregator.JSError, path)
			slices.SortFunc(got, func(a, b aggregator.Event) int { return strings.Compare(a.Error.Message, b.Error.Message) })
			slices.SortFunc(want, func(a, b aggregator.ErrorReport) int { return strings.Compare(a.Message, b.Message) })
			if len(got) != len(want) {
				t.Errorf("%s: the Sink got %d errors, want %d: %v", path, len(got), len(want), got)
				continue
			}
			for i, e := range got {
				if e.Error.Message != want[i].Message || e.Error.Source != want[i].Source || len(e.Error.Fingerprint) != 16 {
					t.Errorf("%s: error %d in the Sink: %+v, want %+v", path, i, e.Error, want[i])
				}
			}
		}
		if got := h.events(func(e aggregator.Event) bool { return e.Kind == aggregator.Custom }); len(got) != 0 {
			t.Errorf("technical events counted as custom events: %v", got)
		}
	})

	t.Run("errors off", func(t *testing.T) {
		ctx := h.tab(t)
		beacons := watchBeacons(t, ctx)
		url := p.base + "/tech/quiet.html?errors=false"
		open(t, ctx, url, "")
		beacons.wait(t, 1, "pageview", named("pageview", url))
		throw(t, ctx, `explode('not reported')`, `reject('not reported')`)
		do(t, ctx, eval(`window.plausible('After the errors')`))
		beacons.wait(t, 1, "custom event", named("After the errors", url))
		time.Sleep(300 * time.Millisecond)
		if got := beacons.all(isError); len(got) != 0 {
			t.Errorf(`data-errors="false" sent errors: %v`, got)
		}
		beacons.accepted(t)
		if got := sinkEvents(h, aggregator.JSError, "/tech/quiet.html"); len(got) != 0 {
			t.Errorf("the Sink got errors of a page without error reporting: %v", got)
		}
	})

	// Nothing was refused or dropped, and everything the Sink got is
	// counted once in /metrics.
	t.Run("collector", func(t *testing.T) {
		h.allCounted(t)
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, p := range h.problems {
			// The pages throw on purpose; a refused beacon is a failure.
			if strings.HasPrefix(p, "collector answered") {
				t.Error(p)
			}
		}
	})
}
