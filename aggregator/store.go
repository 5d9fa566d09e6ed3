package aggregator

import (
	"context"
	"time"

	"analytics/aggregator/vitals"
)

// Row is one cumulative aggregate: the totals so far of one (site, hour,
// dimension, goal, value) cell as counted by one writer (collector process).
// A later Row for the same key with a higher Ver replaces an earlier one, so
// writing the same or an older state again never double counts.
type Row struct {
	Site      string
	Hour      time.Time // UTC, truncated to the hour (to the minute for schema.DimRealtime rows)
	Dimension string    // schema.Dim* name; "" for the site totals
	Goal      string    // the event name of an event:props:* row, else ""
	Value     string
	Writer    string
	Ver       uint64

	// Event metrics, counted in the hour the event arrived.
	Pageviews   uint64
	Events      uint64
	Engagements uint64 // pageviews that sent scroll depth or engaged time
	ScrollSum   uint64 // sum of the maximum scroll depth (%) of those pageviews
	EngagedMS   uint64 // engaged time on page, milliseconds

	// Visit metrics, counted in the hour the visit started.
	Visits   uint64
	Bounces  uint64
	Duration uint64 // seconds

	Sketch []byte // HyperLogLog of visitor keys (aggregator/sketch binary form)

	// Web vitals rows (schema.IsVitals(Dimension); Goal is the metric name,
	// Events the number of values): the values rated good and poor, and
	// the histogram in the fixed layout of aggregator/vitals.
	Good, Poor uint64
	Hist       vitals.Hist
}

// Store persists rows. Write must be idempotent for rows with the same key
// and Ver: the aggregator writes a failed batch again on the next flush.
type Store interface {
	Write(ctx context.Context, rows []Row) error
}
