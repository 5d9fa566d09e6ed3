//go:build !race

package pathtmpl

import "testing"

// TestApplyAllocs guards the hot path: with a dst that has room, Apply
// allocates nothing, with built-in rules and with a site's regexp rules.
func TestApplyAllocs(t *testing.T) {
	custom, err := New(benchConfig)
	if err != nil {
		t.Fatal(err)
	}
	paths := []string{"/users/jane.doe%40example.com/settings", "/users/42", "/o/ORD-83412", "/en-us/blog/x"}
	for _, bp := range benchPaths {
		paths = append(paths, bp.path)
	}
	for _, tc := range builtinCases {
		paths = append(paths, tc.path)
	}
	for _, tp := range []struct {
		name string
		t    *Templater
	}{{"default", Default}, {"custom", custom}} {
		t.Run(tp.name, func(t *testing.T) {
			dst := make([]byte, 0, 1024)
			for _, p := range paths {
				if got := testing.AllocsPerRun(100, func() { dst = tp.t.Apply(dst[:0], p) }); got > 0 {
					t.Errorf("Apply(%q) allocates %v times", p, got)
				}
			}
		})
	}
}
