// Package audit checks a live installation for what the privacy design
// promises (DESIGN.md section 3): that the database holds only documented
// aggregate tables and no raw client data (IP addresses, User-Agents, e-mail
// addresses, query strings, tokens), that the data directory is private and
// its spool files hold aggregates only, that only the current day's salt
// exists, and that retention is being enforced. `analytics audit` prints its
// Report; the format is described in docs/audit.md.
//
// The audit never prints a value it flags, only a masked excerpt, and never
// reads a salt file's contents.
package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"analytics/aggregator/spool"
	"analytics/schema"
)

// Options configure Run.
type Options struct {
	DB *schema.DB
	// DataDir is the process data directory (salt/ and spool/ below it);
	// empty skips the data directory checks.
	DataDir string
	// Retention maps configured site domains to retention in months; sites
	// found in the data but not here get schema.DefaultRetentionMonths.
	Retention map[string]int
	// SaltGrace is how long a salt may outlive its day (default 5 minutes).
	SaltGrace time.Duration
	// Inventory is the privacy document (/privacy.json), included as is.
	Inventory json.RawMessage
	// SampleRows bounds the distinct values read per column (default 10000).
	SampleRows int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Finding is one thing that breaks a privacy promise or is undocumented.
type Finding struct {
	Check   string `json:"check"` // schema, type, value, file, spool, salt, retention
	Table   string `json:"table,omitempty"`
	Column  string `json:"column,omitempty"`
	Path    string `json:"path,omitempty"`
	Message string `json:"message"`
	// Example is a masked excerpt of a flagged value: never the value itself.
	Example string `json:"example,omitempty"`
}

// Column is a column of the database as found.
type Column struct {
	Name    string `json:"name"`
	Type    string `json:"type"`
	Meaning string `json:"meaning"`
	// Sampled is the number of distinct values scanned.
	Sampled int `json:"sampled,omitempty"`
}

// Table is a table of the database as found.
type Table struct {
	Name    string   `json:"name"`
	Meaning string   `json:"meaning"`
	Columns []Column `json:"columns"`
}

// SiteRetention is the retention status of one site.
type SiteRetention struct {
	Site       string `json:"site"`
	Months     int    `json:"retention_months"`
	Configured bool   `json:"configured"`
	// Oldest is the month of the site's oldest row (YYYY-MM), "" if none.
	Oldest string `json:"oldest_month"`
	// KeepFrom is the first month the retention keeps (YYYY-MM).
	KeepFrom string `json:"keep_from"`
	OK       bool   `json:"ok"`
}

// SaltState describes the salt directory: file names (days) only.
type SaltState struct {
	Dir   string   `json:"dir"`
	Files int      `json:"files"`
	Days  []string `json:"days"`
	// SharedDays are the days of the sealed salts in the salts table
	// (shared mode), nil when the table does not exist.
	SharedDays []string `json:"shared_days,omitempty"`
}

// SpoolState describes the spool directory.
type SpoolState struct {
	Dir   string `json:"dir"`
	Files int    `json:"files"`
	Rows  int    `json:"rows"`
}

// Report is the audit's result.
type Report struct {
	Time       time.Time       `json:"time"`
	Database   string          `json:"database"`
	ClickHouse string          `json:"clickhouse"`
	DataDir    string          `json:"data_dir,omitempty"`
	Tables     []Table         `json:"tables"`
	Retention  []SiteRetention `json:"retention"`
	Salts      *SaltState      `json:"salts,omitempty"`
	Spool      *SpoolState     `json:"spool,omitempty"`
	Findings   []Finding       `json:"findings"`
	Count      int             `json:"findings_count"`
	Inventory  json.RawMessage `json:"inventory,omitempty"`
}

func (r *Report) add(f Finding) { r.Findings = append(r.Findings, f) }

// forbiddenTypes are column types made for raw identifiers: IP addresses,
// (country codes aside) fixed-size binary ids, UUIDs and 128-bit visitor ids.
var forbiddenTypes = []string{"FixedString(4)", "FixedString(16)", "IPv4", "IPv6", "UUID", "UInt128", "Int128"}

// pathDimensions are the stats_hourly dimensions whose values are paths or
// coarsened URLs, where long random tokens are also suspicious.
var pathDimensions = []string{
	schema.DimPage, schema.DimEntryPage, schema.DimExitPage,
	schema.DimPropsPrefix + "path", schema.DimPropsPrefix + "url",
}

// Run audits the installation. An error means the audit could not run;
// what it found is in the Report's Findings.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if opts.DB == nil {
		return nil, errors.New("audit: no database")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.SampleRows <= 0 {
		opts.SampleRows = 10000
	}
	if opts.SaltGrace <= 0 {
		opts.SaltGrace = 5 * time.Minute
	}
	r := &Report{
		Time: opts.Now().UTC(), Database: opts.DB.Name, ClickHouse: opts.DB.Version.String(),
		DataDir: opts.DataDir, Inventory: opts.Inventory, Findings: []Finding{},
	}
	if err := auditTables(ctx, opts, r); err != nil {
		return nil, err
	}
	if err := auditRetention(ctx, opts, r); err != nil {
		return nil, err
	}
	if err := auditSharedSalts(ctx, opts, r); err != nil {
		return nil, err
	}
	if opts.DataDir != "" {
		if err := auditSalts(opts, r); err != nil {
			return nil, err
		}
		if err := auditSpool(opts, r); err != nil {
			return nil, err
		}
	}
	r.Count = len(r.Findings)
	return r, nil
}

func auditTables(ctx context.Context, opts Options, r *Report) error {
	db := opts.DB
	// No ORDER BY: system.columns lists a table's columns in their order,
	// and 18.16 has no position column to sort by.
	rows, err := db.Conn.Query(ctx, "SELECT table, name, type FROM system.columns WHERE database = ?", db.Name)
	if err != nil {
		return fmt.Errorf("audit: list columns: %w", err)
	}
	docs := map[string]schema.TableDoc{}
	for _, t := range schema.Tables {
		docs[t.Name] = t
	}
	var tables []Table
	index := map[string]int{}
	for rows.Next() {
		var table, name, typ string
		if err := rows.Scan(&table, &name, &typ); err != nil {
			rows.Close()
			return fmt.Errorf("audit: list columns: %w", err)
		}
		i, ok := index[table]
		if !ok {
			i = len(tables)
			index[table] = i
			tables = append(tables, Table{Name: table, Meaning: docs[table].Meaning})
		}
		tables[i].Columns = append(tables[i].Columns, Column{Name: name, Type: typ})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("audit: list columns: %w", err)
	}
	sort.SliceStable(tables, func(i, j int) bool { return tables[i].Name < tables[j].Name })
	for ti := range tables {
		t := &tables[ti]
		doc, known := docs[t.Name]
		if !known {
			r.add(Finding{Check: "schema", Table: t.Name, Message: "table is not documented (schema.Tables): new storage must say what it holds"})
		}
		for ci := range t.Columns {
			c := &t.Columns[ci]
			var cdoc *schema.ColumnDoc
			for k := range doc.Columns {
				if doc.Columns[k].Name == c.Name {
					cdoc = &doc.Columns[k]
				}
			}
			if cdoc != nil {
				c.Meaning = cdoc.Meaning
			} else if known {
				r.add(Finding{Check: "schema", Table: t.Name, Column: c.Name, Message: "column is not documented (schema.Tables)"})
			}
			for _, bad := range forbiddenTypes {
				if strings.Contains(c.Type, bad) {
					r.add(Finding{Check: "type", Table: t.Name, Column: c.Name,
						Message: fmt.Sprintf("type %s is made for raw identifiers (IP addresses, UUIDs, visitor ids)", c.Type)})
				}
			}
			if (cdoc != nil && cdoc.Binary) || !strings.Contains(c.Type, "String") {
				continue
			}
			n, err := sampleColumn(ctx, opts, r, t.Name, c)
			if err != nil {
				return err
			}
			c.Sampled = n
		}
	}
	r.Tables = tables
	return nil
}

// sampleColumn scans up to opts.SampleRows distinct values of a string
// column for raw client data and reports the first hit.
func sampleColumn(ctx context.Context, opts Options, r *Report, table string, c *Column) (int, error) {
	if !identOK(table) || !identOK(c.Name) {
		r.add(Finding{Check: "schema", Table: table, Column: c.Name, Message: "name is not a plain identifier; not sampled"})
		return 0, nil
	}
	expr := c.Name
	switch {
	case strings.HasPrefix(c.Type, "Array("):
		expr = "arrayJoin(" + c.Name + ")"
	case strings.Contains(c.Type, "Nullable("):
		expr = "ifNull(" + c.Name + ", '')"
	}
	expr = "toString(" + expr + ")"
	hits := map[string]bool{} // one finding per kind and column is enough to act on
	n, err := sampleQuery(ctx, opts, r, table, c.Name, fmt.Sprintf("SELECT DISTINCT %s FROM %s LIMIT %d", expr, table, opts.SampleRows), false, hits)
	if err != nil || table != "stats_hourly" || c.Name != "value" {
		return n, err
	}
	// Page paths: also look for tokens the path templating should have removed.
	in := make([]string, len(pathDimensions))
	for i, d := range pathDimensions {
		in[i] = "'" + d + "'"
	}
	_, err = sampleQuery(ctx, opts, r, table, c.Name, fmt.Sprintf("SELECT DISTINCT %s FROM %s WHERE dimension IN (%s) LIMIT %d",
		expr, table, strings.Join(in, ", "), opts.SampleRows), true, hits)
	return n, err
}

func sampleQuery(ctx context.Context, opts Options, r *Report, table, column, query string, path bool, hits map[string]bool) (int, error) {
	rows, err := opts.DB.Conn.Query(ctx, query)
	if err != nil {
		return 0, fmt.Errorf("audit: sample %s.%s: %w", table, column, err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return n, fmt.Errorf("audit: sample %s.%s: %w", table, column, err)
		}
		n++
		if h, ok := scan(v, path); ok && !hits[h.kind] {
			hits[h.kind] = true
			r.add(Finding{Check: "value", Table: table, Column: column,
				Message: h.kind + " in stored values", Example: redact(v, h)})
		}
	}
	return n, rows.Err()
}

func identOK(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(isAlnum(c) || c == '_') {
			return false
		}
	}
	return true
}

// retentionTables are the tables retention applies to, with the
// expression of a row's date: the oldest row of a site in any of them is
// compared with its retention.
var retentionTables = []struct{ table, date string }{
	{"stats_hourly", "hour"}, {"vitals_hourly", "hour"}, {"stats_daily", "day"}, {"stats_daily_top", "day"}, {"stats_monthly", "month"},
}

func auditRetention(ctx context.Context, opts Options, r *Report) error {
	oldest := map[string]time.Time{}
	oldestIn := map[string]string{}
	for _, rt := range retentionTables {
		rows, err := opts.DB.Conn.Query(ctx, "SELECT site, toString(min("+rt.date+")) FROM "+rt.table+" GROUP BY site")
		if err != nil {
			return fmt.Errorf("audit: oldest rows per site in %s: %w", rt.table, err)
		}
		for rows.Next() {
			var site, first string
			if err := rows.Scan(&site, &first); err != nil {
				rows.Close()
				return fmt.Errorf("audit: oldest rows per site in %s: %w", rt.table, err)
			}
			t, err := time.Parse(time.DateOnly, first[:min(len(first), 10)])
			if err != nil {
				rows.Close()
				return fmt.Errorf("audit: oldest row of %s in %s: %q: %w", site, rt.table, first, err)
			}
			if o, ok := oldest[site]; !ok || t.Before(o) {
				oldest[site], oldestIn[site] = t, rt.table
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("audit: oldest rows per site in %s: %w", rt.table, err)
		}
	}
	sites := map[string]bool{}
	for s := range opts.Retention {
		sites[s] = true
	}
	for s := range oldest {
		sites[s] = true
	}
	names := make([]string, 0, len(sites))
	for s := range sites {
		names = append(names, s)
	}
	sort.Strings(names)
	for _, s := range names {
		months, configured := opts.Retention[s]
		if !configured {
			months = schema.DefaultRetentionMonths
		}
		keep := schema.RetentionCutoff(r.Time, months)
		st := SiteRetention{Site: s, Months: months, Configured: configured, KeepFrom: keep.Format("2006-01"), OK: true}
		if t, ok := oldest[s]; ok {
			st.Oldest = t.UTC().Format("2006-01")
			if t.Before(keep) {
				st.OK = false
				r.add(Finding{Check: "retention", Table: oldestIn[s],
					Message: fmt.Sprintf("site %s keeps data from %s, older than its retention of %d months (keeps from %s): run analytics retention", s, st.Oldest, months, st.KeepFrom)})
			}
		}
		r.Retention = append(r.Retention, st)
	}
	return nil
}

// checkMode reports a directory open to others than the owner (want 0700)
// or a file readable by others (want 0600).
func checkMode(r *Report, check, path string, info fs.FileInfo) {
	perm := info.Mode().Perm()
	if perm&0o077 == 0 {
		return
	}
	want := "0600"
	if info.IsDir() {
		want = "0700"
	}
	r.add(Finding{Check: check, Path: path, Message: fmt.Sprintf("mode %04o is open to other users; want %s", perm, want)})
}

// saltDayOK reports whether a salt of day (YYYY-MM-DD) may still exist at
// now: today's, and yesterday's within the grace period.
func saltDayOK(day string, now time.Time, grace time.Duration) bool {
	today := now.Format("2006-01-02")
	yesterday := now.AddDate(0, 0, -1).Format("2006-01-02")
	return day == today || (day == yesterday && now.Sub(now.Truncate(24*time.Hour)) < grace)
}

// auditSharedSalts lists the days of the sealed salts that collector nodes
// share through the salts table, if there is one; it reads no salt.
func auditSharedSalts(ctx context.Context, opts Options, r *Report) error {
	found := false
	for _, t := range r.Tables {
		found = found || t.Name == "salts"
	}
	if !found {
		return nil
	}
	rows, err := opts.DB.Conn.Query(ctx, "SELECT DISTINCT toString(day) FROM salts ORDER BY 1")
	if err != nil {
		return fmt.Errorf("audit: list shared salt days: %w", err)
	}
	defer rows.Close()
	days := []string{}
	for rows.Next() {
		var day string
		if err := rows.Scan(&day); err != nil {
			return fmt.Errorf("audit: list shared salt days: %w", err)
		}
		days = append(days, day)
		if !saltDayOK(day, r.Time, opts.SaltGrace) {
			r.add(Finding{Check: "salt", Table: "salts", Message: fmt.Sprintf("shared salt of %s outlived its day", day)})
		}
	}
	if r.Salts == nil {
		r.Salts = &SaltState{Days: []string{}}
	}
	r.Salts.SharedDays = days
	return rows.Err()
}

func auditSalts(opts Options, r *Report) error {
	dir := filepath.Join(opts.DataDir, "salt")
	if r.Salts == nil {
		r.Salts = &SaltState{Days: []string{}}
	}
	st := r.Salts
	st.Dir = dir
	info, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // a dashboard-only installation has no salts
	}
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	checkMode(r, "file", dir, info)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	now := r.Time
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		info, err := e.Info()
		if err != nil {
			continue // deleted meanwhile
		}
		checkMode(r, "file", path, info)
		if e.IsDir() {
			r.add(Finding{Check: "salt", Path: path, Message: "unexpected directory among the salts"})
			continue
		}
		name := e.Name()
		if strings.HasPrefix(name, ".salt-") && strings.HasSuffix(name, ".tmp") {
			if now.Sub(info.ModTime()) > opts.SaltGrace {
				r.add(Finding{Check: "salt", Path: path, Message: "leftover temporary salt file"})
			}
			continue
		}
		day, ok := strings.CutPrefix(name, "salt-")
		if _, err := time.Parse("2006-01-02", day); !ok || err != nil {
			r.add(Finding{Check: "salt", Path: path, Message: "unexpected file among the salts"})
			continue
		}
		st.Files++
		st.Days = append(st.Days, day)
		if !saltDayOK(day, now, opts.SaltGrace) {
			r.add(Finding{Check: "salt", Path: path, Message: fmt.Sprintf("salt of %s outlived its day (only today's, %s, may exist after the grace period)", day, now.Format("2006-01-02"))})
		}
		// 16 bytes: a local salt; 45: a sealed one (shared mode: version,
		// nonce, ciphertext and tag).
		if info.Size() != 16 && info.Size() != 45 {
			r.add(Finding{Check: "salt", Path: path, Message: fmt.Sprintf("salt file has %d bytes, want 16 (local) or 45 (sealed)", info.Size())})
		}
	}
	return nil
}

func auditSpool(opts Options, r *Report) error {
	dir := filepath.Join(opts.DataDir, "spool")
	st := &SpoolState{Dir: dir}
	r.Spool = st
	info, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	checkMode(r, "file", dir, info)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	isPath := map[string]bool{}
	for _, d := range pathDimensions {
		isPath[d] = true
	}
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		info, err := e.Info()
		if err != nil {
			continue // replayed meanwhile
		}
		checkMode(r, "file", path, info)
		if e.IsDir() || strings.HasSuffix(e.Name(), ".tmp") {
			continue
		}
		st.Files++
		rows, err := spool.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			r.add(Finding{Check: "spool", Path: path, Message: "spool file does not decode: " + err.Error()})
			continue
		}
		st.Rows += len(rows)
		hits := map[string]bool{}
		for _, row := range rows {
			for _, f := range [...]struct {
				name, v string
				path    bool
			}{
				{"site", row.Site, false}, {"dimension", row.Dimension, false}, {"goal", row.Goal, false},
				{"value", row.Value, isPath[row.Dimension]}, {"writer", row.Writer, false},
			} {
				if h, ok := scan(f.v, f.path); ok && !hits[f.name+h.kind] {
					hits[f.name+h.kind] = true
					r.add(Finding{Check: "spool", Path: path, Column: f.name, Message: h.kind + " in a spooled row", Example: redact(f.v, h)})
				}
			}
		}
	}
	return nil
}
