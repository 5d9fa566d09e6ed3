package channel

import (
	"slices"
	"testing"
)

// FuzzClassify feeds Classify untrusted utm values: it must not panic,
// must return one of Channels(), and must ignore ASCII case and
// surrounding space.
func FuzzClassify(f *testing.F) {
	for _, tc := range classifyCases {
		v := tc.in
		f.Add(v.source, v.utmSource, v.utmMedium, v.utmCampaign, v.clickID)
	}
	names := Channels()
	f.Fuzz(func(t *testing.T, source, utmSource, utmMedium, utmCampaign, clickID string) {
		if len(source)+len(utmSource)+len(utmMedium)+len(utmCampaign)+len(clickID) > 4096 {
			return
		}
		got := Classify(source, utmSource, utmMedium, utmCampaign, clickID)
		if !slices.Contains(names, got) {
			t.Fatalf("Classify returned %q, not a channel", got)
		}
		up := Classify(" "+asciiUpper(source)+" ", asciiUpper(utmSource)+"\t", " "+asciiUpper(utmMedium),
			asciiUpper(utmCampaign)+" ", " "+asciiUpper(clickID))
		if up != got {
			t.Fatalf("uppercased and padded inputs give %q, lowercase %q", up, got)
		}
	})
}

func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
