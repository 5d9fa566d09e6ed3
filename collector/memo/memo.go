// Package memo remembers what the collector derived from a raw request
// value (a beacon body, a page URL, a referrer, a path), so that the next
// request with the same value copies the result instead of parsing and
// templating it again. Most beacons of a site repeat a few hundred bodies,
// URLs and referrers: the derivation is most of the work of decoding a
// beacon, a copy is a fraction.
//
// A Table never holds the raw values. It is keyed by a 64-bit hash of the
// raw value under a random seed of the process, and it holds only the
// derived value (a decoded beacon, a host, a path, utm values: never
// query strings other than utm values, IP addresses or User-Agents, which
// the collector keeps in no memo). Two different raw values that collide in 64
// bits would share a result; with a table of thousands of entries that
// takes some 10^15 lookups of distinct values.
//
// A Table is bounded and allocates nothing after New: a fixed number of
// entries in two-way sets with least-recently-used replacement, each value
// stored inline, at most MaxValue bytes. A set is four cache lines, its keys
// and the start of its first value in the first: on a busy collector the
// kernel's network stack evicts most of the caches between two requests, so
// the lines a lookup touches are what it costs.
package memo

import (
	"hash/maphash"
	"sync"

	"analytics/aggregator/hugepage"
)

// MaxValue is the largest value a Table keeps; Put ignores larger ones.
const MaxValue = 116

// Table is a bounded, concurrency-safe memo of derived byte values by key.
// The zero value is not usable; call New.
type Table struct {
	seed   maphash.Seed
	shards []shard
	// shardBits and setMask pick a key's shard (its low bits) and set
	// (the bits above).
	shardBits uint
	setMask   uint64
}

type shard struct {
	mu           sync.Mutex
	sets         []set
	hits, misses uint64
	// Keep neighbouring shards' locks off one cache line.
	_ [16]byte
}

// set is two entries in 256 bytes; older says which one to replace next.
type set struct {
	keys  [2]uint64 // 0: empty
	n     [2]uint8
	older uint8
	_     [5]byte
	val   [2][MaxValue]byte
}

// New returns a Table of about size entries (at least 2 per shard), in up
// to 32 shards.
func New(size int) *Table {
	shards := 1
	for shards < 32 && shards*64 <= size {
		shards *= 2
	}
	sets := 1
	for 2*shards*sets*2 <= size {
		sets *= 2
	}
	t := &Table{seed: maphash.MakeSeed(), shards: make([]shard, shards), setMask: uint64(sets - 1)}
	for shards > 1<<t.shardBits {
		t.shardBits++
	}
	// One array for all shards: read at random, it is worth huge pages
	// (see package hugepage) once it spans one.
	all := hugepage.Slice[set](shards * sets)
	for i := range t.shards {
		t.shards[i].sets = all[i*sets : (i+1)*sets : (i+1)*sets]
	}
	return t
}

// Entries is the number of entries t holds at most.
func (t *Table) Entries() int { return 2 * len(t.shards) * len(t.shards[0].sets) }

// Key returns the key of a raw value (never 0). Callers that derive several
// kinds of values from the same raw values in one Table mix a constant of
// their own into the key.
func (t *Table) Key(raw []byte) uint64 { return nonZero(maphash.Bytes(t.seed, raw)) }

// KeyString is Key of a string.
func (t *Table) KeyString(raw string) uint64 { return nonZero(maphash.String(t.seed, raw)) }

func nonZero(k uint64) uint64 {
	if k == 0 {
		return 1
	}
	return k
}

func (t *Table) locate(key uint64) (*shard, *set) {
	s := &t.shards[key&(uint64(len(t.shards))-1)]
	return s, &s.sets[(key>>t.shardBits)&t.setMask]
}

// Get appends the value of key to dst; ok is false (and dst unchanged)
// when t does not hold it.
func (t *Table) Get(dst []byte, key uint64) (out []byte, ok bool) {
	if key == 0 {
		return dst, false
	}
	s, set := t.locate(key)
	s.mu.Lock()
	for w := range set.keys {
		if set.keys[w] == key {
			dst = append(dst, set.val[w][:set.n[w]]...)
			set.older = uint8(1 - w)
			s.hits++
			s.mu.Unlock()
			return dst, true
		}
	}
	s.misses++
	s.mu.Unlock()
	return dst, false
}

// Put stores a copy of val under key, replacing the value it had or the
// less recently used entry of its set. Values over MaxValue bytes are not
// stored.
func (t *Table) Put(key uint64, val []byte) {
	if key == 0 || len(val) > MaxValue {
		return
	}
	s, set := t.locate(key)
	s.mu.Lock()
	w := int(set.older)
	for i := range set.keys {
		if set.keys[i] == key {
			w = i
			break
		}
	}
	set.keys[w] = key
	set.n[w] = uint8(copy(set.val[w][:], val))
	set.older = uint8(1 - w)
	s.mu.Unlock()
}

// Stats returns the number of Gets that found their key and that did not.
func (t *Table) Stats() (hits, misses uint64) {
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		hits += s.hits
		misses += s.misses
		s.mu.Unlock()
	}
	return hits, misses
}
