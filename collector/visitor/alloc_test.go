//go:build !race

package visitor

import (
	"strings"
	"testing"
)

// The race detector changes allocation counts, hence the build tag.

func TestKeyDoesNotAllocate(t *testing.T) {
	s := newSalts(t, t.TempDir(), newClock(day1))
	long := []byte(strings.Repeat("x", 2*stackInput))
	s.Key("example.com", ipA, long) // size the pooled buffer
	allocs := testing.AllocsPerRun(1000, func() {
		s.Key("example.com", ipA, uaA)
		s.Key("example.com", ipB, uaB)
		s.Key("example.com", ipA, long)
	})
	if allocs != 0 {
		t.Errorf("Key: %v allocs per run, want 0", allocs)
	}
}
