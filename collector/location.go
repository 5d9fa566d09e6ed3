package collector

import (
	"sync"
)

// locations remembers the country and region of recent visitors by their
// visitor key, so that a visitor's further events skip the GeoIP lookup
// (a walk down the database's search tree, most of it cache misses). A
// visit sends several events, all from the same address.
//
// It holds no address: the key is the salted keyed hash of (site, address,
// User-Agent) that the aggregator keeps in memory for every visit anyway,
// and the same key always means the same address (the database does not
// change while the process runs). Entries live in memory only and stop
// matching when the salt rotates; a shard drops the previous day's entries
// at its first use on a new UTC day.
//
// The table is direct-mapped (a newer key takes the slot of an older one),
// split into shards with a mutex each, so concurrent handlers seldom wait.
type locations struct {
	shards [locShards]locShard
}

const (
	locShards   = 128
	locPerShard = 512 // 65536 visitors in all, 2.5 MiB
)

type locShard struct {
	mu           sync.Mutex
	day          int64
	hits, misses uint64
	entries      [locPerShard]locEntry
}

// locEntry is one visitor's location; key 0 marks an empty slot (a
// visitor whose key is 0, one in 2^64, is looked up every time).
type locEntry struct {
	key             uint64
	country, region string
}

func (l *locations) shard(key uint64) (*locShard, *locEntry) {
	sh := &l.shards[key%locShards]
	return sh, &sh.entries[(key/locShards)%locPerShard]
}

// get returns the location remembered for key on day (unix days).
func (l *locations) get(key uint64, day int64) (country, region string, ok bool) {
	sh, e := l.shard(key)
	sh.mu.Lock()
	if sh.day != day {
		clear(sh.entries[:])
		sh.day = day
	}
	if e.key == key && key != 0 {
		country, region, ok = e.country, e.region, true
		sh.hits++
	} else {
		sh.misses++
	}
	sh.mu.Unlock()
	return country, region, ok
}

// put remembers the location of key on day. The strings are the GeoIP
// database's own (interned), never request data.
func (l *locations) put(key uint64, day int64, country, region string) {
	sh, e := l.shard(key)
	sh.mu.Lock()
	if sh.day == day {
		*e = locEntry{key: key, country: country, region: region}
	}
	sh.mu.Unlock()
}

// stats returns the hits and misses so far.
func (l *locations) stats() (hits, misses uint64) {
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		hits += sh.hits
		misses += sh.misses
		sh.mu.Unlock()
	}
	return hits, misses
}
