// Package chtest gives tests a fresh, migrated database on the private
// ClickHouse that scripts/test starts.
//
// Tests find the server through ANALYTICS_TEST_CLICKHOUSE_URL (a URL without
// database, e.g. clickhouse://127.0.0.1:19100). Without it a plain
// `go test ./...` skips them with a message saying how to run them; under
// scripts/test ANALYTICS_REQUIRE_CLICKHOUSE=1 turns that skip into a failure,
// so CI never passes by skipping.
package chtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"analytics/schema"
)

// ServerURL returns the test server's URL without a database, or skips (or
// fails under scripts/test) when none is configured.
func ServerURL(t testing.TB) string {
	t.Helper()
	u := strings.TrimRight(os.Getenv("ANALYTICS_TEST_CLICKHOUSE_URL"), "/")
	if u == "" {
		if os.Getenv("ANALYTICS_REQUIRE_CLICKHOUSE") == "1" {
			t.Fatal("ANALYTICS_TEST_CLICKHOUSE_URL is not set but ANALYTICS_REQUIRE_CLICKHOUSE=1: scripts/test must start ClickHouse")
		}
		t.Skip("needs ClickHouse: run scripts/test, or start one with scripts/clickhouse start and set ANALYTICS_TEST_CLICKHOUSE_URL=clickhouse://127.0.0.1:19100")
	}
	return u
}

var nonIdent = regexp.MustCompile(`[^a-z0-9_]+`)

// NewURL returns the URL of a new, empty database named after the test,
// dropped when the test ends.
func NewURL(t testing.TB) string {
	t.Helper()
	base := ServerURL(t)
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := nonIdent.ReplaceAllString(strings.ToLower(t.Name()), "_")
	if len(name) > 40 {
		name = name[:40]
	}
	name = "t_" + name + "_" + hex.EncodeToString(b[:])
	u := base + "/" + name
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		db, err := schema.Open(ctx, base+"/default")
		if err != nil {
			t.Logf("drop test database %s: %v", name, err)
			return
		}
		defer db.Close()
		if err := db.Conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name); err != nil {
			t.Logf("drop test database %s: %v", name, err)
		}
	})
	return u
}

// NewDB returns an open connection to a new, migrated database.
func NewDB(t testing.TB) *schema.DB {
	t.Helper()
	u := NewURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	db, err := schema.Open(ctx, u)
	if err != nil {
		t.Fatalf("open %s: %v", u, err)
	}
	t.Cleanup(func() { db.Close() })
	if err := schema.Migrate(ctx, db, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return db
}
