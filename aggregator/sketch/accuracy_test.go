package sketch

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestAccuracyOverRanges checks unique visitors as the dashboard computes
// them, the estimate of a union of hourly sketches, against the truth from
// 1k to 10M distinct keys, and logs the stored size of the sketches.
func TestAccuracyOverRanges(t *testing.T) {
	sizes := []int{1_000, 10_000, 100_000, 1_000_000, 10_000_000}
	if testing.Short() {
		sizes = sizes[:4]
	}
	for _, n := range sizes {
		r := rand.New(rand.NewPCG(uint64(n), 7))
		const hours = 24
		hourly := make([]*Sketch, hours)
		for i := range hourly {
			hourly[i] = New()
		}
		for i := 0; i < n; i++ {
			k := r.Uint64()
			// Every key lands in one hour; a third come back in another.
			hourly[i%hours].Add(k)
			if i%3 == 0 {
				hourly[(i*7+5)%hours].Add(k)
			}
		}
		union := New()
		var stored int
		for _, h := range hourly {
			b, err := h.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			stored += len(b)
			if err := union.MergeBinary(b); err != nil {
				t.Fatal(err)
			}
		}
		got := float64(union.Estimate())
		rel := (got - float64(n)) / float64(n)
		ub, _ := union.MarshalBinary()
		t.Logf("n=%-9d estimate=%-9.0f error=%+.3f%%  hourly sketch avg %d B, union %d B", n, got, rel*100, stored/hours, len(ub))
		if math.Abs(rel) > 0.02 {
			t.Errorf("n=%d: estimate %.0f is %.2f%% off, want within 2%%", n, got, rel*100)
		}
	}
}
