// Package visitor owns the visitor key and the daily salt it is keyed with.
//
// The key identifies "the same visitor on the same site today" without
// storing who the visitor is: it is SipHash-2-4, keyed by a 128-bit salt,
// over the site, the client IP address and the User-Agent. Each UTC day has
// its own salt. Once a day and a short grace period are over, its salt is
// wiped from memory and its file overwritten and deleted, after which the
// day's keys cannot be recomputed from any IP address and User-Agent, by us
// or anyone holding our data.
//
// Local mode (NewSalts) draws each day's salt from crypto/rand and keeps it
// in a directory (created 0700) as one file per day, named only by the date
// ("salt-2026-11-27", mode 0600, exactly 16 random bytes), so that the same
// visitor keeps the same key across restarts on that day. Several processes
// may share the directory: the first to create a day's file wins and the
// others adopt it. Nodes on different machines have different salts.
//
// Shared mode (NewSharedSalts) gives every node of an installation the same
// salt each day: a random first salt, sealed under the installation's salt
// key in a SaltStore (ClickHouse, package chsalt), then a one-way ratchet
// from each day to the next, so that nodes agree without coordination and a
// compromise of the key, the database and a node reveals no earlier day's
// salt. The directory holds only the current day's salt, sealed, so that a
// node restarts while the store is down.
//
// The grace period (DefaultGrace, at least MinGrace) covers clocks of nodes
// that differ slightly and the minute between Rotate calls. No part of the
// aggregator needs a past day's salt: visits end at the UTC day change, and
// sketches hold keys already hashed, written every flush interval (seconds).
//
// Neither salts nor keys are ever logged or returned in errors.
package visitor

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultGrace is how long a day's salt file outlives the day when NewSalts
// is given no grace period: long enough for events in flight at midnight to
// be flushed, short enough that a salt never outlives its day by much.
const DefaultGrace = 5 * time.Minute

const (
	saltSize   = 16 // bytes: SipHash's 128-bit key
	secondsDay = 24 * 60 * 60
)

// Salts derives visitor keys and manages the daily salts. It is safe for
// concurrent use.
type Salts struct {
	dir   string
	now   func() time.Time
	grace time.Duration

	// cur is today's salt, read without locking on every Key call.
	cur atomic.Pointer[salt]

	mu sync.Mutex // serialises salt changes and file operations
	// prev is the salt cur replaced, kept only so that it can be wiped
	// once its day and the grace period are over.
	prev *salt
	// unsaved is the error that kept cur from being written to disk, if
	// any; Rotate retries and reports it.
	unsaved error

	// shared is set in shared mode (NewSharedSalts).
	shared *shared
}

// salt is one day's key. Its halves are atomic only because wipe may, in
// theory, race with a Key call that loaded the salt before it was replaced;
// a wiped half reads as zero, which a live salt never has, and makes that
// call start over. On common platforms an atomic load is a plain load.
type salt struct {
	day    int64 // days since 1970-01-01 UTC
	k0, k1 atomic.Uint64
}

func (k *salt) wipe() {
	k.k0.Store(0)
	k.k1.Store(0)
}

// NewSalts returns Salts that keep their files in dir, creating it (0700) if
// needed and tightening its permissions to 0700 if it is open to others. now
// is the clock (nil means time.Now); grace is how long a salt outlives its
// day (0 means DefaultGrace).
//
// It loads or creates today's salt and deletes salts whose time is up; an
// unreadable or damaged salt file is an error.
func NewSalts(dir string, now func() time.Time, grace time.Duration) (*Salts, error) {
	s, err := baseSalts(dir, now, grace)
	if err != nil {
		return nil, err
	}
	t := s.now()
	k, err := s.loadOrCreate(unixDay(t.Unix()))
	if err != nil {
		return nil, err
	}
	s.cur.Store(k)
	if err := s.removeExpired(t); err != nil {
		return nil, err
	}
	return s, nil
}

// baseSalts validates the settings common to both modes and prepares dir.
func baseSalts(dir string, now func() time.Time, grace time.Duration) (*Salts, error) {
	if dir == "" {
		return nil, errors.New("visitor salts: no directory given")
	}
	if grace < 0 {
		return nil, fmt.Errorf("visitor salts: negative grace period %s", grace)
	}
	if grace == 0 {
		grace = DefaultGrace
	}
	if grace < MinGrace {
		return nil, fmt.Errorf("visitor salts: grace period %s is shorter than the minimum %s", grace, MinGrace)
	}
	if now == nil {
		now = time.Now
	}
	if err := prepareDir(dir); err != nil {
		return nil, err
	}
	return &Salts{dir: dir, now: now, grace: grace}, nil
}

// Key returns the visitor key of a visitor of site with the given address
// and User-Agent, under the salt of the current UTC day. It does not allocate
// and does not keep ua.
//
// If the day has changed and Rotate has not run yet, Key switches to the new
// day's salt itself. The salt never goes back to an earlier day within a
// process, even if the clock does.
func (s *Salts) Key(site string, ip netip.Addr, ua []byte) uint64 {
	return s.KeyAt(s.now(), site, ip, ua)
}

// KeyAt is Key for an event stamped at t, for callers that read the clock
// once per request anyway.
func (s *Salts) KeyAt(t time.Time, site string, ip netip.Addr, ua []byte) uint64 {
	for {
		day := unixDay(t.Unix())
		k := s.cur.Load()
		if k.day < day {
			k = s.switchTo(day)
		}
		if k0, k1 := k.k0.Load(), k.k1.Load(); k0 != 0 && k1 != 0 {
			return hash(k0, k1, site, ip, ua)
		}
		// k was replaced and wiped while this goroutine held it, which
		// takes a stall longer than the grace period. Start over.
	}
}

// Rotate makes sure the current UTC day has its salt, wipes from memory the
// salt it replaced once that salt's day and grace period are over, and
// overwrites and deletes the files of such salts. The server calls it
// periodically, say every minute; a salt outlives its day by at most the
// grace period plus that interval.
//
// An error means a file could not be written or deleted; keys are still
// derived correctly, but may change after a restart (a salt not yet saved) or
// a salt file may outlive its time (one not deleted). Rotate retries both on
// every call.
//
// In shared mode Rotate also reconciles with the store, waiting at most a
// few seconds for it: it stores the day's salt if missing, adopts the
// store's if it differs (only after nodes raced to create the first salt),
// and drops the store's expired days. An error then may also mean the store
// is unreachable; keys stay correct, and the next call retries.
func (s *Salts) Rotate() error {
	t := s.now()
	day := unixDay(t.Unix())

	s.mu.Lock()
	if k := s.cur.Load(); k.day < day {
		s.switchLocked(day)
	} else if s.unsaved != nil {
		s.saveCurrentLocked()
	}
	if s.prev != nil && s.expired(s.prev.day, t) {
		s.prev.wipe()
		s.prev = nil
	}
	err := errors.Join(s.unsaved, s.removeExpired(t))
	s.mu.Unlock()
	if s.shared != nil {
		err = errors.Join(err, s.syncShared(t))
	}
	return err
}

// switchTo installs the salt of day unless another goroutine already did
// (or installed a later day's).
func (s *Salts) switchTo(day int64) *salt {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k := s.cur.Load(); k.day >= day {
		return k
	}
	return s.switchLocked(day)
}

// switchLocked installs the salt of day, loading or creating its file. If
// that fails it installs a fresh salt held in memory only, so that keys stay
// correct and private, and records the error for Rotate. s.mu must be held.
func (s *Salts) switchLocked(day int64) *salt {
	var k *salt
	if s.shared != nil {
		// Shared mode: the ratchet gives the same salt as on every other
		// node, without asking the store; Rotate then checks with it.
		k = ratchet(s.cur.Load(), day)
		s.unsaved = s.writeSealed(k)
	} else {
		var err error
		k, err = s.loadOrCreate(day)
		s.unsaved = err
		if err != nil {
			k = newSalt(day)
		}
	}
	old := s.cur.Swap(k)
	if s.prev != nil {
		s.prev.wipe()
	}
	s.prev = old
	return k
}

// saveCurrentLocked retries writing a salt that is held in memory only. If
// another process has meanwhile written the day's file, its salt is adopted
// so that all processes agree again. s.mu must be held.
func (s *Salts) saveCurrentLocked() {
	k := s.cur.Load()
	if s.shared != nil {
		s.unsaved = s.writeSealed(k)
		return
	}
	saved, err := s.save(k)
	s.unsaved = err
	if err == nil && saved != k {
		s.cur.Store(saved)
		k.wipe() // a Key call still holding k starts over
	}
}

// expired reports whether the salt of day is past its day plus grace at t.
func (s *Salts) expired(day int64, t time.Time) bool {
	end := time.Unix((day+1)*secondsDay, 0)
	return !t.Before(end.Add(s.grace))
}

// newSalt draws a fresh salt for day.
func newSalt(day int64) *salt {
	for {
		var b [saltSize]byte
		// crypto/rand.Read never fails since Go 1.24: the program crashes
		// if the system cannot provide randomness.
		_, _ = rand.Read(b[:])
		if k, ok := saltFrom(day, b); ok {
			return k
		}
		// A zero half (odds 2^-63) would read as wiped: draw again.
	}
}

// saltFrom decodes a salt; ok is false if a half is zero, which marks a
// wiped salt in memory and an overwritten file on disk.
func saltFrom(day int64, b [saltSize]byte) (k *salt, ok bool) {
	k = &salt{day: day}
	k.k0.Store(binary.LittleEndian.Uint64(b[:8]))
	k.k1.Store(binary.LittleEndian.Uint64(b[8:]))
	return k, k.k0.Load() != 0 && k.k1.Load() != 0
}

func (k *salt) bytes() [saltSize]byte {
	var b [saltSize]byte
	binary.LittleEndian.PutUint64(b[:8], k.k0.Load())
	binary.LittleEndian.PutUint64(b[8:], k.k1.Load())
	return b
}

// unixDay returns the number of days since 1970-01-01 UTC at Unix time sec.
func unixDay(sec int64) int64 {
	d := sec / secondsDay
	if sec%secondsDay < 0 {
		d--
	}
	return d
}

// dayString formats day as 2006-01-02.
func dayString(day int64) string {
	return time.Unix(day*secondsDay, 0).UTC().Format(time.DateOnly)
}
