package clientip

import (
	"net/netip"
	"strings"
	"testing"
)

func TestNewResolver(t *testing.T) {
	tests := []struct {
		name    string
		cidrs   []string
		trusted []string
		other   []string
		wantErr string
	}{
		{
			name:    "prefixes and bare addresses",
			cidrs:   []string{"10.0.0.0/8", "127.0.0.1", "2001:db8::/32", "::1"},
			trusted: []string{"10.1.2.3", "127.0.0.1", "2001:db8::5", "::1", "::ffff:10.0.0.1"},
			other:   []string{"11.0.0.1", "127.0.0.2", "2001:db9::1", "::2"},
		},
		{
			name:    "spaces and empty entries",
			cidrs:   []string{" 192.168.0.0/16 ", "", "  "},
			trusted: []string{"192.168.1.1"},
			other:   []string{"192.169.0.1"},
		},
		{
			name:    "host bits are masked",
			cidrs:   []string{"172.16.5.4/12"},
			trusted: []string{"172.16.0.1", "172.31.255.255"},
			other:   []string{"172.32.0.1"},
		},
		{
			name:    "ipv4-mapped entries become ipv4",
			cidrs:   []string{"::ffff:10.0.0.0/104", "::ffff:192.0.2.1"},
			trusted: []string{"10.9.9.9", "192.0.2.1", "::ffff:10.1.1.1"},
			other:   []string{"192.0.2.2"},
		},
		{
			name:    "zone on peer is ignored",
			cidrs:   []string{"fe80::/10"},
			trusted: []string{"fe80::1%eth0"},
		},
		{name: "none", cidrs: nil, other: []string{"127.0.0.1"}},
		{name: "garbage", cidrs: []string{"10.0.0.0/8", "proxy.internal"}, wantErr: `trusted proxy "proxy.internal"`},
		{name: "bad prefix length", cidrs: []string{"10.0.0.0/33"}, wantErr: `trusted proxy "10.0.0.0/33"`},
		{name: "zone", cidrs: []string{"fe80::1%eth0"}, wantErr: `trusted proxy "fe80::1%eth0"`},
		{name: "short mapped prefix", cidrs: []string{"::ffff:0:0/80"}, wantErr: `trusted proxy "::ffff:0:0/80"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewResolver(tt.cidrs)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("NewResolver(%q) error = %v, want it to contain %q", tt.cidrs, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewResolver(%q): %v", tt.cidrs, err)
			}
			for _, s := range tt.trusted {
				if !r.Trusted(netip.MustParseAddr(s)) {
					t.Errorf("Trusted(%s) = false, want true", s)
				}
			}
			for _, s := range tt.other {
				if r.Trusted(netip.MustParseAddr(s)) {
					t.Errorf("Trusted(%s) = true, want false", s)
				}
			}
		})
	}
}

func TestClientIP(t *testing.T) {
	r, err := NewResolver([]string{"10.0.0.0/8", "2001:db8:ffff::/48", "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		peer      string
		xff, fwd  string
		xRealIP   string
		want      string
		noProxies bool // use a Resolver that trusts nobody
	}{
		// Spoofing: headers from an untrusted peer are ignored.
		{name: "untrusted peer, xff ignored", peer: "203.0.113.7", xff: "1.2.3.4", want: "203.0.113.7"},
		{name: "untrusted peer, forwarded ignored", peer: "203.0.113.7", fwd: "for=1.2.3.4", want: "203.0.113.7"},
		{name: "untrusted peer, x-real-ip ignored", peer: "203.0.113.7", xRealIP: "1.2.3.4", want: "203.0.113.7"},
		{name: "no trusted proxies", peer: "10.0.0.1", xff: "1.2.3.4", want: "10.0.0.1", noProxies: true},
		{name: "trusted peer, spoofed entry left of real client", peer: "10.0.0.1", xff: "6.6.6.6, 198.51.100.9", want: "198.51.100.9"},
		{name: "trusted peer, spoofed trusted address in chain", peer: "10.0.0.1", xff: "198.51.100.9, 10.0.0.2", want: "198.51.100.9"},

		// Chains.
		{name: "no headers", peer: "10.0.0.1", want: "10.0.0.1"},
		{name: "single xff", peer: "10.0.0.1", xff: "198.51.100.9", want: "198.51.100.9"},
		{name: "chain of trusted proxies", peer: "10.0.0.1", xff: "198.51.100.9,10.0.0.3, 10.0.0.2", want: "198.51.100.9"},
		{name: "all trusted gives left-most", peer: "10.0.0.1", xff: "10.0.0.9, 10.0.0.3", want: "10.0.0.9"},
		{name: "loopback proxy", peer: "127.0.0.1", xff: "198.51.100.9", want: "198.51.100.9"},
		{name: "garbage entries skipped", peer: "10.0.0.1", xff: "unknown, 198.51.100.9, , junk,10.0.0.2", want: "198.51.100.9"},
		{name: "only garbage falls back to forwarded", peer: "10.0.0.1", xff: "unknown", fwd: "for=198.51.100.9", want: "198.51.100.9"},
		{name: "xff wins over forwarded", peer: "10.0.0.1", xff: "198.51.100.1", fwd: "for=198.51.100.2", xRealIP: "198.51.100.3", want: "198.51.100.1"},
		{name: "forwarded wins over x-real-ip", peer: "10.0.0.1", fwd: "for=198.51.100.2", xRealIP: "198.51.100.3", want: "198.51.100.2"},
		{name: "x-real-ip", peer: "10.0.0.1", xRealIP: " 198.51.100.3 ", want: "198.51.100.3"},
		{name: "x-real-ip garbage gives peer", peer: "10.0.0.1", xRealIP: "nope", want: "10.0.0.1"},
		{name: "xff with ports", peer: "10.0.0.1", xff: "198.51.100.9:5678, 10.0.0.2:80", want: "198.51.100.9"},
		{name: "xff with bad port", peer: "10.0.0.1", xff: "198.51.100.8, 198.51.100.9:http", want: "198.51.100.8"},
		{name: "xff quoted", peer: "10.0.0.1", xff: `"198.51.100.9"`, want: "198.51.100.9"},
		{name: "xff tabs", peer: "10.0.0.1", xff: "\t198.51.100.9\t,\t10.0.0.2", want: "198.51.100.9"},

		// IPv6.
		{name: "ipv6 peer untrusted", peer: "2001:db8:1::1", xff: "1.2.3.4", want: "2001:db8:1::1"},
		{name: "ipv6 trusted peer", peer: "2001:db8:ffff::1", xff: "2001:db8:1::7", want: "2001:db8:1::7"},
		{name: "ipv6 bracketed with port", peer: "10.0.0.1", xff: "[2001:db8:1::7]:443", want: "2001:db8:1::7"},
		{name: "ipv6 bracketed without port", peer: "10.0.0.1", xff: "[2001:db8:1::7]", want: "2001:db8:1::7"},
		{name: "ipv6 chain", peer: "10.0.0.1", xff: "2001:db8:1::7, 2001:db8:ffff::2", want: "2001:db8:1::7"},
		{name: "ipv6 zone rejected", peer: "10.0.0.1", xff: "198.51.100.1, fe80::1%eth0", want: "198.51.100.1"},
		{name: "ipv4-mapped peer", peer: "::ffff:10.0.0.1", xff: "198.51.100.9", want: "198.51.100.9"},
		{name: "ipv4-mapped untrusted peer is unmapped", peer: "::ffff:203.0.113.7", want: "203.0.113.7"},
		{name: "ipv4-mapped header entry", peer: "10.0.0.1", xff: "::ffff:198.51.100.9", want: "198.51.100.9"},
		{name: "ipv4-mapped trusted entry skipped", peer: "10.0.0.1", xff: "198.51.100.9, ::ffff:10.0.0.2", want: "198.51.100.9"},

		// RFC 7239 Forwarded.
		{name: "forwarded simple", peer: "10.0.0.1", fwd: "for=198.51.100.9", want: "198.51.100.9"},
		{name: "forwarded with params", peer: "10.0.0.1", fwd: "proto=https;for=198.51.100.9;by=10.0.0.1", want: "198.51.100.9"},
		{name: "forwarded chain", peer: "10.0.0.1", fwd: "for=6.6.6.6, for=198.51.100.9, for=10.0.0.5", want: "198.51.100.9"},
		{name: "forwarded case-insensitive name", peer: "10.0.0.1", fwd: "For=198.51.100.9", want: "198.51.100.9"},
		{name: "forwarded quoted ipv6 with port", peer: "10.0.0.1", fwd: `for="[2001:db8:cafe::17]:4711"`, want: "2001:db8:cafe::17"},
		{name: "forwarded quoted ipv4 with port", peer: "10.0.0.1", fwd: `for="198.51.100.9:4711"`, want: "198.51.100.9"},
		{name: "forwarded unknown skipped", peer: "10.0.0.1", fwd: "for=198.51.100.9, for=unknown", want: "198.51.100.9"},
		{name: "forwarded obfuscated skipped", peer: "10.0.0.1", fwd: "for=198.51.100.9, for=_hidden, for=\"_SEVKISEK\"", want: "198.51.100.9"},
		{name: "forwarded obfuscated port", peer: "10.0.0.1", fwd: `for="198.51.100.9:_port"`, want: "198.51.100.9"},
		{name: "forwarded comma inside quotes", peer: "10.0.0.1", fwd: `for=198.51.100.9;host="a,b", for=10.0.0.4`, want: "198.51.100.9"},
		{name: "forwarded element without for", peer: "10.0.0.1", fwd: "for=198.51.100.9, proto=https", want: "198.51.100.9"},
		{name: "forwarded all trusted gives left-most", peer: "10.0.0.1", fwd: "for=10.0.0.7, for=10.0.0.8", want: "10.0.0.7"},
		{name: "forwarded garbage gives x-real-ip", peer: "10.0.0.1", fwd: "for=;;;,,\"", xRealIP: "198.51.100.3", want: "198.51.100.3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := r
			if tt.noProxies {
				res = &Resolver{}
			}
			got := res.ClientIP(netip.MustParseAddr(tt.peer), bytesOrNil(tt.xff), bytesOrNil(tt.fwd), bytesOrNil(tt.xRealIP))
			if want := netip.MustParseAddr(tt.want); got != want {
				t.Errorf("ClientIP(peer %s, xff %q, forwarded %q, x-real-ip %q) = %s, want %s",
					tt.peer, tt.xff, tt.fwd, tt.xRealIP, got, want)
			}
		})
	}
}

func TestClientIPNilResolver(t *testing.T) {
	var r *Resolver
	peer := netip.MustParseAddr("::ffff:203.0.113.7")
	if got, want := r.ClientIP(peer, []byte("1.2.3.4"), nil, nil), peer.Unmap(); got != want {
		t.Errorf("nil Resolver: ClientIP = %s, want %s", got, want)
	}
}

func TestClientIPInvalidPeer(t *testing.T) {
	r, err := NewResolver([]string{"0.0.0.0/0", "::/0"})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.ClientIP(netip.Addr{}, []byte("1.2.3.4"), nil, nil); got.IsValid() {
		t.Errorf("invalid peer: ClientIP = %s, want the invalid peer back", got)
	}
}

func bytesOrNil(s string) []byte {
	if s == "" {
		return nil
	}
	return []byte(s)
}

var sink netip.Addr

func BenchmarkClientIP(b *testing.B) {
	r, err := NewResolver([]string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fd00::/8"})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name          string
		peer          string
		xff, fwd, xri string
	}{
		{name: "case=untrusted", peer: "203.0.113.7", xff: "1.2.3.4"},
		{name: "case=xff-ipv4", peer: "10.0.0.1", xff: "198.51.100.9, 10.0.0.3"},
		{name: "case=xff-ipv6", peer: "10.0.0.1", xff: "2001:db8:1::7, 10.0.0.3"},
		{name: "case=forwarded", peer: "10.0.0.1", fwd: `for="[2001:db8:cafe::17]:4711";proto=https, for=10.0.0.3`},
		{name: "case=x-real-ip", peer: "10.0.0.1", xri: "198.51.100.9"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			peer := netip.MustParseAddr(bc.peer)
			xff, fwd, xri := bytesOrNil(bc.xff), bytesOrNil(bc.fwd), bytesOrNil(bc.xri)
			b.ReportAllocs()
			for b.Loop() {
				sink = r.ClientIP(peer, xff, fwd, xri)
			}
		})
	}
}
