package aggregator

import (
	"strings"

	"analytics/aggregator/sketch"
	"analytics/schema"
)

// cellKey names one cell of a bucket. sub qualifies value where a dimension
// pairs two event fields without building a string per event: the version of
// visit:browser_version and visit:os_version ("Chrome" + "131"), and the
// property key of event:props rows, whose goal is the event name.
type cellKey struct {
	dim   string
	goal  string
	value string
	sub   string
}

// row returns the stored dimension and value of a cell.
func (k cellKey) row() (dim, value string) {
	switch {
	case k.dim == schema.DimPropsPrefix:
		return k.dim + k.sub, k.value
	case k.sub != "":
		return k.dim, k.value + " " + k.sub
	}
	return k.dim, k.value
}

// capKey counts the distinct values of one dimension (one property key of
// one event name for props) in a bucket.
type capKey struct {
	dim, goal, sub string
}

// cell is one aggregate. All counters are cumulative for this process.
type cell struct {
	key                             cellKey
	pageviews, events               uint64
	engagements, scrollSum, engaged uint64
	visits, bounces, duration       uint64
	visitors                        *sketch.Sketch
	dirty                           bool
}

// bucket holds one site's cells of one UTC hour.
type bucket struct {
	hour int64 // unix seconds of the hour's start
	// writer is the id its rows are written under: the aggregator's, or a
	// distinct one for a bucket of an hour that had already closed.
	writer   string
	cells    map[cellKey]*cell
	distinct map[capKey]int
	// vitals are the web vitals histograms (technical data), made on the
	// first sample.
	vitals map[vitalKey]*vitalCell
	// live counts the open sessions that started in this hour: their visit
	// metrics still change, so the bucket stays in memory.
	live int
	// visits holds one shared copy of each distinct visitCells of the
	// visits started in this hour.
	visits map[visitCells]*visitCells
	// pages indexes the page cells by path (paths that folded into
	// "(other)" excepted): one string hash instead of a cellKey's four.
	pages map[string]*cell
}

// visitCells returns the bucket's shared copy of vc.
func (b *bucket) visitCells(vc *visitCells) *visitCells {
	if p := b.visits[*vc]; p != nil {
		return p
	}
	if b.visits == nil {
		b.visits = make(map[visitCells]*visitCells)
	}
	p := new(visitCells)
	*p = *vc
	b.visits[*vc] = p
	return p
}

func newBucket(hour int64) *bucket {
	return &bucket{hour: hour, cells: make(map[cellKey]*cell, 64), distinct: make(map[capKey]int, 16),
		pages: make(map[string]*cell, 64)}
}

// cell returns the cell for k, creating it unless a cap is reached, in which
// case the value folds into "(other)" and fold is called:
//   - each dimension keeps at most maxValues distinct values per bucket;
//   - event:props keeps at most maxKeys property keys per event name (the
//     caller passes the event name as the goal cell shows it, so names past
//     their own cap arrive as "(other)"), and at most maxValues values over
//     all its keys; past that, everything folds into one (other) cell.
//
// So the cells of a bucket are bounded whatever the stream.
func (b *bucket) cell(k cellKey, maxValues, maxKeys int, fold func(dim string)) *cell {
	if c := b.cells[k]; c != nil {
		return c
	}
	other := schema.OtherValue
	if k.dim == schema.DimPropsPrefix {
		if k.sub != other {
			known := capKey{dim: k.dim, goal: k.goal, sub: k.sub}
			if b.distinct[known] == 0 { // a new property key of this event
				keys := capKey{dim: k.dim, goal: k.goal, sub: "\x00keys"}
				if b.distinct[keys] >= maxKeys {
					fold(k.dim)
					k.sub, k.value = other, other
				} else {
					b.distinct[keys]++
					b.distinct[known] = 1
				}
			}
		}
		if k.value != other {
			if all := (capKey{dim: k.dim}); b.distinct[all] >= maxValues {
				fold(k.dim)
				k.goal, k.sub, k.value = other, other, other
			} else {
				b.distinct[all]++
			}
		}
	} else if k.value != other {
		if c := (capKey{dim: k.dim}); b.distinct[c] >= maxValues {
			fold(k.dim)
			k.value, k.sub = other, ""
		} else {
			b.distinct[c]++
		}
	}
	if c := b.cells[k]; c != nil { // an existing "(other)" cell
		return c
	}
	// Keys live as long as the bucket: they get their own copies, since
	// event strings are only valid during Add.
	k.dim, k.goal = strings.Clone(k.dim), strings.Clone(k.goal)
	k.value, k.sub = strings.Clone(k.value), strings.Clone(k.sub)
	c := &cell{key: k, visitors: sketch.New()}
	b.cells[k] = c
	return c
}
