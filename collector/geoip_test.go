package collector

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"analytics/aggregator"
	"analytics/collector/geo"
	"analytics/collector/visitor"
	"analytics/schema"
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

// rowStore keeps the rows of the last write, for tests that read the
// aggregates back without ClickHouse.
type rowStore struct {
	mu   sync.Mutex
	rows []aggregator.Row
}

func (r *rowStore) Write(_ context.Context, rows []aggregator.Row) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rows = append(r.rows[:0], rows...)
	return nil
}

// TestVisitCountriesWithLookupsOnlyAtVisitStart: with the aggregator as
// sink, the collector hands events on without a location and looks it up
// only for the event that starts a visit. Every visit must still count
// under the country of its own address, whatever the event mix and the
// order of visitors.
func TestVisitCountriesWithLookupsOnlyAtVisitStart(t *testing.T) {
	at := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	st := &rowStore{}
	agg, err := aggregator.New(aggregator.Options{Store: st, Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	s, db := newGeoServer(t, &recorder{}, func() time.Time { return at })
	s.sink, s.counter, s.prefetcher = agg, agg, agg
	var ctx fasthttp.RequestCtx
	ctx.Init(&fasthttp.Request{}, &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 1234}, nil)
	bodies := [][]byte{
		[]byte(`{"n":"engagement","u":"https://a.com/","d":"a.com","sd":10}`), // no visit yet: dropped
		[]byte(`{"n":"Signup","u":"https://a.com/","d":"a.com","p":{"plan":"pro"}}`),
		[]byte(`{"n":"pageview","u":"https://a.com/","d":"a.com"}`),
		[]byte(`{"n":"engagement","u":"https://a.com/","d":"a.com","sd":50}`),
	}
	ips := []string{"8.8.8.8", "81.2.69.142", "193.0.6.139", "133.11.0.1", "200.160.2.3", "2001:4860:4860::8888", "192.168.0.1"}
	for i := range 300 {
		ips = append(ips, fmt.Sprintf("%d.%d.%d.%d", 1+i%200, i*7%256, i*13%256, 1+i%250))
	}
	want := map[string]uint64{}
	for round := range 2 {
		for _, ip := range ips {
			for _, body := range bodies[round:] {
				serveFrom(s, &ctx, body, chromeUA, ip)
				if ctx.Response.StatusCode() != 202 {
					t.Fatalf("%s: %d", ip, ctx.Response.StatusCode())
				}
			}
			if round == 0 {
				country, _ := db.Location(netip.MustParseAddr(ip))
				want[country]++
			}
		}
	}
	if err := agg.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := map[string]uint64{}
	for _, r := range st.rows {
		if r.Dimension == schema.DimCountry {
			got[r.Value] += r.Visits
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("visits by country:\n got %v\nwant %v", got, want)
	}
}

// BenchmarkHandlerGeoIP is BenchmarkHandler with the real GeoLite2
// database and the real aggregator as sink, over visits in progress of 1
// to 50000 visitors; lookups=every-event looks the location up for every
// event (a Sink that is no Counter) instead of only for visit starts.
func BenchmarkHandlerGeoIP(b *testing.B) {
	body := []byte(`{"n":"pageview","u":"https://a.com/blog/post-1?utm_source=newsletter","d":"a.com","r":"https://news.ycombinator.com/","v":20}`)
	for _, bc := range []struct {
		visitors int
		lookups  string
	}{{1, "visit-start"}, {1000, "visit-start"}, {50000, "visit-start"}, {50000, "every-event"}} {
		b.Run(fmt.Sprintf("visitors=%d/lookups=%s", bc.visitors, bc.lookups), func(b *testing.B) {
			at := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
			agg, err := aggregator.New(aggregator.Options{Store: &rowStore{}, Now: func() time.Time { return at }})
			if err != nil {
				b.Fatal(err)
			}
			s, _ := newGeoServer(b, &recorder{}, func() time.Time { return at })
			s.sink, s.counter, s.prefetcher = agg, agg, agg
			if bc.lookups == "every-event" {
				s.counter = nil // a plain Sink: every event is located
			}
			ips := make([]string, bc.visitors)
			for i := range ips {
				ips[i] = fmt.Sprintf("%d.%d.%d.%d", 1+i%200, i/200%256, i*13%256, 1+i%250)
			}
			var ctx fasthttp.RequestCtx
			ctx.Init(&fasthttp.Request{}, &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 1234}, nil)
			for _, ip := range ips { // every visit started
				serveFrom(s, &ctx, body, chromeUA, ip)
			}
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
