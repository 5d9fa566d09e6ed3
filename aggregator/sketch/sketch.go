// Package sketch wraps the HyperLogLog sketches of visitor keys that the
// aggregator keeps per bucket and the dashboard merges over ranges. It fixes
// the precision and the stored binary form in one place, so writer and
// readers cannot disagree.
package sketch

import (
	"fmt"
	"slices"
	"sync"

	"github.com/axiomhq/hyperloglog"
)

// Sketch counts distinct visitor keys. The zero value is not usable; call New.
type Sketch struct {
	hll *hyperloglog.Sketch
	// adds counts insertions while the sketch is sparse; dense is set once
	// it switched to the dense form. Add checks for the switch once adds
	// reaches next.
	adds, next uint32
	dense      bool
	// used is set once anything was added, merged or decoded into it.
	used bool
	// stored is the size of the stored form it was decoded from, or 0.
	stored int
}

// denseAt is the estimate at which a sketch switches to the dense form. The
// library keeps a sketch sparse up to 16384 entries and merges its buffer of
// new entries into the sorted sparse list every 164 insertions, each merge
// costing the whole list: for a busy cell (a site's total, a big country)
// that made sketch insertion the most expensive step of counting an event.
// At 2048 entries the sparse form is already ~6 KiB against the dense 16 KiB,
// so the switch trades little memory for constant-time insertion.
const denseAt = 2048

// New returns an empty sketch: precision 14 (16384 registers, ~0.8% standard
// error), sparse while small so that the many low-traffic buckets stay tiny.
func New() *Sketch { return &Sketch{hll: hyperloglog.New14()} }

// Add inserts a visitor key. Keys are already uniformly distributed keyed
// hashes, so they are inserted as hashes without hashing again.
//
// The estimate of a sparse sketch is about its number of distinct keys, so
// it cannot reach denseAt before that many more insertions: Add checks
// (an Estimate compacts the sparse list, a cost) only once it could have,
// and at least every 128 insertions. A busy cell thus turns dense within
// 128 insertions of its 2048th visitor, a cell of returning visitors is
// rarely checked.
func (s *Sketch) Add(key uint64) {
	s.used = true
	s.hll.InsertHash(key)
	if !s.dense {
		if s.adds++; s.adds >= s.next {
			e := s.hll.Estimate()
			if e >= denseAt {
				s.toDense()
				return
			}
			s.next = s.adds + uint32(max(128, denseAt-e))
		}
	}
}

// Merge adds other's keys to s. A union of many sketches (the dashboard
// merging a range's hourly rows) turns dense once it is big, for the reason
// given at denseAt: merging into a big sparse sketch re-sorts its list.
func (s *Sketch) Merge(other *Sketch) error {
	if other.dense && !s.dense {
		// The union is dense anyway: switch first, so that the merge is a
		// plain register maximum and later merges skip the checks below.
		s.toDense()
	}
	if err := s.hll.Merge(other.hll); err != nil {
		return fmt.Errorf("merge sketch: %w", err)
	}
	s.used = true
	if !s.dense {
		// Checking costs a compaction of the sparse list; after merging a
		// big sketch (stored in 1 KiB or more, some 200 entries or more) the
		// merge has just paid for one anyway.
		if s.adds += 128; (s.adds%1024 == 0 || other.stored >= 1024) && s.hll.Estimate() >= denseAt {
			s.toDense()
		}
	}
	return nil
}

func (s *Sketch) toDense() {
	d := hyperloglog.NewNoSparse()
	if d.Merge(s.hll) == nil {
		s.hll, s.dense = d, true
	}
}

// Estimate returns the estimated number of distinct keys. An estimate of at
// least denseAt is always the dense form's: a union of sketches then
// estimates the same number however its merges were ordered and grouped
// (the dashboard merges hourly rows, or daily rollups of them, and must
// answer the same). The sparse form switches at check points only (see Add
// and Merge), so without this a union that crossed denseAt after its last
// check point would estimate from the sparse form, another union of the
// same sketches from the dense one. Estimates below denseAt come from the
// sparse form, exact for small counts, unless an input was dense already.
func (s *Sketch) Estimate() uint64 {
	if !s.dense {
		n := s.hll.Estimate()
		if n < denseAt {
			return n
		}
		s.toDense()
	}
	return s.denseEstimate()
}

// Clone returns an independent copy.
func (s *Sketch) Clone() *Sketch {
	return &Sketch{hll: s.hll.Clone(), adds: s.adds, dense: s.dense, used: s.used}
}

// AppendBinary appends the stored form of s to b.
func (s *Sketch) AppendBinary(b []byte) ([]byte, error) { return s.hll.AppendBinary(b) }

// MarshalBinary returns the stored form of s.
func (s *Sketch) MarshalBinary() ([]byte, error) { return s.hll.MarshalBinary() }

// Unmarshal decodes a stored sketch. An empty input is an empty sketch.
func Unmarshal(b []byte) (*Sketch, error) {
	s := New()
	if len(b) == 0 {
		return s, nil
	}
	if err := s.hll.UnmarshalBinary(b); err != nil {
		return nil, fmt.Errorf("decode sketch: %w", err)
	}
	// Byte 3 of the stored form is 1 for the sparse form, 0 for the dense
	// one (axiomhq/hyperloglog's format, version 2).
	s.dense, s.used, s.stored = b[3] == 0, true, len(b)
	return s, nil
}

// MergeBinary merges a stored sketch into s without keeping the decoded copy
// around longer than needed. Into an empty s, the decoded sketch is taken
// over as it is.
func (s *Sketch) MergeBinary(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	o, err := Unmarshal(b)
	if err != nil {
		return err
	}
	if !s.used {
		*s = *o
		s.adds = 128 // as after one Merge
		return nil
	}
	return s.Merge(o)
}

// UnionBinary returns the union of stored sketches (empty ones skipped).
// Merging sparse sketches one by one into a growing sparse sketch costs its
// whole sorted list every time; the dashboard's reads have thousands of
// such unions. So the distinct keys of the sparse inputs are collected
// first, the largest input first: once there are denseAt of them, the union
// estimates at least denseAt and is dense (see Estimate), and the register
// maximum of all inputs is taken straight from their stored forms (see
// maxRegisters); otherwise the union is decoded from the sorted keys in the
// stored form. Either way it holds exactly the keys (or registers) that
// merging one by one gives, and estimates the same.
func UnionBinary(stored []string) (*Sketch, error) {
	inputs := make([]string, 0, len(stored))
	for _, b := range stored {
		if len(b) > 0 {
			inputs = append(inputs, b)
		}
	}
	slices.SortStableFunc(inputs, func(a, b string) int { return len(b) - len(a) })
	seen := keySets.Get().(*keySet)
	defer keySets.Put(seen)
	seen.reset()
	// keys collects the keys of the inputs read so far; rest is the first
	// input not read once the union turned out dense.
	keys := seen.keys[:0]
	defer func() { seen.keys = keys[:0] }()
	rest := -1
	for i, b := range inputs {
		read := len(keys)
		var ok bool
		if keys, ok = sparseKeys(b, keys); !ok {
			if !isDense(b) { // neither sparse nor dense: let the library say why
				return unionSlow(stored)
			}
			rest = i
			break
		}
		if !seen.addUpTo(keys[read:], denseAt) {
			rest = i + 1
			break
		}
	}
	if rest < 0 {
		keys = seen.appendSorted(keys[:0])
		u, err := Unmarshal(sparseBinary(keys))
		if err != nil {
			return unionSlow(stored)
		}
		return u, nil
	}
	buf := denseBufs.Get().(*[denseSize]byte)
	defer denseBufs.Put(buf)
	copy(buf[:8], denseHeader[:])
	regs := (*[registers]uint8)(buf[8:])
	clear(regs[:])
	for _, k := range keys {
		i, r := decodeKey(k)
		regs[i] = max(regs[i], r)
	}
	for _, b := range inputs[rest:] {
		var ok bool
		if keys, ok = maxRegisters(regs, b, keys); !ok {
			return unionSlow(stored)
		}
	}
	h := new(hyperloglog.Sketch)
	if err := h.UnmarshalBinary(buf[:]); err != nil {
		return nil, fmt.Errorf("decode union: %w", err)
	}
	return &Sketch{hll: h, dense: true, used: true, adds: 128}, nil
}

// unionSlow merges stored sketches one by one.
func unionSlow(stored []string) (*Sketch, error) {
	u := New()
	for _, b := range stored {
		if err := u.MergeBinary([]byte(b)); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// keySet collects the distinct sparse keys of a union up to denseAt of
// them: open addressing with linear probing in twice as many slots, so it
// stays at most half full; 0 marks a free slot and is kept aside. Keys are
// hashes already, spread by one multiplication. It remembers what it added
// and where, so that listing and clearing cost its keys, not its slots.
type keySet struct {
	slots [2 * denseAt]uint32
	added []uint32
	at    []uint16
	zero  bool
	// keys and tmp are scratch space kept with the set.
	keys, tmp []uint32
}

var keySets = sync.Pool{New: func() any { return new(keySet) }}

func (s *keySet) reset() {
	for _, i := range s.at {
		s.slots[i] = 0
	}
	s.added, s.at, s.zero = s.added[:0], s.at[:0], false
}

func (s *keySet) len() int {
	if s.zero {
		return len(s.added) + 1
	}
	return len(s.added)
}

// addUpTo adds keys until the set holds limit keys (limit <= denseAt); it
// reports false if it got there.
func (s *keySet) addUpTo(keys []uint32, limit int) bool {
	const mask = len(s.slots) - 1
	for _, k := range keys {
		if s.len() >= limit {
			return false
		}
		if k == 0 {
			s.zero = true
			continue
		}
		for i := int(k*0x9E3779B1>>20) & mask; ; i = (i + 1) & mask {
			if s.slots[i] == k {
				break
			}
			if s.slots[i] == 0 {
				s.slots[i] = k
				s.added = append(s.added, k)
				s.at = append(s.at, uint16(i))
				break
			}
		}
	}
	return s.len() < limit
}

// appendSorted appends the keys of s, in ascending order, to keys.
func (s *keySet) appendSorted(keys []uint32) []uint32 {
	start := len(keys)
	if s.zero {
		keys = append(keys, 0)
	}
	keys = append(keys, s.added...)
	s.tmp = sortKeys(keys[start:], s.tmp)
	return keys
}

// sortKeys sorts keys in place, with tmp as scratch space (returned, maybe
// grown): a radix sort a byte at a time, which for the hundreds to
// thousands of keys of a union takes a fraction of a comparison sort's time.
func sortKeys(keys, tmp []uint32) []uint32 {
	if len(keys) < 128 {
		slices.Sort(keys)
		return tmp
	}
	if cap(tmp) < len(keys) {
		tmp = make([]uint32, len(keys))
	}
	src, dst := keys, tmp[:len(keys)]
	for shift := 0; shift < 32; shift += 8 {
		var count [257]int
		for _, k := range src {
			count[k>>shift&0xff+1]++
		}
		for i := 1; i < len(count); i++ {
			count[i] += count[i-1]
		}
		for _, k := range src {
			b := k >> shift & 0xff
			dst[count[b]] = k
			count[b]++
		}
		src, dst = dst, src
	}
	// After an even number of passes the keys are back in keys.
	return tmp
}

// The stored form of a sparse sketch (axiomhq/hyperloglog, version 2, as its
// UnmarshalBinary documents it): version, precision, 0, 1; a big-endian
// uint32 count of unsorted keys and the keys; then the sorted keys as a
// big-endian uint32 count, last key and byte size, and the deltas between
// them as 7-bit little-endian varints.
const (
	formatVersion = 2
	precision     = 14
)

// sparseKeys appends the keys of a stored sparse sketch to keys: the
// unsorted ones, then the sorted list. It reports false, appending nothing,
// for anything else (a dense sketch, another version or precision) and for
// whatever the library's decoder refuses by the rules its UnmarshalBinary
// documents (lengths, counts, varints of at most 5 bytes, minimal and
// within 32 bits, strictly increasing keys, the last key, register values);
// the caller then hands the input to the library.
func sparseKeys(b string, keys []uint32) ([]uint32, bool) {
	if len(b) < 8 || b[1] != precision || b[3] != 1 {
		return keys, false
	}
	switch b[0] {
	case 1: // byte 2 is ignored in sparse version 1 payloads
	case formatVersion:
		if b[2] != 0 {
			return keys, false
		}
	default:
		return keys, false
	}
	u32 := func(i int) uint32 {
		return uint32(b[i])<<24 | uint32(b[i+1])<<16 | uint32(b[i+2])<<8 | uint32(b[i+3])
	}
	n := u32(4)
	i := 8
	if n > registers || len(b) < i+4*int(n)+12 {
		return keys, false
	}
	start := len(keys)
	for range n {
		k := u32(i)
		if _, r := decodeKey(k); r > maxRho {
			return keys[:start], false
		}
		keys = append(keys, k)
		i += 4
	}
	count, last, sz := u32(i), u32(i+4), u32(i+8)
	i += 12
	if uint64(len(b)-i) != uint64(sz) || count >= 1<<sparsePrecision ||
		(count == 0 && (sz != 0 || last != 0)) || sz < count || uint64(sz) > 5*uint64(count) {
		return keys[:start], false
	}
	var running uint32
	for got := 0; i < len(b); got++ {
		var x uint32
		j := i
		for ; j < len(b) && b[j]&0x80 != 0; j++ {
			if j-i == 4 { // a sixth byte follows
				return keys[:start], false
			}
			x |= uint32(b[j]&0x7f) << (7 * (j - i))
		}
		if j == len(b) || (j-i == 4 && b[j] > 0x0f) || (j > i && b[j] == 0) {
			return keys[:start], false
		}
		x |= uint32(b[j]) << (7 * (j - i))
		i = j + 1
		next := running + x
		if got > 0 && next <= running {
			return keys[:start], false
		}
		running = next
		if _, r := decodeKey(running); r > maxRho {
			return keys[:start], false
		}
		keys = append(keys, running)
	}
	if uint32(len(keys)-start)-n != count || running != last {
		return keys[:start], false
	}
	return keys, true
}

// sparseBinary is the stored form of a sparse sketch holding sorted,
// distinct keys.
func sparseBinary(keys []uint32) []byte {
	var list []byte
	var last uint32
	for _, k := range keys {
		x := k - last
		for x >= 0x80 {
			list = append(list, byte(x&0x7f|0x80))
			x >>= 7
		}
		list = append(list, byte(x))
		last = k
	}
	b := make([]byte, 0, 20+len(list))
	b = append(b, formatVersion, precision, 0, 1, 0, 0, 0, 0)
	for _, v := range []uint32{uint32(len(keys)), last, uint32(len(list))} {
		b = append(b, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
	return append(b, list...)
}
