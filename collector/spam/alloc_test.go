//go:build !race

package spam

import "testing"

// The race detector changes allocation counts, hence the build tag.

func TestSpamDoesNotAllocate(t *testing.T) {
	l := New([]string{"spam.example.org"})
	hosts := []string{"semalt.com", "x.semalt.com", "news.ycombinator.com", "a.b.c.example.co.uk", ""}
	allocs := testing.AllocsPerRun(1000, func() {
		for _, h := range hosts {
			sink = l.Spam(h)
		}
	})
	if allocs != 0 {
		t.Errorf("Spam: %v allocs per run, want 0", allocs)
	}
}
