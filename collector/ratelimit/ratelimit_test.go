package ratelimit

import (
	"net/netip"
	"testing"
	"time"
)

func TestTokenBucket(t *testing.T) {
	l := New(60, 5, 1000) // 1 per second, bursts of 5
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	a := netip.MustParseAddr("198.51.100.7")
	for i := range 5 {
		if !l.Allow(a, t0) {
			t.Fatalf("burst event %d refused", i)
		}
	}
	if l.Allow(a, t0) {
		t.Fatal("sixth event of the burst allowed")
	}
	if !l.Allow(netip.MustParseAddr("198.51.100.8"), t0) {
		t.Fatal("another address shares the bucket")
	}
	if l.Allow(a, t0.Add(500*time.Millisecond)) {
		t.Fatal("half a token was spent")
	}
	if !l.Allow(a, t0.Add(1500*time.Millisecond)) || l.Allow(a, t0.Add(1600*time.Millisecond)) {
		t.Fatal("refill is not one per second")
	}
	// After a long pause the bucket is full again, not fuller.
	later := t0.Add(time.Hour)
	n := 0
	for l.Allow(a, later) {
		n++
	}
	if n != 5 {
		t.Fatalf("%d events after a pause, want the burst of 5", n)
	}
}

func TestIPv6ByPrefix(t *testing.T) {
	l := New(60, 2, 1000)
	now := time.Now()
	if !l.Allow(netip.MustParseAddr("2001:db8:1:2::1"), now) || !l.Allow(netip.MustParseAddr("2001:db8:1:2:ffff::9"), now) {
		t.Fatal("first two of the /64 refused")
	}
	if l.Allow(netip.MustParseAddr("2001:db8:1:2:aaaa::3"), now) {
		t.Fatal("a third address of the same /64 got its own bucket")
	}
	if !l.Allow(netip.MustParseAddr("2001:db8:1:3::1"), now) {
		t.Fatal("another /64 limited")
	}
	if !l.Allow(netip.MustParseAddr("::ffff:192.0.2.1"), now) || !l.Allow(netip.MustParseAddr("192.0.2.1"), now) ||
		l.Allow(netip.MustParseAddr("192.0.2.1"), now) {
		t.Fatal("a mapped IPv4 address is not the same client as the plain one")
	}
	if !l.Allow(netip.Addr{}, now) {
		t.Fatal("no address refused")
	}
}

func TestBoundedAndSwept(t *testing.T) {
	l := New(60, 1, 64*16) // 16 per shard
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	for i := range 5000 {
		ip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		if !l.Allow(ip, now) {
			t.Fatalf("new address %s refused", ip)
		}
	}
	tracked, untracked := l.Stats()
	if tracked > 64*16 || untracked == 0 {
		t.Fatalf("tracked %d, untracked %d: the table is not bounded", tracked, untracked)
	}
	// A minute later every bucket (burst 1 at 1/s) is full again: a shard
	// that sees a request forgets its old entries.
	for i := range 64 * 4 {
		l.Allow(netip.AddrFrom4([4]byte{172, 16, byte(i >> 8), byte(i)}), now.Add(2*time.Minute))
	}
	if after, _ := l.Stats(); after >= tracked/2 {
		t.Fatalf("%d entries after the sweep, %d before", after, tracked)
	}
}

func BenchmarkAllow(b *testing.B) {
	l := New(600, 600, 100000)
	ips := make([]netip.Addr, 1024)
	for i := range ips {
		ips[i] = netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)})
	}
	now := time.Now()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		l.Allow(ips[i%len(ips)], now)
		i++
	}
}
