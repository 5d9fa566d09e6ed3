package aggregator

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"analytics/aggregator/sketch"
	"analytics/schema"
)

// Options configure an Aggregator.
type Options struct {
	// Store receives the cumulative rows on every flush. Required.
	Store Store
	// Writer names this process in the rows it writes; rows of different
	// writers add up. Default: a random id per process start, so a restart
	// never overwrites the rows an earlier run wrote for the same hour.
	Writer string
	// FlushInterval is the time between flushes (default 10s).
	FlushInterval time.Duration
	// Grace is how long an hour's bucket stays open after the hour ends, for
	// events stamped just before the boundary (default 1 minute).
	Grace time.Duration
	// Logger (default slog.Default()).
	Logger *slog.Logger
	// Metrics receives the flush metrics (default: a private set).
	Metrics *metrics.Set
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Aggregator keeps hourly rollups per site in memory and flushes them to the
// Store. Add is safe for concurrent use.
type Aggregator struct {
	store    Store
	writer   string
	interval time.Duration
	grace    time.Duration
	log      *slog.Logger
	now      func() time.Time

	mu      sync.Mutex
	buckets map[bucketKey]*bucket
	lastVer uint64

	flushMu  sync.Mutex // one flush at a time
	healthMu sync.Mutex
	lastErr  error
	lastOK   time.Time

	flushDuration *metrics.Histogram
	flushFailures *metrics.Counter
	flushRows     *metrics.Counter
}

type bucketKey struct {
	site string
	hour int64 // unix seconds of the hour start
}

// cellKey names one cell. sub qualifies value for dimensions that pair two
// event fields (browser and its version) without building a string per event.
type cellKey struct {
	dim   string
	value string
	sub   string
}

// rowValue is the stored value of a cell: "Chrome 131" for a browser version.
func (k cellKey) rowValue() string {
	if k.sub == "" {
		return k.value
	}
	return k.value + " " + k.sub
}

type bucket struct {
	cells map[cellKey]*cell
}

type cell struct {
	pageviews uint64
	events    uint64
	visitors  *sketch.Sketch
	dirty     bool
}

// New returns an Aggregator. Call Run to flush periodically.
func New(opts Options) (*Aggregator, error) {
	if opts.Store == nil {
		return nil, errors.New("aggregator: Store is required")
	}
	if opts.Writer == "" {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("aggregator: writer id: %w", err)
		}
		opts.Writer = hex.EncodeToString(b[:])
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = 10 * time.Second
	}
	if opts.Grace <= 0 {
		opts.Grace = time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Metrics == nil {
		opts.Metrics = metrics.NewSet()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	a := &Aggregator{
		store:         opts.Store,
		writer:        opts.Writer,
		interval:      opts.FlushInterval,
		grace:         opts.Grace,
		log:           opts.Logger.With("component", "aggregator"),
		now:           opts.Now,
		buckets:       make(map[bucketKey]*bucket),
		flushDuration: opts.Metrics.NewHistogram("analytics_flush_duration_seconds"),
		flushFailures: opts.Metrics.NewCounter("analytics_flush_failures_total"),
		flushRows:     opts.Metrics.NewCounter("analytics_flush_rows_total"),
	}
	opts.Metrics.NewGauge("analytics_aggregator_cells", func() float64 { return float64(a.cellCount()) })
	return a, nil
}

// Writer returns the id this process writes its rows under.
func (a *Aggregator) Writer() string { return a.writer }

// Add counts one event. Engagement events carry no pageview or event count;
// they are accepted here and aggregated once visits exist.
func (a *Aggregator) Add(e *Event) {
	if e.Kind == Engagement {
		return
	}
	hour := e.Time.Unix() - e.Time.Unix()%3600
	a.mu.Lock()
	defer a.mu.Unlock()
	bk := bucketKey{site: e.Site, hour: hour}
	b := a.buckets[bk]
	if b == nil {
		bk.site = strings.Clone(bk.site)
		b = &bucket{cells: make(map[cellKey]*cell, 64)}
		a.buckets[bk] = b
	}
	b.add(cellKey{dim: schema.DimTotal}, e)
	b.add(cellKey{dim: schema.DimPage, value: e.Path}, e)
	b.add(cellKey{dim: schema.DimSource, value: e.Source}, e)
	b.add(cellKey{dim: schema.DimCountry, value: e.Country}, e)
	b.add(cellKey{dim: schema.DimBrowser, value: e.Browser}, e)
	if e.Browser != "" && e.BrowserVersion != "" {
		b.add(cellKey{dim: schema.DimBrowserVersion, value: e.Browser, sub: e.BrowserVersion}, e)
	}
	b.add(cellKey{dim: schema.DimOS, value: e.OS}, e)
	b.add(cellKey{dim: schema.DimDevice, value: e.Device}, e)
	if e.Kind == Custom {
		b.add(cellKey{dim: schema.DimGoal, value: e.Name}, e)
	}
}

func (b *bucket) add(k cellKey, e *Event) {
	c := b.cells[k]
	if c == nil {
		// Event strings are only valid during Add (see Event); a key
		// that lives for the hour gets its own copy.
		k.value, k.sub = strings.Clone(k.value), strings.Clone(k.sub)
		c = &cell{visitors: sketch.New()}
		b.cells[k] = c
	}
	if e.Kind == Pageview {
		c.pageviews++
	}
	c.events++
	c.visitors.Add(e.Visitor)
	c.dirty = true
}

func (a *Aggregator) cellCount() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, b := range a.buckets {
		n += len(b.cells)
	}
	return n
}

// Run flushes every FlushInterval until ctx ends, then flushes once more
// with a fresh deadline of stopTimeout so that a clean stop loses nothing the
// store can take.
func (a *Aggregator) Run(ctx context.Context, stopTimeout time.Duration) error {
	t := time.NewTicker(a.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopTimeout)
			defer cancel()
			if err := a.Flush(fctx); err != nil {
				return fmt.Errorf("final flush: %w", err)
			}
			return nil
		case <-t.C:
			if err := a.Flush(ctx); err != nil && ctx.Err() == nil {
				a.log.Warn("flush failed; rows stay in memory and are written on the next flush", "err", err)
			}
		}
	}
}

// Flush writes the current totals of every cell that changed since the last
// successful flush. The state stays in memory until its hour has closed and
// been written, so a failed flush is simply repeated by the next one.
func (a *Aggregator) Flush(ctx context.Context) error {
	a.flushMu.Lock()
	defer a.flushMu.Unlock()
	start := time.Now()

	rows, written := a.snapshot()
	if len(rows) == 0 {
		a.setHealth(nil)
		return nil
	}
	err := a.store.Write(ctx, rows)
	a.flushDuration.UpdateDuration(start)
	if err != nil {
		a.flushFailures.Inc()
		a.mu.Lock()
		for _, c := range written {
			c.dirty = true
		}
		a.mu.Unlock()
		a.setHealth(err)
		return fmt.Errorf("write %d rows: %w", len(rows), err)
	}
	a.flushRows.Add(len(rows))
	a.setHealth(nil)
	a.log.Debug("flushed", "rows", len(rows), "duration", time.Since(start).Round(time.Millisecond))
	return nil
}

// snapshot collects the dirty cells as rows under the lock, marks them
// clean, and forgets buckets whose hour closed and which were fully written
// by an earlier flush.
func (a *Aggregator) snapshot() ([]Row, []*cell) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	ver := uint64(now.UnixNano())
	if ver <= a.lastVer {
		ver = a.lastVer + 1
	}
	a.lastVer = ver
	var rows []Row
	var written []*cell
	for bk, b := range a.buckets {
		closed := now.Unix() >= bk.hour+3600+int64(a.grace/time.Second)
		dirty := false
		hour := time.Unix(bk.hour, 0).UTC()
		for ck, c := range b.cells {
			if !c.dirty {
				continue
			}
			dirty = true
			sk, err := c.visitors.MarshalBinary()
			if err != nil {
				// Marshalling an in-memory sketch cannot fail short of a
				// bug; keep the cell dirty rather than lose it.
				a.log.Error("marshal sketch", "err", err)
				continue
			}
			rows = append(rows, Row{
				Site: bk.site, Hour: hour, Dimension: ck.dim, Value: ck.rowValue(),
				Writer: a.writer, Ver: ver,
				Pageviews: c.pageviews, Events: c.events, Sketch: sk,
			})
			c.dirty = false
			written = append(written, c)
		}
		if closed && !dirty {
			delete(a.buckets, bk)
		}
	}
	return rows, written
}

func (a *Aggregator) setHealth(err error) {
	a.healthMu.Lock()
	defer a.healthMu.Unlock()
	a.lastErr = err
	if err == nil {
		a.lastOK = a.now()
	}
}

// Health reports the result of the last flush: nil when the store took it.
func (a *Aggregator) Health() (lastErr error, lastOK time.Time) {
	a.healthMu.Lock()
	defer a.healthMu.Unlock()
	return a.lastErr, a.lastOK
}
