package schema

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"time"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migration is one numbered .sql file of migrations/.
type Migration struct {
	Version int
	Name    string
	SQL     string // rendered for the server version
}

// templateData are the version-gated fragments a migration may use.
type templateData struct {
	// LowCardinalityString is LowCardinality(String) where the server supports
	// it without experimental settings (19.x and later), else String.
	LowCardinalityString string
}

func dataFor(v Version) templateData {
	d := templateData{LowCardinalityString: "String"}
	if v.AtLeast(19, 0) {
		d.LowCardinalityString = "LowCardinality(String)"
	}
	return d
}

// Migrations returns the embedded migrations rendered for server version v,
// in order.
func Migrations(v Version) ([]Migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		n, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a number and _", name)
		}
		raw, err := fs.ReadFile(migrationFiles, "migrations/"+name)
		if err != nil {
			return nil, err
		}
		tmpl, err := template.New(name).Option("missingkey=error").Parse(string(raw))
		if err != nil {
			return nil, fmt.Errorf("migration %s: %w", name, err)
		}
		var buf bytes.Buffer
		if err := tmpl.Execute(&buf, dataFor(v)); err != nil {
			return nil, fmt.Errorf("migration %s: %w", name, err)
		}
		out = append(out, Migration{Version: n, Name: strings.TrimSuffix(name, ".sql"), SQL: buf.String()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("migrations %s and %s share a number", out[i-1].Name, out[i].Name)
		}
	}
	return out, nil
}

// Migrate applies the migrations that db has not recorded yet, in order.
// Each migration consists of idempotent statements separated by ";" at the
// end of a line, so running Migrate twice, or from two processes at once, is
// safe: a statement that raced with another process's copy is a no-op.
func Migrate(ctx context.Context, db *DB, logger *slog.Logger) error {
	ms, err := Migrations(db.Version)
	if err != nil {
		return err
	}
	applied := map[int]bool{}
	// The first migration creates schema_migrations; before it exists there
	// is nothing to read.
	var exists uint64
	if err := db.Conn.QueryRow(ctx,
		"SELECT count() FROM system.tables WHERE database = ? AND name = 'schema_migrations'", db.Name).Scan(&exists); err != nil {
		return fmt.Errorf("read applied migrations: %w", err)
	}
	if exists > 0 {
		rows, err := db.Conn.Query(ctx, "SELECT DISTINCT version FROM schema_migrations")
		if err != nil {
			return fmt.Errorf("read applied migrations: %w", err)
		}
		for rows.Next() {
			var v uint32
			if err := rows.Scan(&v); err != nil {
				rows.Close()
				return fmt.Errorf("read applied migrations: %w", err)
			}
			applied[int(v)] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read applied migrations: %w", err)
		}
	}
	for _, m := range ms {
		if applied[m.Version] {
			continue
		}
		start := time.Now()
		for _, stmt := range statements(m.SQL) {
			if err := db.Conn.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("migration %s: %w", m.Name, err)
			}
		}
		if err := record(ctx, db, m); err != nil {
			return fmt.Errorf("migration %s: record: %w", m.Name, err)
		}
		logger.Info("migration applied", "migration", m.Name, "duration", time.Since(start).Round(time.Millisecond))
	}
	return nil
}

func record(ctx context.Context, db *DB, m Migration) error {
	batch, err := db.Conn.PrepareBatch(ctx, "INSERT INTO schema_migrations (version, name, applied_at)")
	if err != nil {
		return err
	}
	defer batch.Close()
	if err := batch.Append(uint32(m.Version), m.Name, time.Now().UTC()); err != nil {
		return err
	}
	return batch.Send()
}

// statements splits a migration into statements at semicolons that end a
// line, dropping comment-only and blank statements.
func statements(sql string) []string {
	var out []string
	for _, part := range strings.Split(sql, ";\n") {
		var body []string
		for _, line := range strings.Split(part, "\n") {
			t := strings.TrimSpace(line)
			if t == "" || strings.HasPrefix(t, "--") {
				continue
			}
			body = append(body, line)
		}
		s := strings.TrimSuffix(strings.TrimSpace(strings.Join(body, "\n")), ";")
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
