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

// TestDenseSwitchKeepsTheCount checks the switch from the sparse to the
// dense form: the estimate before and after agree, and keys added before
// the switch still count after it.
func TestDenseSwitchKeepsTheCount(t *testing.T) {
	s := New()
	r := rand.New(rand.NewPCG(3, 4))
	keys := make([]uint64, 5000)
	for i := range keys {
		keys[i] = r.Uint64()
	}
	for _, k := range keys[:2000] {
		s.Add(k)
	}
	if s.dense {
		t.Fatal("switched before 2048 entries")
	}
	before := s.Estimate()
	for _, k := range keys[:2100] { // repeats, then 100 new: the switch happens
		s.Add(k)
	}
	if !s.dense {
		t.Fatal("did not switch to dense")
	}
	if got := s.Estimate(); math.Abs(float64(got)-2100) > 2100*0.02 || math.Abs(float64(before)-2000) > 2000*0.02 {
		t.Fatalf("estimates %d before and %d after the switch, want ~2000 and ~2100", before, got)
	}
	for _, k := range keys[2100:] {
		s.Add(k)
	}
	if got := s.Estimate(); math.Abs(float64(got)-5000) > 5000*0.02 {
		t.Fatalf("estimate %d, want ~5000", got)
	}
}

func BenchmarkUnionOfHourly(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	var hourly [][]byte
	for h := 0; h < 720; h++ { // 30 days
		s := New()
		for i := 0; i < 300; i++ {
			s.Add(r.Uint64())
		}
		bb, _ := s.MarshalBinary()
		hourly = append(hourly, bb)
	}
	b.ReportAllocs()
	for b.Loop() {
		u := New()
		for _, h := range hourly {
			if err := u.MergeBinary(h); err != nil {
				b.Fatal(err)
			}
		}
		if e := u.Estimate(); e < 200000 || e > 230000 {
			b.Fatalf("estimate %d", e)
		}
	}
}

// TestUnionIndependentOfGrouping checks what the dashboard's daily rollups
// rely on: the union of many stored sketches estimates the same number
// whether they are merged one by one, in another order, or first per group
// (a day) with the group unions stored and merged again; unions near and
// across the dense threshold included.
func TestUnionIndependentOfGrouping(t *testing.T) {
	for _, tc := range []struct {
		name               string
		parts, perPt, pool int
	}{
		{"small", 48, 3, 100},
		{"below threshold", 48, 40, 1500},
		{"around threshold", 100, 60, 2300},
		{"just above", 100, 60, 2500},
		{"a little more", 120, 60, 2900},
		{"large", 96, 400, 30000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(7, uint64(tc.parts*tc.perPt)))
			pool := make([]uint64, tc.pool) // visitors repeat across parts
			for i := range pool {
				pool[i] = r.Uint64()
			}
			var stored [][]byte
			for range tc.parts {
				s := New()
				for range tc.perPt {
					s.Add(pool[r.IntN(len(pool))])
				}
				b, err := s.MarshalBinary()
				if err != nil {
					t.Fatal(err)
				}
				stored = append(stored, b)
			}
			union := func(order []int, group int) uint64 {
				all := New()
				for i := 0; i < len(order); i += group {
					g := New()
					for _, j := range order[i:min(i+group, len(order))] {
						if err := g.MergeBinary(stored[j]); err != nil {
							t.Fatal(err)
						}
					}
					g.Estimate() // as a rollup does before storing
					b, err := g.MarshalBinary()
					if err != nil {
						t.Fatal(err)
					}
					if err := all.MergeBinary(b); err != nil {
						t.Fatal(err)
					}
				}
				return all.Estimate()
			}
			order := make([]int, len(stored))
			for i := range order {
				order[i] = i
			}
			want := union(order, 1)
			for _, group := range []int{24, 7, len(order)} {
				if got := union(order, group); got != want {
					t.Errorf("groups of %d: %d, one by one: %d", group, got, want)
				}
			}
			r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
			if got := union(order, 1); got != want {
				t.Errorf("shuffled: %d, in order: %d", got, want)
			}
		})
	}
}
