//go:build !race

package beacon

import "testing"

// TestDecodeAllocs guards the allocation budget of the hot path: one string
// for the event's fields and one for its props, nothing else once the
// Decoder and the Beacon have warmed up.
func TestDecodeAllocs(t *testing.T) {
	budget := map[string]float64{"pageview": 1, "custom3props": 2, "engagement": 1}
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
			if got > budget[bb.name] {
				t.Errorf("Decode(%s) allocates %v times, budget %v", bb.name, got, budget[bb.name])
			}
		})
	}
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
