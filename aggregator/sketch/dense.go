package sketch

import (
	"math"
	"math/bits"
	"sync"
)

// The dashboard's reads union many stored sketches and estimate the unions;
// a union that turns dense needs only the register maximum of its inputs.
// Decoding every input into a library sketch first (a 16 KiB allocation and
// a validation pass for each dense one, a sparse list for each sparse one)
// and estimating through the library (math.Pow for each of the 16384
// registers) were most of the Go time of a page list. So this file reads the
// stored forms straight into one register array and estimates from it,
// computing exactly what the library computes: the same registers, the same
// formula, the same float64 sums (see TestEstimateEqualsLibrary and
// TestUnionBinaryEqualsMergingOneByOne).

const (
	// registers is m, the number of registers at precision 14.
	registers = 1 << precision
	// sparsePrecision is p', the precision of the sparse keys: 25 in format
	// version 2.
	sparsePrecision = 25
	// maxRho is the largest register value a 64-bit hash gives: 64-p+1.
	maxRho = 64 - precision + 1
	// denseSize is the size of the stored dense form: version, precision,
	// 0, 0, the big-endian register count, the registers.
	denseSize = 8 + registers
)

// denseHeader starts the stored dense form (format version 2).
var denseHeader = [8]byte{formatVersion, precision, 0, 0, registers >> 24 & 0xff, registers >> 16 & 0xff, registers >> 8 & 0xff, registers & 0xff}

// denseBufs holds scratch buffers of the stored dense form's size.
var denseBufs = sync.Pool{New: func() any { return new([denseSize]byte) }}

// decodeKey returns the register index and value of a sparse key. The
// library encodes hashes as HyperLogLog++ does (Heule, Nunkesser and Hall,
// "HyperLogLog in Practice", 2013, section 5.3.3) with p = 14 and p' = 25.
// A key with its lowest bit set keeps the p'-bit index in its top 25 bits,
// which were followed by zeros only: bits 1-6 hold the number of leading
// zeros after the index plus one, so the register value adds the p'-p zero
// bits between the two indexes. A key with that bit clear keeps the p'-bit
// index in bits 1-25, and the p'-p bits below the register index (p top
// bits) hold the value: their leading zeros plus one. Keys the library
// writes set no bit above 25 in the second case; the mask and the shift
// below read any others as the library's decoder does.
func decodeKey(k uint32) (uint32, uint8) {
	if k&1 == 1 {
		return k >> (32 - precision), uint8(k>>1&0x3f) + sparsePrecision - precision
	}
	return k >> (sparsePrecision - precision + 1) & (registers - 1),
		uint8(bits.LeadingZeros32(k<<(32-(sparsePrecision-precision)-1))) + 1
}

// isDense reports whether b is the stored dense form at our precision.
// Its registers are checked by maxRegisters.
func isDense(b string) bool {
	return len(b) == denseSize && b[:8] == string(denseHeader[:])
}

// maxRegisters raises regs to the registers of the stored sketch b, using
// keys as scratch space. It reports false, leaving regs partly raised, for
// anything but a valid dense or sparse sketch at our precision: a caller
// then lets the library decode the inputs and say what is wrong.
func maxRegisters(regs *[registers]uint8, b string, keys []uint32) ([]uint32, bool) {
	if isDense(b) {
		src := b[8:denseSize]
		for i := range regs {
			v := src[i]
			if v > maxRho {
				return keys, false
			}
			regs[i] = max(regs[i], v)
		}
		return keys, true
	}
	keys, ok := sparseKeys(b, keys[:0])
	if !ok {
		return keys, false
	}
	for _, k := range keys {
		i, r := decodeKey(k)
		regs[i] = max(regs[i], r)
	}
	return keys, true
}

// pow2 holds 2^-v for every register value v: what the library sums as
// 1/math.Pow(2, v), which is exact for these arguments, so the table gives
// the same float64 values.
var pow2 = func() (t [256]float64) {
	for v := range t {
		t[v] = math.Ldexp(1, -v)
	}
	return t
}()

// alpha is HyperLogLog's bias constant for m registers, 0.7213/(1+1.079/m)
// (Flajolet, Fusy, Gandouet and Meunier, 2007), computed in float64 steps
// at run time as the library does: a constant expression would be exact and
// could round differently.
var alpha = func(m float64) float64 { return 0.7213 / (1 + 1.079/m) }(registers)

// beta is the LogLog-Beta bias correction for precision 14 (Qin, Kim and
// Tung, "LogLog-Beta and More: A New Algorithm for Cardinality Estimation
// Based on LogLog Counting", 2016): a polynomial in zl = ln(ez+1) plus a
// linear term in ez, the number of zero registers, with the paper's
// coefficients for p = 14. It is written as the sum of the paper's terms
// in their order, as the library evaluates it, so that it rounds the same.
func beta(ez float64) float64 {
	zl := math.Log(ez + 1)
	return -3.71009760230692e-01*ez +
		9.78811941207509e-03*zl +
		1.85796293324165e-01*math.Pow(zl, 2) +
		2.03015527328432e-01*math.Pow(zl, 3) +
		-1.16710521803686e-01*math.Pow(zl, 4) +
		4.31106699492820e-02*math.Pow(zl, 5) +
		-5.99583540511831e-03*math.Pow(zl, 6) +
		4.49704299509437e-04*math.Pow(zl, 7)
}

// estimateRegisters returns the LogLog-Beta estimate of dense registers,
// alpha*m*(m-ez) / (beta(ez) + sum of 2^-register), rounded to the nearest
// integer. The library sums the registers in index order. This sums them
// in four interleaved sums, four times as fast, which give the same float64
// whenever no register exceeds exactRho; otherwise it sums again in index
// order.
func estimateRegisters(regs []uint8) uint64 {
	var s0, s1, s2, s3 float64
	zeros, top := 0, uint8(0)
	i := 0
	for ; i+4 <= len(regs); i += 4 {
		a, b, c, d := regs[i], regs[i+1], regs[i+2], regs[i+3]
		s0 += pow2[a]
		s1 += pow2[b]
		s2 += pow2[c]
		s3 += pow2[d]
		zeros += isZero(a) + isZero(b) + isZero(c) + isZero(d)
		top = max(top, a, b, c, d)
	}
	for _, v := range regs[i:] {
		s0 += pow2[v]
		zeros += isZero(v)
		top = max(top, v)
	}
	sum := s0 + s1 + s2 + s3
	if top > exactRho {
		sum = 0
		for _, v := range regs {
			sum += pow2[v]
		}
	}
	m, ez := float64(len(regs)), float64(zeros)
	est := alpha * m * (m - ez) / (sum + beta(ez))
	return uint64(est + 0.5)
}

func isZero(v uint8) int {
	if v == 0 {
		return 1
	}
	return 0
}

// exactRho is the largest register value for which any order of summing
// 2^-register over the registers gives the same float64: every term, and
// so every partial sum, is then a multiple of 2^-exactRho no larger than
// m = 2^14, that is k*2^-39 with k <= 2^53, which float64 holds exactly. No
// addition rounds, so every order computes the exact sum. A register
// reaches 40 for about one key in 2^39.
const exactRho = 53 - precision

// denseEstimate estimates the dense sketch s from its registers.
func (s *Sketch) denseEstimate() uint64 {
	buf := denseBufs.Get().(*[denseSize]byte)
	defer denseBufs.Put(buf)
	b, err := s.hll.AppendBinary(buf[:0])
	if err != nil || len(b) != denseSize || b[3] != 0 {
		return s.hll.Estimate() // not dense after all: the library knows
	}
	return estimateRegisters(b[8:])
}
