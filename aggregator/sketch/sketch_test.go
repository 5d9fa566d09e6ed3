package sketch

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestEstimateAndMergeWithinError(t *testing.T) {
	for _, n := range []int{10, 1000, 100000} {
		r := rand.New(rand.NewPCG(1, uint64(n)))
		a, b, all := New(), New(), New()
		for i := 0; i < n; i++ {
			k := r.Uint64()
			all.Add(k)
			if i%2 == 0 {
				a.Add(k)
			} else {
				b.Add(k)
			}
		}
		if err := a.Merge(b); err != nil {
			t.Fatal(err)
		}
		for name, s := range map[string]*Sketch{"merged": a, "single": all} {
			got := float64(s.Estimate())
			if rel := math.Abs(got-float64(n)) / float64(n); rel > 0.03 {
				t.Errorf("n=%d %s: estimate %v, %.2f%% off", n, name, got, rel*100)
			}
		}
	}
}

func TestBinaryRoundTrip(t *testing.T) {
	s := New()
	for i := uint64(0); i < 5000; i++ {
		s.Add(i * 0x9E3779B97F4A7C15)
	}
	b, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	u, err := Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if u.Estimate() != s.Estimate() {
		t.Fatalf("round trip: %d != %d", u.Estimate(), s.Estimate())
	}
	empty := New()
	if err := empty.MergeBinary(b); err != nil || empty.Estimate() != s.Estimate() {
		t.Fatalf("MergeBinary: %v, %d != %d", err, empty.Estimate(), s.Estimate())
	}
	if _, err := Unmarshal([]byte{0xff, 1, 2}); err == nil {
		t.Fatal("garbage decoded without error")
	}
}
