package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"time"

	"analytics/collector/visitor"
	"analytics/collector/visitor/chsalt"
	"analytics/schema"
)

// openSalts builds the visitor salts: shared by every node through
// ClickHouse when a salt key is set, else random per node in data-dir/salt.
// db is nil for a collect node started while ClickHouse is down: it then
// starts on data-dir's copy of today's salt, or fails, and syncs later. The
// returned func releases what openSalts opened.
func openSalts(s *settings, db *schema.DB, logger *slog.Logger) (*visitor.Salts, func(), error) {
	dir := filepath.Join(s.dataDir, "salt")
	if s.saltKey == "" {
		logger.Warn("no salt key: this node has a visitor salt of its own; several collect nodes need the same ANALYTICS_SALT_KEY to agree on visitor keys")
		salts, err := visitor.NewSalts(dir, time.Now, visitor.DefaultGrace)
		return salts, func() {}, err
	}
	var store *chsalt.Store
	if db != nil {
		store = chsalt.New(db)
	} else {
		store = chsalt.NewLazy(func(ctx context.Context) (*schema.DB, error) { return openDB(ctx, s, logger) })
	}
	salts, err := visitor.NewSharedSalts(dir, store, []byte(s.saltKey), time.Now, visitor.DefaultGrace)
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	logger.Info("visitor salt shared with the other nodes through ClickHouse")
	return salts, func() { store.Close() }, nil
}
