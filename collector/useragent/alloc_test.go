//go:build !race

package useragent

import "testing"

// The race detector instruments memory accesses and changes allocation
// counts, hence the build tag.

func TestParseCachedDoesNotAllocate(t *testing.T) {
	p := New(1000)
	ua := []byte(uaChromeWindows)
	want := p.Parse(ua)
	allocs := testing.AllocsPerRun(1000, func() {
		if got := p.Parse(ua); got != want {
			t.Fatalf("Parse = %+v, want %+v", got, want)
		}
	})
	if allocs != 0 {
		t.Errorf("cache hit: %v allocs per Parse, want 0", allocs)
	}
}

func TestParseRejectedDoesNotAllocate(t *testing.T) {
	p := New(1000)
	long := make([]byte, maxLen+1)
	short := []byte("curl")
	allocs := testing.AllocsPerRun(100, func() {
		p.Parse(nil)
		p.Parse(long)
		p.Parse(short)
	})
	if allocs != 0 {
		t.Errorf("empty, short or oversized User-Agent: %v allocs, want 0", allocs)
	}
}

// The bot classification runs on every cache miss; the parser behind it
// allocates, the classification must not.
func TestBotClassDoesNotAllocate(t *testing.T) {
	for _, ua := range []string{uaChromeWindows, uaIPhoneFacebook, uaGooglebotMobile, uaHeadlessChrome, uaCurl} {
		b := []byte(ua)
		var got class
		allocs := testing.AllocsPerRun(100, func() {
			got = botClass(b)
			got = botClass(ua)
		})
		if allocs != 0 {
			t.Errorf("botClass(%q) = %v: %v allocs, want 0", ua, got, allocs)
		}
	}
}
