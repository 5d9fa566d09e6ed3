package aggregator

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
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
	// SessionTimeout ends a visit after this much inactivity (default 30m).
	// Visits also end when the UTC day (and with it the salt) changes.
	SessionTimeout time.Duration
	// MaxValues caps the distinct values per site, hour and dimension
	// (default 10000); further values fold into "(other)".
	MaxValues int
	// MaxPropKeys caps the distinct custom property keys per site, hour and
	// event name (default 50).
	MaxPropKeys int
	// Logger (default slog.Default()).
	Logger *slog.Logger
	// Metrics receives the aggregator's metrics (default: a private set).
	Metrics *metrics.Set
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Aggregator keeps hourly rollups and visits per site in memory and flushes
// cumulative rows to the Store. Add is safe for concurrent use.
type Aggregator struct {
	store     Store
	writer    string
	interval  time.Duration
	grace     int64 // seconds
	timeout   int64 // seconds
	maxValues int
	maxKeys   int
	log       *slog.Logger
	now       func() time.Time
	metrics   *metrics.Set

	mu    sync.Mutex
	sites map[string]*siteAgg
	// last is the site of the last Add: events come in long runs of one
	// site, and a string compare is cheaper than a map lookup.
	last *siteAgg
	// folding is the site and time a fold is counted for (drops table,
	// reason "folded"); set under mu while an event is counted.
	folding     *siteAgg
	foldingTime int64
	lastVer     uint64
	nCells      int
	nSess       int

	flushMu  sync.Mutex // one flush at a time
	healthMu sync.Mutex
	lastErr  error
	lastOK   time.Time

	flushDuration *metrics.Histogram
	flushFailures *metrics.Counter
	flushRows     *metrics.Counter
	foldedMu      sync.Mutex
	folded        map[string]*metrics.Counter
	foldedBySite  map[string]*metrics.Counter
}

// siteAgg is one site's state.
type siteAgg struct {
	name    string
	buckets map[int64]*bucket
	// sessions are held by value: the lookup that finds a visit reads the
	// visit itself, instead of a pointer to follow to another cache miss.
	sessions sessionTable
	// minutes are the site's totals per UTC minute (unix seconds of its
	// start) for realtime visitors; only the last realtimeKeep are held.
	minutes map[int64]*cell
	// drops count dropped requests per minute and reason.
	drops map[dropKey]*cell
	// cur and curMin are the bucket and the minute cell of the last event
	// (nil when snapshot forgot them): nearly every event falls into the
	// same hour and minute as the one before.
	cur    *bucket
	curMin *cell
	minute int64 // curMin's
}

type dropKey struct {
	minute int64
	reason string
}

// realtimeKeep is how long per-minute cells stay in memory after their
// minute: the dashboard's realtime view looks back five minutes.
const realtimeKeep = 10 * 60

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
	if opts.SessionTimeout <= 0 {
		opts.SessionTimeout = 30 * time.Minute
	}
	if opts.MaxValues <= 0 {
		opts.MaxValues = 10000
	}
	if opts.MaxPropKeys <= 0 {
		opts.MaxPropKeys = 50
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
		grace:         int64(opts.Grace / time.Second),
		timeout:       int64(opts.SessionTimeout / time.Second),
		maxValues:     opts.MaxValues,
		maxKeys:       opts.MaxPropKeys,
		log:           opts.Logger.With("component", "aggregator"),
		now:           opts.Now,
		metrics:       opts.Metrics,
		sites:         make(map[string]*siteAgg),
		flushDuration: opts.Metrics.NewHistogram("analytics_flush_duration_seconds"),
		flushFailures: opts.Metrics.NewCounter("analytics_flush_failures_total"),
		flushRows:     opts.Metrics.NewCounter("analytics_flush_rows_total"),
		folded:        make(map[string]*metrics.Counter),
		foldedBySite:  make(map[string]*metrics.Counter),
	}
	opts.Metrics.NewGauge("analytics_aggregator_cells", func() float64 {
		a.mu.Lock()
		defer a.mu.Unlock()
		return float64(a.nCells)
	})
	opts.Metrics.NewGauge("analytics_aggregator_sessions", func() float64 {
		a.mu.Lock()
		defer a.mu.Unlock()
		return float64(a.nSess)
	})
	return a, nil
}

// Writer returns the id this process writes its rows under.
func (a *Aggregator) Writer() string { return a.writer }

// fold counts a value folded into "(other)" by the cap on distinct values.
func (a *Aggregator) fold(dim string) {
	if dim == "" {
		dim = "total"
	}
	a.foldedMu.Lock()
	c := a.folded[dim]
	if c == nil {
		c = a.metrics.GetOrCreateCounter(fmt.Sprintf(`analytics_aggregator_folded_total{dimension=%q}`, dim))
		a.folded[dim] = c
	}
	a.foldedMu.Unlock()
	c.Inc()
	if a.folding != nil {
		a.countDrop(a.folding, ReasonFolded, a.foldingTime)
		a.foldedSite(a.folding.name).Inc()
	}
}

// foldedSite returns the site's analytics_events_dropped_total counter of
// reason "folded" (the collector's drop counters, in the same set).
func (a *Aggregator) foldedSite(site string) *metrics.Counter {
	a.foldedMu.Lock()
	defer a.foldedMu.Unlock()
	c := a.foldedBySite[site]
	if c == nil {
		c = a.metrics.GetOrCreateCounter(fmt.Sprintf(`analytics_events_dropped_total{site=%q,reason=%q}`, site, ReasonFolded))
		a.foldedBySite[site] = c
	}
	return c
}

// ReasonFolded is the drops-table reason of a value folded into "(other)"
// by the cap on distinct values: the event counted, one of its values did
// not keep its name.
const ReasonFolded = "folded"

func (a *Aggregator) cell(b *bucket, k cellKey) *cell {
	n := len(b.cells)
	c := b.cell(k, a.maxValues, a.maxKeys, a.fold)
	a.nCells += len(b.cells) - n
	return c
}

// Add counts one event. It reports false for an event it did not count: an
// engagement event with no visit in progress, or an Unlocated event that
// would start a visit (see Count). e is not retained.
func (a *Aggregator) Add(e *Event) bool { return a.Count(e) == Counted }

// Count counts one event and says whether it did. An event that is not
// counted changes nothing that counting it later would not change. e is not
// retained.
func (a *Aggregator) Count(e *Event) Outcome {
	a.mu.Lock()
	defer a.mu.Unlock()
	site := a.site(e.Site)
	if site == nil {
		site = a.newSite(e.Site)
	}
	a.last = site
	now := e.Time.Unix()
	// Folds while counting e are e's site's (cell is only ever called
	// under mu, from here or endSessions, which set this first).
	a.folding, a.foldingTime = site, now
	hour := now - now%3600
	b := site.cur
	if b == nil || b.hour != hour {
		if b = site.buckets[hour]; b == nil {
			b = newBucket(hour)
			b.writer = a.writer
			if clock := a.now().Unix(); clock >= hour+3600+a.grace {
				// The hour closed already, so an earlier bucket of it may
				// have been written and forgotten: rows under our writer id
				// would replace those. The late counts get their own
				// writer id, so that they add to what was written.
				b.writer = a.writer + "-late-" + strconv.FormatInt(clock, 10)
			}
			site.buckets[hour] = b
		}
		site.cur = b
	}
	switch e.Kind {
	case Vitals:
		a.addVitals(b, e)
		return Counted
	case JSError:
		a.addError(b, e)
		return Counted
	}

	// s points into the table: nothing below inserts or removes a visit
	// but the two calls that replace s.
	s := site.sessions.find(e.Visitor)
	if s != nil && a.ended(s, now) {
		a.endSession(site, e.Visitor, s)
		s = nil
	}
	if e.Kind == Engagement {
		if s == nil {
			return NoVisit
		}
		a.extend(s, now)
		a.engage(s, b, e)
		// Realtime: every event that counts shows a visitor present this
		// minute.
		a.countMinute(site, s, now, e)
		return Counted
	}
	if s == nil {
		if e.Unlocated {
			return NeedsLocation
		}
		sv := a.startSession(b, e, now)
		s = site.sessions.insert(e.Visitor)
		*s = sv
	} else {
		a.extend(s, now)
	}
	interactive := e.Kind == Pageview || e.Interactive
	if interactive {
		s.interactions++
		if s.interactions == 2 { // no longer a bounce
			for _, c := range s.visit {
				c.bounces--
				c.dirty = true
			}
		}
	}

	pv := uint64(0)
	if e.Kind == Pageview {
		pv = 1
	}
	count := func(c *cell, seen bool) {
		c.pageviews += pv
		c.events++
		if !seen {
			c.visitors.Add(e.Visitor)
		}
		c.dirty = true
	}
	// The visit's own dimension cells of this bucket already hold the
	// visitor once the visit had an event in it: no sketch inserts, the
	// most expensive part of Add, and the counts wait in the visit until
	// they are read (addPending), instead of 15 cells being written per
	// event.
	if s.counted == b {
		s.pendPV += uint32(pv)
		s.pendEvents++
	} else {
		s.addPending()
		switch {
		case b == s.bucket: // the visit's first hour: its own cells
			count(s.visit[visitTotal], false)
			for _, c := range s.visit[visitFirstEventDim:] {
				count(c, false)
			}
		default:
			if s.cur == nil {
				s.cur = new([1 + len(visitDims) - visitFirstEventDim]*cell)
			}
			s.cur[0] = a.cell(b, cellKey{dim: schema.DimTotal})
			for i, vc := range s.visit[visitFirstEventDim:] {
				s.cur[1+i] = a.cell(b, vc.key)
			}
			for _, c := range s.cur {
				count(c, false)
			}
		}
		s.counted = b
	}
	page := a.pageCell(s, b, e.Path)
	// The same goes for the page the visitor last counted in.
	count(page, page == s.seenPage)
	s.seenPage = page
	if e.Kind == Pageview {
		s.page, s.pageBucket, s.engaged, s.maxScroll = page, b, false, 0
	}
	if e.Kind == Custom {
		goal := a.cell(b, cellKey{dim: schema.DimGoal, value: e.Name})
		count(goal, false)
		// Properties are kept per event name as the goal cell shows it:
		// names past the cap share "(other)", so they cannot grow memory.
		for _, p := range e.Props {
			count(a.cell(b, cellKey{dim: schema.DimPropsPrefix, goal: goal.key.value, sub: p.Key, value: p.Value}), false)
		}
	}
	a.countMinute(site, s, now, e)
	return Counted
}

// Prefetch tells the aggregator that an event of visitor on site is about
// to be counted: it starts loading the visitor's visit into the CPU's
// caches, so that Count, a few hundred nanoseconds later, need not wait for
// memory. It changes nothing; calling it or not gives the same counts.
func (a *Aggregator) Prefetch(site string, visitor uint64) {
	a.mu.Lock()
	if s := a.site(site); s != nil {
		s.sessions.prefetch(visitor)
	}
	a.mu.Unlock()
}

// site returns the aggregates of the named site, or nil: the site of the
// last event counted without a map lookup (most events follow one of the
// same site). a.mu held.
func (a *Aggregator) site(name string) *siteAgg {
	if a.last != nil && a.last.name == name {
		return a.last
	}
	return a.sites[name]
}

// pageCell returns the cell of path in b: the visit's current page cell
// when the event is on the same page (a reload, the page's engagement
// events), without a lookup.
func (a *Aggregator) pageCell(s *session, b *bucket, path string) *cell {
	if p := s.page; p != nil && s.pageBucket == b && p.key.value == path {
		return p
	}
	if p := b.pages[path]; p != nil {
		return p
	}
	p := a.cell(b, cellKey{dim: schema.DimPage, value: path})
	if p.key.value == path { // not folded: the key is the cell's own copy
		b.pages[p.key.value] = p
	}
	return p
}

func (a *Aggregator) newSite(name string) *siteAgg {
	site := &siteAgg{name: strings.Clone(name), buckets: make(map[int64]*bucket),
		minutes: make(map[int64]*cell), drops: make(map[dropKey]*cell)}
	a.sites[site.name] = site
	return site
}

// Drop counts a request the collector refused or dropped, by site (or
// "(unknown)") and reason, per minute, so that drops are visible in the
// store and not only in a process's metrics.
func (a *Aggregator) Drop(site, reason string, at time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.sites[site]
	if s == nil {
		s = a.newSite(site)
	}
	a.countDrop(s, reason, at.Unix())
}

// countDrop adds one drop of reason to the site's minute of now. a.mu held.
func (a *Aggregator) countDrop(s *siteAgg, reason string, now int64) {
	k := dropKey{minute: now - now%60, reason: reason}
	c := s.drops[k]
	if c == nil {
		k.reason = strings.Clone(reason)
		c = &cell{}
		s.drops[k] = c
		a.nCells++
	}
	c.events++
	c.dirty = true
}

// countMinute adds e, an event of the visit s, to its site's cell of the
// current minute. The visit's visitor is inserted into the minute's sketch
// once.
func (a *Aggregator) countMinute(site *siteAgg, s *session, now int64, e *Event) {
	m := now - now%60
	c := site.curMin
	if c == nil || site.minute != m {
		if c = site.minutes[m]; c == nil {
			c = &cell{key: cellKey{dim: schema.DimRealtime}, visitors: sketch.New()}
			site.minutes[m] = c
			a.nCells++
		}
		site.curMin, site.minute = c, m
	}
	if e.Kind == Pageview {
		c.pageviews++
	}
	c.events++
	if s.minute != c {
		c.visitors.Add(e.Visitor)
		s.minute = c
	}
	c.dirty = true
}

// ended reports whether s is over at now: idle past the timeout, or begun
// on an earlier UTC day (the salt, and so every visitor key, changed).
func (a *Aggregator) ended(s *session, now int64) bool {
	return now-s.last > a.timeout || now/86400 != s.start/86400
}

// startSession returns a new visit started by e, which the caller adds to
// its site's sessions.
func (a *Aggregator) startSession(b *bucket, e *Event, now int64) session {
	// The visit cells are the event cells of its first bucket: counted.
	s := session{start: now, last: now, bucket: b, counted: b}
	var vc visitCells
	for i, k := range visitKeys(e) {
		c := a.cell(b, k)
		c.visits++
		c.bounces++ // until a second interaction
		c.visitors.Add(e.Visitor)
		c.dirty = true
		vc[i] = c
	}
	s.visit = b.visitCells(&vc)
	b.live++
	a.nSess++
	return s
}

// extend moves the visit's last activity to now, adding to its duration
// (pending, see addPending).
func (a *Aggregator) extend(s *session, now int64) {
	if now <= s.last {
		return
	}
	s.pendDuration += uint64(now - s.last)
	s.last = now
}

// engage adds an engagement event to the page it was sent from: the first
// one of a pageview counts the pageview as engaged; scroll depth counts its
// growth, so the page's scroll_sum is the sum of each pageview's maximum.
func (a *Aggregator) engage(s *session, b *bucket, e *Event) {
	page := a.pageCell(s, b, e.Path)
	if !s.engaged || s.page != page {
		s.page, s.pageBucket, s.engaged, s.maxScroll = page, b, true, 0
		page.engagements++
	}
	if sd := min(e.ScrollDepth, 100); sd > s.maxScroll {
		page.scrollSum += uint64(sd - s.maxScroll)
		s.maxScroll = sd
	}
	if e.EngagedMS > 0 {
		page.engaged += uint64(e.EngagedMS)
	}
	page.dirty = true
}

// endSession counts the visit's exit page and forgets the visit.
func (a *Aggregator) endSession(site *siteAgg, key uint64, s *session) {
	a.finishSession(key, s)
	site.sessions.remove(key) // s is gone
}

// finishSession counts the visit's exit page; the caller removes it.
func (a *Aggregator) finishSession(key uint64, s *session) {
	s.addPending()
	if s.page != nil {
		c := a.cell(s.bucket, cellKey{dim: schema.DimExitPage, value: s.page.key.value})
		c.visits++
		if s.interactions <= 1 {
			c.bounces++
		}
		c.duration += uint64(s.last - s.start)
		c.visitors.Add(key)
		c.dirty = true
	}
	s.bucket.live--
	a.nSess--
}

// endSessions ends the visits that are over at now, or all when all is set
// (a clean stop: their exit pages are counted now rather than lost), and
// adds the pending counts of the others to their cells.
func (a *Aggregator) endSessions(now int64, all bool) {
	defer func() { a.folding = nil }()
	for _, site := range a.sites {
		a.folding, a.foldingTime = site, now
		site.sessions.each(func(key uint64, s *session) bool {
			switch {
			case all || a.ended(s, now):
				a.finishSession(key, s)
				return true
			case s.pending():
				// The cells are about to be read: add what waits in the
				// visit.
				s.addPending()
			}
			return false
		})
	}
}

// Run flushes every FlushInterval until ctx ends, then ends every visit and
// flushes once more with a fresh deadline of stopTimeout, so that a clean
// stop loses nothing the store can take.
func (a *Aggregator) Run(ctx context.Context, stopTimeout time.Duration) error {
	t := time.NewTicker(a.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopTimeout)
			defer cancel()
			a.mu.Lock()
			a.endSessions(a.now().Unix(), true)
			a.mu.Unlock()
			if err := a.Flush(fctx); err != nil {
				return fmt.Errorf("final flush: %w", err)
			}
			return nil
		case <-t.C:
			// A stop must not cancel a flush halfway: its rows would go to
			// the spool instead of the store (and wait there for the next
			// start). It ends within stopTimeout; then the final flush runs.
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopTimeout)
			err := a.Flush(fctx)
			cancel()
			if err != nil && ctx.Err() == nil {
				a.log.Warn("flush failed; rows stay in memory and are written on the next flush", "err", err)
			}
		}
	}
}

// Flush ends the visits that timed out and writes the current totals of
// every cell that changed since the last successful flush. The state stays
// in memory until its hour has closed, its visits ended and it was written,
// so a failed flush is simply repeated by the next one.
func (a *Aggregator) Flush(ctx context.Context) error {
	a.flushMu.Lock()
	defer a.flushMu.Unlock()
	start := time.Now()

	rows, written, writtenVitals := a.snapshot()
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
		for _, c := range writtenVitals {
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

// snapshot ends timed-out visits, collects the dirty cells as rows under the
// lock, marks them clean, and forgets buckets that are closed (hour over,
// no visit in progress) and were fully written by an earlier flush.
func (a *Aggregator) snapshot() ([]Row, []*cell, []*vitalCell) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	a.endSessions(now.Unix(), false)
	ver := uint64(now.UnixNano())
	if ver <= a.lastVer {
		ver = a.lastVer + 1
	}
	a.lastVer = ver
	var rows []Row
	var written []*cell
	var writtenVitals []*vitalCell
	for name, site := range a.sites {
		for hour, b := range site.buckets {
			closed := now.Unix() >= hour+3600+a.grace && b.live == 0
			dirty := false
			at := time.Unix(hour, 0).UTC()
			for _, c := range b.cells {
				if !c.dirty {
					continue
				}
				dirty = true
				sk, err := c.visitors.MarshalBinary()
				if err != nil {
					// Marshalling an in-memory sketch cannot fail short of
					// a bug; keep the cell dirty rather than lose it.
					a.log.Error("marshal sketch", "err", err)
					continue
				}
				dim, value := c.key.row()
				rows = append(rows, Row{
					Site: name, Hour: at, Dimension: dim, Goal: c.key.goal, Value: value,
					Writer: b.writer, Ver: ver,
					Pageviews: c.pageviews, Events: c.events,
					Engagements: c.engagements, ScrollSum: c.scrollSum, EngagedMS: c.engaged,
					Visits: c.visits, Bounces: c.bounces, Duration: c.duration,
					Sketch: sk,
				})
				c.dirty = false
				written = append(written, c)
			}
			var vdirty bool
			rows, vdirty = a.vitalRows(rows, name, b, Row{Hour: at, Writer: b.writer, Ver: ver}, &writtenVitals)
			if closed && !dirty && !vdirty {
				a.nCells -= len(b.cells) + len(b.vitals)
				delete(site.buckets, hour)
				if site.cur == b {
					site.cur = nil
				}
			}
		}
		for m, c := range site.minutes {
			if c.dirty {
				sk, err := c.visitors.MarshalBinary()
				if err != nil {
					a.log.Error("marshal sketch", "err", err)
					continue
				}
				rows = append(rows, Row{Site: name, Hour: time.Unix(m, 0).UTC(), Dimension: schema.DimRealtime,
					Writer: a.writer, Ver: ver, Pageviews: c.pageviews, Events: c.events, Sketch: sk})
				c.dirty = false
				written = append(written, c)
			} else if now.Unix() >= m+realtimeKeep {
				delete(site.minutes, m)
				if site.curMin == c {
					site.curMin = nil
				}
				a.nCells--
			}
		}
		for k, c := range site.drops {
			if c.dirty {
				rows = append(rows, Row{Site: name, Hour: time.Unix(k.minute, 0).UTC(), Dimension: schema.DimDrops,
					Value: k.reason, Writer: a.writer, Ver: ver, Events: c.events})
				c.dirty = false
				written = append(written, c)
			} else if now.Unix() >= k.minute+realtimeKeep {
				delete(site.drops, k)
				a.nCells--
			}
		}
		if len(site.buckets) == 0 && site.sessions.len() == 0 && len(site.minutes) == 0 && len(site.drops) == 0 {
			delete(a.sites, name)
			if a.last == site {
				a.last = nil
			}
		}
	}
	return rows, written, writtenVitals
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
