// Command analytics is a privacy-aware web analytics collector: one binary
// with the subcommands serve (collector + aggregator + dashboard), collect
// (collector + aggregator, for scale-out nodes), dashboard, migrate and a few
// helpers. This file is wiring only: settings -> components -> start ->
// signal -> stop in reverse order.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
	// Site time zones must load on hosts and images without a zoneinfo database.
	_ "time/tzdata"

	"github.com/VictoriaMetrics/metrics"
	"golang.org/x/crypto/bcrypt"

	"analytics/aggregator"
	"analytics/aggregator/chstore"
	"analytics/aggregator/spool"
	"analytics/collector"
	"analytics/collector/geo"
	"analytics/collector/visitor"
	"analytics/dashboard"
	"analytics/dashboard/auth"
	"analytics/schema"
	"analytics/schema/rollup"
)

// version is stamped at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// A second signal after the first forces exit.
		<-ctx.Done()
		stop()
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		<-sig
		fmt.Fprintln(os.Stderr, "second signal: exiting without waiting")
		os.Exit(2)
	}()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "analytics:", err)
		}
		os.Exit(1)
	}
}

const usage = `usage: analytics COMMAND [flags]

commands:
  serve          collector + aggregator + dashboard in one process
  collect        collector + aggregator only (scale-out nodes)
  dashboard      dashboard and Stats API only
  migrate        create the database and apply schema migrations
  hash-key       make a new Stats API key and print it with its sha256 for the config
  hash-password  read a password on stdin and print its bcrypt hash for the config
  retention      print what is past its retention (retention_months) and remove it; --dry-run only prints
  sites purge DOMAIN   delete every aggregate of a site, configured or not; --yes to delete, else only counts
  audit          check stored data, data dir, salts and retention for privacy problems; --json; exits 1 on findings
  rollup         roll closed days up into stats_daily now (serve and dashboard do it every 10 minutes); --all rechecks every day
  version        print the version

Run "analytics COMMAND -h" for the flags; each has an ANALYTICS_* environment twin.
`

// run is the testable main.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "version":
		fmt.Fprintln(stdout, "analytics", version)
		return nil
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	case "hash-key":
		return hashKey(stdout)
	case "hash-password":
		return hashPassword(stdin, stdout)
	case "retention", "sites", "audit", "rollup":
		return maintenance(ctx, cmd, rest, getenv, stdout, stderr)
	case "serve", "collect", "dashboard", "migrate":
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
	s, err := parseSettings(cmd, rest, getenv, stderr)
	if err != nil {
		return err
	}
	logger, err := s.logger(stderr)
	if err != nil {
		return err
	}
	switch cmd {
	case "migrate":
		db, err := openDB(ctx, s, logger)
		if err != nil {
			return err
		}
		defer db.Close()
		logger.Info("schema is up to date", "database", db.Name, "clickhouse", db.Version.String())
		return nil
	default:
		return serve(ctx, cmd, s, logger)
	}
}

func openDB(ctx context.Context, s *settings, logger *slog.Logger) (*schema.DB, error) {
	octx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	db, err := schema.Open(octx, s.clickhouseURL)
	if err != nil {
		return nil, err
	}
	if err := schema.Migrate(octx, db, logger); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// serve runs the long-lived commands until ctx ends, then stops the parts in
// reverse order: the collector stops taking events, the aggregator flushes
// everything it holds, the dashboard drains, the database closes.
func serve(ctx context.Context, cmd string, s *settings, logger *slog.Logger) error {
	cfg, err := loadConfig(s.configPath)
	if err != nil {
		return err
	}
	withCollector := cmd == "serve" || cmd == "collect"
	withDashboard := cmd == "serve" || cmd == "dashboard"
	privacy, err := privacyJSON(cfg, s.saltKey != "")
	if err != nil {
		return err
	}

	db, err := openDB(ctx, s, logger)
	var store *chstore.Store
	switch {
	case err == nil:
		defer db.Close()
		store = chstore.New(db)
	case cmd == "collect":
		// A collector node must come up even while ClickHouse is down: it
		// counts, spools, and connects (and migrates) once it can.
		logger.Warn("ClickHouse unreachable at start; counting and spooling until it answers", "err", err)
		store = chstore.NewLazy(func(ctx context.Context) (*schema.DB, error) { return openDB(ctx, s, logger) })
		defer store.Close()
	default:
		return err
	}
	set := metrics.NewSet()
	errc := make(chan error, 4)

	var (
		agg       *aggregator.Aggregator
		aggDone   chan error
		aggCancel context.CancelFunc
		col       *collector.Server
		salts     *visitor.Salts
		geoDB     *geo.DB
		sp        *spool.Spool
		dash      *dashboard.Server
	)
	selfURL := "" // serve: the dashboard's technical view reads its own collector
	if withCollector {
		sp, err = spool.New(store, spool.Options{
			Dir: filepath.Join(s.dataDir, "spool"), MaxBytes: s.spoolMaxBytes, Logger: logger, Metrics: set,
		})
		if err != nil {
			return err
		}
		agg, err = aggregator.New(aggregator.Options{
			Store: sp, FlushInterval: s.flushInterval, SessionTimeout: s.sessionTimeout,
			MaxValues: s.maxValues, Logger: logger, Metrics: set,
		})
		if err != nil {
			return err
		}
		if s.geoipDB != "" {
			if geoDB, err = geo.Open(s.geoipDB); err != nil {
				return err
			}
			defer geoDB.Close()
		} else {
			logger.Warn("no GeoIP database: countries are counted as unknown (scripts/geoip fetches one; set ANALYTICS_GEOIP_DB)")
		}
		var closeSalts func()
		if salts, closeSalts, err = openSalts(s, db, logger); err != nil {
			return err
		}
		defer closeSalts()
		sites := make([]collector.Site, len(cfg.Sites))
		for i, site := range cfg.Sites {
			sites[i] = collector.Site{
				Domain: site.Domain, Hosts: site.Hosts, SpamReferrers: site.SpamReferrers, Paths: site.Paths,
				IgnoreDNT: site.HonorDNT != nil && !*site.HonorDNT,
				IgnoreGPC: site.HonorGPC != nil && !*site.HonorGPC,
			}
		}
		col, err = collector.New(collector.Options{
			Sites: sites, Sink: agg, TrustedProxies: s.proxies(), GeoIP: geoDB, Salts: salts,
			UACacheSize: s.uaCacheSize, MaxBodyBytes: s.maxBodyBytes, Metrics: set, Logger: logger,
			ReadTimeout: s.readTimeout, MaxConnsPerIP: s.maxConnsPerIP, RateLimit: s.rateLimit,
			Ready: readiness(sp), PrivacyJSON: privacy,
		})
		if err != nil {
			return err
		}
		ln, err := net.Listen("tcp", s.collectorAddr)
		if err != nil {
			return fmt.Errorf("collector listen on %s: %w", s.collectorAddr, err)
		}
		var actx context.Context
		actx, aggCancel = context.WithCancel(context.WithoutCancel(ctx))
		defer aggCancel()
		aggDone = make(chan error, 1)
		go func() { aggDone <- agg.Run(actx, s.shutdownTimeout) }()
		spoolCtx, spoolCancel := context.WithCancel(context.WithoutCancel(ctx))
		defer spoolCancel()
		go sp.Run(spoolCtx)
		go func() { errc <- col.Serve(ln) }()
		go rotateSalts(ctx, salts, logger)
		logger.Info("collector listening", "addr", ln.Addr().String(), "writer", agg.Writer(), "sites", len(sites))
		if a, ok := ln.Addr().(*net.TCPAddr); ok {
			selfURL = "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(a.Port))
		}
	}
	if withDashboard {
		// Retention runs where the dashboard runs: one process per
		// installation, unlike the scale-out collect nodes.
		go enforceRetention(ctx, db, cfg, logger)
		// So does the daily rollup the dashboard reads (schema/rollup):
		// safe from several processes, but one is enough.
		go rollup.New(rollup.Options{DB: db, Logger: logger}).Loop(ctx, rollupInterval)
		opts := dashboardOptions(cfg, db, s.proxies(), logger)
		opts.CollectorURLs = s.collectors()
		if selfURL != "" && !slices.Contains(opts.CollectorURLs, selfURL) {
			opts.CollectorURLs = append([]string{selfURL}, opts.CollectorURLs...)
		}
		dash, err = dashboard.New(opts)
		if err != nil {
			return err
		}
		ln, err := net.Listen("tcp", s.dashboardAddr)
		if err != nil {
			return fmt.Errorf("dashboard listen on %s: %w", s.dashboardAddr, err)
		}
		go func() { errc <- dash.Serve(ln) }()
		logger.Info("dashboard listening", "addr", ln.Addr().String())
	}

	var runErr error
	select {
	case <-ctx.Done():
		logger.Info("stopping")
	case runErr = <-errc:
		logger.Error("server failed; stopping", "err", runErr)
	}

	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.shutdownTimeout)
	defer cancel()
	timed := func(name string, f func() error) {
		start := time.Now()
		if err := f(); err != nil && runErr == nil {
			runErr = fmt.Errorf("stop %s: %w", name, err)
		}
		logger.Info("stopped", "part", name, "duration", time.Since(start).Round(time.Millisecond))
	}
	if col != nil {
		timed("collector", col.Shutdown)
		timed("aggregator", func() error { aggCancel(); return <-aggDone })
	}
	if dash != nil {
		timed("dashboard", func() error { return dash.Shutdown(stopCtx) })
	}
	return runErr
}

// readiness maps the store's health, as the spool sees it, to /readyz: ok;
// degraded while the store is unreachable and rows are spooled; down once
// the spool is full.
func readiness(sp *spool.Spool) func() (string, bool, bool) {
	return func() (string, bool, bool) {
		st := sp.State()
		switch {
		case st.Full:
			return fmt.Sprintf("spool full (%d of %d bytes) and store unreachable: %v", st.Bytes, st.MaxBytes, st.StoreErr), false, true
		case st.StoreErr != nil:
			return fmt.Sprintf("store unreachable, %d bytes spooled in %d files: %v", st.Bytes, st.Files, st.StoreErr), true, false
		case st.Files > 0:
			return fmt.Sprintf("replaying %d spooled files (%d bytes)", st.Files, st.Bytes), true, false
		}
		return "ok", false, false
	}
}

func rotateSalts(ctx context.Context, salts *visitor.Salts, logger *slog.Logger) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := salts.Rotate(); err != nil {
				logger.Error("rotate salts", "err", err)
			}
		}
	}
}

func dashboardOptions(cfg *fileConfig, db *schema.DB, proxies []string, logger *slog.Logger) dashboard.Options {
	opts := dashboard.Options{DB: db, Logger: logger, TrustedProxies: proxies}
	for _, s := range cfg.Sites {
		site := dashboard.Site{Domain: s.Domain, MinVisitors: s.MinVisitors, Location: s.location}
		for _, l := range s.SharedLinks {
			site.SharedLinks = append(site.SharedLinks, dashboard.SharedLink{Name: l.Name, SHA256: l.sum})
		}
		opts.Sites = append(opts.Sites, site)
	}
	for _, u := range cfg.Users {
		opts.Users = append(opts.Users, auth.User{Email: u.Email, PasswordBcrypt: u.PasswordBcrypt, Sites: u.Sites})
	}
	for _, k := range cfg.APIKeys {
		opts.APIKeys = append(opts.APIKeys, dashboard.APIKey{Name: k.Name, SHA256: k.sum, Sites: k.Sites})
	}
	return opts
}

func hashKey(stdout io.Writer) error {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return err
	}
	key := hex.EncodeToString(b[:])
	sum := sha256.Sum256([]byte(key))
	fmt.Fprintf(stdout, "key:    %s\nsha256: %s\n\nPut the sha256 in the config's [[api_key]] (or a site's [[site.shared_link]] token_sha256); give the key to the API client (or append it as ?auth=KEY to /share/DOMAIN). It is not stored anywhere.\n", key, hex.EncodeToString(sum[:]))
	return nil
}

func hashPassword(stdin io.Reader, stdout io.Writer) error {
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read password: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if len(pw) < 8 {
		return errors.New("password must be at least 8 characters (read from stdin)")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, string(h))
	return nil
}
