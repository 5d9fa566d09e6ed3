//go:build !race

package beacon

import "testing"

// TestDecodeAllocs guards the allocation budget of the hot path: none. Once a
// Decoder and a Beacon have warmed up, the Beacon's strings are views into
// the Decoder's buffers and Domains and Props reuse their capacity.
func TestDecodeAllocs(t *testing.T) {
	for _, bb := range benchBodies {
		t.Run(bb.name, func(t *testing.T) {
			body := []byte(bb.body)
			var d Decoder
			var out Beacon
			got := testing.AllocsPerRun(100, func() {
				if err := d.Decode(body, &out); err != nil {
					t.Fatal(err)
				}
			})
			if got != 0 {
				t.Errorf("Decode(%s) allocates %v times, want 0", bb.name, got)
			}
		})
	}
	t.Run("alternating", func(t *testing.T) {
		// A pooled Decoder sees every kind of body in turn.
		var bodies [][]byte
		for _, bb := range benchBodies {
			bodies = append(bodies, []byte(bb.body))
		}
		var d Decoder
		var out Beacon
		i := 0
		got := testing.AllocsPerRun(300, func() {
			if err := d.Decode(bodies[i%len(bodies)], &out); err != nil {
				t.Fatal(err)
			}
			i++
		})
		if got != 0 {
			t.Errorf("Decode of alternating bodies allocates %v times, want 0", got)
		}
	})
	t.Run("error", func(t *testing.T) {
		body := []byte(`{"n":"pageview","u":"data:text/plain,x"}`)
		var d Decoder
		var out Beacon
		got := testing.AllocsPerRun(100, func() { _ = d.Decode(body, &out) })
		if got > 0 {
			t.Errorf("a rejected beacon allocates %v times", got)
		}
	})
}
