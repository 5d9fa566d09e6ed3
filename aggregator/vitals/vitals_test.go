package vitals

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestBucketEdges(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want int
	}{
		{math.NaN(), 0}, {-1, 0}, {0, 0}, {0.999, 0},
		{1, 1}, {math.Exp2(1.0 / 8), 2}, {math.Exp2(1.0/8) - 1e-9, 1},
		{2, 9}, {1024, 81}, {600000, 154}, {1e300, NumBuckets - 1}, {math.Inf(1), NumBuckets - 1},
	} {
		if got := Bucket(tc.v); got != tc.want {
			t.Errorf("Bucket(%v) = %d, want %d", tc.v, got, tc.want)
		}
	}
	for i := 1; i < NumBuckets-1; i++ {
		if Bucket(Lower(i)) != i || Bucket(math.Nextafter(Upper(i), 0)) != i || Bucket(Mid(i)) != i {
			t.Fatalf("bucket %d: bounds [%v, %v) mid %v do not map back", i, Lower(i), Upper(i), Mid(i))
		}
		if w := Upper(i)/Lower(i) - 1; math.Abs(w-0.0905) > 0.001 {
			t.Fatalf("bucket %d is %.4f wide, want 9.05%%", i, w)
		}
	}
}

func TestRate(t *testing.T) {
	for _, tc := range []struct {
		m    Metric
		v    float64
		want Rating
	}{
		{LCP, 2500, Good}, {LCP, 2501, NeedsImprovement}, {LCP, 4000, NeedsImprovement}, {LCP, 4001, Poor},
		{INP, 200, Good}, {INP, 500, NeedsImprovement}, {INP, 501, Poor},
		{CLS, 0.1, Good}, {CLS, 0.11, NeedsImprovement}, {CLS, 0.25, NeedsImprovement}, {CLS, 0.26, Poor},
		{FCP, 1800, Good}, {FCP, 3001, Poor}, {TTFB, 800, Good}, {TTFB, 1800, NeedsImprovement}, {TTFB, 1801, Poor},
	} {
		if got := Defs[tc.m].Rate(tc.v); got != tc.want {
			t.Errorf("%s %v rated %d, want %d", Defs[tc.m].Label, tc.v, got, tc.want)
		}
	}
	for m := range NumMetrics {
		if got, ok := ByName(Defs[m].Name); !ok || got != m {
			t.Errorf("ByName(%q) = %v, %v", Defs[m].Name, got, ok)
		}
	}
	if _, ok := ByName("fid"); ok {
		t.Error("fid is not a metric we keep")
	}
}

// TestQuantileWithinOneBucket checks the histogram's promise: p50, p75 and
// p95 read from histograms summed over several "nodes" fall within one
// bucket of the exact quantile of the raw values, for distributions shaped
// like real LCP, INP and CLS data and for a few adversarial ones.
func TestQuantileWithinOneBucket(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	dists := map[string]func() float64{
		"lognormal LCP": func() float64 { return math.Exp(7.6 + 0.6*rng.NormFloat64()) },
		"lognormal INP": func() float64 { return math.Exp(4.8 + 0.9*rng.NormFloat64()) },
		"CLS thousandths, many zeros": func() float64 {
			if rng.IntN(3) == 0 {
				return 0
			}
			return 1000 * math.Exp(-3+1.2*rng.NormFloat64())
		},
		"uniform 0..10s":  func() float64 { return 10000 * rng.Float64() },
		"bimodal":         func() float64 { return []float64{80, 6000}[rng.IntN(2)] * (1 + 0.1*rng.Float64()) },
		"constant 2500ms": func() float64 { return 2500 },
	}
	for name, draw := range dists {
		for _, n := range []int{1, 7, 100, 10000, 200000} {
			raw := make([]float64, n)
			nodes := make([]Hist, 3)
			for i := range raw {
				raw[i] = draw()
				nodes[i%3].Add(Bucket(raw[i]), 1)
			}
			var sum Hist
			for _, h := range nodes {
				sum.Merge(h)
			}
			if sum.Total() != uint64(n) {
				t.Fatalf("%s n=%d: merged total %d", name, n, sum.Total())
			}
			slices.Sort(raw)
			for _, q := range []float64{0.5, 0.75, 0.95} {
				truth := raw[max(int(math.Ceil(q*float64(n)))-1, 0)]
				got := sum.Quantile(q)
				if d := Bucket(got) - Bucket(truth); d < -1 || d > 1 {
					t.Errorf("%s n=%d p%.0f: histogram says %.3f (bucket %d), truth %.3f (bucket %d)",
						name, n, q*100, got, Bucket(got), truth, Bucket(truth))
				}
				if truth >= 1 {
					if rel := math.Abs(got/truth - 1); rel > 0.0905 {
						t.Errorf("%s n=%d p%.0f: relative error %.2f%% exceeds one bucket", name, n, q*100, rel*100)
					}
				}
			}
		}
	}
	var empty Hist
	if empty.Quantile(0.75) != 0 {
		t.Error("an empty histogram has no quantile")
	}
}

func TestHistAddKeepsOrder(t *testing.T) {
	var h Hist
	for _, i := range []int{50, 3, 70, 3, 0, 50, 239} {
		h.Add(i, 1)
	}
	want := Hist{{0, 1}, {3, 2}, {50, 2}, {70, 1}, {239, 1}}
	if !slices.Equal(h, want) {
		t.Fatalf("got %v, want %v", h, want)
	}
}

func BenchmarkBucket(b *testing.B) {
	v := 1234.5
	for b.Loop() {
		_ = Bucket(v)
	}
}
