package useragent

import (
	"hash/maphash"
	"sync"
)

// cache is a bounded, concurrency-safe map from User-Agent string to Info.
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
	cur   map[string]entry
	old   map[string]entry
	limit int // entries per generation
}

// entry keeps its key so that a hit in the previous generation can be
// promoted without converting the looked-up bytes to a new string.
type entry struct {
	key  string
	info Info
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
		c.shards[i].cur = make(map[string]entry, limit)
		c.shards[i].limit = limit
	}
	return c
}

// get returns the cached Info for ua. It does not allocate: the compiler
// turns m[string(ua)] into a lookup without a conversion.
func (c *cache) get(ua []byte) (Info, bool) {
	s := &c.shards[maphash.Bytes(c.seed, ua)&c.mask]
	s.mu.RLock()
	e, ok := s.cur[string(ua)]
	if ok {
		s.mu.RUnlock()
		return e.info, true
	}
	e, ok = s.old[string(ua)]
	s.mu.RUnlock()
	if ok {
		s.mu.Lock()
		s.insert(e)
		s.mu.Unlock()
	}
	return e.info, ok
}

// put stores info under ua, which the caller must not modify afterwards.
func (c *cache) put(ua string, info Info) {
	// maphash.String hashes like maphash.Bytes over the same content.
	s := &c.shards[maphash.String(c.seed, ua)&c.mask]
	s.mu.Lock()
	s.insert(entry{key: ua, info: info})
	s.mu.Unlock()
}

// insert adds e to the current generation, rotating first if it is full.
// s.mu must be held for writing.
func (s *shard) insert(e entry) {
	if _, ok := s.cur[e.key]; ok {
		return
	}
	if len(s.cur) >= s.limit {
		s.old = s.cur
		s.cur = make(map[string]entry, s.limit)
	}
	s.cur[e.key] = e
}
