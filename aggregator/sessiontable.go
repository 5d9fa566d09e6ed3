package aggregator

import (
	"unsafe"

	"analytics/aggregator/hugepage"
	"analytics/aggregator/prefetch"
)

// sessionTable holds a site's visits in progress by visitor key: an open
// addressing hash table with linear probing. Visitor keys are keyed hashes
// already, uniformly spread, so their low bits are the slot: no hashing.
// The keys are an array of their own, eight to a cache line, so that a
// probe sequence costs one or two cache lines however long it runs, and the
// visit found is one more (a Go map's groups hold the values beside the
// keys: on a busy collector most events paid three cache misses to find
// their visit).
//
// Pointers it returns stay valid until the next insert or remove.
type sessionTable struct {
	keys []uint64  // len is 0 or a power of two; 0 marks a free slot
	sess []session // the visit of keys[i] is sess[i]
	n    int       // keys in use
	// A visitor whose key is 0 is kept here.
	zero    session
	hasZero bool
}

// Sizes: at most 3/4 of the slots in use; after a sweep (each) that left
// less than 3/16 in use, shrunk to the size that has at most 3/8 in use,
// but never below minSessionSlots.
const minSessionSlots = 64

func (t *sessionTable) len() int {
	if t.hasZero {
		return t.n + 1
	}
	return t.n
}

// find returns key's visit, or nil.
func (t *sessionTable) find(key uint64) *session {
	if key == 0 {
		if t.hasZero {
			return &t.zero
		}
		return nil
	}
	if len(t.keys) == 0 {
		return nil
	}
	mask := uint64(len(t.keys) - 1)
	for i := key & mask; ; i = (i + 1) & mask {
		switch t.keys[i] {
		case key:
			return &t.sess[i]
		case 0:
			return nil
		}
	}
}

// prefetch asks the CPU for the cache lines that find(key) will most likely
// read: the key's home slot and the visit there (every line of it: a visit
// spans two or three).
func (t *sessionTable) prefetch(key uint64) {
	if len(t.keys) == 0 {
		return
	}
	i := key & uint64(len(t.keys)-1)
	prefetch.Line(unsafe.Pointer(&t.keys[i]))
	s := unsafe.Pointer(&t.sess[i])
	for off := uintptr(0); off < unsafe.Sizeof(session{}); off += 64 {
		prefetch.Line(unsafe.Add(s, off))
	}
	prefetch.Line(unsafe.Add(s, unsafe.Sizeof(session{})-1))
}

// insert adds key, which must not be in t, and returns its visit, zeroed.
func (t *sessionTable) insert(key uint64) *session {
	if key == 0 {
		t.hasZero, t.zero = true, session{}
		return &t.zero
	}
	if 4*(t.n+1) > 3*len(t.keys) {
		t.resize(max(minSessionSlots, 2*len(t.keys)))
	}
	t.n++
	i := t.place(key)
	t.sess[i] = session{}
	return &t.sess[i]
}

// place claims the free slot of key's probe sequence and returns its index.
func (t *sessionTable) place(key uint64) uint64 {
	mask := uint64(len(t.keys) - 1)
	i := key & mask
	for t.keys[i] != 0 {
		i = (i + 1) & mask
	}
	t.keys[i] = key
	return i
}

// remove deletes key, if present.
func (t *sessionTable) remove(key uint64) {
	if key == 0 {
		t.hasZero, t.zero = false, session{}
		return
	}
	if len(t.keys) == 0 {
		return
	}
	mask := uint64(len(t.keys) - 1)
	for i := key & mask; ; i = (i + 1) & mask {
		switch t.keys[i] {
		case key:
			t.removeAt(i)
			return
		case 0:
			return
		}
	}
}

// removeAt frees slot i and moves back the entries after it that would no
// longer be found past the hole (backward-shift deletion: no tombstones).
func (t *sessionTable) removeAt(i uint64) {
	mask := uint64(len(t.keys) - 1)
	hole := i
	for j := (i + 1) & mask; t.keys[j] != 0; j = (j + 1) & mask {
		// The entry at j stays unless the hole lies on its probe path,
		// that is cyclically within [home, j).
		if (j-t.keys[j]&mask)&mask >= (j-hole)&mask {
			t.keys[hole], t.sess[hole] = t.keys[j], t.sess[j]
			hole = j
		}
	}
	t.keys[hole], t.sess[hole] = 0, session{} // no pointers kept alive
	t.n--
}

// each calls f for every visit; f returns true to remove it. A visit moved
// by a removal can be seen twice, never skipped: f must not mind seeing a
// visit it kept once more. f must not insert or remove itself.
func (t *sessionTable) each(f func(key uint64, s *session) bool) {
	if t.hasZero && f(0, &t.zero) {
		t.remove(0)
	}
	for i := 0; i < len(t.keys); {
		if k := t.keys[i]; k != 0 && f(k, &t.sess[i]) {
			t.removeAt(uint64(i)) // slot i now holds another entry, or none
			continue
		}
		i++
	}
	if len(t.keys) > minSessionSlots && 16*t.n < 3*len(t.keys) {
		size := minSessionSlots
		for 8*t.n > 3*size {
			size *= 2
		}
		t.resize(size)
	}
}

func (t *sessionTable) resize(slots int) {
	keys, sess := t.keys, t.sess
	// Visits are read at random: huge pages spare a TLB miss per event.
	t.keys, t.sess = hugepage.Slice[uint64](slots), hugepage.Slice[session](slots)
	for i, k := range keys {
		if k != 0 {
			t.sess[t.place(k)] = sess[i]
		}
	}
}
