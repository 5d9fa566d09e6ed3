package geo

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/maxmind/mmdbwriter/mmdbtype"
)

func withSubdivision(iso, sub string) mmdbtype.Map {
	m := country(iso)
	m["subdivisions"] = mmdbtype.Slice{mmdbtype.Map{"iso_code": mmdbtype.String(sub)}}
	return m
}

func TestLocation(t *testing.T) {
	nets := []network{
		{cidr: "81.2.69.0/24", record: withSubdivision("GB", "ENG")},
		{cidr: "8.8.8.0/24", record: country("US")},
		{cidr: "5.1.0.0/16", record: withSubdivision("DE", "B<Y")},
	}
	city, err := OpenBytes(buildDB(t, "GeoLite2-City", nets))
	if err != nil {
		t.Fatal(err)
	}
	defer city.Close()
	countryDB, err := OpenBytes(buildDB(t, "GeoLite2-Country", nets))
	if err != nil {
		t.Fatal(err)
	}
	defer countryDB.Close()
	for _, tc := range []struct {
		name, ip        string
		db              *DB
		country, region string
	}{
		{"city db with subdivision", "81.2.69.142", city, "GB", "GB-ENG"},
		{"city db without subdivision", "8.8.8.8", city, "US", ""},
		{"malformed subdivision dropped", "5.1.2.3", city, "DE", ""},
		{"country db has no regions", "81.2.69.142", countryDB, "GB", ""},
		{"private", "192.168.1.1", city, "", ""},
		{"nil db", "81.2.69.142", nil, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, r := tc.db.Location(netip.MustParseAddr(tc.ip))
			if c != tc.country || r != tc.region {
				t.Errorf("Location(%s) = %q, %q; want %q, %q", tc.ip, c, r, tc.country, tc.region)
			}
		})
	}
}

// TestRealCityRegions uses the GeoLite2-City database next to the Country
// one that ANALYTICS_GEOIP_DB names (scripts/geoip fetches both).
func TestRealCityRegions(t *testing.T) {
	p := os.Getenv("ANALYTICS_GEOIP_DB")
	if p == "" {
		t.Skip("ANALYTICS_GEOIP_DB is not set; scripts/geoip fetches the GeoLite2 databases")
	}
	db, err := Open(filepath.Join(filepath.Dir(p), "GeoLite2-City.mmdb"))
	if err != nil {
		t.Skipf("no City database beside %s: %v", p, err)
	}
	defer db.Close()
	c, r := db.Location(netip.MustParseAddr("133.11.0.1")) // University of Tokyo
	if c != "JP" || r != "JP-13" {
		t.Errorf("133.11.0.1: %q %q, want JP JP-13 (Tokyo)", c, r)
	}
}

// TestRecordCacheAgrees: the codes of a record are cached by its offset;
// over many addresses of the real City database (more records than the
// cache holds), cached and uncached answers must agree, for Location and
// Country alike, and the cache must stay within its bound.
func TestRecordCacheAgrees(t *testing.T) {
	p := os.Getenv("ANALYTICS_GEOIP_DB")
	if p == "" {
		t.Skip("ANALYTICS_GEOIP_DB is not set; scripts/geoip fetches the GeoLite2 databases")
	}
	for _, name := range []string{filepath.Base(p), "GeoLite2-City.mmdb"} {
		db, err := Open(filepath.Join(filepath.Dir(p), name))
		if err != nil {
			t.Skipf("%s: %v", name, err)
		}
		// Uncached: decode the record of every lookup.
		uncached := func(ip netip.Addr) place {
			ip = ip.Unmap()
			if !ip.IsGlobalUnicast() || ip.IsPrivate() {
				return place{}
			}
			res := db.r.Lookup(ip)
			if !res.Found() {
				return place{}
			}
			return db.decode(res)
		}
		seen := map[place]bool{}
		x := uint32(2463534242)
		for i := 0; i < 3*maxPlaces*4; i++ {
			x ^= x << 13 // xorshift: addresses spread over the whole space
			x ^= x >> 17
			x ^= x << 5
			ip := netip.AddrFrom4([4]byte{byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)})
			if i%7 == 0 {
				ip = netip.AddrFrom16([16]byte{0x20, 0x01, byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x), 0, 0, 0, 0, 0, 0, 0, 0, 0, 1})
			}
			want := uncached(ip)
			seen[want] = true
			for range 2 { // a miss, then (while the cache has room) a hit
				if c, r := db.Location(ip); c != want.country || r != want.region {
					t.Fatalf("%s: Location(%s) = %q %q, want %q %q", name, ip, c, r, want.country, want.region)
				}
				if c := db.Country(ip); c != want.country {
					t.Fatalf("%s: Country(%s) = %q, want %q", name, ip, c, want.country)
				}
			}
		}
		n := len(*db.places.Load())
		t.Logf("%s: %d distinct answers, %d records cached", name, len(seen), n)
		if n > maxPlaces {
			t.Errorf("%s: %d records cached, at most %d allowed", name, n, maxPlaces)
		}
		db.Close()
	}
}
