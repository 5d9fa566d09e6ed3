package geo

import (
	"net/netip"
	"os"
	"testing"
)

// openReal opens the database named by ANALYTICS_GEOIP_DB, or skips.
func openReal(tb testing.TB) *DB {
	tb.Helper()
	path := os.Getenv("ANALYTICS_GEOIP_DB")
	if path == "" {
		tb.Skip("ANALYTICS_GEOIP_DB is not set; scripts/geoip fetches a GeoLite2 database")
	}
	db, err := Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// TestRealDatabase checks a few addresses whose country has been stable for
// many years against a real GeoLite2-Country or GeoLite2-City database.
func TestRealDatabase(t *testing.T) {
	db := openReal(t)
	t.Logf("database type %s", db.Type())
	tests := []struct {
		name string
		ip   string
		want string
	}{
		{"google dns", "8.8.8.8", "US"},
		{"google dns ipv6", "2001:4860:4860::8888", "US"},
		{"maxmind test address", "81.2.69.142", "GB"},
		{"ripe ncc", "193.0.6.139", "NL"},
		{"university of tokyo", "133.11.0.1", "JP"},
		{"nic.br", "200.160.2.3", "BR"},
		{"ipv4-mapped", "::ffff:8.8.8.8", "US"},
		{"private", "192.168.0.1", ""},
		{"documentation range", "2001:db8::1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := db.Country(netip.MustParseAddr(tt.ip)); got != tt.want {
				t.Errorf("Country(%s) = %q, want %q", tt.ip, got, tt.want)
			}
		})
	}
}

func BenchmarkCountryRealDatabase(b *testing.B) {
	db := openReal(b)
	for _, bc := range []struct{ name, ip string }{
		{"ip=v4", "81.2.69.142"},
		{"ip=v6", "2001:4860:4860::8888"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ip := netip.MustParseAddr(bc.ip)
			b.ReportAllocs()
			for b.Loop() {
				sink = db.Country(ip)
			}
		})
	}
}
