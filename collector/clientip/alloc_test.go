//go:build !race

package clientip

import (
	"net/netip"
	"testing"
)

// The race detector changes allocation counts, hence the build tag.

func TestClientIPDoesNotAllocate(t *testing.T) {
	r, err := NewResolver([]string{"10.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	peer := netip.MustParseAddr("10.0.0.1")
	xff := []byte("192.0.2.1, 2001:db8::1, 10.0.0.2")
	fwd := []byte(`for="[2001:db8:cafe::17]:4711";proto=https, for=unknown`)
	xri := []byte("198.51.100.3")
	garbage := []byte("unknown, _hidden, fe80::1%eth0")
	allocs := testing.AllocsPerRun(1000, func() {
		r.ClientIP(peer, xff, nil, nil)
		r.ClientIP(peer, nil, fwd, nil)
		r.ClientIP(peer, nil, nil, xri)
		r.ClientIP(peer, garbage, nil, nil)
	})
	if allocs != 0 {
		t.Errorf("ClientIP: %v allocs per run, want 0", allocs)
	}
}
