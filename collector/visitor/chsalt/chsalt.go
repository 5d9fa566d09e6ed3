// Package chsalt keeps the sealed daily visitor salts of an installation in
// ClickHouse (table salts, migration 0003), for visitor.NewSharedSalts.
//
// It only moves opaque sealed bytes: sealing, choosing among candidates and
// deciding what to drop is visitor's job. Past days are removed by dropping
// their partitions, not with a mutation, so that no merge or dump of the
// table can carry a past salt along.
package chsalt

import (
	"context"
	"fmt"
	"sync"
	"time"

	"analytics/schema"
)

// Store is a visitor.SaltStore over ClickHouse. It is safe for concurrent use.
type Store struct {
	open func(ctx context.Context) (*schema.DB, error)

	mu     sync.Mutex
	db     *schema.DB
	opened bool // db was opened by the Store, which closes it
}

// New returns a Store over an open, migrated database. Close does not close
// db.
func New(db *schema.DB) *Store { return &Store{db: db} }

// NewLazy returns a Store that connects with open on first use, and again
// after a failure, for collector nodes that start while ClickHouse is down.
// open must return a migrated database; Close closes it.
func NewLazy(open func(ctx context.Context) (*schema.DB, error)) *Store {
	return &Store{open: open, opened: true}
}

func (s *Store) conn(ctx context.Context) (*schema.DB, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db != nil {
		return s.db, nil
	}
	db, err := s.open(ctx)
	if err != nil {
		return nil, err
	}
	s.db = db
	return db, nil
}

// Close closes the connection if the Store opened it.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opened && s.db != nil {
		err := s.db.Close()
		s.db = nil
		return err
	}
	return nil
}

func date(day time.Time) string { return day.UTC().Format(time.DateOnly) }

// Load returns the sealed salts stored for day.
func (s *Store) Load(ctx context.Context, day time.Time) ([][]byte, error) {
	db, err := s.conn(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := db.Conn.Query(ctx, "SELECT DISTINCT sealed FROM salts WHERE day = toDate(?) ORDER BY sealed", date(day))
	if err != nil {
		return nil, fmt.Errorf("read salts: %w", err)
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var sealed string
		if err := rows.Scan(&sealed); err != nil {
			return nil, fmt.Errorf("read salts: %w", err)
		}
		out = append(out, []byte(sealed))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read salts: %w", err)
	}
	return out, nil
}

// Store adds a sealed salt for day.
func (s *Store) Store(ctx context.Context, day time.Time, sealed []byte) error {
	db, err := s.conn(ctx)
	if err != nil {
		return err
	}
	batch, err := db.Conn.PrepareBatch(ctx, "INSERT INTO salts (day, sealed, created)")
	if err != nil {
		return fmt.Errorf("write salt: %w", err)
	}
	defer batch.Close()
	d, _ := time.Parse(time.DateOnly, date(day))
	if err := batch.Append(d, string(sealed), time.Now().UTC()); err != nil {
		return fmt.Errorf("write salt: %w", err)
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("write salt: %w", err)
	}
	return nil
}

// Days lists the days that have rows, oldest first.
func (s *Store) Days(ctx context.Context) ([]time.Time, error) {
	db, err := s.conn(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := db.Conn.Query(ctx, "SELECT DISTINCT toString(day) AS d FROM salts ORDER BY d")
	if err != nil {
		return nil, fmt.Errorf("list salt days: %w", err)
	}
	defer rows.Close()
	var out []time.Time
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			return nil, fmt.Errorf("list salt days: %w", err)
		}
		t, err := time.Parse(time.DateOnly, d)
		if err != nil {
			return nil, fmt.Errorf("list salt days: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// DropBefore drops the partitions of every day before day.
func (s *Store) DropBefore(ctx context.Context, day time.Time) error {
	db, err := s.conn(ctx)
	if err != nil {
		return err
	}
	// Partitions are named by toYYYYMMDD(day). Active parts only: dropped
	// ones are gone from every query, and ClickHouse deletes their files
	// after old_parts_lifetime.
	rows, err := db.Conn.Query(ctx,
		"SELECT DISTINCT partition FROM system.parts WHERE database = ? AND table = 'salts' AND active AND partition < ?",
		db.Name, day.UTC().Format("20060102"))
	if err != nil {
		return fmt.Errorf("list salt partitions: %w", err)
	}
	var parts []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			rows.Close()
			return fmt.Errorf("list salt partitions: %w", err)
		}
		parts = append(parts, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list salt partitions: %w", err)
	}
	for _, p := range parts {
		if !isDigits(p) { // never interpolate anything but yyyymmdd
			return fmt.Errorf("drop salt partition: unexpected partition %q", p)
		}
		if err := db.Conn.Exec(ctx, "ALTER TABLE salts DROP PARTITION "+p); err != nil {
			return fmt.Errorf("drop salt partition %s: %w", p, err)
		}
	}
	return nil
}

func isDigits(s string) bool {
	if len(s) != 8 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
