// Package vitals defines the web vitals the snippet measures and the fixed
// log-scale histogram the aggregator keeps them in.
//
// Every metric is counted in the same bucket layout: bucket 0 holds values
// below 1 (in the metric's stored unit), and bucket i >= 1 holds
// [2^((i-1)/8), 2^(i/8)), so each bucket is 9.05% wider than the one before
// and a quantile read from the histogram is off by at most one bucket's
// width (the reported value is the geometric middle of the bucket the true
// quantile falls in: within ±4.4% of it). The layout never changes, so
// histograms of any node, hour, page or browser add up bucket by bucket.
//
// Timings are stored in milliseconds; CLS, a unitless score, is stored in
// thousandths so that its thresholds (0.1, 0.25) fall far above bucket 0.
// The good / needs-improvement / poor counts use the thresholds of
// web.dev and are counted exactly, beside the histogram.
package vitals

import (
	"math"
	"sort"
)

// Metric names one web vital.
type Metric uint8

// The metrics, in the order they are stored and shown.
const (
	LCP Metric = iota
	INP
	CLS
	FCP
	TTFB
	NumMetrics
)

// Def describes a metric.
type Def struct {
	// Name is the property key the snippet sends and the stored name: "lcp".
	Name string
	// Label is the display name: "LCP".
	Label string
	// Scale turns a sent value into the stored unit (CLS: thousandths).
	Scale float64
	// Max is the largest value accepted, in the sent unit.
	Max float64
	// Good and Poor are the thresholds in the sent unit: a value <= Good is
	// good, > Poor is poor, anything between needs improvement.
	Good, Poor float64
	// Unit is "ms" for timings, "" for CLS.
	Unit string
}

// Defs lists the metrics by Metric.
var Defs = [NumMetrics]Def{
	LCP:  {Name: "lcp", Label: "LCP", Scale: 1, Max: 600000, Good: 2500, Poor: 4000, Unit: "ms"},
	INP:  {Name: "inp", Label: "INP", Scale: 1, Max: 600000, Good: 200, Poor: 500, Unit: "ms"},
	CLS:  {Name: "cls", Label: "CLS", Scale: 1000, Max: 100, Good: 0.1, Poor: 0.25},
	FCP:  {Name: "fcp", Label: "FCP", Scale: 1, Max: 600000, Good: 1800, Poor: 3000, Unit: "ms"},
	TTFB: {Name: "ttfb", Label: "TTFB", Scale: 1, Max: 600000, Good: 800, Poor: 1800, Unit: "ms"},
}

// ByName returns the metric named name ("lcp"), if any.
func ByName(name string) (Metric, bool) {
	for m := range Defs {
		if Defs[m].Name == name {
			return Metric(m), true
		}
	}
	return 0, false
}

// NumBuckets is the number of histogram buckets: bucket NumBuckets-1 also
// takes every value beyond its lower bound (2^29.75 stored units, far past
// any accepted value).
const NumBuckets = 240

// perOctave buckets per doubling.
const perOctave = 8

// Bucket returns the bucket of a value in the stored unit.
func Bucket(stored float64) int {
	if !(stored >= 1) { // also NaN
		return 0
	}
	if stored >= Lower(NumBuckets-1) {
		return NumBuckets - 1
	}
	i := 1 + int(math.Floor(perOctave*math.Log2(stored)))
	// Log2 can land a hair off at a bucket's edge: settle on the bounds.
	if stored < Lower(i) {
		i--
	} else if stored >= Upper(i) {
		i++
	}
	return i
}

// Lower returns the lower bound of bucket i in the stored unit.
func Lower(i int) float64 {
	if i <= 0 {
		return 0
	}
	return math.Exp2(float64(i-1) / perOctave)
}

// Upper returns the upper bound of bucket i in the stored unit.
func Upper(i int) float64 { return math.Exp2(float64(i) / perOctave) }

// Mid returns the value a quantile in bucket i reports: the geometric middle
// of the bucket (0.5 for bucket 0).
func Mid(i int) float64 {
	if i <= 0 {
		return 0.5
	}
	return math.Exp2((float64(i) - 0.5) / perOctave)
}

// Rating is a value's class under a metric's thresholds.
type Rating uint8

// The ratings.
const (
	Good Rating = iota
	NeedsImprovement
	Poor
)

// Rate classifies a value in the sent unit.
func (d *Def) Rate(v float64) Rating {
	switch {
	case v <= d.Good:
		return Good
	case v > d.Poor:
		return Poor
	}
	return NeedsImprovement
}

// Bin is one non-empty bucket of a histogram.
type Bin struct {
	Index uint16
	Count uint64
}

// Hist is a sparse histogram: its non-empty buckets sorted by index.
type Hist []Bin

// Add counts n values in bucket i.
func (h *Hist) Add(i int, n uint64) {
	bins := *h
	j := sort.Search(len(bins), func(k int) bool { return int(bins[k].Index) >= i })
	if j < len(bins) && int(bins[j].Index) == i {
		bins[j].Count += n
		return
	}
	bins = append(bins, Bin{})
	copy(bins[j+1:], bins[j:])
	bins[j] = Bin{Index: uint16(i), Count: n}
	*h = bins
}

// Merge adds o to h.
func (h *Hist) Merge(o Hist) {
	for _, b := range o {
		h.Add(int(b.Index), b.Count)
	}
}

// Total is the number of values counted.
func (h Hist) Total() uint64 {
	var n uint64
	for _, b := range h {
		n += b.Count
	}
	return n
}

// Quantile returns the q-quantile (0 < q <= 1) in the stored unit: the middle
// of the bucket that holds the value of rank ceil(q*n); 0 for an empty
// histogram.
func (h Hist) Quantile(q float64) float64 {
	n := h.Total()
	if n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(n)))
	rank = max(rank, 1)
	var seen uint64
	for _, b := range h {
		seen += b.Count
		if seen >= rank {
			return Mid(int(b.Index))
		}
	}
	return Mid(int(h[len(h)-1].Index))
}
