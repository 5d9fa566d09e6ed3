package hugepage

import (
	"syscall"
	"unsafe"
)

// advise marks [p, p+n), whole huge pages, for huge pages. An error (a
// kernel without transparent huge pages) is ignored: the memory works as
// it is.
func advise(p unsafe.Pointer, n uintptr) {
	_ = syscall.Madvise(unsafe.Slice((*byte)(p), n), syscall.MADV_HUGEPAGE)
}
