package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"analytics/schema"
	"analytics/schema/audit"
	"analytics/schema/rollup"
)

// mutationWait bounds how long retention and sites purge wait for
// ClickHouse to finish their deletes before reporting them as still running.
const mutationWait = 5 * time.Minute

// retentionInterval is the time between retention runs in serve and
// dashboard processes.
const retentionInterval = 24 * time.Hour

// takeFlag removes a boolean flag (-name or --name) from args and reports
// whether it was there.
func takeFlag(args []string, name string) (bool, []string) {
	found := false
	out := make([]string, 0, len(args))
	for _, a := range args {
		if a == "-"+name || a == "--"+name {
			found = true
			continue
		}
		out = append(out, a)
	}
	return found, out
}

// maintenance runs the commands that inspect or clean stored data:
// retention, sites purge and audit.
func maintenance(ctx context.Context, cmd string, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var (
		dryRun, yes, asJSON, all bool
		domain                   string
	)
	switch cmd {
	case "retention":
		dryRun, args = takeFlag(args, "dry-run")
	case "rollup":
		all, args = takeFlag(args, "all")
	case "audit":
		asJSON, args = takeFlag(args, "json")
	case "sites":
		if len(args) < 2 || args[0] != "purge" || strings.HasPrefix(args[1], "-") {
			return errors.New("usage: analytics sites purge DOMAIN [--yes] [flags]")
		}
		domain = strings.TrimPrefix(strings.ToLower(strings.TrimSpace(args[1])), "www.")
		yes, args = takeFlag(args[2:], "yes")
		cmd = "sites purge"
	}
	s, err := parseSettings(cmd, args, getenv, stderr)
	if err != nil {
		return err
	}
	logger, err := s.logger(stderr)
	if err != nil {
		return err
	}
	var cfg *fileConfig
	if cmd != "sites purge" && cmd != "rollup" {
		// Purge needs no configuration: it must work for removed sites;
		// rollup rolls up every site found in stats_hourly.
		if cfg, err = loadConfig(s.configPath); err != nil {
			return err
		}
	}
	db, err := openDB(ctx, s, logger)
	if err != nil {
		return err
	}
	defer db.Close()
	switch cmd {
	case "retention":
		return retentionCommand(ctx, db, cfg, dryRun, stdout)
	case "sites purge":
		return purgeCommand(ctx, db, domain, yes, stdout)
	case "rollup":
		return rollupCommand(ctx, db, all, logger, stdout)
	}
	inv, err := privacyJSON(cfg, s.saltKey != "")
	if err != nil {
		return err
	}
	r, err := audit.Run(ctx, audit.Options{
		DB: db, DataDir: s.dataDir, Retention: retentionMonths(cfg), Inventory: json.RawMessage(inv),
	})
	if err != nil {
		return err
	}
	if asJSON {
		err = r.WriteJSON(stdout)
	} else {
		err = r.WriteText(stdout)
	}
	if err != nil {
		return err
	}
	if len(r.Findings) > 0 {
		return errors.New(r.Summary())
	}
	return nil
}

func retentionMonths(cfg *fileConfig) map[string]int {
	m := make(map[string]int, len(cfg.Sites))
	for _, s := range cfg.Sites {
		m[s.Domain] = s.RetentionMonths
	}
	return m
}

func retentionCommand(ctx context.Context, db *schema.DB, cfg *fileConfig, dryRun bool, stdout io.Writer) error {
	plan, err := schema.PlanRetention(ctx, db, retentionMonths(cfg), time.Now())
	if err != nil {
		return err
	}
	writePlan(stdout, plan)
	if dryRun || plan.Empty() {
		if dryRun && !plan.Empty() {
			fmt.Fprintln(stdout, "dry run: nothing removed")
		}
		return nil
	}
	if err := plan.Apply(ctx, db, mutationWait); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "removed")
	return nil
}

func writePlan(w io.Writer, plan *schema.Plan) {
	fmt.Fprintf(w, "retention at %s\n", plan.Now.Format("2006-01-02 15:04 UTC"))
	if plan.Empty() {
		fmt.Fprintln(w, "  nothing is past its retention")
		return
	}
	for _, p := range plan.Partitions {
		fmt.Fprintf(w, "  drop partition %s of stats_hourly (%d rows): past every site's retention\n", p.Partition, p.Rows)
	}
	for _, p := range plan.Rollups {
		fmt.Fprintf(w, "  drop partition %s of %s (%d rows): follows the hours dropped\n", p.Partition, p.Table, p.Rows)
	}
	for _, d := range plan.Deletes {
		fmt.Fprintf(w, "  delete %d rows of %s before %s (retention %d months)\n", d.Rows, d.Site, d.Before.Format("2006-01-02"), d.Months)
	}
}

func purgeCommand(ctx context.Context, db *schema.DB, domain string, yes bool, stdout io.Writer) error {
	if !yes {
		rows, err := schema.SiteRows(ctx, db, domain)
		if err != nil {
			return err
		}
		var total uint64
		for _, t := range rows {
			fmt.Fprintf(stdout, "%s: %d rows of %s\n", t.Table, t.Rows, domain)
			total += t.Rows
		}
		fmt.Fprintf(stdout, "would delete %d rows; run again with --yes to delete them\n", total)
		return nil
	}
	before, after, err := schema.PurgeSite(ctx, db, domain, mutationWait)
	for i, t := range before {
		line := fmt.Sprintf("%s: %d rows of %s before", t.Table, t.Rows, domain)
		if i < len(after) {
			line += fmt.Sprintf(", %d after", after[i].Rows)
		}
		fmt.Fprintln(stdout, line)
	}
	if err != nil {
		return err
	}
	for _, t := range after {
		if t.Rows != 0 {
			return fmt.Errorf("purge %s: %d rows remain in %s", domain, t.Rows, t.Table)
		}
	}
	fmt.Fprintf(stdout, "purged %s\n", domain)
	return nil
}

// enforceRetention applies retention once now and then every
// retentionInterval until ctx ends. Failures are logged and retried on the
// next run.
// rollupInterval is the time between rollup runs in serve and dashboard
// processes: closed days appear in stats_daily within it (plus
// rollup.DefaultGrace after midnight), and late rows of the last
// rollup.DefaultRecheckDays days are rolled in again within it.
const rollupInterval = rollup.DefaultInterval

// rollupCommand runs one pass of the rollup job: every closed day without a
// roll, and the last rollup.DefaultRecheckDays days (with all, every day)
// whose hourly rows changed since their roll.
func rollupCommand(ctx context.Context, db *schema.DB, all bool, logger *slog.Logger, stdout io.Writer) error {
	opts := rollup.Options{DB: db, Logger: logger}
	if all {
		opts.RecheckDays = 100000
	}
	p, err := rollup.New(opts).Run(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "rollup: %d days rolled up (%d rows with %d months), %d days compared with stats_hourly, in %s\n",
		p.Rolled, p.Rows, p.Months, p.Checked, p.Duration.Round(time.Millisecond))
	return nil
}

func enforceRetention(ctx context.Context, db *schema.DB, cfg *fileConfig, logger *slog.Logger) {
	log := logger.With("component", "retention")
	months := retentionMonths(cfg)
	for {
		plan, err := schema.PlanRetention(ctx, db, months, time.Now())
		if err == nil && !plan.Empty() {
			err = plan.Apply(ctx, db, mutationWait)
			if err == nil {
				log.Info("retention applied", "partitions", len(plan.Partitions), "site_deletes", len(plan.Deletes))
			}
		}
		if err != nil && ctx.Err() == nil {
			log.Error("retention failed; retrying at the next run", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(retentionInterval):
		}
	}
}
