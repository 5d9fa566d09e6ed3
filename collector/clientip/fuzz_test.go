package clientip

import (
	"net/netip"
	"testing"
)

// FuzzClientIP checks that ClientIP never panics and never invents an
// address: the result is the peer or an address written in one of the
// headers, and the headers are ignored unless the peer is trusted.
func FuzzClientIP(f *testing.F) {
	seeds := []struct{ peer, xff, fwd, xri string }{
		{"10.0.0.1", "198.51.100.9, 10.0.0.2", "", ""},
		{"203.0.113.7", "1.2.3.4", "for=1.2.3.4", "1.2.3.4"},
		{"10.0.0.1", "[2001:db8::1]:443, ::ffff:10.0.0.2", "", ""},
		{"::ffff:10.0.0.1", "", `for="[2001:db8:cafe::17]:4711";proto=https, for=unknown`, ""},
		{"10.0.0.1", "unknown, , junk", `for=_hidden;by="a,b", For=198.51.100.2:80`, " 198.51.100.3 "},
		{"fd00::1", "fe80::1%eth0, 1.2.3.4:99999", `for="`, "[::1]:x"},
		{"10.0.0.1", `"1.2.3.4"`, `for=""`, `"::ffff:1.2.3.4"`},
	}
	for _, s := range seeds {
		f.Add(s.peer, []byte(s.xff), []byte(s.fwd), []byte(s.xri))
	}
	r, err := NewResolver([]string{"10.0.0.0/8", "fd00::/8", "::1"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, peerText string, xff, fwd, xri []byte) {
		const maxHeader = 512
		if len(xff) > maxHeader || len(fwd) > maxHeader || len(xri) > maxHeader {
			t.Skip()
		}
		peer, err := netip.ParseAddr(peerText)
		if err != nil {
			peer = netip.MustParseAddr("10.0.0.1")
		}
		got := r.ClientIP(peer, xff, fwd, xri)
		norm := peer.Unmap().WithZone("")
		if got == norm {
			return
		}
		if !r.Trusted(peer) {
			t.Fatalf("untrusted peer %s: ClientIP = %s, want the peer", peer, got)
		}
		if got.Zone() != "" || got.Is4In6() {
			t.Fatalf("ClientIP = %s, want an unmapped address without zone", got)
		}
		for _, h := range [][]byte{xff, fwd, xri} {
			if mentions(h, got) {
				return
			}
		}
		t.Fatalf("ClientIP(%s, %q, %q, %q) = %s, which is neither the peer nor in a header", peer, xff, fwd, xri, got)
	})
}

// mentions reports whether some substring of h parses as a (possibly
// IPv4-mapped) spelling of a. It is independent of the parser under test.
func mentions(h []byte, a netip.Addr) bool {
	for i := range h {
		for j := i + 1; j <= len(h) && j-i <= maxNodeLen; j++ {
			if b, err := netip.ParseAddr(string(h[i:j])); err == nil && b.Unmap() == a {
				return true
			}
		}
	}
	return false
}
