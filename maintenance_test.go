package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"analytics/aggregator"
	"analytics/collector"
	"analytics/collector/visitor"
	"analytics/schema"
	"analytics/schema/chtest"
)

const privacyTestConfig = `
[[site]]
domain = "example.com"
hosts = ["example.com"]
min_visitors = 7
retention_months = 13
honor_gpc = false

[site.paths]
disable_builtins = ["id"]
`

func TestRetentionMonthsConfig(t *testing.T) {
	for _, tc := range []struct {
		line string
		want int
		err  string
	}{
		{"", 25, ""},
		{"retention_months = 1", 1, ""},
		{"retention_months = 120", 120, ""},
		{"retention_months = 121", 0, "retention_months 121"},
		{"retention_months = -3", 0, "retention_months -3"},
	} {
		cfg, err := loadConfig(writeConfig(t, "[[site]]\ndomain = \"a.example\"\nhosts = [\"a.example\"]\n"+tc.line+"\n"))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: err = %v, want %q", tc.line, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%q: %v", tc.line, err)
		}
		if got := cfg.Sites[0].RetentionMonths; got != tc.want {
			t.Errorf("%q: retention %d, want %d", tc.line, got, tc.want)
		}
	}
}

// TestPrivacyJSON checks that /privacy.json is valid JSON built from the
// configuration and served by the collector.
func TestPrivacyJSON(t *testing.T) {
	cfg, err := loadConfig(writeConfig(t, privacyTestConfig))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := privacyJSON(cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	salts, err := visitor.NewSalts(t.TempDir(), time.Now, 0)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := collector.New(collector.Options{
		Sites: []collector.Site{{Domain: "example.com", Hosts: []string{"example.com"}}},
		Sink:  nopSink{}, Salts: salts, PrivacyJSON: doc,
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown() })
	resp, err := http.Get("http://" + ln.Addr().String() + "/privacy.json")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var got privacyDoc
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, body)
	}
	if len(got.Sites) != 1 {
		t.Fatalf("sites: %+v", got.Sites)
	}
	site := got.Sites[0]
	if site.MinVisitors != 7 || site.RetentionMonths != 13 || !site.HonorDNT || site.HonorGPC {
		t.Errorf("site: %+v", site)
	}
	if strings.Join(site.Consent, ",") != "DNT: 1" {
		t.Errorf("consent: %v", site.Consent)
	}
	for _, b := range site.PathTemplating.Builtins {
		if b == "id" {
			t.Errorf("disabled builtin listed as on: %v", site.PathTemplating.Builtins)
		}
	}
	if len(got.Collected) != 6 || got.Salt.Period != "UTC day" || got.Salt.GraceSeconds != int(visitor.DefaultGrace.Seconds()) ||
		!strings.HasPrefix(got.ThirdParties, "none") || len(got.Stored) != len(schema.Tables) {
		t.Errorf("document: %s", body)
	}
	for _, item := range got.Collected {
		if item.StoredRaw {
			t.Errorf("%s stored raw", item.Data)
		}
	}
}

type nopSink struct{}

func (nopSink) Add(*aggregator.Event) bool { return true }

func (nopSink) Drop(string, string, time.Time) {}

func insertRow(t *testing.T, db *schema.DB, site, value string, hour time.Time) {
	t.Helper()
	b, err := db.Conn.PrepareBatch(context.Background(), "INSERT INTO stats_hourly (site, hour, dimension, goal, value, writer, ver, pageviews)")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Append(site, hour, schema.DimPage, "", value, "w", uint64(1), uint64(1)); err != nil {
		t.Fatal(err)
	}
	if err := b.Send(); err != nil {
		t.Fatal(err)
	}
}

func siteCount(t *testing.T, db *schema.DB, site string) uint64 {
	t.Helper()
	var n uint64
	if err := db.Conn.QueryRow(context.Background(), "SELECT count() FROM stats_hourly WHERE site = ?", site).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestMaintenanceCommands drives retention, sites purge and audit as an
// operator would, against the real ClickHouse.
func TestMaintenanceCommands(t *testing.T) {
	url := chtest.NewURL(t)
	ctx := context.Background()
	config := writeConfig(t, privacyTestConfig)
	dataDir := filepath.Join(t.TempDir(), "data")
	cmd := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		args = append(args, "-config", config, "-clickhouse-url", url, "-data-dir", dataDir, "-log-level", "warn")
		err := run(ctx, args, env(nil), nil, &out, &errOut)
		return out.String(), err
	}
	if _, err := cmd("migrate"); err != nil {
		t.Fatal(err)
	}
	db, err := schema.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Now().UTC().Truncate(time.Hour)
	insertRow(t, db, "example.com", "/", now)
	insertRow(t, db, "example.com", "/old", time.Date(2020, 3, 1, 0, 0, 0, 0, time.UTC))
	insertRow(t, db, "gone.example", "/", now)

	// audit: the 2020 row is past the 13 months.
	out, err := cmd("audit")
	if err == nil || err.Error() != "audit: 1 findings" || !strings.Contains(out, "OVERDUE") || !strings.HasSuffix(out, "audit: 1 findings\n") {
		t.Errorf("audit before retention: %v\n%s", err, out)
	}

	out, err = cmd("retention", "--dry-run")
	if err != nil || !strings.Contains(out, "drop partition 202003 of stats_hourly (1 rows)") || !strings.Contains(out, "dry run") {
		t.Errorf("retention --dry-run: %v\n%s", err, out)
	}
	if n := siteCount(t, db, "example.com"); n != 2 {
		t.Errorf("dry run removed rows: %d left", n)
	}
	if out, err = cmd("retention"); err != nil || !strings.Contains(out, "removed") {
		t.Errorf("retention: %v\n%s", err, out)
	}
	if n := siteCount(t, db, "example.com"); n != 1 {
		t.Errorf("after retention: %d rows, want 1", n)
	}

	// sites purge: a site no longer in the configuration.
	out, err = cmd("sites", "purge", "gone.example")
	if err != nil || !strings.Contains(out, "stats_hourly: 1 rows of gone.example") || !strings.Contains(out, "--yes") {
		t.Errorf("purge without --yes: %v\n%s", err, out)
	}
	if siteCount(t, db, "gone.example") != 1 {
		t.Error("purge without --yes deleted")
	}
	out, err = cmd("sites", "purge", "gone.example", "--yes")
	if err != nil || !strings.Contains(out, "1 rows of gone.example before, 0 after") {
		t.Errorf("purge --yes: %v\n%s", err, out)
	}
	if siteCount(t, db, "gone.example") != 0 || siteCount(t, db, "example.com") != 1 {
		t.Error("purge deleted the wrong rows")
	}
	if _, err := cmd("sites", "purge"); err == nil {
		t.Error("purge without a domain accepted")
	}

	// audit: clean now; then a planted e-mail address.
	if out, err = cmd("audit"); err != nil || !strings.HasSuffix(out, "audit: 0 findings\n") {
		t.Errorf("clean audit: %v\n%s", err, out)
	}
	insertRow(t, db, "example.com", "/u/jane@example.org", now)
	out, err = cmd("audit", "--json")
	if err == nil {
		t.Error("audit with a finding exits 0")
	}
	var rep struct {
		Count     int `json:"findings_count"`
		Findings  []struct{ Check, Table, Column, Message, Example string }
		Inventory privacyDoc `json:"inventory"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("audit --json: %v\n%s", err, out)
	}
	if rep.Count != 1 || rep.Findings[0].Column != "value" || strings.Contains(out, "jane@example.org") {
		t.Errorf("audit --json findings: %s", out)
	}
	if len(rep.Inventory.Sites) != 1 || rep.Inventory.Sites[0].MinVisitors != 7 {
		t.Errorf("inventory: %+v", rep.Inventory)
	}

	// rollup: the day before yesterday is closed and rolled up once; today is not.
	insertRow(t, db, "example.com", "/y", now.Truncate(24*time.Hour).Add(-36*time.Hour))
	if out, err = cmd("rollup"); err != nil || !strings.HasPrefix(out, "rollup: 1 days rolled up (1 rows with 0 months)") {
		t.Errorf("rollup: %v\n%s", err, out)
	}
	if out, err = cmd("rollup", "--all"); err != nil || !strings.HasPrefix(out, "rollup: 0 days rolled up (0 rows with 0 months), 1 days compared") {
		t.Errorf("rollup again: %v\n%s", err, out)
	}
}
