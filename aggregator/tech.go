package aggregator

import (
	"strings"

	"analytics/aggregator/vitals"
	"analytics/schema"
)

// Technical data for ops: web vitals histograms and JavaScript error counts.
// Neither touches visits, pageviews or the events metric: a "$web_vitals"
// beacon sent when a page is hidden is not a visitor's action.

// vitalKey names one histogram of a bucket.
type vitalKey struct {
	metric vitals.Metric
	dim    string
	value  string
}

// vitalCell is one cumulative histogram with its exact rating counts.
type vitalCell struct {
	hist              vitals.Hist
	count, good, poor uint64
	dirty             bool
}

// vitalDims are the breakdowns every vitals sample is counted in.
var vitalDims = [...]string{schema.DimVitals, schema.DimVitalsPage, schema.DimVitalsBrowser, schema.DimVitalsDevice}

// addVitals counts each measured metric of e in the site's histograms of
// bucket b: in total, and per page, browser family and device class.
func (a *Aggregator) addVitals(b *bucket, e *Event) {
	for m := range vitals.NumMetrics {
		if !e.Vitals.Has[m] {
			continue
		}
		def := &vitals.Defs[m]
		v := e.Vitals.Value[m]
		i := vitals.Bucket(v * def.Scale)
		r := def.Rate(v)
		for _, dim := range vitalDims {
			var value string
			switch dim {
			case schema.DimVitalsPage:
				value = e.Path
			case schema.DimVitalsBrowser:
				value = e.Browser
			case schema.DimVitalsDevice:
				value = e.Device
			}
			c := a.vitalCell(b, vitalKey{metric: m, dim: dim, value: value})
			c.hist.Add(i, 1)
			c.count++
			switch r {
			case vitals.Good:
				c.good++
			case vitals.Poor:
				c.poor++
			}
			c.dirty = true
		}
	}
}

// vitalCell returns the histogram for k, folding the value into "(other)"
// past maxValues distinct values per dimension and metric.
func (a *Aggregator) vitalCell(b *bucket, k vitalKey) *vitalCell {
	if c := b.vitals[k]; c != nil {
		return c
	}
	if k.value != schema.OtherValue {
		ck := capKey{dim: k.dim, goal: vitals.Defs[k.metric].Name}
		if b.distinct[ck] >= a.maxValues {
			a.fold(k.dim)
			k.value = schema.OtherValue
			if c := b.vitals[k]; c != nil {
				return c
			}
		} else {
			b.distinct[ck]++
		}
	}
	k.value = strings.Clone(k.value)
	c := &vitalCell{}
	if b.vitals == nil {
		b.vitals = make(map[vitalKey]*vitalCell)
	}
	b.vitals[k] = c
	a.nCells++
	return c
}

// addError counts a JavaScript error and its visitor under its fingerprint,
// and under that fingerprint by message, source, page and browser version.
// Every dimension is capped like the others, so a flood of distinct
// fingerprints folds into "(other)" instead of growing memory.
func (a *Aggregator) addError(b *bucket, e *Event) {
	count := func(c *cell) {
		c.events++
		c.visitors.Add(e.Visitor)
		c.dirty = true
	}
	fp := a.cell(b, cellKey{dim: schema.DimError, value: e.Error.Fingerprint})
	count(fp)
	goal := fp.key.value // "(other)" once the fingerprints of the hour are capped
	count(a.cell(b, cellKey{dim: schema.DimErrorMessage, goal: goal, value: e.Error.Message}))
	if e.Error.Source != "" {
		count(a.cell(b, cellKey{dim: schema.DimErrorSource, goal: goal, value: e.Error.Source}))
	}
	count(a.cell(b, cellKey{dim: schema.DimErrorPage, goal: goal, value: e.Path}))
	count(a.cell(b, cellKey{dim: schema.DimErrorBrowser, goal: goal, value: e.Browser, sub: e.BrowserVersion}))
}

// vitalRows appends the dirty histograms of bucket b as rows and marks them
// clean; it reports whether any was dirty.
func (a *Aggregator) vitalRows(rows []Row, site string, b *bucket, base Row, written *[]*vitalCell) ([]Row, bool) {
	dirty := false
	for k, c := range b.vitals {
		if !c.dirty {
			continue
		}
		dirty = true
		r := base
		r.Site, r.Dimension, r.Goal, r.Value = site, k.dim, vitals.Defs[k.metric].Name, k.value
		r.Events, r.Good, r.Poor = c.count, c.good, c.poor
		r.Hist = append(vitals.Hist(nil), c.hist...)
		rows = append(rows, r)
		c.dirty = false
		*written = append(*written, c)
	}
	return rows, dirty
}
