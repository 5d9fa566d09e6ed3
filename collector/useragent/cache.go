package useragent

import (
	"hash/maphash"
	"sync"
)

// cache is a bounded, concurrency-safe map from User-Agent to Info.
//
// It is keyed by a 64-bit hash of the User-Agent under a random seed of the
// process, never by the User-Agent itself: the raw strings of past requests
// stay out of memory, and a lookup compares 8 bytes instead of a hundred.
// Two User-Agents that collide in 64 bits would share an Info; with the
// cache's thousands of entries that takes some 10^15 lookups of distinct
// strings.
//
// Entries are spread over shards by hash to keep lock contention low. Each
// shard holds two generations: lookups try the current one, then the
// previous one (promoting what they find); when the current generation is
// full it becomes the previous one and the old previous one is dropped. Hot
// strings thus survive every rotation, cold ones fall out after two, and the
// number of entries never exceeds the configured size. This is cheaper to
// maintain than an LRU list and needs no bookkeeping on a hit.
type cache struct {
	seed   maphash.Seed
	mask   uint64 // len(shards)-1; len(shards) is a power of two
	shards []shard
}

type shard struct {
	mu    sync.RWMutex
	cur   map[uint64]Info
	old   map[uint64]Info
	limit int // entries per generation
}

// Shard sizing: up to maxShards shards, each holding at least
// minShardEntries entries per generation.
const (
	maxShards       = 64
	minShardEntries = 256
)

// newCache returns a cache of at most max(size, 2) entries, or nil if
// size <= 0.
func newCache(size int) *cache {
	if size <= 0 {
		return nil
	}
	n := 1
	for n < maxShards && 2*n*2*minShardEntries <= size {
		n *= 2
	}
	c := &cache{
		seed:   maphash.MakeSeed(),
		mask:   uint64(n - 1),
		shards: make([]shard, n),
	}
	limit := max(1, size/(2*n))
	for i := range c.shards {
		c.shards[i].cur = make(map[uint64]Info, limit)
		c.shards[i].limit = limit
	}
	return c
}

// key is the cache key of a User-Agent; its low bits pick the shard.
func (c *cache) key(ua []byte) uint64 { return maphash.Bytes(c.seed, ua) }

// get returns the cached Info of the User-Agent whose key is k.
func (c *cache) get(k uint64) (Info, bool) {
	s := &c.shards[k&c.mask]
	s.mu.RLock()
	info, ok := s.cur[k]
	if ok {
		s.mu.RUnlock()
		return info, true
	}
	info, ok = s.old[k]
	s.mu.RUnlock()
	if ok {
		s.mu.Lock()
		s.insert(k, info)
		s.mu.Unlock()
	}
	return info, ok
}

// put stores info under the key k.
func (c *cache) put(k uint64, info Info) {
	s := &c.shards[k&c.mask]
	s.mu.Lock()
	s.insert(k, info)
	s.mu.Unlock()
}

// insert adds an entry to the current generation, rotating first if it is
// full. s.mu must be held for writing.
func (s *shard) insert(k uint64, info Info) {
	if _, ok := s.cur[k]; ok {
		return
	}
	if len(s.cur) >= s.limit {
		s.old = s.cur
		s.cur = make(map[uint64]Info, s.limit)
	}
	s.cur[k] = info
}
