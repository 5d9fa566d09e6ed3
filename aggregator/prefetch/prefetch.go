// Package prefetch asks the CPU to start loading a cache line that will be
// read soon, without waiting for it: the collector knows which visit an
// event belongs to a few hundred nanoseconds before it counts it, and on a
// busy collector that visit is rarely still in the caches.
//
// A prefetch is only a hint: it never faults (an address that is not
// mapped is ignored), changes no memory and returns at once. On
// architectures without an assembly version it does nothing.
package prefetch

import "unsafe"

// Line asks for the cache line that holds p.
func Line(p unsafe.Pointer) { line(uintptr(p)) }
