// Package sketch wraps the HyperLogLog sketches of visitor keys that the
// aggregator keeps per bucket and the dashboard merges over ranges. It fixes
// the precision and the stored binary form in one place, so writer and
// readers cannot disagree.
package sketch

import (
	"fmt"

	"github.com/axiomhq/hyperloglog"
)

// Sketch counts distinct visitor keys. The zero value is not usable; call New.
type Sketch struct {
	hll *hyperloglog.Sketch
	// adds counts insertions while the sketch is sparse; dense is set once
	// it switched to the dense form.
	adds  uint32
	dense bool
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
func (s *Sketch) Add(key uint64) {
	s.hll.InsertHash(key)
	if !s.dense {
		if s.adds++; s.adds%1024 == 0 && s.hll.Estimate() >= denseAt {
			s.toDense()
		}
	}
}

// Merge adds other's keys to s. A union of many sketches (the dashboard
// merging a range's hourly rows) turns dense once it is big, for the reason
// given at denseAt: merging into a big sparse sketch re-sorts its list.
func (s *Sketch) Merge(other *Sketch) error {
	if err := s.hll.Merge(other.hll); err != nil {
		return fmt.Errorf("merge sketch: %w", err)
	}
	if !s.dense {
		if s.adds += 128; s.adds%1024 == 0 && s.hll.Estimate() >= denseAt {
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
func (s *Sketch) Clone() *Sketch { return &Sketch{hll: s.hll.Clone(), adds: s.adds, dense: s.dense} }

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
	return s, nil
}

// MergeBinary merges a stored sketch into s without keeping the decoded copy
// around longer than needed.
func (s *Sketch) MergeBinary(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	o, err := Unmarshal(b)
	if err != nil {
		return err
	}
	return s.Merge(o)
}
