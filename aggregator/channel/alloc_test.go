//go:build !race

package channel

import "testing"

// TestClassifyAllocs guards the allocation budget of Classify, which runs
// once per visit: none, for every case of the table (lowercasing uses stack
// buffers and map lookups index by converted byte slices).
func TestClassifyAllocs(t *testing.T) {
	for _, tc := range classifyCases {
		v := tc.in
		got := testing.AllocsPerRun(50, func() {
			_ = Classify(v.source, v.utmSource, v.utmMedium, v.utmCampaign, v.clickID)
		})
		if got != 0 {
			t.Errorf("Classify for case %q allocates %v times, want 0", tc.name, got)
		}
	}
}
