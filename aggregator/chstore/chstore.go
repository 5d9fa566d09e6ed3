// Package chstore is the aggregator's Store over ClickHouse: it writes
// cumulative rows to stats_hourly with batched inserts (PrepareBatch with an
// explicit column list, the only insert form that works on every ClickHouse
// version we support).
package chstore

import (
	"context"
	"fmt"

	"analytics/aggregator"
	"analytics/schema"
)

// maxBatch bounds the rows sent in one INSERT.
const maxBatch = 50000

const insertSQL = "INSERT INTO stats_hourly (site, hour, dimension, goal, value, writer, ver, " +
	"pageviews, events, visits, bounces, duration, engagements, scroll_sum, engaged_ms, sketch)"

// Store writes aggregator rows to ClickHouse.
type Store struct {
	db *schema.DB
}

// New returns a Store over an open, migrated database.
func New(db *schema.DB) *Store { return &Store{db: db} }

// Write inserts rows in batches. A failed batch may have been partly stored;
// writing it again is harmless because rows are cumulative and versioned.
func (s *Store) Write(ctx context.Context, rows []aggregator.Row) error {
	for len(rows) > 0 {
		n := min(len(rows), maxBatch)
		if err := s.write(ctx, rows[:n]); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

func (s *Store) write(ctx context.Context, rows []aggregator.Row) error {
	batch, err := s.db.Conn.PrepareBatch(ctx, insertSQL)
	if err != nil {
		return fmt.Errorf("prepare insert into stats_hourly: %w", err)
	}
	defer batch.Close()
	for i := range rows {
		r := &rows[i]
		if err := batch.Append(r.Site, r.Hour, r.Dimension, r.Goal, r.Value, r.Writer, r.Ver,
			r.Pageviews, r.Events, r.Visits, r.Bounces, r.Duration, r.Engagements, r.ScrollSum, r.EngagedMS,
			string(r.Sketch)); err != nil {
			return fmt.Errorf("append row to stats_hourly batch: %w", err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert %d rows into stats_hourly: %w", len(rows), err)
	}
	return nil
}
