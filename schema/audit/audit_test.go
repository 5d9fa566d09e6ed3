package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"analytics/aggregator"
	"analytics/aggregator/spool"
	"analytics/schema"
	"analytics/schema/chtest"
)

func TestScan(t *testing.T) {
	for _, tc := range []struct {
		in   string
		path bool
		want string // kind, "" for none
	}{
		{"/blog/my-post", true, ""},
		{"/users/:email", true, ""},
		{"Chrome", false, ""},
		{"10.15", false, ""},
		{"/static/app.3f2a1c4e.js", true, ""},
		{"/wiki/2024_United_States_presidential_election", true, ""},
		{"visit:browser_version", false, ""},
		{"12:30:45", false, ""},
		{"/contact/jane.doe@example.com", true, KindEmail},
		{"from 192.168.1.20 today", false, KindIPv4},
		{"1.2.3.999", false, ""},
		{"host 2001:db8::8a2e:370:7334", false, KindIPv6},
		{"Mozilla/5.0 (X11; Linux x86_64)", false, KindUserAgent},
		{"/search?q=shoes", true, KindQuery},
		{"/reset/9f8e7d6c5b4a39281706f5e4d3c2b1a0", true, KindToken},
		{"/reset/9f8e7d6c5b4a39281706f5e4d3c2b1a0", false, ""},
		{"/s/AbCdEfGh12345qRsTuVw9", true, KindToken},
		{"/t/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc", true, KindToken},
	} {
		h, ok := scan(tc.in, tc.path)
		got := ""
		if ok {
			got = h.kind
		}
		if got != tc.want {
			t.Errorf("scan(%q, %v) = %q, want %q", tc.in, tc.path, got, tc.want)
		}
		if ok {
			red := redact(tc.in, h)
			if strings.Contains(red, tc.in[h.start:h.end]) {
				t.Errorf("redact(%q) = %q shows the match", tc.in, red)
			}
		}
	}
}

type down struct{}

func (down) Write(context.Context, []aggregator.Row) error { return errors.New("down") }

// install makes a data dir as a running collector leaves it: salt/ with
// today's salt, spool/ with one file holding rows.
func install(t *testing.T, now time.Time, rows []aggregator.Row) string {
	t.Helper()
	dir := t.TempDir()
	salt := filepath.Join(dir, "salt")
	if err := os.Mkdir(salt, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(salt, "salt-"+now.Format("2006-01-02")), bytes.Repeat([]byte{7}, 16), 0o600); err != nil {
		t.Fatal(err)
	}
	sp, err := spool.New(down{}, spool.Options{Dir: filepath.Join(dir, "spool"), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := sp.Write(context.Background(), rows); err != nil {
		t.Fatal(err)
	}
	return dir
}

func insert(t *testing.T, db *schema.DB, rows []aggregator.Row) {
	t.Helper()
	batch, err := db.Conn.PrepareBatch(context.Background(),
		"INSERT INTO stats_hourly (site, hour, dimension, goal, value, writer, ver, pageviews, sketch)")
	if err != nil {
		t.Fatal(err)
	}
	defer batch.Close()
	for _, r := range rows {
		if err := batch.Append(r.Site, r.Hour, r.Dimension, r.Goal, r.Value, r.Writer, r.Ver, r.Pageviews, string(r.Sketch)); err != nil {
			t.Fatal(err)
		}
	}
	if err := batch.Send(); err != nil {
		t.Fatal(err)
	}
}

func cleanRows(now time.Time) []aggregator.Row {
	h := now.Truncate(time.Hour)
	// A sketch's bytes may look like anything: it is never scanned.
	sk := []byte("Mozilla/5.0 jane@example.com 10.1.2.3")
	return []aggregator.Row{
		{Site: "example.com", Hour: h, Writer: "0123456789abcdef", Ver: 1, Pageviews: 9, Sketch: sk},
		{Site: "example.com", Hour: h, Dimension: schema.DimPage, Value: "/blog/:id", Writer: "0123456789abcdef", Ver: 1, Pageviews: 4, Sketch: sk},
		{Site: "example.com", Hour: h, Dimension: schema.DimSource, Value: "news.ycombinator.com", Writer: "0123456789abcdef", Ver: 1},
		{Site: "example.com", Hour: h, Dimension: schema.DimBrowser, Value: "Firefox", Writer: "0123456789abcdef", Ver: 1},
		{Site: "example.com", Hour: h, Dimension: schema.DimPropsPrefix + "url", Goal: "Outbound Link: Click", Value: "https://github.com/x", Writer: "0123456789abcdef", Ver: 1},
	}
}

func TestCleanInstallationHasNoFindings(t *testing.T) {
	db := chtest.NewDB(t)
	now := time.Now().UTC()
	insert(t, db, cleanRows(now))
	dir := install(t, now, cleanRows(now))
	r, err := Run(context.Background(), Options{
		DB: db, DataDir: dir, Retention: map[string]int{"example.com": 25},
		Inventory: json.RawMessage(`{"k":1}`), Now: func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Findings) != 0 {
		t.Fatalf("findings on a clean installation: %+v", r.Findings)
	}
	if r.Salts.Files != 1 || r.Spool.Files != 1 || r.Spool.Rows != 5 {
		t.Errorf("salts %+v, spool %+v", r.Salts, r.Spool)
	}
	var text, js bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(text.String(), "audit: 0 findings\n") || !strings.Contains(text.String(), "stats_hourly") {
		t.Errorf("text report:\n%s", text.String())
	}
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Count     int             `json:"findings_count"`
		Inventory json.RawMessage `json:"inventory"`
		Tables    []Table         `json:"tables"`
	}
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	var inv bytes.Buffer
	if err := json.Compact(&inv, back.Inventory); err != nil {
		t.Fatal(err)
	}
	if back.Count != 0 || inv.String() != `{"k":1}` || len(back.Tables) != len(schema.Tables) {
		t.Errorf("json report: %s", js.String())
	}
}

func TestDirtyInstallation(t *testing.T) {
	db := chtest.NewDB(t)
	ctx := context.Background()
	now := time.Now().UTC()
	h := now.Truncate(time.Hour)
	dirty := append(cleanRows(now),
		aggregator.Row{Site: "example.com", Hour: h, Dimension: schema.DimPage, Value: "/contact/jane.doe@example.com", Writer: "w", Ver: 1},
		aggregator.Row{Site: "example.com", Hour: h, Dimension: schema.DimPage, Value: "/reset/9f8e7d6c5b4a39281706f5e4d3c2b1a0", Writer: "w", Ver: 1},
		aggregator.Row{Site: "example.com", Hour: h, Dimension: schema.DimSource, Value: "Mozilla/5.0 (Windows NT 10.0)", Writer: "w", Ver: 1},
		// Far past the retention.
		aggregator.Row{Site: "old.example", Hour: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), Writer: "w", Ver: 1},
	)
	insert(t, db, dirty)
	if err := db.Conn.Exec(ctx, "CREATE TABLE visitors (site String, ip FixedString(16)) ENGINE = MergeTree() ORDER BY site"); err != nil {
		t.Fatal(err)
	}
	// Web vitals of a site whose hourly rows were dropped, far past the
	// retention: the audit looks at every table retention applies to.
	vb, err := db.Conn.PrepareBatch(ctx, "INSERT INTO vitals_hourly (site, hour, metric, dimension, value, writer, ver, samples, good, poor, buckets, counts)")
	if err != nil {
		t.Fatal(err)
	}
	if err := vb.Append("vitals-only.example", time.Date(2021, 3, 1, 0, 0, 0, 0, time.UTC), "lcp", "vitals", "", "w", uint64(1), uint64(1), uint64(1), uint64(0), []uint16{90}, []uint64{1}); err != nil {
		t.Fatal(err)
	}
	if err := vb.Send(); err != nil {
		t.Fatal(err)
	}
	// A shared salt past its day, when the installation has the salts table.
	var shared uint64
	if err := db.Conn.QueryRow(ctx, "SELECT count() FROM system.tables WHERE database = ? AND name = 'salts'", db.Name).Scan(&shared); err != nil {
		t.Fatal(err)
	}
	if shared > 0 {
		b, err := db.Conn.PrepareBatch(ctx, "INSERT INTO salts (day, sealed, created)")
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Append(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), "sealed", now); err != nil {
			t.Fatal(err)
		}
		if err := b.Send(); err != nil {
			t.Fatal(err)
		}
	}
	dir := install(t, now, []aggregator.Row{{Site: "example.com", Hour: h, Dimension: schema.DimPage, Value: "/?token=abc", Writer: "w", Ver: 1}})
	salt := filepath.Join(dir, "salt")
	if err := os.Chmod(filepath.Join(salt, "salt-"+now.Format("2006-01-02")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(salt, "salt-2020-01-01"), make([]byte, 16), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, "spool"), 0o755); err != nil {
		t.Fatal(err)
	}

	r, err := Run(ctx, Options{DB: db, DataDir: dir, Retention: map[string]int{"example.com": 25}, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"schema visitors  table is not documented",
		"type visitors ip FixedString(16)",
		"value stats_hourly value e-mail address",
		"value stats_hourly value long hex/base64 token",
		"value stats_hourly value User-Agent",
		"retention stats_hourly  site old.example keeps data from 2020-01",
		"retention vitals_hourly  site vitals-only.example keeps data from 2021-03",
		"file  salt-" + now.Format("2006-01-02") + " mode 0644",
		"salt  salt-2020-01-01 salt of 2020-01-01 outlived its day",
		"file  spool mode 0755",
		"spool  spool/0000000000000001.spool value query string",
	}
	if shared > 0 {
		want = append(want, "salt salts shared salt of 2020-01-01 outlived its day")
	}
	var got []string
	for _, f := range r.Findings {
		got = append(got, strings.Join([]string{f.Check, f.Table, f.Column, f.Path, f.Message}, " "))
	}
	all := strings.Join(got, "\n")
	for _, w := range want {
		parts := strings.Fields(w)
		found := false
		for _, g := range got {
			ok := true
			for _, p := range parts {
				if !strings.Contains(g, p) {
					ok = false
				}
			}
			found = found || ok
		}
		if !found {
			t.Errorf("no finding like %q in:\n%s", w, all)
		}
	}
	if len(r.Findings) != len(want) {
		t.Errorf("%d findings, want %d:\n%s", len(r.Findings), len(want), all)
	}
	var text bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"jane.doe@example.com", "9f8e7d6c5b4a39281706f5e4d3c2b1a0", "Windows NT", "token=abc"} {
		if strings.Contains(text.String(), secret) {
			t.Errorf("report shows %q:\n%s", secret, text.String())
		}
	}
	if !strings.HasSuffix(text.String(), fmt.Sprintf("audit: %d findings\n", len(want))) {
		t.Errorf("summary line missing:\n%s", text.String())
	}
}
