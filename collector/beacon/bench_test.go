package beacon

import (
	"testing"

	"analytics/collector/memo"
)

// benchBodies are typical bodies: a ~200-byte pageview from script.js, one
// from an ad click (utm values, a click id, a search referrer), a custom
// event with three props and an engagement event.
var benchBodies = []struct{ name, body string }{
	{"pageview", `{"n":"pageview","u":"https://www.example.com/blog/2026/how-we-count-visitors?utm_source=newsletter&utm_medium=email","d":"example.com","r":"https://news.ycombinator.com/item?id=4242","w":1512}`},
	{"custom3props", `{"n":"Signup","u":"https://example.com/pricing","d":"example.com","r":null,"p":{"plan":"business","seats":12,"trial":true}}`},
	{"pageview-ads", `{"n":"pageview","v":24,"u":"https://www.bench.example/docs/self-hosting/configuration?utm_source=google&utm_medium=cpc&utm_campaign=brand&utm_term=privacy+analytics&gclid=Cj0KCQiA4fi7BhC5ARIsAEV1YiYxZ2","d":"bench.example","r":"https://www.google.com/search?q=privacy+analytics","i":true}`},
	{"engagement", `{"n":"engagement","sd":64,"e":12873,"d":"example.com","u":"https://example.com/docs/install","p":{},"v":24}`},
}

// BenchmarkDecode parses each body, again and again, with a Decoder
// without a memo.
func BenchmarkDecode(b *testing.B) { benchDecode(b, nil) }

// BenchmarkDecodeMemo decodes the same bodies again and again through a
// Decoder with a memo, as the collector does: pageviews and custom events
// are found whole; engagement events, never remembered whole, find their
// URL.
func BenchmarkDecodeMemo(b *testing.B) { benchDecode(b, memo.New(1024)) }

func benchDecode(b *testing.B, m *memo.Table) {
	for _, bb := range benchBodies {
		b.Run("body="+bb.name, func(b *testing.B) {
			body := []byte(bb.body)
			d := Decoder{Memo: m}
			var out Beacon
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if err := d.Decode(body, &out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
