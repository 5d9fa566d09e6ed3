package sketch

import (
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/axiomhq/hyperloglog"
)

// libraryEstimate is the library's own estimate of s, on a copy.
func libraryEstimate(s *Sketch) uint64 { return s.hll.Clone().Estimate() }

// denseForm is the stored dense form holding regs.
func denseForm(regs []uint8) []byte {
	return append(denseHeader[:], regs...)
}

// TestEstimateEqualsLibrary checks that dense estimates are bit for bit the
// library's: over sketches of random keys from a few thousand to millions,
// unions of them, and register arrays drawn at random, many zeros, values
// up to the largest possible and every mix in between.
func TestEstimateEqualsLibrary(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	check := func(name string, s *Sketch) {
		t.Helper()
		if got, want := s.Estimate(), libraryEstimate(s); got != want {
			t.Fatalf("%s: estimate %d, library %d", name, got, want)
		}
	}
	var unions []*Sketch
	for _, n := range []int{2100, 3000, 5000, 12000, 40000, 150000, 1_000_000, 4_000_000} {
		s := New()
		for range n {
			s.Add(r.Uint64())
		}
		if !s.dense {
			t.Fatalf("%d keys: not dense", n)
		}
		check("keys", s)
		unions = append(unions, s)
	}
	u := New()
	for i, s := range unions {
		if err := u.Merge(s); err != nil {
			t.Fatal(err)
		}
		check("union", u)
		if i > 0 {
			v := unions[i-1].Clone()
			if err := v.Merge(s); err != nil {
				t.Fatal(err)
			}
			check("pair", v)
		}
	}
	regs := make([]uint8, registers)
	for round := range 2000 {
		zeroShare := r.Float64()
		top := 1 + r.IntN(maxRho)
		for i := range regs {
			switch {
			case r.Float64() < zeroShare:
				regs[i] = 0
			case round%3 == 0: // the geometric spread of real registers
				regs[i] = uint8(min(1+r.IntN(6)+r.IntN(8), top))
			default:
				regs[i] = uint8(1 + r.IntN(top))
			}
		}
		s, err := Unmarshal(denseForm(regs))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := estimateRegisters(regs), libraryEstimate(s); got != want {
			t.Fatalf("round %d (zeros %.2f, top %d): estimate %d, library %d", round, zeroShare, top, got, want)
		}
	}
	for _, v := range []uint8{0, 1, maxRho} {
		for i := range regs {
			regs[i] = v
		}
		s, err := Unmarshal(denseForm(regs))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := estimateRegisters(regs), libraryEstimate(s); got != want {
			t.Fatalf("all registers %d: estimate %d, library %d", v, got, want)
		}
	}
}

// TestDecodeKeyEqualsLibrary checks the sparse key decoding against the
// library's: every key of a sparse sketch, raised into registers, gives the
// registers the library's own conversion to the dense form gives.
func TestDecodeKeyEqualsLibrary(t *testing.T) {
	r := rand.New(rand.NewPCG(33, 34))
	for round := range 300 {
		h := hyperloglog.New14()
		for range 1 + r.IntN(3000) {
			x := r.Uint64()
			switch r.IntN(4) { // hashes whose bits after the index are zero
			case 0:
				x &^= (1<<11 - 1) << 39
			case 1:
				x &= ^uint64(0) << (64 - 14 - r.IntN(40))
			}
			h.InsertHash(x)
		}
		if round%2 == 0 {
			h.Estimate() // compacts the unsorted keys into the list
		}
		b, err := h.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if b[3] != 1 {
			continue
		}
		var regs [registers]uint8
		if _, ok := maxRegisters(&regs, string(b), nil); !ok {
			t.Fatalf("round %d: a sparse sketch of the library refused", round)
		}
		d := hyperloglog.NewNoSparse()
		if err := d.Merge(h); err != nil {
			t.Fatal(err)
		}
		want, err := d.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if string(want) != string(denseForm(regs[:])) {
			t.Fatalf("round %d: registers differ from the library's", round)
		}
	}
}

// TestSparseKeysRefusesMalformed: the ways of breaking a stored sparse
// sketch that the library refuses, the parser refuses too, and it accepts
// the odd but valid lists the library accepts.
func TestSparseKeysRefusesMalformed(t *testing.T) {
	s := New()
	for i := range uint64(300) {
		s.Add(visitorKeyForTest(i))
	}
	s.Estimate() // compact: a list, no unsorted keys
	for i := range uint64(5) {
		s.Add(visitorKeyForTest(1000 + i))
	}
	good, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := sparseKeys(string(good), nil); !ok {
		t.Fatal("a good sketch refused")
	}
	n := int(binary.BigEndian.Uint32(good[4:]))
	list := 8 + 4*n // the list header: count, last, size
	edit := func(f func(b []byte) []byte) string {
		b := append([]byte(nil), good...)
		return string(f(b))
	}
	put := func(at int, v uint32) func(b []byte) []byte {
		return func(b []byte) []byte { binary.BigEndian.PutUint32(b[at:], v); return b }
	}
	for name, b := range map[string]string{
		"empty":             "",
		"short header":      string(good[:7]),
		"version 3":         edit(func(b []byte) []byte { b[0] = 3; return b }),
		"precision 15":      edit(func(b []byte) []byte { b[1] = 15; return b }),
		"byte 2 in v2":      edit(func(b []byte) []byte { b[2] = 1; return b }),
		"byte 3 is 2":       edit(func(b []byte) []byte { b[3] = 2; return b }),
		"truncated":         string(good[:len(good)-1]),
		"trailing byte":     string(append(append([]byte(nil), good...), 0)),
		"tmp count too big": edit(put(4, registers+1)),
		"tmp count short":   edit(put(4, uint32(n+1000))),
		"list count +1":     edit(put(list, binary.BigEndian.Uint32(good[list:])+1)),
		"list count -1":     edit(put(list, binary.BigEndian.Uint32(good[list:])-1)),
		"list count 2^25":   edit(put(list, 1<<25)),
		"last off by one":   edit(put(list+4, binary.BigEndian.Uint32(good[list+4:])+1)),
		"size +1":           edit(put(list+8, binary.BigEndian.Uint32(good[list+8:])+1)),
		"tmp key rho 63":    edit(put(8, 0x7f)), // flag 1, rho' 63: register 74
	} {
		if _, ok := sparseKeys(b, nil); ok {
			t.Errorf("%s: parsed", name)
		}
		// Another precision is well formed, but not ours: the union
		// leaves it to the library, which refuses to merge it.
		if err := hyperloglog.New14().UnmarshalBinary([]byte(b)); err == nil && name != "precision 15" {
			t.Errorf("%s: the library accepts it: not a malformed case", name)
		}
	}
	// Hand-built lists: a key list with header count, last, size and stream.
	stream := func(count, last uint32, deltas ...byte) string {
		b := []byte{formatVersion, precision, 0, 1, 0, 0, 0, 0}
		for _, v := range []uint32{count, last, uint32(len(deltas))} {
			b = binary.BigEndian.AppendUint32(b, v)
		}
		return string(append(b, deltas...))
	}
	for _, tc := range []struct {
		name string
		b    string
		ok   bool
	}{
		{"empty list", stream(0, 0), true},
		{"one key", stream(1, 0x1234, 0xb4, 0x24), true},
		{"zero first delta", stream(2, 2, 0x00, 0x02), true},
		{"not minimal", stream(1, 2, 0x82, 0x00), false},
		{"zero later delta", stream(2, 2, 0x02, 0x00), false},
		{"six bytes", stream(2, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x01), false},
		{"five bytes too big", stream(1, 0, 0x80, 0x80, 0x80, 0x80, 0x10), false},
		{"five bytes", stream(1, 0xf0000000, 0x80, 0x80, 0x80, 0x80, 0x0f), true},
		{"wraps", stream(2, 0, 0xfe, 0xff, 0xff, 0xff, 0x0f, 0x02), false},
		{"unfinished varint", stream(1, 0, 0x80), false},
		{"empty list with size", stream(0, 0, 0x01), false},
		{"empty list with last", stream(0, 1), false},
		{"rho too big", stream(1, 0x7f, 0x7f), false},
	} {
		_, ok := sparseKeys(tc.b, nil)
		libErr := hyperloglog.New14().UnmarshalBinary([]byte(tc.b))
		if ok != tc.ok || (libErr == nil) != tc.ok {
			t.Errorf("%s: parsed %v, library error %v; want accepted %v", tc.name, ok, libErr, tc.ok)
		}
	}
}

// FuzzUnionBinary checks the union against the library on arbitrary stored
// sketches: no panic; refused exactly when merging one by one through the
// library fails; otherwise the same estimate, and the same registers once
// dense. A single input that the parsers accept, the library accepts too.
func FuzzUnionBinary(f *testing.F) {
	r := rand.New(rand.NewPCG(35, 36))
	for _, n := range []int{0, 1, 40, 900, 2500, 6000} {
		s := New()
		for range n {
			s.Add(r.Uint64())
		}
		b, _ := s.MarshalBinary()
		f.Add(b, b[:len(b)/2], uint8(n%7))
	}
	f.Add([]byte{2, 14, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 5, 0, 0, 0, 1, 5}, []byte{}, uint8(3))
	// Sketches to mix in: big enough to turn the union dense on some mixes.
	var more []string
	for i := range 8 {
		s := New()
		for j := range 400 * i {
			s.Add(visitorKeyForTest(uint64(j + 1000*i)))
		}
		b, _ := s.MarshalBinary()
		more = append(more, string(b))
	}
	f.Fuzz(func(t *testing.T, a, b []byte, mix uint8) {
		if len(a)+len(b) > 1<<16 {
			return
		}
		for _, in := range [][]byte{a, b} {
			var regs [registers]uint8
			if _, ok := maxRegisters(&regs, string(in), nil); ok {
				if err := hyperloglog.New14().UnmarshalBinary(in); err != nil {
					t.Fatalf("parsed %x, which the library refuses: %v", in, err)
				}
			}
		}
		stored := []string{string(a), string(b)}
		for i := range 8 {
			if mix&(1<<i) != 0 {
				stored = append(stored, more[i])
			}
		}
		want, wantErr := unionSlow(stored)
		got, err := UnionBinary(stored)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("UnionBinary error %v, one by one %v", err, wantErr)
		}
		if err != nil {
			return
		}
		if g, w := got.Estimate(), want.Estimate(); g != w {
			t.Fatalf("estimate %d, one by one %d", g, w)
		}
		if got.dense != want.dense {
			t.Fatalf("dense %v, one by one %v", got.dense, want.dense)
		}
		if got.dense {
			gb, _ := got.MarshalBinary()
			wb, _ := want.MarshalBinary()
			if string(gb) != string(wb) {
				t.Fatal("registers differ from merging one by one")
			}
		}
	})
}

func TestSortKeys(t *testing.T) {
	r := rand.New(rand.NewPCG(37, 38))
	var tmp []uint32
	for _, n := range []int{0, 1, 2, 127, 128, 129, 500, 2047, 2048, 5000} {
		keys := make([]uint32, n)
		for i := range keys {
			switch i % 3 {
			case 0:
				keys[i] = r.Uint32()
			case 1:
				keys[i] = r.Uint32() & 0xff00ff // equal bytes in places
			default:
				keys[i] = keys[r.IntN(i)] // repeats
			}
		}
		want := slices.Clone(keys)
		slices.Sort(want)
		tmp = sortKeys(keys, tmp)
		if !slices.Equal(keys, want) {
			t.Fatalf("%d keys: not sorted", n)
		}
	}
}
