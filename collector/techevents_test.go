package collector

import (
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"analytics/aggregator"
	"analytics/aggregator/vitals"
	"analytics/collector/visitor"
)

// TestTechEvents sends the snippet's technical events through the real
// server: vitals and errors reach the Sink as their own kinds, an error's
// message and source arrive normalised, and bad values get a 400 that names
// the problem.
func TestTechEvents(t *testing.T) {
	rec := &recorder{}
	s := newServer(t, rec, nil)

	r := do(t, s, post(`{"n":"$web_vitals","u":"https://a.com/orders/83412?x=1","d":"a.com","p":{"lcp":2310.4,"inp":"120","cls":0.042,"fcp":900,"ttfb":180,"fid":3}}`, chromeUA))
	if r.code != 202 || r.dropped != "" {
		t.Fatalf("vitals: %d %q dropped %q", r.code, r.body, r.dropped)
	}
	r = do(t, s, post(`{"n":"$js_error","u":"https://a.com/account","d":"a.com","p":{"message":"Error: no user jane.doe@example.com (id 48213), token 9f8e7d6c5b4a39281706","source":"https://a.com/static/app.js?v=77#top","line":12,"column":34}}`, chromeUA))
	if r.code != 202 || r.dropped != "" {
		t.Fatalf("error: %d %q dropped %q", r.code, r.body, r.dropped)
	}
	if len(rec.events) != 2 {
		t.Fatalf("sink got %d events", len(rec.events))
	}
	v := rec.events[0]
	if v.Kind != aggregator.Vitals || v.Path != "/orders/:id" || v.Browser != "Chrome" {
		t.Errorf("vitals event %+v", v)
	}
	want := aggregator.VitalsSample{}
	for m, x := range map[vitals.Metric]float64{vitals.LCP: 2310.4, vitals.INP: 120, vitals.CLS: 0.042, vitals.FCP: 900, vitals.TTFB: 180} {
		want.Has[m], want.Value[m] = true, x
	}
	if v.Vitals != want {
		t.Errorf("vitals %+v, want %+v", v.Vitals, want)
	}
	e := rec.events[1]
	if e.Kind != aggregator.JSError || e.Path != "/account" {
		t.Errorf("error event %+v", e)
	}
	if want := "Error: no user <email> (id <n>), token <hex>"; e.Error.Message != want {
		t.Errorf("message %q, want %q", e.Error.Message, want)
	}
	if e.Error.Source != "/static/app.js:12:34" || len(e.Error.Fingerprint) != 16 {
		t.Errorf("source %q fingerprint %q", e.Error.Source, e.Error.Fingerprint)
	}

	for _, tc := range []struct{ body, want string }{
		{`{"n":"$web_vitals","u":"https://a.com/","d":"a.com","p":{"lcp":-5}}`, "lcp must be a number from 0 to 600000 ms"},
		{`{"n":"$web_vitals","u":"https://a.com/","d":"a.com","p":{"cls":"much"}}`, "cls must be a number from 0 to 100"},
		{`{"n":"$web_vitals","u":"https://a.com/","d":"a.com"}`, "needs at least one of lcp"},
		{`{"n":"$js_error","u":"https://a.com/","d":"a.com","p":{"source":"/a.js"}}`, "needs a message"},
		{`{"n":"$js_error","u":"https://a.com/","d":"a.com","p":{"message":"x","line":"-3"}}`, "line and column"},
		{`{"n":"$purchase","u":"https://a.com/","d":"a.com"}`, "reserved name"},
	} {
		r := do(t, s, post(tc.body, chromeUA))
		if r.code != 400 || !strings.Contains(r.body, tc.want) || !strings.HasPrefix(r.body, `{"errors":{`) {
			t.Errorf("%s: %d %s, want 400 with %q", tc.body, r.code, r.body, tc.want)
		}
	}
	if len(rec.events) != 2 {
		t.Errorf("refused events reached the sink: %d events", len(rec.events))
	}
	if got := rec.drops["(unknown)/malformed"]; got != 6 {
		t.Errorf("malformed drops %d, want 6", got)
	}
	// Bots, consent signals and unknown sites apply as to any event.
	r = do(t, s, post(`{"n":"$web_vitals","u":"https://a.com/","d":"a.com","p":{"lcp":1}}`, chromeUA, "Sec-GPC: 1"))
	if r.code != 202 || r.dropped != "1" {
		t.Errorf("GPC vitals: %d dropped %q", r.code, r.dropped)
	}
}

// TestRateLimit: past its burst, one client address gets 202 with
// x-plausible-dropped, counted as rate_limited; other addresses and the
// same address after the refill are not affected.
func TestRateLimit(t *testing.T) {
	rec := &recorder{}
	salts, err := visitor.NewSalts(t.TempDir(), time.Now, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	s, err := New(Options{Sites: []Site{{Domain: "a.com"}}, Sink: rec, Salts: salts, TrustedProxies: []string{"10.0.0.0/8"},
		RateLimit: 3, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	send := func(client string) (int, string) {
		var ctx fasthttp.RequestCtx
		ctx.Init(&fasthttp.Request{}, &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 1234}, nil)
		ctx.Request.Header.SetMethod("POST")
		ctx.Request.SetRequestURI("/api/event")
		ctx.Request.Header.Set("User-Agent", chromeUA)
		ctx.Request.Header.Set("X-Forwarded-For", client)
		ctx.Request.SetBody([]byte(`{"n":"pageview","u":"https://a.com/","d":"a.com"}`))
		s.handle(&ctx)
		return ctx.Response.StatusCode(), string(ctx.Response.Header.Peek("X-Plausible-Dropped"))
	}
	for i := range 3 {
		if code, dropped := send("203.0.113.5"); code != 202 || dropped != "" {
			t.Fatalf("event %d: %d dropped %q", i, code, dropped)
		}
	}
	if code, dropped := send("203.0.113.5"); code != 202 || dropped != "1" {
		t.Fatalf("fourth event: %d dropped %q, want 202 and 1", code, dropped)
	}
	if code, dropped := send("2001:db8::1"); code != 202 || dropped != "" {
		t.Fatalf("another client: %d dropped %q", code, dropped)
	}
	now = now.Add(20 * time.Second) // one token back (3 per minute)
	if _, dropped := send("203.0.113.5"); dropped != "" {
		t.Fatal("not refilled")
	}
	if len(rec.events) != 5 || rec.drops["a.com/rate_limited"] != 1 {
		t.Errorf("%d events, drops %v", len(rec.events), rec.drops)
	}
}

// TestTrailerCannotSetClientAddress: behind a trusted proxy, a client that
// sends its body chunked with an X-Forwarded-For trailer (declared or not)
// must not choose its address: fasthttp refuses such requests.
func TestTrailerCannotSetClientAddress(t *testing.T) {
	rec := &recorder{}
	salts, err := visitor.NewSalts(t.TempDir(), time.Now, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Sites: []Site{{Domain: "a.com"}}, Sink: rec, Salts: salts, TrustedProxies: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	t.Cleanup(func() { s.Shutdown() })
	send := func(raw string) string {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write([]byte(raw)); err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(c)
		return string(b)
	}
	body := `{"n":"pageview","u":"https://a.com/","d":"a.com"}`
	head := "POST /api/event HTTP/1.1\r\nHost: c\r\nConnection: close\r\nUser-Agent: " + chromeUA + "\r\nX-Forwarded-For: 203.0.113.5\r\n"
	chunked := "Transfer-Encoding: chunked\r\n\r\n" + strconv.FormatInt(int64(len(body)), 16) + "\r\n" + body + "\r\n0\r\n"
	if r := send(head + chunked + "\r\n"); !strings.HasPrefix(r, "HTTP/1.1 202") {
		t.Fatalf("chunked beacon: %q", r)
	}
	for _, trailer := range []string{"", "Trailer: X-Forwarded-For\r\n"} {
		if r := send(head + trailer + chunked + "X-Forwarded-For: 198.51.100.99\r\n\r\n"); strings.HasPrefix(r, "HTTP/1.1 202") {
			t.Errorf("a trailer with X-Forwarded-For was accepted (%q)", trailer)
		}
	}
	if len(rec.events) != 1 {
		t.Errorf("%d events counted, want only the plain chunked one", len(rec.events))
	}
}
