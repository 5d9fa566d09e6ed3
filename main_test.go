package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"analytics/schema"
	"analytics/schema/chtest"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestSettingsFlagsAndEnvTwins(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		env   map[string]string
		check func(*settings) bool
		err   string
	}{
		{name: "defaults", check: func(s *settings) bool {
			return s.clickhouseURL == "clickhouse://127.0.0.1:9000/analytics" && s.collectorAddr == ":8080" &&
				s.dashboardAddr == "127.0.0.1:8081" && s.flushInterval == 10*time.Second
		}},
		{name: "env fills", env: map[string]string{"ANALYTICS_COLLECTOR_ADDR": ":9090", "ANALYTICS_FLUSH_INTERVAL": "2s"},
			check: func(s *settings) bool { return s.collectorAddr == ":9090" && s.flushInterval == 2*time.Second }},
		{name: "flag wins over env", args: []string{"-collector-addr", ":7070"}, env: map[string]string{"ANALYTICS_COLLECTOR_ADDR": ":9090"},
			check: func(s *settings) bool { return s.collectorAddr == ":7070" }},
		{name: "trusted proxies list", env: map[string]string{"ANALYTICS_TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1,,"},
			check: func(s *settings) bool { p := s.proxies(); return len(p) == 2 && p[1] == "127.0.0.1" }},
		{name: "bad env value names the variable", env: map[string]string{"ANALYTICS_FLUSH_INTERVAL": "soon"}, err: "ANALYTICS_FLUSH_INTERVAL"},
		{name: "too short flush", args: []string{"-flush-interval", "1ms"}, err: "flush-interval"},
		{name: "stray argument", args: []string{"extra"}, err: "unexpected argument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := parseSettings("serve", tc.args, env(tc.env), &bytes.Buffer{})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want one mentioning %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(s) {
				t.Fatalf("settings %+v", s)
			}
		})
	}
}

func TestEveryFlagIsDocumented(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	fs := newFlagSet("serve", &settings{}, &bytes.Buffer{})
	fs.VisitAll(func(f *flag.Flag) {
		if !bytes.Contains(readme, []byte("`-"+f.Name+"`")) || !bytes.Contains(readme, []byte(envName(f.Name))) {
			t.Errorf("README does not document -%s / %s", f.Name, envName(f.Name))
		}
	})
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "analytics.toml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfig(t *testing.T) {
	hash, _ := bcrypt.GenerateFromPassword([]byte("correct horse"), bcrypt.MinCost)
	sum := sha256.Sum256([]byte("k"))
	good := `
[[site]]
domain = "WWW.Example.com"
hosts = ["example.com"]
timezone = "Europe/Berlin"

[[site]]
domain = "two.example"
min_visitors = 2

[[user]]
email = "a@example.com"
password_bcrypt = "` + string(hash) + `"
sites = ["example.com"]

[[api_key]]
name = "ci"
sha256 = "` + hex.EncodeToString(sum[:]) + `"
sites = ["*"]
`
	cfg, err := loadConfig(writeConfig(t, good))
	if err != nil {
		t.Fatal(err)
	}
	if s := cfg.Sites[0]; s.Domain != "example.com" || s.MinVisitors != 5 || s.location.String() != "Europe/Berlin" {
		t.Errorf("site defaults: %+v", s)
	}
	if cfg.Sites[1].MinVisitors != 2 || cfg.Sites[1].location != time.UTC {
		t.Errorf("site two: %+v", cfg.Sites[1])
	}
	if cfg.APIKeys[0].sum != sum {
		t.Error("api key sum not decoded")
	}

	for _, tc := range []struct{ name, body, want string }{
		{"no sites", ``, "no [[site]]"},
		{"unknown setting", "[[site]]\ndomain = \"a.com\"\nhots = []\n", "unknown setting"},
		{"bad domain", "[[site]]\ndomain = \"https://a.com/\"\n", "bare host name"},
		{"duplicate", "[[site]]\ndomain = \"a.com\"\n[[site]]\ndomain = \"www.a.com\"\n", "configured twice"},
		{"bad timezone", "[[site]]\ndomain = \"a.com\"\ntimezone = \"Mars/Olympus\"\n", "timezone"},
		{"negative k", "[[site]]\ndomain = \"a.com\"\nmin_visitors = -1\n", "min_visitors"},
		{"plain password", "[[site]]\ndomain = \"a.com\"\n[[user]]\nemail = \"a@a.com\"\npassword_bcrypt = \"hunter2\"\nsites = [\"*\"]\n", "bcrypt"},
		{"user of unknown site", "[[site]]\ndomain = \"a.com\"\n[[user]]\nemail = \"a@a.com\"\npassword_bcrypt = \"$2a$10$x\"\nsites = [\"b.com\"]\n", "not configured"},
		{"short key hash", "[[site]]\ndomain = \"a.com\"\n[[api_key]]\nname = \"x\"\nsha256 = \"abc\"\nsites = [\"*\"]\n", "64 hex"},
		{"key without sites", "[[site]]\ndomain = \"a.com\"\n[[api_key]]\nname = \"x\"\nsha256 = \"" + strings.Repeat("0", 64) + "\"\n", "sites is empty"},
		{"not toml", "[[site]\n", "config"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadConfig(writeConfig(t, tc.body))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want one containing %q", err, tc.want)
			}
		})
	}
	if _, err := loadConfig(""); err == nil || !strings.Contains(err.Error(), "ANALYTICS_CONFIG") {
		t.Errorf("missing config: %v", err)
	}
}

func TestExampleConfigLoads(t *testing.T) {
	cfg, err := loadConfig("docs/analytics.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	if s := cfg.Sites[0]; len(s.Paths.Rules) != 1 || len(s.Paths.Keep) != 1 || s.HonorDNT == nil || !*s.HonorDNT {
		t.Errorf("example site: %+v", s)
	}
}

func TestRunCommands(t *testing.T) {
	ctx := context.Background()
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"nonsense"}, env(nil), nil, &out, &errOut); err == nil || !strings.Contains(err.Error(), "unknown command") {
		t.Errorf("unknown command: %v", err)
	}
	if err := run(ctx, nil, env(nil), nil, &out, &errOut); err == nil {
		t.Error("no command accepted")
	}
	out.Reset()
	if err := run(ctx, []string{"hash-key"}, env(nil), nil, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	var key, sum string
	for _, line := range strings.Split(out.String(), "\n") {
		if v, ok := strings.CutPrefix(line, "key:"); ok {
			key = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(line, "sha256:"); ok {
			sum = strings.TrimSpace(v)
		}
	}
	if want := sha256.Sum256([]byte(key)); len(key) < 32 || sum != hex.EncodeToString(want[:]) {
		t.Errorf("hash-key printed key %q sum %q", key, sum)
	}
	out.Reset()
	if err := run(ctx, []string{"hash-password"}, env(nil), strings.NewReader("correct horse battery\n"), &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if err := bcrypt.CompareHashAndPassword([]byte(strings.TrimSpace(out.String())), []byte("correct horse battery")); err != nil {
		t.Errorf("hash-password output does not verify: %v", err)
	}
	if err := run(ctx, []string{"hash-password"}, env(nil), strings.NewReader("short\n"), &out, &errOut); err == nil {
		t.Error("short password accepted")
	}
	if err := run(ctx, []string{"serve"}, env(nil), nil, &out, &errOut); err == nil || !strings.Contains(err.Error(), "ANALYTICS_CONFIG") {
		t.Errorf("serve without config: %v", err)
	}
}

func TestMigrateCommand(t *testing.T) {
	url := chtest.NewURL(t)
	var out, errOut bytes.Buffer
	for i := 0; i < 2; i++ {
		if err := run(context.Background(), []string{"migrate", "-clickhouse-url", url}, env(nil), nil, &out, &errOut); err != nil {
			t.Fatalf("migrate #%d: %v\n%s", i+1, err, errOut.String())
		}
	}
	ms, err := schema.Migrations(schema.Version{Major: 18, Minor: 16})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut.String(), "schema is up to date") || strings.Count(errOut.String(), "migration applied") != len(ms) {
		t.Errorf("logs:\n%s", errOut.String())
	}
}
