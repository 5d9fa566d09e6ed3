package hugepage

import (
	"os"
	"runtime"
	"strings"
	"testing"
)

// TestSlice: slices of every size are plain zeroed slices, usable as such.
func TestSlice(t *testing.T) {
	type visit struct {
		a uint64
		p *int
		_ [104]byte
	}
	for _, n := range []int{0, 1, 1000, Size / 120, 3 * Size / 120, 200000} {
		s := Slice[visit](n)
		if len(s) != n || cap(s) != n {
			t.Fatalf("n=%d: len %d cap %d", n, len(s), cap(s))
		}
		for i := range s {
			if s[i] != (visit{}) {
				t.Fatalf("n=%d: element %d not zero", n, i)
			}
			x := i
			s[i].a, s[i].p = uint64(i), &x
		}
		runtime.GC() // the pointers inside stay valid
		for i := range s {
			if s[i].a != uint64(i) || *s[i].p != i {
				t.Fatalf("n=%d: element %d changed", n, i)
			}
		}
	}
}

// TestAdvised: on Linux, the huge pages inside a large slice are marked
// (the kernel lists the range as its own mapping with "hg" in VmFlags).
func TestAdvised(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("huge pages are asked for on Linux only")
	}
	if b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled"); err != nil || strings.Contains(string(b), "[never]") {
		t.Skip("no transparent huge pages here")
	}
	keys := Slice[uint64](1 << 20) // 8 MiB: at least 3 whole huge pages
	keys[0] = 1
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Skip(err)
	}
	if !strings.Contains(string(smaps), " hg") {
		t.Error("no mapping of this process is marked for huge pages (VmFlags hg)")
	}
}
