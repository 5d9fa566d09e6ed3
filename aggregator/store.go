package aggregator

import (
	"context"
	"time"
)

// Row is one cumulative aggregate: the totals so far of one (site, hour,
// dimension, value) cell as counted by one writer (collector process).
// A later Row for the same key with a higher Ver replaces an earlier one, so
// writing the same or an older state again never double counts.
type Row struct {
	Site      string
	Hour      time.Time // UTC, truncated to the hour
	Dimension string    // schema.Dim* name; "" for the site totals
	Value     string
	Writer    string
	Ver       uint64
	Pageviews uint64
	Events    uint64
	Sketch    []byte // HyperLogLog of visitor keys (aggregator/sketch binary form)
}

// Store persists rows. Write must be idempotent for rows with the same key
// and Ver: the aggregator writes a failed batch again on the next flush.
type Store interface {
	Write(ctx context.Context, rows []Row) error
}
