//go:build !race

package geo

import (
	"net/netip"
	"testing"
)

// The race detector changes allocation counts, hence the build tag.

func TestCountryAllocations(t *testing.T) {
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
	// geoip2-golang decodes a whole Country record per lookup: one
	// allocation each for the three addresses found (the private one is
	// answered before the lookup). Guard against more creeping in.
	if allocs > 3 {
		t.Errorf("Country: %v allocs per run of 4 lookups, want at most 3", allocs)
	}
}
