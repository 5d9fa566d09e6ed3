// Package chstore is the aggregator's Store over ClickHouse: it writes
// cumulative rows to stats_hourly with batched inserts (PrepareBatch with an
// explicit column list, the only insert form that works on every ClickHouse
// version we support).
package chstore

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"analytics/aggregator"
	"analytics/schema"
)

// maxBatch bounds the rows sent in one INSERT.
const maxBatch = 50000

// table is where one kind of row goes: its insert, with the explicit column
// list 18.16 needs, and the row's values in that order.
type table struct {
	name, insert string
	values       func(r *aggregator.Row) []any
}

var (
	hourlyTable = table{"stats_hourly",
		"INSERT INTO stats_hourly (site, hour, dimension, goal, value, writer, ver, " +
			"pageviews, events, visits, bounces, duration, engagements, scroll_sum, engaged_ms, sketch)",
		func(r *aggregator.Row) []any {
			return []any{r.Site, r.Hour, r.Dimension, r.Goal, r.Value, r.Writer, r.Ver,
				r.Pageviews, r.Events, r.Visits, r.Bounces, r.Duration, r.Engagements, r.ScrollSum, r.EngagedMS,
				string(r.Sketch)}
		}}
	// Per-minute realtime rows (schema.DimRealtime).
	minutelyTable = table{"stats_minutely",
		"INSERT INTO stats_minutely (site, minute, writer, ver, pageviews, events, sketch)",
		func(r *aggregator.Row) []any {
			return []any{r.Site, r.Hour, r.Writer, r.Ver, r.Pageviews, r.Events, string(r.Sketch)}
		}}
	// Web vitals histograms (schema.IsVitals dimensions): the metric name
	// travels in the goal field, the sample count in events.
	vitalsTable = table{"vitals_hourly",
		"INSERT INTO vitals_hourly (site, hour, metric, dimension, value, writer, ver, samples, good, poor, buckets, counts)",
		func(r *aggregator.Row) []any {
			idx, counts := make([]uint16, len(r.Hist)), make([]uint64, len(r.Hist))
			for i, b := range r.Hist {
				idx[i], counts[i] = b.Index, b.Count
			}
			return []any{r.Site, r.Hour, r.Goal, r.Dimension, r.Value, r.Writer, r.Ver, r.Events, r.Good, r.Poor, idx, counts}
		}}
	// Per-minute drop counts (schema.DimDrops): the reason is the value.
	dropsTable = table{"drops_minutely",
		"INSERT INTO drops_minutely (site, minute, reason, writer, ver, dropped)",
		func(r *aggregator.Row) []any {
			return []any{r.Site, r.Hour, r.Value, r.Writer, r.Ver, r.Events}
		}}
)

// Store writes aggregator rows to ClickHouse.
type Store struct {
	mu   sync.Mutex
	db   *schema.DB
	open func(context.Context) (*schema.DB, error)
}

// New returns a Store over an open, migrated database.
func New(db *schema.DB) *Store { return &Store{db: db} }

// NewLazy returns a Store that connects (and migrates) with open on its
// first write, and again after a write failed, so that a collector node
// can start, count and spool while ClickHouse is still down.
func NewLazy(open func(context.Context) (*schema.DB, error)) *Store { return &Store{open: open} }

// Write inserts rows in batches. A failed batch may have been partly stored;
// writing it again is harmless because rows are cumulative and versioned.
func (s *Store) Write(ctx context.Context, rows []aggregator.Row) error {
	db, err := s.conn(ctx)
	if err != nil {
		return err
	}
	hourly, minutely, drops, vitals := rows[:0:0], rows[:0:0], rows[:0:0], rows[:0:0]
	for _, r := range rows {
		switch {
		case r.Dimension == schema.DimRealtime:
			minutely = append(minutely, r)
		case r.Dimension == schema.DimDrops:
			drops = append(drops, r)
		case schema.IsVitals(r.Dimension):
			vitals = append(vitals, r)
		default:
			hourly = append(hourly, r)
		}
	}
	for _, part := range []struct {
		t    table
		rows []aggregator.Row
	}{{hourlyTable, hourly}, {minutelyTable, minutely}, {dropsTable, drops}, {vitalsTable, vitals}} {
		for rs := part.rows; len(rs) > 0; {
			n := min(len(rs), maxBatch)
			if err := write(ctx, db, part.t, rs[:n]); err != nil {
				s.reset(db)
				return err
			}
			rs = rs[n:]
		}
	}
	return nil
}

func write(ctx context.Context, db *schema.DB, t table, rows []aggregator.Row) error {
	batch, err := db.Conn.PrepareBatch(ctx, t.insert)
	if err != nil {
		return fmt.Errorf("prepare insert into %s: %w", t.name, err)
	}
	defer batch.Close()
	for i := range rows {
		if err := batch.Append(t.values(&rows[i])...); err != nil {
			return fmt.Errorf("append row to %s batch: %w", t.name, err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert %d rows into %s: %w", len(rows), t.name, err)
	}
	return nil
}

func (s *Store) conn(ctx context.Context) (*schema.DB, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db != nil {
		return s.db, nil
	}
	if s.open == nil {
		return nil, errors.New("chstore: no database")
	}
	db, err := s.open(ctx)
	if err != nil {
		return nil, err
	}
	s.db = db
	return db, nil
}

// reset drops a lazily opened connection after a failure, so the next write
// reconnects; a connection given to New is kept (the driver redials).
func (s *Store) reset(db *schema.DB) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open != nil && s.db == db {
		db.Close()
		s.db = nil
	}
}

// Close closes a connection the Store opened itself.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open != nil && s.db != nil {
		err := s.db.Close()
		s.db = nil
		return err
	}
	return nil
}
