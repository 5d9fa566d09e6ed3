package schema

import (
	"context"
	"fmt"
	"time"
)

// TableRows is the number of rows a site has in one table.
type TableRows struct {
	Table string `json:"table"`
	Rows  uint64 `json:"rows"`
}

// SiteTables lists the tables of the database that have a site column: the
// tables holding per-site data.
func SiteTables(ctx context.Context, db *DB) ([]string, error) {
	rows, err := db.Conn.Query(ctx,
		"SELECT table FROM system.columns WHERE database = ? AND name = 'site' ORDER BY table", db.Name)
	if err != nil {
		return nil, fmt.Errorf("list tables with a site column: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, fmt.Errorf("list tables with a site column: %w", err)
		}
		if !identRe.MatchString(t) {
			return nil, fmt.Errorf("table name %q: not a plain identifier", t)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// SiteRows counts the rows of site in every table with a site column.
func SiteRows(ctx context.Context, db *DB, site string) ([]TableRows, error) {
	tables, err := SiteTables(ctx, db)
	if err != nil {
		return nil, err
	}
	out := make([]TableRows, 0, len(tables))
	for _, t := range tables {
		var n uint64
		if err := db.Conn.QueryRow(ctx, "SELECT count() FROM "+t+" WHERE site = ?", site).Scan(&n); err != nil {
			return nil, fmt.Errorf("count rows of %s in %s: %w", site, t, err)
		}
		out = append(out, TableRows{Table: t, Rows: n})
	}
	return out, nil
}

// PurgeSite deletes every row of site from every table with a site column,
// whether or not the site is still configured, and waits up to wait for the
// deletes (ClickHouse mutations) to finish. It returns the row counts before
// and after.
func PurgeSite(ctx context.Context, db *DB, site string, wait time.Duration) (before, after []TableRows, err error) {
	if site == "" {
		return nil, nil, fmt.Errorf("purge: no site given")
	}
	before, err = SiteRows(ctx, db, site)
	if err != nil {
		return nil, nil, err
	}
	deadline := time.Now().Add(wait)
	for _, t := range before {
		if t.Rows == 0 {
			continue
		}
		if err := db.Conn.Exec(ctx, "ALTER TABLE "+t.Table+" DELETE WHERE site = ?", site); err != nil {
			return before, nil, fmt.Errorf("purge %s from %s: %w", site, t.Table, err)
		}
	}
	for _, t := range before {
		if t.Rows == 0 {
			continue
		}
		if err := WaitMutations(ctx, db, t.Table, max(time.Until(deadline), 0)); err != nil {
			return before, nil, fmt.Errorf("purge %s: %w", site, err)
		}
	}
	after, err = SiteRows(ctx, db, site)
	return before, after, err
}
