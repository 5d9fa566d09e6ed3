// Package schema owns the ClickHouse side of the product: opening a
// connection from the URL in the settings, probing the server version,
// creating the database, and applying the embedded, numbered SQL migrations
// that define the aggregate tables. It also names the dimensions stored in
// those tables, the vocabulary that the aggregator writes and the dashboard
// reads.
package schema

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Dimension names as stored in stats_hourly.dimension. They are the Stats API
// names, so the dashboard can pass them through.
const (
	DimTotal          = ""
	DimPage           = "event:page"
	DimGoal           = "event:goal"
	DimSource         = "visit:source"
	DimChannel        = "visit:channel"
	DimUTMSource      = "visit:utm_source"
	DimUTMMedium      = "visit:utm_medium"
	DimUTMCampaign    = "visit:utm_campaign"
	DimUTMContent     = "visit:utm_content"
	DimUTMTerm        = "visit:utm_term"
	DimCountry        = "visit:country"
	DimRegion         = "visit:region"
	DimBrowser        = "visit:browser"
	DimBrowserVersion = "visit:browser_version"
	DimOS             = "visit:os"
	DimOSVersion      = "visit:os_version"
	DimDevice         = "visit:device"
	DimEntryPage      = "visit:entry_page"
	DimExitPage       = "visit:exit_page"
	// DimPropsPrefix + key is the dimension of a custom property; such rows
	// carry the event name in the goal column.
	DimPropsPrefix = "event:props:"
	// DimRealtime marks the aggregator's per-minute rows (site totals of one
	// minute); they are stored in stats_minutely, not stats_hourly.
	DimRealtime = "realtime:minute"
	// DimDrops marks the per-minute counts of dropped requests (value: the
	// reason, events: the count); they are stored in drops_minutely.
	DimDrops = "drops:minute"

	// The JavaScript error dimensions (technical data for ops). DimError
	// rows count the errors and affected visitors of one fingerprint (the
	// value); the others break one fingerprint (their goal column) down by
	// its normalised message, source file:line:column, page, and browser
	// family with major version.
	DimError        = "error:fingerprint"
	DimErrorMessage = "error:message"
	DimErrorSource  = "error:source"
	DimErrorPage    = "error:page"
	DimErrorBrowser = "error:browser"

	// The web vitals dimensions, stored in vitals_hourly with the metric
	// name ("lcp") in its metric column: the site's totals, and per page,
	// browser family and device class.
	DimVitals        = "vitals"
	DimVitalsPage    = "vitals:page"
	DimVitalsBrowser = "vitals:browser"
	DimVitalsDevice  = "vitals:device"
)

// IsVitals reports whether dim is stored in vitals_hourly.
func IsVitals(dim string) bool {
	return dim == DimVitals || len(dim) > len(DimVitals) && dim[:len(DimVitals)+1] == DimVitals+":"
}

// OtherValue is the value that collects what a cap or the k-anonymity
// threshold folds away.
const OtherValue = "(other)"

// Version is a ClickHouse server version.
type Version struct {
	Major, Minor, Patch int
}

func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// AtLeast reports whether v >= major.minor.
func (v Version) AtLeast(major, minor int) bool {
	return v.Major > major || (v.Major == major && v.Minor >= minor)
}

// ParseVersion reads the output of SELECT version(), e.g. "18.16.1" or
// "25.3.2.39".
func ParseVersion(s string) (Version, error) {
	parts := strings.Split(strings.TrimSpace(s), ".")
	if len(parts) < 2 {
		return Version{}, fmt.Errorf("unrecognised clickhouse version %q", s)
	}
	var nums [3]int
	for i := 0; i < 3 && i < len(parts); i++ {
		n, err := strconv.Atoi(parts[i])
		if err != nil {
			return Version{}, fmt.Errorf("unrecognised clickhouse version %q", s)
		}
		nums[i] = n
	}
	return Version{nums[0], nums[1], nums[2]}, nil
}

// DB is an open connection to the product's database.
type DB struct {
	Conn driver.Conn
	// Name is the database name from the URL.
	Name    string
	Version Version
}

// Close closes the connection.
func (db *DB) Close() error { return db.Conn.Close() }

var identRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// Open connects to the ClickHouse server named by url (for example
// clickhouse://127.0.0.1:9000/analytics), creates the database if it is
// missing, and returns a connection that uses it. Only the native protocol
// is supported: it is the one that works on every ClickHouse version we
// support.
func Open(ctx context.Context, url string) (*DB, error) {
	opts, err := clickhouse.ParseDSN(url)
	if err != nil {
		return nil, fmt.Errorf("parse clickhouse url: %w", err)
	}
	if opts.Protocol != clickhouse.Native {
		return nil, fmt.Errorf("clickhouse url %s: only the native protocol (clickhouse://host:9000/db) is supported", redact(url))
	}
	name := opts.Auth.Database
	if name == "" {
		name = "analytics"
	}
	if !identRe.MatchString(name) {
		return nil, fmt.Errorf("clickhouse url: database name %q must be letters, digits and _", name)
	}
	if opts.DialTimeout == 0 {
		opts.DialTimeout = 5 * time.Second
	}
	if opts.ReadTimeout == 0 {
		opts.ReadTimeout = 60 * time.Second
	}

	// Create the database through a connection to "default": connecting to a
	// missing database fails.
	opts.Auth.Database = "default"
	boot, err := clickhouse.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("connect to clickhouse at %s: %w", strings.Join(opts.Addr, ","), err)
	}
	defer boot.Close()
	var raw string
	if err := boot.QueryRow(ctx, "SELECT version()").Scan(&raw); err != nil {
		return nil, fmt.Errorf("connect to clickhouse at %s: %w (is it running? scripts/clickhouse start)", strings.Join(opts.Addr, ","), err)
	}
	ver, err := ParseVersion(raw)
	if err != nil {
		return nil, err
	}
	if err := boot.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+name); err != nil {
		return nil, fmt.Errorf("create database %s: %w", name, err)
	}

	opts.Auth.Database = name
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("connect to clickhouse database %s: %w", name, err)
	}
	if err := conn.Ping(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("connect to clickhouse database %s: %w", name, err)
	}
	return &DB{Conn: conn, Name: name, Version: ver}, nil
}

// redact drops credentials from a URL for error messages.
func redact(url string) string {
	if i := strings.Index(url, "@"); i >= 0 {
		if j := strings.Index(url, "://"); j >= 0 && j < i {
			return url[:j+3] + "xxxxx" + url[i:]
		}
	}
	return url
}
