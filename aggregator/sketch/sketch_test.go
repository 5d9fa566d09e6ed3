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
// TestDenseSwitchPoint: distinct keys turn a sketch dense within 128
// insertions of its estimate reaching denseAt; a sketch of few visitors
// coming back many times stays sparse, checked only now and then.
func TestDenseSwitchPoint(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	s := New()
	n := 0
	for !s.dense {
		s.Add(r.Uint64())
		if n++; n > denseAt+200 {
			t.Fatalf("still sparse after %d distinct keys", n)
		}
	}
	if n < denseAt-20 {
		t.Fatalf("dense after %d distinct keys, before its estimate could reach %d", n, denseAt)
	}
	s = New()
	keys := make([]uint64, 1500)
	for i := range keys {
		keys[i] = r.Uint64()
	}
	checks := 0
	for i := range 30000 {
		next := s.next
		s.Add(keys[i%len(keys)])
		if s.next != next {
			checks++
		}
	}
	if s.dense {
		t.Fatal("1500 visitors made the sketch dense")
	}
	if checks > 30000/400 {
		t.Errorf("%d checks for 30000 insertions of 1500 keys", checks)
	}
	if got := s.Estimate(); math.Abs(float64(got)-1500) > 1500*0.02 {
		t.Fatalf("estimate %d, want ~1500", got)
	}
}

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
			var all []string
			for _, b := range stored {
				all = append(all, string(b))
			}
			if u, err := UnionBinary(all); err != nil || u.Estimate() != want {
				t.Errorf("UnionBinary: %v, %v; one by one: %d", u, err, want)
			}
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

// TestMergeBinaryKeepsWhatIsThere checks the shortcut of MergeBinary into an
// empty sketch: a decoded or filled sketch is merged into, never replaced,
// and a dense input makes the union dense.
func TestMergeBinaryKeepsWhatIsThere(t *testing.T) {
	small, big := New(), New()
	for i := range uint64(3000) {
		if i < 100 {
			small.Add(visitorKeyForTest(i))
		}
		big.Add(visitorKeyForTest(i + 1_000_000))
	}
	sb, _ := small.MarshalBinary()
	bb, _ := big.MarshalBinary()
	if !big.dense {
		t.Fatal("3000 keys did not turn dense")
	}
	u, err := Unmarshal(sb)
	if err != nil {
		t.Fatal(err)
	}
	if err := u.MergeBinary(bb); err != nil {
		t.Fatal(err)
	}
	if got := u.Estimate(); math.Abs(float64(got)-3100) > 3100*0.03 || !u.dense {
		t.Errorf("decoded small + big: %d (dense %v), want ~3100, dense", got, u.dense)
	}
	e := New()
	for _, b := range [][]byte{bb, sb} {
		if err := e.MergeBinary(b); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.Estimate(); got != u.Estimate() {
		t.Errorf("big + small into an empty sketch: %d, small + big: %d", got, u.Estimate())
	}
}

func visitorKeyForTest(i uint64) uint64 {
	z := i + 0x9E3779B97F4A7C15
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// TestUnionBinaryEqualsMergingOneByOne compares the collected union with
// merging one by one through the library, over random mixes of empty,
// compacted and uncompacted sparse, and dense sketches: same estimate, same
// stored form once both are dense or compacted, and the result merges on.
func TestUnionBinaryEqualsMergingOneByOne(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for round := range 200 {
		var stored []string
		for range 1 + r.IntN(40) {
			s := New()
			n := []int{0, 1, 3, 30, 200, 900, 2500}[r.IntN(7)]
			for range n {
				s.Add(visitorKeyForTest(uint64(r.IntN(6000))))
			}
			if r.IntN(2) == 0 {
				s.Estimate() // compacts the sparse list
			}
			if n == 0 && r.IntN(2) == 0 {
				stored = append(stored, "")
				continue
			}
			b, err := s.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			stored = append(stored, string(b))
		}
		want, err := unionSlow(stored)
		if err != nil {
			t.Fatal(err)
		}
		got, err := UnionBinary(stored)
		if err != nil {
			t.Fatal(err)
		}
		if g, w := got.Estimate(), want.Estimate(); g != w {
			t.Fatalf("round %d: UnionBinary %d, one by one %d", round, g, w)
		}
		gb, _ := got.MarshalBinary()
		wb, _ := want.MarshalBinary()
		if got.dense != want.dense || (got.dense && string(gb) != string(wb)) {
			t.Fatalf("round %d: forms differ (dense %v / %v)", round, got.dense, want.dense)
		}
		extra := New()
		for range 50 {
			extra.Add(visitorKeyForTest(uint64(10000 + r.IntN(3000))))
		}
		eb, _ := extra.MarshalBinary()
		if err := got.MergeBinary(eb); err != nil {
			t.Fatal(err)
		}
		all, err := unionSlow(append(stored, string(eb)))
		if err != nil {
			t.Fatal(err)
		}
		if g, w := got.Estimate(), all.Estimate(); g != w {
			t.Fatalf("round %d: merged on %d, want %d", round, g, w)
		}
	}
}

// pageListInputs are the stored sketches of the candidates of a 100-row page
// list over 30 days, as the dashboard's fast breakdown reads them: 126
// labels with a daily row each, visitors per day falling from 3,000 (a dense
// daily sketch) along a long tail, so that about half of the unions turn
// dense.
func pageListInputs(tb testing.TB) [][]string {
	tb.Helper()
	r := rand.New(rand.NewPCG(21, 22))
	labels := make([][]string, 126)
	for i := range labels {
		perDay := int(3000 / math.Pow(float64(i+1), 0.9))
		for range 30 {
			s := New()
			for range perDay {
				s.Add(r.Uint64())
			}
			b, err := s.MarshalBinary()
			if err != nil {
				tb.Fatal(err)
			}
			labels[i] = append(labels[i], string(b))
		}
	}
	return labels
}

// BenchmarkUnionBinaryPages unions and estimates the candidates of a page
// list (see pageListInputs), one after another.
func BenchmarkUnionBinaryPages(b *testing.B) {
	labels := pageListInputs(b)
	b.ReportAllocs()
	for b.Loop() {
		for _, stored := range labels {
			u, err := UnionBinary(stored)
			if err != nil {
				b.Fatal(err)
			}
			u.Estimate()
		}
	}
}

// BenchmarkEstimateDense estimates a dense sketch of 100,000 keys.
func BenchmarkEstimateDense(b *testing.B) {
	s := New()
	for i := range uint64(100_000) {
		s.Add(visitorKeyForTest(i))
	}
	if !s.dense {
		b.Fatal("not dense")
	}
	b.ReportAllocs()
	for b.Loop() {
		if n := s.Estimate(); n < 95_000 || n > 105_000 {
			b.Fatalf("estimate %d", n)
		}
	}
}
