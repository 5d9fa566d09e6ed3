// Package spool keeps aggregate rows on disk while the store is unreachable,
// so that the aggregator can go on counting, release memory and survive a
// crash during an outage. It is a Store decorator: Write tries the store,
// and when that fails writes the rows to a new file of the spool directory
// and reports success; a background loop replays the files in order, with
// exponential backoff and jitter, and deletes each once the store took it.
//
// Rows are cumulative and versioned (see aggregator.Row), so a replay that
// repeats rows the store already holds, or arrives after newer rows, never
// double counts. The spool is bounded: past MaxBytes, files are compacted
// (only the newest version of each row kept); when even that does not fit,
// Write fails and the aggregator keeps the rows in memory.
package spool

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"analytics/aggregator"
)

// ErrFull is returned by Write when the store failed and the rows do not
// fit in the spool either.
var ErrFull = errors.New("spool full")

// Options configure a Spool.
type Options struct {
	// Dir holds the spool files (created 0700). Required.
	Dir string
	// MaxBytes bounds the files' total size (default 512 MiB).
	MaxBytes int64
	// MinBackoff and MaxBackoff bound the wait between replay attempts
	// (defaults 1s and 1m); each wait is jittered by up to ±25%.
	MinBackoff, MaxBackoff time.Duration
	// WriteTimeout bounds one write to the store (default 30s).
	WriteTimeout time.Duration
	Logger       *slog.Logger
	Metrics      *metrics.Set
}

// Spool is an aggregator.Store that spools what its next store rejects.
type Spool struct {
	next aggregator.Store
	opts Options
	log  *slog.Logger

	mu      sync.Mutex
	bytes   int64
	files   []file // oldest first
	seq     uint64
	lastErr error // the store's last error, nil once it took a write
	full    bool
	// replaying is the file being replayed; compaction leaves it alone.
	replaying string

	wake chan struct{}

	spooled, replayed, corrupt *metrics.Counter
}

type file struct {
	name  string
	seq   uint64
	bytes int64
}

const suffix = ".spool"

// New opens the spool in opts.Dir over next, picking up files an earlier
// process left behind (they are replayed first).
func New(next aggregator.Store, opts Options) (*Spool, error) {
	if opts.Dir == "" {
		return nil, errors.New("spool: no directory given")
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = 512 << 20
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = time.Second
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = max(time.Minute, opts.MinBackoff)
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Metrics == nil {
		opts.Metrics = metrics.NewSet()
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	if err := os.Chmod(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	s := &Spool{
		next: next, opts: opts, log: opts.Logger.With("component", "spool"),
		wake:     make(chan struct{}, 1),
		spooled:  opts.Metrics.NewCounter("analytics_spool_rows_spooled_total"),
		replayed: opts.Metrics.NewCounter("analytics_spool_rows_replayed_total"),
		corrupt:  opts.Metrics.NewCounter("analytics_spool_corrupt_files_total"),
	}
	entries, err := os.ReadDir(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasSuffix(name, ".tmp") { // a write cut short by a crash
			os.Remove(filepath.Join(opts.Dir, name))
			continue
		}
		if base, ok := strings.CutSuffix(name, ".merged"); ok {
			// A compaction cut short after its merged file was complete:
			// it holds every row of the files it replaces, so it takes the
			// newest one's place; files not yet deleted replay harmlessly.
			if err := os.Rename(filepath.Join(opts.Dir, name), filepath.Join(opts.Dir, base)); err != nil {
				return nil, fmt.Errorf("spool: %w", err)
			}
			name = base
		}
		seq, ok := parseName(name)
		if !ok || slices.ContainsFunc(s.files, func(f file) bool { return f.name == name }) {
			continue
		}
		info, err := os.Stat(filepath.Join(opts.Dir, name))
		if err != nil {
			return nil, fmt.Errorf("spool: %w", err)
		}
		s.files = append(s.files, file{name: name, seq: seq, bytes: info.Size()})
		s.bytes += info.Size()
		s.seq = max(s.seq, seq)
	}
	slices.SortFunc(s.files, func(a, b file) int { return cmp.Compare(a.seq, b.seq) })
	opts.Metrics.NewGauge("analytics_spool_bytes", func() float64 {
		s.mu.Lock()
		defer s.mu.Unlock()
		return float64(s.bytes)
	})
	opts.Metrics.NewGauge("analytics_spool_files", func() float64 {
		s.mu.Lock()
		defer s.mu.Unlock()
		return float64(len(s.files))
	})
	if len(s.files) > 0 {
		s.log.Info("spool holds rows of an earlier run; replaying them", "files", len(s.files), "bytes", s.bytes)
	}
	return s, nil
}

func fileName(seq uint64) string { return fmt.Sprintf("%016d%s", seq, suffix) }

func parseName(name string) (uint64, bool) {
	num, ok := strings.CutSuffix(name, suffix)
	if !ok || len(num) != 16 {
		return 0, false
	}
	n, err := strconv.ParseUint(num, 10, 64)
	return n, err == nil
}

// Write writes rows to the store, or, if the store fails, to a spool file.
func (s *Spool) Write(ctx context.Context, rows []aggregator.Row) error {
	wctx, cancel := context.WithTimeout(ctx, s.opts.WriteTimeout)
	err := s.next.Write(wctx, rows)
	cancel()
	if err == nil {
		s.setErr(nil)
		s.mu.Lock()
		s.full = false // the store takes rows again: nothing waits on the spool's room
		s.mu.Unlock()
		return nil
	}
	s.setErr(err)
	if serr := s.spool(rows); serr != nil {
		return fmt.Errorf("%w; and %w", err, serr)
	}
	s.log.Warn("store unreachable; rows spooled to disk", "rows", len(rows), "err", err)
	return nil
}

func (s *Spool) setErr(err error) {
	s.mu.Lock()
	s.lastErr = err
	s.mu.Unlock()
}

// spool writes rows as a new file, compacting first if they would not fit.
func (s *Spool) spool(rows []aggregator.Row) error {
	data := encode(rows)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bytes+int64(len(data)) > s.opts.MaxBytes && len(s.files) > 1 {
		if err := s.compactLocked(); err != nil {
			s.log.Error("compact spool", "err", err)
		}
	}
	if s.bytes+int64(len(data)) > s.opts.MaxBytes {
		s.full = true
		return fmt.Errorf("%w (%d of %d bytes): the rows stay in memory; check the store, or raise -spool-max-bytes", ErrFull, s.bytes, s.opts.MaxBytes)
	}
	s.full = false
	s.seq++
	f := file{name: fileName(s.seq), seq: s.seq, bytes: int64(len(data))}
	if err := writeFile(filepath.Join(s.opts.Dir, f.name), data); err != nil {
		s.seq--
		return fmt.Errorf("spool: %w", err)
	}
	s.files = append(s.files, f)
	s.bytes += f.bytes
	s.spooled.Add(len(rows))
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

// writeFile writes data durably: to a temporary file, synced, then renamed.
func writeFile(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

type rowKey struct {
	site       string
	hour       int64
	dim, goal  string
	value, wri string
}

// compactLocked merges every file into one that keeps only the newest
// version of each row. s.mu must be held.
func (s *Spool) compactLocked() error {
	var files, keep []file
	for _, f := range s.files {
		if f.name == s.replaying {
			keep = append(keep, f)
		} else {
			files = append(files, f)
		}
	}
	if len(files) < 2 {
		return nil
	}
	latest := map[rowKey]aggregator.Row{}
	var order []rowKey
	for _, f := range files {
		rows, err := s.readLocked(f)
		if err != nil {
			return err
		}
		for _, r := range rows {
			k := rowKey{r.Site, r.Hour.Unix(), r.Dimension, r.Goal, r.Value, r.Writer}
			old, ok := latest[k]
			if !ok {
				order = append(order, k)
			}
			if !ok || r.Ver >= old.Ver {
				latest[k] = r
			}
		}
	}
	rows := make([]aggregator.Row, 0, len(order))
	for _, k := range order {
		rows = append(rows, latest[k])
	}
	data := encode(rows)
	// The merged file takes the newest file's place in the order.
	last := files[len(files)-1]
	merged := file{name: fileName(last.seq) + ".merged", seq: last.seq, bytes: int64(len(data))}
	if err := writeFile(filepath.Join(s.opts.Dir, merged.name), data); err != nil {
		return err
	}
	for _, f := range files {
		os.Remove(filepath.Join(s.opts.Dir, f.name))
	}
	if err := os.Rename(filepath.Join(s.opts.Dir, merged.name), filepath.Join(s.opts.Dir, last.name)); err != nil {
		return err
	}
	before := s.bytes
	s.files = append(keep, file{name: last.name, seq: last.seq, bytes: merged.bytes})
	s.bytes = merged.bytes
	for _, f := range keep {
		s.bytes += f.bytes
	}
	s.log.Info("spool compacted", "bytes_before", before, "bytes_after", s.bytes, "rows", len(rows))
	return nil
}

func (s *Spool) readLocked(f file) ([]aggregator.Row, error) {
	data, err := os.ReadFile(filepath.Join(s.opts.Dir, f.name))
	if err != nil {
		return nil, err
	}
	return decode(data)
}

// Run replays spooled files until ctx ends: oldest first, each deleted once
// the store took it, waiting with exponential backoff and jitter after a
// failure. A file that cannot be decoded is renamed *.corrupt and skipped.
func (s *Spool) Run(ctx context.Context) {
	backoff := s.opts.MinBackoff
	for {
		ok := s.replayOne(ctx)
		var wait time.Duration
		switch {
		case ok && s.pending() > 0:
			backoff = s.opts.MinBackoff
			continue
		case ok:
			backoff = s.opts.MinBackoff
			wait = time.Hour // until woken by a new file
		default:
			wait = jitter(backoff)
			backoff = min(backoff*2, s.opts.MaxBackoff)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-s.wake:
			if !ok { // the store just failed again: keep to the backoff
				select {
				case <-ctx.Done():
					t.Stop()
					return
				case <-t.C:
				}
			}
		case <-t.C:
		}
		t.Stop()
	}
}

func jitter(d time.Duration) time.Duration {
	return d*3/4 + time.Duration(rand.Int64N(int64(d)/2+1))
}

func (s *Spool) pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.files)
}

// replayOne writes the oldest file to the store. It reports false when the
// store failed.
func (s *Spool) replayOne(ctx context.Context) bool {
	s.mu.Lock()
	if len(s.files) == 0 {
		s.mu.Unlock()
		return true
	}
	f := s.files[0]
	rows, err := s.readLocked(f)
	s.replaying = f.name
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.replaying = ""
		s.mu.Unlock()
	}()
	if err != nil {
		s.log.Error("spool file unreadable; kept aside as .corrupt", "file", f.name, "err", err)
		s.corrupt.Inc()
		s.drop(f, ".corrupt")
		return true
	}
	wctx, cancel := context.WithTimeout(ctx, s.opts.WriteTimeout)
	err = s.next.Write(wctx, rows)
	cancel()
	if err != nil {
		s.setErr(err)
		return false
	}
	s.setErr(nil)
	s.drop(f, "")
	s.mu.Lock()
	s.full = false // room was made
	s.mu.Unlock()
	s.replayed.Add(len(rows))
	s.log.Info("spooled rows replayed", "file", f.name, "rows", len(rows))
	return true
}

// drop deletes f (or, with a suffix, renames it aside) and forgets it.
func (s *Spool) drop(f file, asideSuffix string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, g := range s.files {
		if g.name == f.name {
			path := filepath.Join(s.opts.Dir, f.name)
			if asideSuffix != "" {
				os.Rename(path, path+asideSuffix)
			} else {
				os.Remove(path)
			}
			s.files = slices.Delete(s.files, i, i+1)
			s.bytes -= g.bytes
			return
		}
	}
}

// State reports the store's health as the spool sees it.
type State struct {
	StoreErr error // nil when the last write or replay succeeded
	Files    int
	Bytes    int64
	MaxBytes int64
	Full     bool // the last spool attempt did not fit
}

// State returns the current state.
func (s *Spool) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return State{StoreErr: s.lastErr, Files: len(s.files), Bytes: s.bytes, MaxBytes: s.opts.MaxBytes, Full: s.full}
}
