// Package ratelimit bounds the events one client address may send: a token
// bucket per address (per /64 for IPv6, where a client can pick any address
// of its prefix), refilled at a steady rate up to a burst. It is what keeps
// a single script in a loop from inflating a site's pageviews.
//
// Addresses live only in memory, in a bounded table whose idle entries are
// swept; nothing is ever written anywhere. When the table is full, new
// addresses are let through untracked rather than refused, so an attacker
// spreading over many addresses cannot lock real visitors out.
package ratelimit

import (
	"hash/maphash"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// shards spread the table over independent locks.
const shards = 64

// Limiter is safe for concurrent use.
type Limiter struct {
	perSec float64 // tokens added per second
	burst  float64
	max    int // entries per shard
	seed   maphash.Seed
	shards [shards]shard
	// untracked counts requests let through because a shard was full.
	untracked atomic.Uint64
}

type shard struct {
	mu      sync.Mutex
	entries map[netip.Addr]entry
	swept   int64 // unix seconds of the last sweep
}

type entry struct {
	tokens float64
	last   int64 // unix nanoseconds of the last refill
}

// New returns a Limiter allowing perMinute events per address and minute on
// average, with bursts of burst (at least 1), tracking at most maxAddrs
// addresses. perMinute must be positive.
func New(perMinute, burst, maxAddrs int) *Limiter {
	l := &Limiter{
		perSec: float64(perMinute) / 60,
		burst:  float64(max(burst, 1)),
		max:    max(maxAddrs/shards, 16),
		seed:   maphash.MakeSeed(),
	}
	for i := range l.shards {
		l.shards[i].entries = make(map[netip.Addr]entry)
	}
	return l
}

// key is the address a client is limited by: IPv4 as is, IPv6 by its /64.
func key(ip netip.Addr) netip.Addr {
	ip = ip.Unmap()
	if ip.Is6() {
		p, err := ip.Prefix(64)
		if err == nil {
			return p.Addr()
		}
	}
	return ip
}

// Allow takes one token of ip's bucket at now and reports whether there was
// one. An invalid address is always allowed (nothing to key it by).
func (l *Limiter) Allow(ip netip.Addr, now time.Time) bool {
	if !ip.IsValid() {
		return true
	}
	k := key(ip)
	b := k.As16()
	sh := &l.shards[maphash.Bytes(l.seed, b[:])%shards]
	t := now.UnixNano()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sec := t / int64(time.Second); sec-sh.swept >= 60 {
		sh.sweep(t, l)
		sh.swept = sec
	}
	e, ok := sh.entries[k]
	if !ok {
		if len(sh.entries) >= l.max {
			l.untracked.Add(1)
			return true
		}
		e = entry{tokens: l.burst, last: t}
	} else if t > e.last {
		e.tokens = min(l.burst, e.tokens+float64(t-e.last)/1e9*l.perSec)
		e.last = t
	}
	allowed := e.tokens >= 1
	if allowed {
		e.tokens--
	}
	sh.entries[k] = e
	return allowed
}

// sweep forgets entries whose bucket has refilled: they hold no state that
// differs from a new entry's.
func (sh *shard) sweep(now int64, l *Limiter) {
	full := time.Duration((l.burst / l.perSec) * float64(time.Second))
	for k, e := range sh.entries {
		if time.Duration(now-e.last) >= full {
			delete(sh.entries, k)
		}
	}
}

// Stats returns the addresses tracked and the requests let through
// untracked because the table was full.
func (l *Limiter) Stats() (tracked int, untracked uint64) {
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		tracked += len(sh.entries)
		sh.mu.Unlock()
	}
	return tracked, l.untracked.Load()
}
