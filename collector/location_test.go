package collector

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"analytics/collector/geo"
	"analytics/collector/visitor"
)

// newGeoServer is newServer with the real GeoLite2 database that
// ANALYTICS_GEOIP_DB names (scripts/test sets it), or skips.
func newGeoServer(tb testing.TB, rec *recorder, now func() time.Time) (*Server, *geo.DB) {
	tb.Helper()
	path := os.Getenv("ANALYTICS_GEOIP_DB")
	if path == "" {
		tb.Skip("ANALYTICS_GEOIP_DB is not set; scripts/geoip fetches a GeoLite2 database")
	}
	db, err := geo.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	salts, err := visitor.NewSalts(tb.TempDir(), time.Now, 5*time.Minute)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := New(Options{Sites: []Site{{Domain: "a.com"}}, Sink: rec, Salts: salts,
		TrustedProxies: []string{"10.0.0.0/8"}, GeoIP: db, Now: now})
	if err != nil {
		tb.Fatal(err)
	}
	return s, db
}

// serveFrom handles a beacon from the client address xff (through a
// trusted proxy) in ctx, which it resets first.
func serveFrom(s *Server, ctx *fasthttp.RequestCtx, body []byte, ua, xff string) {
	ctx.Request.Reset()
	ctx.Response.Reset()
	ctx.Request.Header.SetMethod("POST")
	ctx.Request.SetRequestURI("/api/event")
	ctx.Request.Header.Set("User-Agent", ua)
	ctx.Request.Header.Set("X-Forwarded-For", xff)
	ctx.Request.SetBody(body)
	s.handle(ctx)
}

// TestLocationsFollowVisitors: the country of a visitor's later events
// comes from the location cache, keyed by the visitor key; it must always
// be what the database says for the event's own address, whichever
// visitors share or take over a slot, and across a UTC day.
func TestLocationsFollowVisitors(t *testing.T) {
	rec := &recorder{}
	at := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	s, db := newGeoServer(t, rec, func() time.Time { return at })
	var ctx fasthttp.RequestCtx
	ctx.Init(&fasthttp.Request{}, &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 1234}, nil)
	body := []byte(`{"n":"pageview","u":"https://a.com/","d":"a.com"}`)
	ips := []string{"8.8.8.8", "81.2.69.142", "193.0.6.139", "133.11.0.1", "200.160.2.3", "2001:4860:4860::8888", "192.168.0.1"}
	for i := range 3000 { // more visitors than fit: slots are taken over
		ips = append(ips, fmt.Sprintf("%d.%d.%d.%d", 1+i%200, i*7%256, i*13%256, 1+i%250))
	}
	uas := []string{chromeUA, "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15"}
	for round := range 3 {
		if round == 2 {
			at = at.Add(24 * time.Hour) // new salt, new keys, cleared shards
		}
		for i, ip := range ips {
			for _, ua := range uas {
				n := len(rec.events)
				serveFrom(s, &ctx, body, ua, ip)
				if len(rec.events) != n+1 {
					t.Fatalf("%s: not accepted (%d)", ip, ctx.Response.StatusCode())
				}
				country, _ := db.Location(netip.MustParseAddr(ip))
				if got := rec.events[n].Country; got != country {
					t.Fatalf("round %d, visitor %d (%s): country %q, want %q", round, i, ip, got, country)
				}
			}
		}
	}
	hits, misses := s.locs.stats()
	if hits == 0 || misses == 0 {
		t.Errorf("location cache: %d hits, %d misses", hits, misses)
	}
}

// TestLocationsSlots: a slot holds one visitor; another key of the same
// slot replaces it, and a new day empties a shard.
func TestLocationsSlots(t *testing.T) {
	var l locations
	const day = 20000
	a := uint64(12345)
	b := a + locShards*locPerShard // the same shard and slot
	l.put(a, day, "DE", "DE-BY")   // a shard not used yet today: not kept
	if _, _, ok := l.get(a, day); ok {
		t.Fatal("kept before the shard's day was set")
	}
	l.put(a, day, "DE", "DE-BY")
	if c, r, ok := l.get(a, day); !ok || c != "DE" || r != "DE-BY" {
		t.Fatalf("get(a) = %q %q %v", c, r, ok)
	}
	if _, _, ok := l.get(b, day); ok {
		t.Fatal("b found in a's slot")
	}
	l.put(b, day, "FR", "")
	if _, _, ok := l.get(a, day); ok {
		t.Fatal("a still found after b took its slot")
	}
	if c, _, ok := l.get(b, day); !ok || c != "FR" {
		t.Fatalf("get(b) = %q %v", c, ok)
	}
	if _, _, ok := l.get(b, day+1); ok {
		t.Fatal("found on the next day")
	}
	if hits, misses := l.stats(); hits != 2 || misses != 4 {
		t.Errorf("stats %d hits %d misses, want 2 and 4", hits, misses)
	}
}

// BenchmarkHandlerGeoIP is BenchmarkHandler with the real GeoLite2
// database, over many visitors (addresses) of which a few percent are new
// per round, as under real traffic; locations=false is without the
// location cache.
func BenchmarkHandlerGeoIP(b *testing.B) {
	s, _ := newGeoServer(b, &recorder{}, nil)
	s.sink = discardSink{}
	body := []byte(`{"n":"pageview","u":"https://a.com/blog/post-1?utm_source=newsletter","d":"a.com","r":"https://news.ycombinator.com/","v":20}`)
	locs := s.locs
	for _, bc := range []struct {
		visitors int
		cache    bool
	}{{1, true}, {1000, true}, {50000, true}, {50000, false}} {
		visitors := bc.visitors
		s.locs = nil
		if bc.cache {
			s.locs = locs
		}
		b.Run(fmt.Sprintf("visitors=%d/locations=%v", visitors, bc.cache), func(b *testing.B) {
			ips := make([]string, visitors)
			for i := range ips {
				ips[i] = fmt.Sprintf("%d.%d.%d.%d", 1+i%200, i/200%256, i*13%256, 1+i%250)
			}
			var ctx fasthttp.RequestCtx
			ctx.Init(&fasthttp.Request{}, &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 1234}, nil)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				serveFrom(s, &ctx, body, chromeUA, ips[i%len(ips)])
				if ctx.Response.StatusCode() != 202 {
					b.Fatal(ctx.Response.StatusCode())
				}
				i++
			}
		})
	}
}
