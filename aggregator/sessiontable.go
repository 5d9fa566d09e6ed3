package aggregator

// sessionTable holds a site's visits in progress by visitor key: an open
// addressing hash table with linear probing, whose slots hold the key and
// the visit side by side. Visitor keys are keyed hashes already, uniformly
// spread, so their low bits are the slot: no hashing, and a lookup usually
// touches one slot, the cache lines of the visit it is about to read
// anyway. (A Go map costs a group's control word, the key and the value,
// often three cache misses per event on a busy collector.)
//
// Pointers it returns stay valid until the next insert or remove.
type sessionTable struct {
	slots []sessionSlot // len is 0 or a power of two
	n     int           // sessions in slots
	// The key 0 marks a free slot; a visitor whose key is 0 is kept here.
	zero    session
	hasZero bool
}

type sessionSlot struct {
	key uint64
	s   session
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
	if len(t.slots) == 0 {
		return nil
	}
	mask := uint64(len(t.slots) - 1)
	for i := key & mask; ; i = (i + 1) & mask {
		switch t.slots[i].key {
		case key:
			return &t.slots[i].s
		case 0:
			return nil
		}
	}
}

// insert adds key, which must not be in t, and returns its visit, zeroed.
func (t *sessionTable) insert(key uint64) *session {
	if key == 0 {
		t.hasZero, t.zero = true, session{}
		return &t.zero
	}
	if 4*(t.n+1) > 3*len(t.slots) {
		t.resize(max(minSessionSlots, 2*len(t.slots)))
	}
	t.n++
	return &t.slots[t.place(key)].s
}

// place claims the free slot of key's probe sequence and returns its index.
func (t *sessionTable) place(key uint64) uint64 {
	mask := uint64(len(t.slots) - 1)
	i := key & mask
	for t.slots[i].key != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = sessionSlot{key: key}
	return i
}

// remove deletes key, if present.
func (t *sessionTable) remove(key uint64) {
	if key == 0 {
		t.hasZero, t.zero = false, session{}
		return
	}
	if len(t.slots) == 0 {
		return
	}
	mask := uint64(len(t.slots) - 1)
	for i := key & mask; ; i = (i + 1) & mask {
		switch t.slots[i].key {
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
	mask := uint64(len(t.slots) - 1)
	hole := i
	for j := (i + 1) & mask; t.slots[j].key != 0; j = (j + 1) & mask {
		// The entry at j stays unless the hole lies on its probe path,
		// that is cyclically within [home, j).
		if (j-t.slots[j].key&mask)&mask >= (j-hole)&mask {
			t.slots[hole] = t.slots[j]
			hole = j
		}
	}
	t.slots[hole] = sessionSlot{}
	t.n--
}

// each calls f for every visit; f returns true to remove it. A visit moved
// by a removal can be seen twice, never skipped: f must not mind seeing a
// visit it kept once more. f must not insert or remove itself.
func (t *sessionTable) each(f func(key uint64, s *session) bool) {
	if t.hasZero && f(0, &t.zero) {
		t.remove(0)
	}
	for i := 0; i < len(t.slots); {
		if k := t.slots[i].key; k != 0 && f(k, &t.slots[i].s) {
			t.removeAt(uint64(i)) // slot i now holds another entry, or none
			continue
		}
		i++
	}
	if len(t.slots) > minSessionSlots && 16*t.n < 3*len(t.slots) {
		size := minSessionSlots
		for 8*t.n > 3*size {
			size *= 2
		}
		t.resize(size)
	}
}

func (t *sessionTable) resize(slots int) {
	old := t.slots
	t.slots = make([]sessionSlot, slots)
	for i := range old {
		if old[i].key != 0 {
			t.slots[t.place(old[i].key)].s = old[i].s
		}
	}
}
