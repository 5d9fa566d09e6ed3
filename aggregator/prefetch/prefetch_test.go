package prefetch

import (
	"testing"
	"unsafe"
)

// TestLine: a prefetch of memory we own, of nil and of an address nothing
// maps returns and changes nothing.
func TestLine(t *testing.T) {
	buf := make([]uint64, 1024)
	for i := range buf {
		buf[i] = uint64(i)
	}
	for i := range buf {
		Line(unsafe.Pointer(&buf[i]))
	}
	Line(nil)
	line(^uintptr(0) &^ 4095) // the last page: never mapped in user space
	for i, v := range buf {
		if v != uint64(i) {
			t.Fatalf("buf[%d] = %d", i, v)
		}
	}
}
