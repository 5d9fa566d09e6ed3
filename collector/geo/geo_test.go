package geo

import (
	"bytes"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// network is one record of a test database.
type network struct {
	cidr   string
	record mmdbtype.Map
}

func country(iso string) mmdbtype.Map {
	return mmdbtype.Map{
		"country": mmdbtype.Map{
			"iso_code": mmdbtype.String(iso),
			"names":    mmdbtype.Map{"en": mmdbtype.String("Test " + iso)},
		},
		"registered_country": mmdbtype.Map{"iso_code": mmdbtype.String(iso)},
		"continent":          mmdbtype.Map{"code": mmdbtype.String("EU")},
	}
}

// testNetworks are made up for the tests; they do not claim where these
// networks really are.
var testNetworks = []network{
	{"81.2.69.0/24", country("GB")},
	{"8.8.8.0/24", country("US")},
	{"2001:4860::/32", country("US")},
	{"2a02:ff0::/32", country("DE")},
	// Private: present in the file, but must never be looked up.
	{"10.0.0.0/8", country("XX")},
	// A record with a registered country but no location.
	{"198.51.100.0/24", mmdbtype.Map{"registered_country": mmdbtype.Map{"iso_code": mmdbtype.String("NL")}}},
	// Damaged data.
	{"203.0.113.0/25", country("usa")},
	{"203.0.113.128/25", mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.Uint32(42)}}},
}

// buildDB writes a database of the given type holding nets and returns its
// bytes.
func buildDB(t testing.TB, dbType string, nets []network) []byte {
	t.Helper()
	w, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType:            dbType,
		RecordSize:              24,
		IncludeReservedNetworks: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nets {
		_, ipnet, err := net.ParseCIDR(n.cidr)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Insert(ipnet, n.record); err != nil {
			t.Fatalf("insert %s: %v", n.cidr, err)
		}
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// writeDB writes a database file into a temporary directory.
func writeDB(t testing.TB, dbType string, nets []network) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), dbType+".mmdb")
	if err := os.WriteFile(path, buildDB(t, dbType, nets), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCountry(t *testing.T) {
	tests := []struct {
		name string
		ip   string
		want string
	}{
		{"ipv4", "81.2.69.142", "GB"},
		{"ipv4 other network", "8.8.8.8", "US"},
		{"ipv6", "2001:4860:4860::8888", "US"},
		{"ipv6 other network", "2a02:ff0:1::1", "DE"},
		{"ipv4-mapped ipv6", "::ffff:81.2.69.142", "GB"},
		{"not in database", "1.1.1.1", ""},
		{"ipv6 not in database", "2c0f:f248::1", ""},
		{"private ipv4 skipped", "10.1.2.3", ""},
		{"private ipv6", "fd00::1", ""},
		{"loopback", "127.0.0.1", ""},
		{"ipv6 loopback", "::1", ""},
		{"link-local", "fe80::1", ""},
		{"unspecified", "0.0.0.0", ""},
		{"multicast", "224.0.0.1", ""},
		{"registered country only", "198.51.100.7", ""},
		{"malformed code", "203.0.113.1", ""},
		{"code of wrong type", "203.0.113.200", ""},
	}
	for _, dbType := range []string{"GeoLite2-Country", "GeoLite2-City", "GeoIP2-Country", "DBIP-Country-Lite"} {
		db, err := Open(writeDB(t, dbType, testNetworks))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if got := db.Type(); got != dbType {
			t.Errorf("Type() = %q, want %q", got, dbType)
		}
		if !db.r.Lookup(netip.MustParseAddr("10.1.2.3")).Found() {
			t.Fatal("test database lacks its private network; the private case would prove nothing")
		}
		for _, tt := range tests {
			t.Run(dbType+"/"+tt.name, func(t *testing.T) {
				if got := db.Country(netip.MustParseAddr(tt.ip)); got != tt.want {
					t.Errorf("Country(%s) = %q, want %q", tt.ip, got, tt.want)
				}
			})
		}
	}
}

func TestCountryInvalidAddr(t *testing.T) {
	db, err := OpenBytes(buildDB(t, "GeoLite2-Country", testNetworks))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := db.Country(netip.Addr{}); got != "" {
		t.Errorf("Country(invalid) = %q, want \"\"", got)
	}
}

func TestCountryCityRecord(t *testing.T) {
	// A GeoLite2-City record carries much more than the country.
	rec := country("FR")
	rec["city"] = mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String("Paris")}, "geoname_id": mmdbtype.Uint32(2988507)}
	rec["location"] = mmdbtype.Map{"latitude": mmdbtype.Float64(48.85), "longitude": mmdbtype.Float64(2.35)}
	rec["subdivisions"] = mmdbtype.Slice{mmdbtype.Map{"iso_code": mmdbtype.String("IDF")}}
	db, err := OpenBytes(buildDB(t, "GeoLite2-City", []network{{"2.2.2.0/24", rec}}))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := db.Country(netip.MustParseAddr("2.2.2.2")); got != "FR" {
		t.Errorf("Country = %q, want FR", got)
	}
	// Another address of the same record comes from the record cache.
	if got := db.Country(netip.MustParseAddr("2.2.2.77")); got != "FR" {
		t.Errorf("Country = %q, want FR", got)
	}
	if hits, misses := db.CacheStats(); hits != 1 || misses != 1 {
		t.Errorf("cache hits %d misses %d, want 1 and 1", hits, misses)
	}
}

func TestNilDB(t *testing.T) {
	var db *DB
	if got := db.Country(netip.MustParseAddr("8.8.8.8")); got != "" {
		t.Errorf("nil DB: Country = %q, want \"\"", got)
	}
	if got := db.Type(); got != "" {
		t.Errorf("nil DB: Type = %q, want \"\"", got)
	}
	if err := db.Close(); err != nil {
		t.Errorf("nil DB: Close = %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.mmdb")
	if err := os.WriteFile(garbage, []byte("this is not a MaxMind DB file"), 0o600); err != nil {
		t.Fatal(err)
	}
	asn := writeDB(t, "GeoLite2-ASN", []network{{"8.8.8.0/24", mmdbtype.Map{"autonomous_system_number": mmdbtype.Uint32(15169)}}})
	missing := filepath.Join(dir, "missing.mmdb")
	tests := []struct {
		name string
		path string
		want []string
	}{
		{"missing file", missing, []string{"open geoip db " + missing + ":", "no such file"}},
		{"not a database", garbage, []string{"open geoip db " + garbage + ":"}},
		{"no country data", asn, []string{"open geoip db " + asn + ":", `"GeoLite2-ASN" has no country data`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := Open(tt.path)
			if err == nil {
				db.Close()
				t.Fatalf("Open(%s) succeeded, want an error", tt.path)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Open error %q does not contain %q", err, w)
				}
			}
		})
	}
}

var sink string

func BenchmarkCountry(b *testing.B) {
	db, err := OpenBytes(buildDB(b, "GeoLite2-Country", testNetworks))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	for _, bc := range []struct{ name, ip string }{
		{"ip=v4", "81.2.69.142"},
		{"ip=v6", "2001:4860:4860::8888"},
		{"ip=unknown", "1.1.1.1"},
		{"ip=private", "192.168.1.1"},
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
