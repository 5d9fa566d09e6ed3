package schema_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"analytics/schema"
	"analytics/schema/chtest"
)

func TestParseVersion(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want schema.Version
		err  bool
	}{
		{in: "18.16.1", want: schema.Version{Major: 18, Minor: 16, Patch: 1}},
		{in: "25.3.2.39", want: schema.Version{Major: 25, Minor: 3, Patch: 2}},
		{in: "24.8", want: schema.Version{Major: 24, Minor: 8}},
		{in: "x.y", err: true},
		{in: "", err: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := schema.ParseVersion(tc.in)
			if (err != nil) != tc.err || got != tc.want {
				t.Fatalf("ParseVersion(%q) = %v, %v; want %v, err %v", tc.in, got, err, tc.want, tc.err)
			}
		})
	}
}

func TestMigrationsRenderPerVersion(t *testing.T) {
	old, err := schema.Migrations(schema.Version{Major: 18, Minor: 16, Patch: 1})
	if err != nil {
		t.Fatal(err)
	}
	cur, err := schema.Migrations(schema.Version{Major: 25, Minor: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(old) == 0 || len(old) != len(cur) {
		t.Fatalf("got %d and %d migrations", len(old), len(cur))
	}
	for i := range old {
		if i > 0 && old[i].Version <= old[i-1].Version {
			t.Errorf("migrations out of order: %s after %s", old[i].Name, old[i-1].Name)
		}
		if strings.Contains(old[i].SQL, "LowCardinality") {
			t.Errorf("%s uses LowCardinality on 18.16, which needs an experimental setting there", old[i].Name)
		}
		if strings.Contains(old[i].SQL, " TTL ") {
			t.Errorf("%s uses TTL, which 18.16 lacks: retention drops partitions", old[i].Name)
		}
	}
	all := ""
	for _, m := range cur {
		all += m.SQL
	}
	if !strings.Contains(all, "LowCardinality(String)") {
		t.Error("current versions should get LowCardinality columns")
	}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestMigrateTwiceAndConcurrently applies the migrations from four
// connections at once, then once more, against the real server.
func TestMigrateTwiceAndConcurrently(t *testing.T) {
	url := chtest.NewURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := schema.Open(ctx, url)
			if err != nil {
				errs <- err
				return
			}
			defer db.Close()
			errs <- schema.Migrate(ctx, db, quiet())
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent migrate: %v", err)
		}
	}
	db, err := schema.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := schema.Migrate(ctx, db, quiet()); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	ms, _ := schema.Migrations(db.Version)
	var n uint64
	if err := db.Conn.QueryRow(ctx, "SELECT uniqExact(version) FROM schema_migrations").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if int(n) != len(ms) {
		t.Fatalf("schema_migrations records %d versions, want %d", n, len(ms))
	}
	var engine, partition string
	if err := db.Conn.QueryRow(ctx,
		"SELECT engine, partition_key FROM system.tables WHERE database = ? AND name = 'stats_hourly'", db.Name).Scan(&engine, &partition); err != nil {
		// partition_key is missing from system.tables on old versions.
		if err := db.Conn.QueryRow(ctx,
			"SELECT engine FROM system.tables WHERE database = ? AND name = 'stats_hourly'", db.Name).Scan(&engine); err != nil {
			t.Fatal(err)
		}
	}
	if engine != "ReplacingMergeTree" {
		t.Fatalf("stats_hourly engine %q", engine)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct{ url, want string }{
		{"http://127.0.0.1:8123/analytics", "native protocol"},
		{"clickhouse://127.0.0.1:9000/bad-name", "database name"},
		{"clickhouse://user:secret@127.0.0.1:1/analytics", "connect to clickhouse"},
	} {
		_, err := schema.Open(ctx, tc.url)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%s) = %v, want error containing %q", tc.url, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("error leaks the password: %v", err)
		}
	}
}
