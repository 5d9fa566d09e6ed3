//go:build !race

package collector

import (
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"analytics/aggregator"
)

// TestHandlerDoesNotAllocate guards the hot path: an accepted pageview of a
// known User-Agent, through decode, classification, client IP, templating
// and the visitor hash, allocates nothing (the race detector changes
// allocation counts, hence the build tag).
func TestHandlerDoesNotAllocate(t *testing.T) {
	s := newServer(t, &recorder{}, nil)
	s.sink = discardSink{}
	s.now = nil // fasthttp's request time, as in production
	body := []byte(`{"n":"pageview","u":"https://www.a.com/blog/post-1?utm_source=newsletter&id=83412","d":"a.com","r":"https://news.ycombinator.com/item?id=1","v":20}`)
	custom := []byte(`{"n":"Signup","u":"https://a.com/join","d":"a.com","p":{"plan":"pro","email":"jane@example.com"}}`)
	var ctx fasthttp.RequestCtx
	ctx.Init(&fasthttp.Request{}, &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 1234}, nil)
	serve := func(b []byte) {
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.Request.Header.SetMethod("POST")
		ctx.Request.SetRequestURI("/api/event")
		ctx.Request.Header.Set("User-Agent", chromeUA)
		ctx.Request.Header.Set("X-Forwarded-For", "203.0.113.7")
		ctx.Request.SetBody(b)
		s.handle(&ctx)
		if ctx.Response.StatusCode() != 202 {
			t.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
		}
	}
	serve(body) // warm the UA cache, the pools and the buffers
	serve(custom)
	for name, b := range map[string][]byte{"pageview": body, "custom event with props": custom} {
		if allocs := testing.AllocsPerRun(200, func() { serve(b) }); allocs != 0 {
			t.Errorf("%s: %v allocations per request, want 0", name, allocs)
		}
	}
}

// TestHandlerWithGeoIPDoesNotAllocate: the same with the real GeoLite2
// database and the location cache, for a returning visitor and for
// visitors the cache has not seen.
func TestHandlerWithGeoIPDoesNotAllocate(t *testing.T) {
	s, _ := newGeoServer(t, &recorder{}, nil)
	s.sink = discardSink{}
	body := []byte(`{"n":"pageview","u":"https://a.com/blog/post-1?utm_source=newsletter","d":"a.com","r":"https://news.ycombinator.com/","v":20}`)
	var ctx fasthttp.RequestCtx
	ctx.Init(&fasthttp.Request{}, &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 1234}, nil)
	ips := []string{"8.8.8.8", "81.2.69.142", "193.0.6.139", "133.11.0.1"}
	for _, ip := range ips { // warm the caches of the database's records
		serveFrom(s, &ctx, body, chromeUA, ip)
	}
	if allocs := testing.AllocsPerRun(200, func() { serveFrom(s, &ctx, body, chromeUA, "8.8.8.8") }); allocs != 0 {
		t.Errorf("returning visitor: %v allocations per request, want 0", allocs)
	}
	i := 0
	// New visitors (another User-Agent each time) at the same addresses.
	uas := make([]string, 300)
	for j := range uas {
		uas[j] = chromeUA + " v" + strconv.Itoa(j)
	}
	for _, ua := range uas[:50] { // the User-Agent cache's entries
		serveFrom(s, &ctx, body, ua, ips[0])
	}
	if allocs := testing.AllocsPerRun(200, func() { serveFrom(s, &ctx, body, uas[i%50], ips[i%len(ips)]); i++ }); allocs != 0 {
		t.Errorf("new visitors: %v allocations per request, want 0", allocs)
	}
}

// TestHandlerWithAggregatorDoesNotAllocate: the whole path into the real
// aggregator (a Counter: no GeoIP lookup for visits in progress) allocates
// nothing for the events of visits in progress.
func TestHandlerWithAggregatorDoesNotAllocate(t *testing.T) {
	at := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	agg, err := aggregator.New(aggregator.Options{Store: &rowStore{}, Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := newGeoServer(t, &recorder{}, func() time.Time { return at })
	s.sink, s.counter, s.prefetcher = agg, agg, agg
	bodies := [][]byte{
		[]byte(`{"n":"pageview","u":"https://a.com/blog/post-1?utm_source=newsletter","d":"a.com","r":"https://news.ycombinator.com/","v":20}`),
		[]byte(`{"n":"Signup","u":"https://a.com/join","d":"a.com","p":{"plan":"pro","email":"jane@example.com"}}`),
		[]byte(`{"n":"engagement","u":"https://a.com/join","d":"a.com","sd":40,"e":1200}`),
	}
	ips := []string{"8.8.8.8", "81.2.69.142", "193.0.6.139", "133.11.0.1"}
	var ctx fasthttp.RequestCtx
	ctx.Init(&fasthttp.Request{}, &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 1234}, nil)
	for _, ip := range ips { // the visits, their cells and every minute cell
		for _, b := range bodies {
			serveFrom(s, &ctx, b, chromeUA, ip)
		}
	}
	i := 0
	if allocs := testing.AllocsPerRun(300, func() {
		serveFrom(s, &ctx, bodies[i%len(bodies)], chromeUA, ips[i%len(ips)])
		i++
	}); allocs != 0 {
		t.Errorf("%v allocations per request, want 0", allocs)
	}
}
