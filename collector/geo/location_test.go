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
