package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"analytics/collector/visitor"
)

// settings are the process settings: each a flag with an environment twin
// (ANALYTICS_ + the flag name in upper case with - as _). A flag given on the
// command line wins over its environment variable.
type settings struct {
	configPath      string
	clickhouseURL   string
	collectorAddr   string
	collectorURLs   string
	dashboardAddr   string
	dataDir         string
	saltKey         string
	geoipDB         string
	trustedProxies  string
	flushInterval   time.Duration
	shutdownTimeout time.Duration
	maxBodyBytes    int
	spoolMaxBytes   int64
	sessionTimeout  time.Duration
	maxValues       int
	readTimeout     time.Duration
	maxConnsPerIP   int
	rateLimit       int
	uaCacheSize     int
	logLevel        string
	logFormat       string
}

func envName(flagName string) string {
	return "ANALYTICS_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func newFlagSet(cmd string, s *settings, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("analytics "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&s.configPath, "config", "", "TOML file declaring sites, users and API keys")
	fs.StringVar(&s.clickhouseURL, "clickhouse-url", "clickhouse://127.0.0.1:9000/analytics", "ClickHouse native-protocol URL; the database is created if missing")
	fs.StringVar(&s.collectorAddr, "collector-addr", ":8080", "listen address of the public collector (beacons, snippet, health, metrics)")
	fs.StringVar(&s.collectorURLs, "collector-urls", "", "comma-separated base URLs (http://host:port) of the collector nodes whose /readyz and /metrics the dashboard's technical view summarises; serve adds its own collector")
	fs.StringVar(&s.dashboardAddr, "dashboard-addr", "127.0.0.1:8081", "listen address of the private dashboard and Stats API")
	fs.StringVar(&s.dataDir, "data-dir", "data", "directory for the daily salts (salt/) and the outage spool (spool/)")
	fs.StringVar(&s.saltKey, "salt-key", "", "secret shared by all collector nodes of an installation (at least 32 characters, e.g. openssl rand -hex 32): they then share one daily visitor salt through ClickHouse, sealed with it; empty keeps a random salt per node. Prefer the environment twin: flags show in ps")
	fs.StringVar(&s.geoipDB, "geoip-db", "", "path to a GeoLite2/GeoIP2 Country or City .mmdb; empty counts every country as unknown")
	fs.StringVar(&s.trustedProxies, "trusted-proxies", "", "comma-separated CIDRs or IPs of reverse proxies whose X-Forwarded-For/Forwarded/X-Real-IP headers are believed")
	fs.DurationVar(&s.flushInterval, "flush-interval", 10*time.Second, "time between aggregate flushes to ClickHouse")
	fs.DurationVar(&s.shutdownTimeout, "shutdown-timeout", 30*time.Second, "how long a clean stop may take to drain requests and flush")
	fs.IntVar(&s.maxBodyBytes, "max-body-bytes", 8<<10, "largest accepted beacon body in bytes (larger ones get 413)")
	fs.Int64Var(&s.spoolMaxBytes, "spool-max-bytes", 512<<20, "disk space for rows spooled while ClickHouse is unreachable (data-dir/spool)")
	fs.DurationVar(&s.sessionTimeout, "session-timeout", 30*time.Minute, "a visit ends after this much inactivity (and at the end of the UTC day)")
	fs.IntVar(&s.maxValues, "max-values", 10000, "distinct values kept per site, hour and dimension; further values fold into \"(other)\"")
	fs.DurationVar(&s.readTimeout, "read-timeout", 10*time.Second, "time a client may take to send a whole request; slower clients are disconnected")
	fs.IntVar(&s.maxConnsPerIP, "max-conns-per-ip", 0, "concurrent collector connections per peer address (0: unlimited, right behind a reverse proxy)")
	fs.IntVar(&s.rateLimit, "rate-limit", 0, "events per minute one client address (IPv6: its /64) may send, in bursts of as many; more are answered 202 and dropped as rate_limited (0: no limit)")
	fs.IntVar(&s.uaCacheSize, "ua-cache-size", 10000, "parsed User-Agents kept in memory")
	fs.StringVar(&s.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&s.logFormat, "log-format", "text", "text or json")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: analytics %s [flags]\n\nEvery flag has an environment twin, e.g. -clickhouse-url and ANALYTICS_CLICKHOUSE_URL; the flag wins.\n\n", cmd)
		fs.PrintDefaults()
	}
	return fs
}

// parseSettings parses args, then fills every flag not given on the command
// line from its environment twin.
func parseSettings(cmd string, args []string, getenv func(string) string, stderr io.Writer) (*settings, error) {
	s := &settings{}
	fs := newFlagSet(cmd, s, stderr)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (flags go before nothing else; see analytics %s -h)", fs.Arg(0), cmd)
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil || given[f.Name] {
			return
		}
		if v := getenv(envName(f.Name)); v != "" {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s=%q: %v", envName(f.Name), v, e)
			}
		}
	})
	if err != nil {
		return nil, err
	}
	if s.flushInterval < 100*time.Millisecond {
		return nil, fmt.Errorf("flush-interval %s: must be at least 100ms", s.flushInterval)
	}
	if s.saltKey != "" && len(s.saltKey) < visitor.MinSaltKeyLen {
		// Never echo the key.
		return nil, fmt.Errorf("salt-key (ANALYTICS_SALT_KEY): %d characters, must be at least %d; make one with: openssl rand -hex 32", len(s.saltKey), visitor.MinSaltKeyLen)
	}
	if s.flushInterval >= visitor.DefaultGrace {
		return nil, fmt.Errorf("flush-interval %s: must be shorter than the salt grace period (%s)", s.flushInterval, visitor.DefaultGrace)
	}
	if s.maxBodyBytes < 512 {
		return nil, fmt.Errorf("max-body-bytes %d: must be at least 512", s.maxBodyBytes)
	}
	if s.rateLimit < 0 {
		return nil, fmt.Errorf("rate-limit %d: must be 0 (no limit) or more", s.rateLimit)
	}
	return s, nil
}

func (s *settings) proxies() []string { return splitList(s.trustedProxies) }

// collectors returns the configured collector URLs.
func (s *settings) collectors() []string { return splitList(s.collectorURLs) }

func splitList(list string) []string {
	var out []string
	for _, p := range strings.Split(list, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (s *settings) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(s.logLevel)); err != nil {
		return nil, fmt.Errorf("log-level %q: use debug, info, warn or error", s.logLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch s.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log-format %q: use text or json", s.logFormat)
}
