package aggregator

import (
	"fmt"
	"testing"
	"time"

	"analytics/aggregator/sketch"
	"analytics/aggregator/vitals"
	"analytics/schema"
)

func vitalsEvent(at time.Time, path, browser string, lcp, cls float64) *Event {
	e := &Event{Time: at, Site: "a.com", Kind: Vitals, Name: "$web_vitals", Path: path, Browser: browser, Device: "Mobile", Visitor: 1}
	e.Vitals.Has[vitals.LCP], e.Vitals.Value[vitals.LCP] = true, lcp
	e.Vitals.Has[vitals.CLS], e.Vitals.Value[vitals.CLS] = true, cls
	return e
}

func TestVitalsHistograms(t *testing.T) {
	a, st, c := newAgg(t, Options{MaxValues: 3})
	at := c.t
	lcps := []float64{900, 2500, 2600, 3900, 4100, 12000}
	for i, v := range lcps {
		a.Add(vitalsEvent(at, fmt.Sprintf("/p%d", i%2), "Chrome", v, 0.3))
	}
	flush(t, a)
	// A second flush after more samples rewrites the cumulative rows.
	a.Add(vitalsEvent(at.Add(time.Minute), "/p0", "Firefox", 100, 0))
	flush(t, a)

	get := func(dim, metric, value string) Row {
		t.Helper()
		var found *Row
		for _, r := range st.rows {
			if r.Dimension == dim && r.Goal == metric && r.Value == value {
				if found != nil {
					t.Fatalf("two rows for %s %s %s", dim, metric, value)
				}
				found = &r
			}
		}
		if found == nil {
			t.Fatalf("no row for %s %s %q", dim, metric, value)
		}
		return *found
	}
	total := get(schema.DimVitals, "lcp", "")
	if total.Events != 7 || total.Good != 3 || total.Poor != 2 || total.Hist.Total() != 7 {
		t.Errorf("lcp totals %+v", total)
	}
	if total.Pageviews != 0 || total.Visits != 0 || total.Sketch != nil {
		t.Errorf("vitals rows carry no visit data: %+v", total)
	}
	if cls := get(schema.DimVitals, "cls", ""); cls.Events != 7 || cls.Poor != 6 || cls.Good != 1 {
		t.Errorf("cls totals %+v", cls)
	}
	if p := get(schema.DimVitalsPage, "lcp", "/p0"); p.Events != 4 {
		t.Errorf("/p0 %+v", p)
	}
	if b := get(schema.DimVitalsBrowser, "lcp", "Firefox"); b.Events != 1 || b.Hist[0].Index != uint16(vitals.Bucket(100)) {
		t.Errorf("Firefox %+v", b)
	}
	if d := get(schema.DimVitalsDevice, "lcp", "Mobile"); d.Events != 7 {
		t.Errorf("Mobile %+v", d)
	}
	for _, r := range st.rows {
		if r.Goal == "inp" {
			t.Errorf("unmeasured metric counted: %+v", r)
		}
	}
}

func TestVitalsAndErrorsLeaveVisitsAlone(t *testing.T) {
	a, st, c := newAgg(t, Options{})
	a.Add(pv(c.t, 7, "/", ""))
	a.Add(vitalsEvent(c.t.Add(time.Second), "/", "Chrome", 2000, 0))
	a.Add(&Event{Time: c.t.Add(2 * time.Second), Site: "a.com", Kind: JSError, Name: "$js_error", Path: "/", Browser: "Chrome",
		BrowserVersion: "131", Visitor: 7, Error: ErrorReport{Fingerprint: "00ff", Message: "TypeError: x", Source: "/a.js:1:2"}})
	flush(t, a)
	tot := st.sum(schema.DimTotal, "", "")
	if tot.Pageviews != 1 || tot.Events != 1 || tot.Visits != 1 || tot.Bounces != 1 || tot.Duration != 0 {
		t.Errorf("technical events changed the visit: %+v", tot)
	}
}

func TestErrorsPerFingerprint(t *testing.T) {
	a, st, c := newAgg(t, Options{MaxValues: 4})
	report := func(visitor uint64, fp, browser, version string) {
		visitor = (visitor + 1) * 0x9E3779B97F4A7C15 // keys are hashes
		a.Add(&Event{Time: c.t, Site: "a.com", Kind: JSError, Name: "$js_error", Path: "/checkout", Browser: browser,
			BrowserVersion: version, Visitor: visitor, Error: ErrorReport{Fingerprint: fp, Message: "msg " + fp, Source: "/app.js:3:9"}})
	}
	for v := range uint64(5) {
		report(v, "aaaa", "Chrome", "131")
		report(v, "aaaa", "Chrome", "131") // the same visitor again
	}
	report(9, "bbbb", "Firefox", "133")
	// More fingerprints than the cap: they fold into (other), memory stays bounded.
	for i := range 50 {
		report(100+uint64(i), fmt.Sprintf("f%03d", i), "Safari", "18")
	}
	flush(t, a)
	visitors := func(dim, goal, value string) (events, uniq uint64) {
		t.Helper()
		for _, r := range st.rows {
			if r.Dimension == dim && r.Goal == goal && r.Value == value {
				sk := sketch.New()
				if err := sk.MergeBinary(r.Sketch); err != nil {
					t.Fatal(err)
				}
				return r.Events, sk.Estimate()
			}
		}
		t.Fatalf("no row %s %s %s", dim, goal, value)
		return 0, 0
	}
	if ev, u := visitors(schema.DimError, "", "aaaa"); ev != 10 || u != 5 {
		t.Errorf("aaaa: %d events %d visitors", ev, u)
	}
	if ev, u := visitors(schema.DimErrorBrowser, "aaaa", "Chrome 131"); ev != 10 || u != 5 {
		t.Errorf("aaaa in Chrome 131: %d events %d visitors", ev, u)
	}
	if ev, _ := visitors(schema.DimErrorMessage, "aaaa", "msg aaaa"); ev != 10 {
		t.Errorf("aaaa message: %d", ev)
	}
	if ev, _ := visitors(schema.DimErrorSource, "bbbb", "/app.js:3:9"); ev != 1 {
		t.Errorf("bbbb source: %d", ev)
	}
	if ev, _ := visitors(schema.DimErrorPage, "bbbb", "/checkout"); ev != 1 {
		t.Errorf("bbbb page: %d", ev)
	}
	if ev, u := visitors(schema.DimError, "", schema.OtherValue); ev != 48 || u != 48 {
		t.Errorf("(other): %d events %d visitors", ev, u)
	}
	fps := 0
	for _, r := range st.rows {
		if r.Dimension == schema.DimError {
			fps++
		}
	}
	if fps != 5 { // 4 under the cap + (other)
		t.Errorf("%d fingerprint rows, want 5", fps)
	}
	// Folds are visible per site and minute in the drops rows.
	var folded uint64
	for _, r := range st.rows {
		if r.Dimension == schema.DimDrops && r.Value == ReasonFolded {
			folded += r.Events
		}
	}
	if folded < 48 {
		t.Errorf("%d folds in the drops rows, want at least the 48 fingerprints", folded)
	}
	if got := a.foldedSite("a.com").Get(); got != folded {
		t.Errorf(`analytics_events_dropped_total{site="a.com",reason="folded"} = %d, the drops rows say %d`, got, folded)
	}
}

// TestLateEventAddsToAForgottenHour: an event for an hour whose bucket was
// already written and forgotten must add to the stored rows, not replace
// them (rows of one writer and key replace each other).
func TestLateEventAddsToAForgottenHour(t *testing.T) {
	a, st, c := newAgg(t, Options{})
	t0 := c.t // 10:00
	a.Add(pv(t0.Add(30*time.Minute), 1, "/", ""))
	c.t = t0.Add(31 * time.Minute)
	flush(t, a)
	c.t = t0.Add(2 * time.Hour)
	flush(t, a) // ends the visit, writes its exit page
	flush(t, a) // forgets the closed hour
	if len(a.sites) != 0 {
		t.Fatalf("the closed hour is still in memory")
	}
	a.Add(pv(t0.Add(45*time.Minute), 2, "/", "")) // late: its hour closed an hour ago
	flush(t, a)
	if got := st.sum(schema.DimTotal, "", ""); got.Pageviews != 2 || got.Visits != 2 {
		t.Errorf("hour 10 after a late event: %d pageviews %d visits, want 2 and 2", got.Pageviews, got.Visits)
	}
}
