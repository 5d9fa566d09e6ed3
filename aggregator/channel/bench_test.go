package channel

import "testing"

var benchVisits = []struct {
	name string
	in   visit
}{
	{"direct", visit{}},
	{"referrer-search", ref("google.co.uk")},
	{"referrer-social-subdomain", ref("lm.facebook.com")},
	{"referrer-unknown", ref("blog.example.com")},
	{"utm-paid-search", utm("Google", "CPC", "brand_de")},
	{"utm-email", utm("newsletter", "email", "2025-w14")},
	{"gclid", click("", "gclid")},
	{"campaign-long", utm("partner", "affiliate", "spring-2025-landing-page-variant-b-summer_shop")},
}

var sink string

func BenchmarkClassify(b *testing.B) {
	for _, bv := range benchVisits {
		b.Run("case="+bv.name, func(b *testing.B) {
			b.ReportAllocs()
			v := bv.in
			for b.Loop() {
				sink = Classify(v.source, v.utmSource, v.utmMedium, v.utmCampaign, v.clickID)
			}
		})
	}
}
