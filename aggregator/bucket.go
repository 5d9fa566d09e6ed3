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
	hour     int64 // unix seconds of the hour's start
	cells    map[cellKey]*cell
	distinct map[capKey]int
	// live counts the open sessions that started in this hour: their visit
	// metrics still change, so the bucket stays in memory.
	live int
}

func newBucket(hour int64) *bucket {
	return &bucket{hour: hour, cells: make(map[cellKey]*cell, 64), distinct: make(map[capKey]int, 16)}
}

// cell returns the cell for k, creating it unless its dimension already has
// maxValues distinct values in this bucket, in which case the value folds
// into "(other)" and fold is called. For event:props, each event name may
// have maxKeys distinct property keys (further keys fold into an "(other)"
// key) and each key maxValues values.
func (b *bucket) cell(k cellKey, maxValues, maxKeys int, fold func(dim string)) *cell {
	if c := b.cells[k]; c != nil {
		return c
	}
	other := schema.OtherValue
	valCap := capKey{dim: k.dim, goal: k.goal}
	if k.dim == schema.DimPropsPrefix {
		valCap.sub = k.sub
		if k.sub != other && b.distinct[valCap] == 0 { // a new property key
			keyCap := capKey{dim: k.dim, goal: k.goal, sub: "\x00keys"}
			if b.distinct[keyCap] >= maxKeys {
				fold(k.dim)
				k.sub, k.value = other, other
				valCap.sub = other
			} else {
				b.distinct[keyCap]++
			}
		}
	}
	if k.value != other {
		if b.distinct[valCap] >= maxValues {
			fold(k.dim)
			k.value = other
			if k.dim != schema.DimPropsPrefix {
				k.sub = ""
			}
		} else {
			b.distinct[valCap]++
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
