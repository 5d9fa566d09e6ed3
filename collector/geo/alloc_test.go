//go:build !race

package geo

import (
	"net/netip"
	"testing"
)

// The race detector changes allocation counts, hence the build tag.

func TestCountryDoesNotAllocate(t *testing.T) {
	db, err := OpenBytes(buildDB(t, "GeoLite2-City", testNetworks))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ips := []netip.Addr{
		netip.MustParseAddr("81.2.69.142"),
		netip.MustParseAddr("2001:4860:4860::8888"),
		netip.MustParseAddr("1.1.1.1"),
		netip.MustParseAddr("10.0.0.1"),
	}
	for _, ip := range ips {
		db.Country(ip) // fill the database's string cache
	}
	allocs := testing.AllocsPerRun(1000, func() {
		for _, ip := range ips {
			db.Country(ip)
		}
	})
	if allocs != 0 {
		t.Errorf("Country: %v allocs per run, want 0", allocs)
	}
}

func TestLocationDoesNotAllocate(t *testing.T) {
	db, err := OpenBytes(buildDB(t, "GeoLite2-City", []network{{cidr: "81.2.69.0/24", record: withSubdivision("GB", "ENG")}}))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ip := netip.MustParseAddr("81.2.69.142")
	db.Location(ip) // fill the string and region caches
	if allocs := testing.AllocsPerRun(1000, func() { db.Location(ip) }); allocs != 0 {
		t.Errorf("Location: %v allocs per run, want 0", allocs)
	}
}
