package dashboard

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"analytics/aggregator"
	"analytics/aggregator/chstore"
	"analytics/aggregator/vitals"
)

// requireBrowserEnv=1 turns a missing Chromium into a failure.
const requireBrowserEnv = "ANALYTICS_REQUIRE_BROWSER"

// screenshotsEnv names a directory for screenshots of the site page
// (data/screenshots, gitignored); unset, none are taken.
const screenshotsEnv = "ANALYTICS_SCREENSHOTS"

func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{os.Getenv("ANALYTICS_CHROMIUM"), "/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "browser test: Chromium not found (run scripts/browser-deps)"
	if os.Getenv(requireBrowserEnv) == "1" {
		t.Fatal(msg + "; " + requireBrowserEnv + "=1 makes this a failure")
	}
	t.Skip(msg)
	return ""
}

// TestSiteDashboardInBrowser signs in through the real form in headless
// Chromium, opens the site page over data full of markup and script, and
// checks that nothing ran and the values show as text.
func TestSiteDashboardInBrowser(t *testing.T) {
	chromium := findChromium(t)
	db := dashFixture(t)
	s := newPageServer(t, db)
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()

	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
	)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	defer cancelTimeout()

	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", chromium, err)
	}
	var dialogs atomic.Int32
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*cdppage.EventJavascriptDialogOpening); ok {
			dialogs.Add(1)
			t.Errorf("a dialog opened: %q", e.Message)
			go chromedp.Call(ctx, cdppage.HandleJavaScriptDialog, cdppage.HandleJavaScriptDialogParams{Accept: false})
		}
	}); err != nil {
		t.Fatal(err)
	}

	next := "/example.com?period=7d"
	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/login?next="+url.QueryEscape(next)),
		chromedp.WaitVisible(chromedp.CSS(`input[name=email]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), ownerEmail),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
		chromedp.Submit(chromedp.CSS(`form.login`)),
		chromedp.WaitVisible(chromedp.CSS(`svg.chart`)),
	); err != nil {
		t.Fatalf("sign in and open the site page: %v", err)
	}
	title, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil || !strings.HasPrefix(title, "example.com") {
		t.Fatalf("title %q, %v", title, err)
	}

	// Hostile values are text in the DOM, and no element came from them.
	texts, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("table.bars td.name")).map(td => td.textContent.trim())`))
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(texts, "\n")
	for _, want := range []string{"/" + hostileScript, hostileJS, hostileImg, hostileCSV} {
		if !strings.Contains(all, want) {
			t.Errorf("%q not shown as text; rows:\n%s", want, all)
		}
	}
	injected, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("main script:not([src='/static/site.js']), main img, a[href^='javascript:'], [onerror]").length`))
	if err != nil || injected != 0 {
		t.Errorf("%d elements injected by data (%v)", injected, err)
	}

	// The CSV export defuses the formula, read as the browser gets it.
	csvText, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`fetch("/example.com/export.csv?panel=outbound&period=7d").then(r => r.text())`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(csvText, `"'=HYPERLINK(""http://evil"")"`) {
		t.Errorf("CSV export %q", csvText)
	}

	// Filtering by the hostile page by clicking its row runs nothing either.
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`tr[data-href*="javascript"] td.name a`), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.CSS(`p.filter`)),
	); err != nil {
		t.Fatal(err)
	}
	filter, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`p.filter strong`)))
	if err != nil || !strings.Contains(filter, hostileJS) {
		t.Errorf("filter shown as %q (%v)", filter, err)
	}

	// The technical view with hostile error messages, sources and pages
	// (written through the real aggregator and store): text, never markup.
	agg, err := aggregator.New(aggregator.Options{Store: chstore.New(db), Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for i := range 5 {
		agg.Add(&aggregator.Event{Time: at, Site: "example.com", Kind: aggregator.JSError, Name: "$js_error", Path: "/" + hostileScript,
			Browser: "Chrome", BrowserVersion: "131", Visitor: uint64(i+1) * 0x9E3779B97F4A7C15,
			Error: aggregator.ErrorReport{Fingerprint: "00000000000000ee", Message: "TypeError: " + hostileImg, Source: "/" + hostileJS + ":1:2"}})
		v := &aggregator.Event{Time: at, Site: "example.com", Kind: aggregator.Vitals, Name: "$web_vitals", Path: "/" + hostileImg,
			Browser: "Chrome", Device: "Desktop", Visitor: uint64(i+1) * 0x9E3779B97F4A7C15}
		v.Vitals.Has[vitals.LCP], v.Vitals.Value[vitals.LCP] = true, 1500
		agg.Add(v)
	}
	if err := agg.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/example.com/technical?period=7d"),
		chromedp.WaitVisible(chromedp.CSS(`table.errors`)),
	); err != nil {
		t.Fatalf("open the technical view: %v", err)
	}
	techText, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("main").innerText`))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"TypeError: " + hostileImg, "/" + hostileJS + ":1:2", "/" + hostileScript + " (5)", "/" + hostileImg} {
		if !strings.Contains(techText, want) {
			t.Errorf("technical view does not show %q as text:\n%s", want, techText)
		}
	}
	injected, err = chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("main script:not([src='/static/site.js']), main img, a[href^='javascript:'], [onerror]").length`))
	if err != nil || injected != 0 {
		t.Errorf("technical view: %d elements injected by data (%v)", injected, err)
	}

	if dir := os.Getenv(screenshotsEnv); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, w := range []int64{400, 1280} {
			if err := chromedp.Do(ctx,
				chromedp.EmulateViewport(w, 900),
				chromedp.Navigate(srv.URL+"/example.com?period=7d"),
				chromedp.WaitVisible(chromedp.CSS(`svg.chart`)),
			); err != nil {
				t.Fatal(err)
			}
			png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatal(err)
			}
			name := filepath.Join(dir, fmt.Sprintf("dashboard-%d.png", w))
			if err := os.WriteFile(name, png, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := chromedp.Do(ctx,
				chromedp.Navigate(srv.URL+"/example.com/technical?period=7d"),
				chromedp.WaitVisible(chromedp.CSS(`table.errors`)),
			); err != nil {
				t.Fatal(err)
			}
			if png, err = chromedp.Run(ctx, chromedp.FullScreenshot(100)); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("technical-%d.png", w)), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := dialogs.Load(); n != 0 {
		t.Errorf("%d dialogs", n)
	}
}
