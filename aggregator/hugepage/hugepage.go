// Package hugepage allocates the large arrays of the hot path (the visits
// in progress, the collector's memo tables) so that the CPU can map them
// with 2 MiB pages. They are read at random addresses, one or two per
// event: with 4 KiB pages nearly every such read also misses the TLB, and
// in a virtual machine a page walk costs dozens of memory reads. The Go
// runtime does not ask for huge pages itself, and most distributions
// default to giving them only to memory that asks (transparent huge pages
// in "madvise" mode).
//
// Measured on the 2-CPU benchmark VM (scripts/bench ingest): with
// transparent huge pages for everything, the collector used 8.7-9.0 µs of
// CPU per request against 9.1-11.1 µs without.
package hugepage

import "unsafe"

// Size is the huge page size asked for.
const Size = 2 << 20

// Slice returns make([]T, n), with the whole huge pages inside its memory
// marked for huge pages (on Linux; elsewhere it is just make). Marking
// before the first write lets the kernel map them as huge pages when they
// are first touched.
func Slice[T any](n int) []T {
	s := make([]T, n)
	var zero T
	bytes := uintptr(n) * unsafe.Sizeof(zero)
	if bytes < Size {
		return s
	}
	start := uintptr(unsafe.Pointer(unsafe.SliceData(s)))
	first := (start + Size - 1) &^ (Size - 1)
	last := (start + bytes) &^ (Size - 1)
	if last > first {
		advise(unsafe.Add(unsafe.Pointer(unsafe.SliceData(s)), first-start), last-first)
	}
	return s
}
