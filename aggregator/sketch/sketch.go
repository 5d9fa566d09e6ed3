// Package sketch wraps the HyperLogLog sketches of visitor keys that the
// aggregator keeps per bucket and the dashboard merges over ranges. It fixes
// the precision and the stored binary form in one place, so writer and
// readers cannot disagree.
package sketch

import (
	"fmt"
	"slices"

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
	n := s.hll.Estimate()
	if !s.dense && n >= denseAt {
		s.toDense()
		n = s.hll.Estimate()
	}
	return n
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
// estimates at least denseAt and is dense (see Estimate), and every input
// is merged into a dense sketch, which costs only its own entries;
// otherwise the union is decoded from the sorted keys in the stored form.
// Either way it holds exactly the keys (or registers) that merging one by
// one gives, and estimates the same.
func UnionBinary(stored []string) (*Sketch, error) {
	inputs := make([]string, 0, len(stored))
	for _, b := range stored {
		if len(b) > 0 {
			inputs = append(inputs, b)
		}
	}
	slices.SortStableFunc(inputs, func(a, b string) int { return len(b) - len(a) })
	dense := false
	size := 0 // about the keys of the inputs: 1-5 bytes each
	for _, b := range inputs {
		size += len(b) / 3
	}
	seen := make(map[uint32]struct{}, min(size, 2*denseAt))
	var keys []uint32
	for _, b := range inputs {
		var ok bool
		if keys, ok = sparseKeys(b, keys[:0]); !ok {
			if b[3] != 0 { // neither sparse nor dense: let the library say why
				return unionSlow(stored)
			}
			dense = true
			break
		}
		for _, k := range keys {
			seen[k] = struct{}{}
		}
		if len(seen) >= denseAt {
			dense = true
			break
		}
	}
	if !dense {
		keys = keys[:0]
		for k := range seen {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		u, err := Unmarshal(sparseBinary(keys))
		if err != nil {
			return unionSlow(stored)
		}
		return u, nil
	}
	u := &Sketch{hll: hyperloglog.NewNoSparse(), dense: true, used: true, adds: 128}
	for _, b := range inputs {
		o, err := Unmarshal([]byte(b))
		if err != nil {
			return nil, err
		}
		if err := u.hll.Merge(o.hll); err != nil {
			return nil, fmt.Errorf("merge sketch: %w", err)
		}
	}
	return u, nil
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

// The stored form of a sparse sketch (axiomhq/hyperloglog, version 2, as its
// UnmarshalBinary documents it): version, precision, 0, 1; a big-endian
// uint32 count of unsorted keys and the keys; then the sorted keys as a
// big-endian uint32 count, last key and byte size, and the deltas between
// them as 7-bit little-endian varints.
const (
	formatVersion = 2
	precision     = 14
)

// sparseKeys appends the keys of a stored sparse sketch to keys; it reports
// false for anything else (a dense sketch, another version or precision,
// malformed input), which the caller hands to the library instead.
func sparseKeys(b string, keys []uint32) ([]uint32, bool) {
	if len(b) < 8 || (b[0] != 1 && b[0] != formatVersion) || b[1] != precision || b[3] != 1 {
		return keys, false
	}
	u32 := func(i int) uint32 {
		return uint32(b[i])<<24 | uint32(b[i+1])<<16 | uint32(b[i+2])<<8 | uint32(b[i+3])
	}
	n := int(u32(4))
	i := 8
	if n < 0 || len(b) < i+4*n+12 {
		return keys, false
	}
	start := len(keys)
	for range n {
		keys = append(keys, u32(i))
		i += 4
	}
	count, sz := int(u32(i)), int(u32(i+8))
	i += 12
	if len(b) != i+sz {
		return keys[:start], false
	}
	var running uint32
	for got := 0; i < len(b); got++ {
		var x uint32
		shift := uint(0)
		for ; i < len(b) && b[i]&0x80 != 0; i++ {
			x |= uint32(b[i]&0x7f) << shift
			shift += 7
		}
		if i == len(b) || shift > 28 {
			return keys[:start], false
		}
		x |= uint32(b[i]) << shift
		i++
		running += x
		keys = append(keys, running)
		if got+1 > count {
			return keys[:start], false
		}
	}
	if len(keys)-start != n+count {
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
