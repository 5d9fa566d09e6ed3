package collector

import (
	"bufio"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"analytics/aggregator"
	"analytics/collector/pathtmpl"
	"analytics/collector/visitor"
)

// recorder keeps copies of the events the collector hands on.
type recorder struct {
	mu     sync.Mutex
	events []aggregator.Event
	visits bool // answer engagement events as if a visit were in progress
	drops  map[string]int
}

func (r *recorder) Drop(site, reason string, _ time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.drops == nil {
		r.drops = map[string]int{}
	}
	r.drops[site+"/"+reason]++
}

// Add keeps a deep copy: the event's memory is reused after the call.
func (r *recorder) Add(e *aggregator.Event) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := *e
	c.Site, c.Name, c.Path, c.Source = strings.Clone(e.Site), strings.Clone(e.Name), strings.Clone(e.Path), strings.Clone(e.Source)
	c.Browser, c.BrowserVersion, c.OS, c.Device = strings.Clone(e.Browser), strings.Clone(e.BrowserVersion), strings.Clone(e.OS), strings.Clone(e.Device)
	c.OSVersion, c.Country, c.Region, c.Referrer = strings.Clone(e.OSVersion), strings.Clone(e.Country), strings.Clone(e.Region), strings.Clone(e.Referrer)
	c.UTMSource, c.UTMMedium, c.UTMCampaign = strings.Clone(e.UTMSource), strings.Clone(e.UTMMedium), strings.Clone(e.UTMCampaign)
	c.UTMContent, c.UTMTerm, c.ClickID = strings.Clone(e.UTMContent), strings.Clone(e.UTMTerm), strings.Clone(e.ClickID)
	c.Props = nil
	for _, p := range e.Props {
		c.Props = append(c.Props, aggregator.Prop{Key: strings.Clone(p.Key), Value: strings.Clone(p.Value)})
	}
	r.events = append(r.events, c)
	return e.Kind != aggregator.Engagement || r.visits
}

const chromeUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

func newServer(t testing.TB, rec *recorder, ready func() (string, bool, bool)) *Server {
	t.Helper()
	salts, err := visitor.NewSalts(t.TempDir(), time.Now, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{
		Sites: []Site{
			{Domain: "a.com", Hosts: []string{"a.com", "www.a.com", "shop.a.com:8443"}, SpamReferrers: []string{"pills.example"}},
			{Domain: "b.com", IgnoreDNT: true, IgnoreGPC: true},
		},
		Sink: rec, Salts: salts, TrustedProxies: []string{"10.0.0.0/8"}, Ready: ready,
		Now: func() time.Time { return time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC) },
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type reply struct {
	code    int
	body    string
	dropped string
	cors    string
}

// do serves one request through the real fasthttp server over an in-memory
// listener, so body limits and error handling behave as in production.
func do(t testing.TB, s *Server, raw string) reply {
	t.Helper()
	ln := fasthttputil.NewInmemoryListener()
	defer ln.Close()
	go s.srv.Serve(ln)
	c, err := ln.Dial()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(raw)); err != nil {
		t.Fatal(err)
	}
	var resp fasthttp.Response
	if err := resp.Read(bufio.NewReader(c)); err != nil {
		t.Fatal(err)
	}
	return reply{
		code:    resp.StatusCode(),
		body:    string(resp.Body()),
		dropped: string(resp.Header.Peek("X-Plausible-Dropped")),
		cors:    string(resp.Header.Peek("Access-Control-Allow-Origin")),
	}
}

func post(body, ua string, headers ...string) string {
	var b strings.Builder
	b.WriteString("POST /api/event HTTP/1.1\r\nHost: collector\r\nContent-Type: text/plain\r\n")
	if ua != "" {
		b.WriteString("User-Agent: " + ua + "\r\n")
	}
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("Content-Length: ")
	b.WriteString(strconv.Itoa(len(body)))
	b.WriteString("\r\n\r\n")
	b.WriteString(body)
	return b.String()
}

func TestEventEndpoint(t *testing.T) {
	for _, tc := range []struct {
		name    string
		req     string
		want    reply
		events  int
		inspect func(t *testing.T, e []aggregator.Event)
	}{
		{
			name: "pageview accepted and coarsened",
			req: post(`{"n":"pageview","u":"https://www.a.com/pricing?email=jane@example.com&utm_source=news#top","d":"a.com","r":"https://www.google.com/search?q=jane"}`,
				chromeUA, "X-Forwarded-For: 203.0.113.9"),
			want:   reply{code: 202, body: "ok", cors: "*"},
			events: 1,
			inspect: func(t *testing.T, e []aggregator.Event) {
				ev := e[0]
				if ev.Site != "a.com" || ev.Kind != aggregator.Pageview || ev.Path != "/pricing" || ev.Source != "news" ||
					ev.Browser != "Chrome" || ev.BrowserVersion != "131" || ev.OS != "Windows" || ev.Device != "Desktop" || ev.Visitor == 0 {
					t.Errorf("event %+v", ev)
				}
				if !ev.Time.Equal(time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)) {
					t.Errorf("time %v", ev.Time)
				}
			},
		},
		{
			name:   "referrer host becomes the source",
			req:    post(`{"n":"pageview","u":"https://a.com/","d":"a.com","r":"https://news.ycombinator.com/item?id=1"}`, chromeUA),
			want:   reply{code: 202, body: "ok", cors: "*"},
			events: 1,
			inspect: func(t *testing.T, e []aggregator.Event) {
				if e[0].Source != "news.ycombinator.com" {
					t.Errorf("source %q", e[0].Source)
				}
			},
		},
		{
			name:   "internal referrer is no source",
			req:    post(`{"n":"pageview","u":"https://a.com/b","d":"a.com","r":"https://a.com/a"}`, chromeUA),
			want:   reply{code: 202, body: "ok", cors: "*"},
			events: 1,
			inspect: func(t *testing.T, e []aggregator.Event) {
				if e[0].Source != "" {
					t.Errorf("source %q", e[0].Source)
				}
			},
		},
		{
			name:   "custom event with props",
			req:    post(`{"n":"Signup","u":"https://shop.a.com:8443/x","d":"a.com","p":{"plan":"pro"}}`, chromeUA),
			want:   reply{code: 202, body: "ok", cors: "*"},
			events: 1,
			inspect: func(t *testing.T, e []aggregator.Event) {
				if e[0].Kind != aggregator.Custom || e[0].Name != "Signup" || len(e[0].Props) != 1 || e[0].Props[0] != (aggregator.Prop{Key: "plan", Value: "pro"}) {
					t.Errorf("event %+v", e[0])
				}
			},
		},
		{
			name:   "two sites in d",
			req:    post(`{"n":"pageview","u":"https://a.com/","d":"a.com,b.com"}`, chromeUA),
			want:   reply{code: 202, body: "ok", cors: "*", dropped: "1"}, // a.com is not a host of b.com
			events: 1,
		},
		{
			name: "unknown site dropped with header",
			req:  post(`{"n":"pageview","u":"https://c.com/","d":"c.com"}`, chromeUA),
			want: reply{code: 202, body: "ok", cors: "*", dropped: "1"},
		},
		{
			name: "host outside the site dropped",
			req:  post(`{"n":"pageview","u":"https://evil.com/","d":"a.com"}`, chromeUA),
			want: reply{code: 202, body: "ok", cors: "*", dropped: "1"},
		},
		{
			name: "bot dropped",
			req:  post(`{"n":"pageview","u":"https://a.com/","d":"a.com"}`, "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"),
			want: reply{code: 202, body: "ok", cors: "*", dropped: "1"},
		},
		{
			name: "no user agent is a bot",
			req:  post(`{"n":"pageview","u":"https://a.com/","d":"a.com"}`, ""),
			want: reply{code: 202, body: "ok", cors: "*", dropped: "1"},
		},
		{
			name:   "identifying path segments templated, props coarsened",
			req:    post(`{"n":"404","u":"https://a.com/users/jane.doe@example.com/orders/834123","d":"a.com","p":{"path":"/reset/9f8e7d6c5b4a39281706f5e4d3c2b1a0","url":"https://Shop.example.org:8443/u/83412?token=abc#x","email":"jane.doe@example.com","plan":"Pro plan"}}`, chromeUA),
			want:   reply{code: 202, body: "ok", cors: "*"},
			events: 1,
			inspect: func(t *testing.T, e []aggregator.Event) {
				if e[0].Path != "/users/:email/orders/:id" {
					t.Errorf("path %q", e[0].Path)
				}
				want := []aggregator.Prop{{Key: "path", Value: "/reset/:token"}, {Key: "url", Value: "https://shop.example.org:8443/u/:id"},
					{Key: "email", Value: ":email"}, {Key: "plan", Value: "Pro plan"}}
				if !slices.Equal(e[0].Props, want) {
					t.Errorf("props %+v, want %+v", e[0].Props, want)
				}
			},
		},
		{
			name: "do not track honoured",
			req:  post(`{"n":"pageview","u":"https://a.com/","d":"a.com"}`, chromeUA, "DNT: 1"),
			want: reply{code: 202, body: "ok", cors: "*", dropped: "1"},
		},
		{
			name: "global privacy control honoured",
			req:  post(`{"n":"pageview","u":"https://a.com/","d":"a.com"}`, chromeUA, "Sec-GPC: 1"),
			want: reply{code: 202, body: "ok", cors: "*", dropped: "1"},
		},
		{
			name:   "consent ignored where the site says so",
			req:    post(`{"n":"pageview","u":"https://b.com/","d":"b.com"}`, chromeUA, "DNT: 1", "Sec-GPC: 1"),
			want:   reply{code: 202, body: "ok", cors: "*"},
			events: 1,
		},
		{
			name: "referrer spam",
			req:  post(`{"n":"pageview","u":"https://a.com/","d":"a.com","r":"https://www.semalt.com/crawler"}`, chromeUA),
			want: reply{code: 202, body: "ok", cors: "*", dropped: "1"},
		},
		{
			name: "site's own spam list",
			req:  post(`{"n":"pageview","u":"https://a.com/","d":"a.com","r":"https://cheap.pills.example/"}`, chromeUA),
			want: reply{code: 202, body: "ok", cors: "*", dropped: "1"},
		},
		{
			name: "engagement without a visit",
			req:  post(`{"n":"engagement","u":"https://a.com/","d":"a.com","sd":50,"e":3000}`, chromeUA),
			want: reply{code: 202, body: "ok", cors: "*", dropped: "1"},
			// handed on, and refused by the sink: no visit in progress
			events: 1,
		},
		{
			name: "malformed json",
			req:  post(`{"n":"pageview",`, chromeUA),
			want: reply{code: 400, body: `{"errors":{"request":["Unable to parse request body as json"]}}`, cors: "*"},
		},
		{
			name: "missing url",
			req:  post(`{"n":"pageview","d":"a.com"}`, chromeUA),
			want: reply{code: 400, body: `{"errors":{"url":["is required"]}}`, cors: "*"},
		},
		{
			name: "oversized body",
			req:  post(`{"n":"pageview","u":"https://a.com/","d":"a.com","p":{"k":"`+strings.Repeat("x", 9000)+`"}}`, chromeUA),
			want: reply{code: 413, body: "request body too large: at most 8192 bytes", cors: "*"},
		},
		{
			name: "preflight",
			req:  "OPTIONS /api/event HTTP/1.1\r\nHost: collector\r\nOrigin: https://a.com\r\nAccess-Control-Request-Method: POST\r\n\r\n",
			want: reply{code: 204, cors: "*"},
		},
		{
			name: "wrong method",
			req:  "GET /api/event HTTP/1.1\r\nHost: collector\r\n\r\n",
			want: reply{code: 405, body: "method not allowed: use POST", cors: "*"},
		},
		{
			name: "unknown path",
			req:  "GET /nope HTTP/1.1\r\nHost: collector\r\n\r\n",
			want: reply{code: 404, body: "not found"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			s := newServer(t, rec, nil)
			got := do(t, s, tc.req)
			if got != tc.want {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
			if len(rec.events) != tc.events {
				t.Fatalf("%d events handed on, want %d", len(rec.events), tc.events)
			}
			if tc.inspect != nil {
				tc.inspect(t, rec.events)
			}
		})
	}
}

func TestVisitorKeyUsesTrustedProxyOnly(t *testing.T) {
	rec := &recorder{}
	s := newServer(t, rec, nil)
	body := `{"n":"pageview","u":"https://a.com/","d":"a.com"}`
	// The in-memory listener's peer is 0.0.0.0, untrusted: X-Forwarded-For
	// must be ignored, so two different forwarded addresses are the same visitor.
	do(t, s, post(body, chromeUA, "X-Forwarded-For: 198.51.100.1"))
	do(t, s, post(body, chromeUA, "X-Forwarded-For: 198.51.100.2"))
	if len(rec.events) != 2 || rec.events[0].Visitor != rec.events[1].Visitor {
		t.Fatalf("spoofed X-Forwarded-For changed the visitor key: %+v", rec.events)
	}
	// A different User-Agent is a different visitor.
	do(t, s, post(body, strings.Replace(chromeUA, "131", "130", 1)))
	if rec.events[2].Visitor == rec.events[0].Visitor {
		t.Fatal("different User-Agent, same key")
	}
}

func TestReadyz(t *testing.T) {
	for _, tc := range []struct {
		name     string
		reason   string
		degraded bool
		down     bool
		want     reply
	}{
		{name: "ok", want: reply{code: 200, body: "ok"}},
		{name: "degraded", reason: "store unreachable", degraded: true, want: reply{code: 200, body: "degraded: store unreachable"}},
		{name: "down", reason: "cannot accept events", down: true, want: reply{code: 503, body: "cannot accept events"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t, &recorder{}, func() (string, bool, bool) { return tc.reason, tc.degraded, tc.down })
			if got := do(t, s, "GET /readyz HTTP/1.1\r\nHost: c\r\n\r\n"); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestMetricsEndpoint(t *testing.T) {
	s := newServer(t, &recorder{}, nil)
	do(t, s, post(`{"n":"pageview","u":"https://a.com/","d":"a.com"}`, chromeUA))
	do(t, s, post(`{"n":"pageview","u":"https://x.com/","d":"x.com"}`, chromeUA))
	got := do(t, s, "GET /metrics HTTP/1.1\r\nHost: c\r\n\r\n")
	for _, want := range []string{
		`analytics_events_accepted_total{site="a.com"} 1`,
		`analytics_events_dropped_total{site="(unknown)",reason="unknown_site"} 1`,
		"analytics_useragent_cache_misses_total 1\n", // the same User-Agent twice: one miss,
		"analytics_useragent_cache_hits_total 1\n",   // then a hit
		`go_goroutines`,
	} {
		if !strings.Contains(got.body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(got.body, "x.com") {
		t.Error("an unconfigured domain became a metric label")
	}
}

func TestCoarsenURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://example.org/a/b?x=1#f":                 "https://example.org/a/b",
		"HTTP://User:pw@Example.ORG:8080":               "http://example.org:8080/",
		"https://example.org/users/jane@example.com":    "https://example.org/users/:email",
		"/docs/file.pdf?download=1":                     "/docs/file.pdf",
		"https://[2001:db8::1]:443/x":                   "https://[2001:db8::1]:443/x",
		"mailto:jane@example.com":                       ":email",
		"https://cdn.example.org/f/83412345/report.pdf": "https://cdn.example.org/f/:id/report.pdf",
	} {
		if got := string(coarsenURL(nil, in, pathtmpl.Default)); got != want {
			t.Errorf("coarsenURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNormalizeHost(t *testing.T) {
	for in, want := range map[string]string{
		"Example.COM": "example.com", "www.example.com": "example.com", "example.com:8080": "example.com",
		"www.example.com.": "example.com", " shop.example.com ": "shop.example.com",
	} {
		if got := NormalizeHost(in); got != want {
			t.Errorf("NormalizeHost(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	salts, _ := visitor.NewSalts(t.TempDir(), time.Now, time.Minute)
	for name, opts := range map[string]Options{
		"no sink":        {Salts: salts},
		"no salts":       {Sink: &recorder{}},
		"bad proxy":      {Sink: &recorder{}, Salts: salts, TrustedProxies: []string{"10.0.0.0/33"}},
		"duplicate site": {Sink: &recorder{}, Salts: salts, Sites: []Site{{Domain: "a.com"}, {Domain: "www.a.com"}}},
	} {
		if _, err := New(opts); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// BenchmarkHandler measures one accepted pageview through the handler,
// without the network.
func BenchmarkHandler(b *testing.B) {
	s := newServer(b, &recorder{}, nil)
	s.sink = discardSink{}
	body := []byte(`{"n":"pageview","u":"https://www.a.com/blog/post-1?utm_source=newsletter","d":"a.com","r":"https://news.ycombinator.com/","v":20}`)
	var ctx fasthttp.RequestCtx
	ctx.Init(&fasthttp.Request{}, &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 1234}, nil)
	b.ReportAllocs()
	for b.Loop() {
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.Request.Header.SetMethod("POST")
		ctx.Request.SetRequestURI("/api/event")
		ctx.Request.Header.Set("User-Agent", chromeUA)
		ctx.Request.Header.Set("X-Forwarded-For", "203.0.113.7")
		ctx.Request.SetBody(body)
		s.handle(&ctx)
		if ctx.Response.StatusCode() != 202 {
			b.Fatal(ctx.Response.StatusCode())
		}
	}
}

type discardSink struct{}

func (discardSink) Add(*aggregator.Event) bool { return true }

func (discardSink) Drop(string, string, time.Time) {}

type panicSink struct{}

func (panicSink) Add(*aggregator.Event) bool { panic("boom") }

func (panicSink) Drop(string, string, time.Time) {}

func TestPanicIsRecoveredAndCounted(t *testing.T) {
	s := newServer(t, &recorder{}, nil)
	s.sink = panicSink{}
	got := do(t, s, post(`{"n":"pageview","u":"https://a.com/","d":"a.com"}`, chromeUA))
	if got.code != 500 || got.body != "internal error" {
		t.Fatalf("got %+v", got)
	}
	s.sink = &recorder{}
	if got := do(t, s, post(`{"n":"pageview","u":"https://a.com/","d":"a.com"}`, chromeUA)); got.code != 202 {
		t.Fatalf("after a panic: %+v", got)
	}
	if m := do(t, s, "GET /metrics HTTP/1.1\r\nHost: c\r\n\r\n"); !strings.Contains(m.body, "analytics_collector_panics_total 1\n") {
		t.Error("panic not counted")
	}
}

// TestSlowClientIsCutOff plays a slow-loris client: it sends part of the
// headers and then nothing. The server must close the connection after its
// read timeout instead of holding it open.
func TestSlowClientIsCutOff(t *testing.T) {
	salts, _ := visitor.NewSalts(t.TempDir(), time.Now, time.Minute)
	s, err := New(Options{Sites: []Site{{Domain: "a.com"}}, Sink: &recorder{}, Salts: salts, ReadTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	defer s.Shutdown()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("POST /api/event HTTP/1.1\r\nHost: a.com\r\nContent-Len"))
	start := time.Now()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 512)
	for {
		if _, err := c.Read(buf); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("connection still open after 5s: slow clients are not cut off")
			}
			break // closed by the server
		}
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("cut off after %v", d)
	}
}

// TestForwardedHeaderLinesAreJoined: a trusted proxy that appends its own
// X-Forwarded-For line after a client-sent one must not let the client's
// line choose the address.
func TestForwardedHeaderLinesAreJoined(t *testing.T) {
	rec := &recorder{}
	s := newServer(t, rec, nil)
	serve := func(xff ...string) {
		var ctx fasthttp.RequestCtx
		ctx.Init(&fasthttp.Request{}, &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 1234}, nil) // a trusted proxy
		ctx.Request.Header.SetMethod("POST")
		ctx.Request.SetRequestURI("/api/event")
		ctx.Request.Header.Set("User-Agent", chromeUA)
		for _, v := range xff {
			ctx.Request.Header.Add("X-Forwarded-For", v)
		}
		ctx.Request.SetBody([]byte(`{"n":"pageview","u":"https://a.com/","d":"a.com"}`))
		s.handle(&ctx)
	}
	serve("203.0.113.5")
	serve("198.51.100.66", "203.0.113.5") // forged first line, the proxy's own second line
	serve("198.51.100.77", "203.0.113.5")
	if len(rec.events) != 3 || rec.events[1].Visitor != rec.events[0].Visitor || rec.events[2].Visitor != rec.events[0].Visitor {
		t.Fatal("a forged first X-Forwarded-For line changed the client address")
	}
}

// TestDropsReachTheSink: every drop is counted in the store by site and
// reason, not only in this process's metrics.
func TestDropsReachTheSink(t *testing.T) {
	rec := &recorder{}
	s := newServer(t, rec, nil)
	do(t, s, post(`{"n":"pageview","u":"https://a.com/","d":"a.com"}`, "curl/8.5.0"))
	do(t, s, post(`{"n":"pageview","u":"https://c.com/","d":"c.com"}`, chromeUA))
	do(t, s, post(`{"n":"pageview",`, chromeUA))
	do(t, s, post(`{"n":"pageview","u":"https://a.com/","d":"a.com"}`, chromeUA, "Sec-GPC: 1"))
	want := map[string]int{"a.com/bot:library": 1, "(unknown)/unknown_site": 1, "(unknown)/malformed": 1, "a.com/consent": 1}
	if len(rec.drops) != len(want) {
		t.Errorf("drops %v, want %v", rec.drops, want)
	}
	for k, n := range want {
		if rec.drops[k] != n {
			t.Errorf("drops %v, want %v", rec.drops, want)
			break
		}
	}
}

// TestForwardedHeadersThroughTrustedProxy: behind a trusted proxy the
// client address comes from X-Forwarded-For, else Forwarded, else
// X-Real-IP, whatever the case of the header names; the collector reads
// the later ones only when the earlier ones give no address.
func TestForwardedHeadersThroughTrustedProxy(t *testing.T) {
	rec := &recorder{}
	s := newServer(t, rec, nil)
	now := s.now()
	proxy := net.ParseIP("10.0.0.1")
	for _, tc := range []struct {
		name    string
		headers [][2]string
		want    string
	}{
		{"x-forwarded-for", [][2]string{{"X-Forwarded-For", "203.0.113.9, 10.0.0.2"}, {"Forwarded", "for=198.51.100.1"}, {"X-Real-IP", "198.51.100.2"}}, "203.0.113.9"},
		{"no address in x-forwarded-for", [][2]string{{"X-Forwarded-For", "unknown"}, {"Forwarded", `for="[2001:db8::7]:443"`}, {"X-Real-IP", "198.51.100.2"}}, "2001:db8::7"},
		{"forwarded", [][2]string{{"forwarded", "for=198.51.100.1;proto=https"}, {"x-real-ip", "198.51.100.2"}}, "198.51.100.1"},
		{"x-real-ip", [][2]string{{"x-real-ip", "198.51.100.2"}}, "198.51.100.2"},
		{"none", nil, "10.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ctx fasthttp.RequestCtx
			ctx.Init(&fasthttp.Request{}, &net.TCPAddr{IP: proxy, Port: 1234}, nil)
			ctx.Request.Header.SetMethod("POST")
			ctx.Request.SetRequestURI("/api/event")
			ctx.Request.Header.Set("User-Agent", chromeUA)
			for _, h := range tc.headers {
				ctx.Request.Header.Add(h[0], h[1])
			}
			ctx.Request.SetBody([]byte(`{"n":"pageview","u":"https://a.com/","d":"a.com"}`))
			n := len(rec.events)
			s.handle(&ctx)
			if len(rec.events) != n+1 {
				t.Fatalf("not accepted: %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
			}
			want := s.salts.KeyAt(now, "a.com", netip.MustParseAddr(tc.want), []byte(chromeUA))
			if rec.events[n].Visitor != want {
				t.Errorf("visitor key is not the one of %s", tc.want)
			}
		})
	}
}

// TestMemoKeepsSitesApart sends the same page URLs, referrers and property
// values to two sites with different templating rules, several times: the
// memo of templated paths and values must give each site its own rules,
// the first time and every time after.
func TestMemoKeepsSitesApart(t *testing.T) {
	salts, err := visitor.NewSalts(t.TempDir(), time.Now, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	s, err := New(Options{
		Sites: []Site{
			{Domain: "a.com", Hosts: []string{"a.com", "b.com"}},
			{Domain: "b.com", Hosts: []string{"a.com", "b.com"}, Paths: pathtmpl.Config{Keep: []string{"/orders/*"}}},
		},
		Sink: rec, Salts: salts,
	})
	if err != nil {
		t.Fatal(err)
	}
	bodies := []string{
		`{"n":"pageview","u":"https://a.com/orders/83412?utm_source=news","d":"a.com,b.com","r":"https://www.Google.com/search?q=x"}`,
		`{"n":"Outbound Link: Click","u":"https://a.com/","d":"a.com,b.com","p":{"url":"https://a.com/orders/83412"}}`,
	}
	for range 3 {
		for _, body := range bodies {
			if got := do(t, s, post(body, chromeUA)); got.code != 202 {
				t.Fatalf("%s: %+v", body, got)
			}
		}
	}
	want := map[string]string{
		"a.com pageview":             "/orders/:id news google.com",
		"b.com pageview":             "/orders/83412 news google.com",
		"a.com Outbound Link: Click": "url=https://a.com/orders/:id",
		"b.com Outbound Link: Click": "url=https://a.com/orders/83412",
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.events) != 12 {
		t.Fatalf("%d events, want 12", len(rec.events))
	}
	for _, e := range rec.events {
		k := e.Site + " " + e.Name
		var got string
		if e.Name == "pageview" {
			got = e.Path + " " + e.UTMSource + " " + e.Referrer
		} else {
			got = e.Props[0].Key + "=" + e.Props[0].Value
		}
		if got != want[k] {
			t.Errorf("%s: %q, want %q", k, got, want[k])
		}
	}
	// The first round misses 11 lookups: each body; the pageview's URL and
	// referrer, and its path for each site; the click's URL, and its path
	// and property value for each site. The other two rounds find each
	// body whole (no URL or referrer lookups) and the 6 templated values.
	if h, m := s.memo.Stats(); h != 2*8 || m != 11 {
		t.Errorf("memo: %d hits, %d misses; want 16, 11", h, m)
	}
}
