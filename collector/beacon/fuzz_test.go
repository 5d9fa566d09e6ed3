package beacon

import (
	"analytics/collector/memo"
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// trackerSeeds are bodies as Plausible's script.js and the npm tracker send
// them, plus a few hand-written edge cases.
var trackerSeeds = []string{
	`{"n":"pageview","u":"https://example.com/","d":"example.com","r":null,"w":1440}`,
	`{"n":"pageview","v":24,"u":"https://www.example.com/blog/hello-world?utm_source=newsletter&utm_medium=email&utm_campaign=launch","d":"example.com","r":"https://www.google.com/","i":true}`,
	`{"n":"pageview","u":"https://shop.example.com/products/42?gclid=Cj0KCQiA&ref=partner","d":"shop.example.com","r":"https://www.bing.com/search?q=shoes"}`,
	`{"n":"engagement","sd":64,"e":12873,"d":"example.com","u":"https://example.com/docs/install","p":{},"v":24}`,
	`{"n":"engagement","sd":"100","e":"4000","d":"example.com","u":"https://example.com/#/about","h":1,"v":24}`,
	`{"n":"Signup","u":"https://example.com/register","d":"example.com","r":null,"p":{"plan":"business","seats":12,"trial":true}}`,
	`{"n":"404","u":"https://example.com/missing/page","d":"example.com","r":"https://example.com/","m":"{\"path\":\"/missing/page\"}"}`,
	`{"n":"Outbound Link: Click","u":"https://example.com/links","d":"example.com","r":null,"p":{"url":"https://github.com/plausible/analytics"}}`,
	`{"n":"File Download","u":"https://example.com/downloads","d":"example.com","r":null,"props":{"url":"https://example.com/files/report.pdf"}}`,
	`{"n":"Form: Submission","u":"https://example.com/contact?fbclid=IwAR0abc","d":"example.com","r":null,"p":{"path":"/contact"},"i":true}`,
	`{"n":"Purchase","u":"https://example.com/checkout/done","d":"example.com","r":null,"$":{"amount":"49.90","currency":"EUR"}}`,
	`{"name":"Purchase","url":"https://example.com/thanks","domain":"example.com","revenue":{"amount":1322.22,"currency":"usd"}}`,
	`{"n":"pageview","u":"https://app.example.com/#/settings/profile?tab=security","d":"app.example.com","r":null,"h":1}`,
	`{"n":"pageview","u":"https://blog.example.com/post","d":"blog.example.com,example.com,rollup.example.net","r":"android-app://com.google.android.gm/"}`,
	`{"n":404,"u":"http://user:pw@[2001:db8::1]:8080/a%20b%2Fc?token=s3cr3t#frag","d":" WWW.Example.COM , ","r":"https://t.co/xyz?secret=1","i":false}`,
	`{"n":"pageview","u":"example.com/no-scheme?source=hn","meta":"{\"k\":[1],\"v\":null,\"w\":\"x\"}","hashMode":true,"interactive":0}`,
	`{"n":"pageview","u":"data:text/html,<script>alert(1)</script>"}`,
}

// fuzzMemo is the memo of the fuzzed decoders, shared across inputs (small,
// so that entries are also replaced).
var fuzzMemo = memo.New(64)

func FuzzDecode(f *testing.F) {
	for _, s := range trackerSeeds {
		f.Add([]byte(s))
	}
	var pool sync.Pool
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > 64<<10 {
			return // the collector refuses bodies long before this
		}
		d, _ := pool.Get().(*Decoder)
		if d == nil {
			d = &Decoder{Memo: fuzzMemo}
		}
		defer pool.Put(d)
		var b Beacon
		err := d.Decode(body, &b)
		// The single-pass scanner must accept, refuse and decode exactly as
		// the fastjson-based decoder it replaced (reference_test.go).
		var ref Beacon
		if refErr := new(refDecoder).Decode(body, &ref); err != refErr || err == nil && !reflect.DeepEqual(b, ref) {
			t.Fatalf("decoder: %v %+v\nreference: %v %+v", err, b, refErr, ref)
		}
		// The same body through a fresh Decoder: reuse must not matter.
		var fresh Beacon
		freshErr := new(Decoder).Decode(body, &fresh)
		if err != freshErr {
			t.Fatalf("reused decoder: %v, fresh decoder: %v", err, freshErr)
		}
		if err != nil {
			e, ok := err.(*Error)
			if !ok || e.Field == "" || e.Message == "" || !json.Valid(e.JSON()) {
				t.Fatalf("bad error %#v", err)
			}
			return
		}
		if !reflect.DeepEqual(b, fresh) {
			t.Fatalf("reused decoder gave %+v, fresh %+v", b, fresh)
		}
		// Once more through the memo, which now holds the body's URL and
		// referrer: what it remembered decodes the same.
		b = b.Clone()
		var viaMemo Beacon
		if err := (&Decoder{Memo: fuzzMemo}).Decode(body, &viaMemo); err != nil || !reflect.DeepEqual(viaMemo, b) {
			t.Fatalf("through the memo: %v %+v, first %+v", err, viaMemo, b)
		}
		checkBeacon(t, &b)
		checkNoQueryLeak(t, body, &b)

		// b's strings are views into d's buffers, valid until d's next
		// Decode: what is compared after that must be a copy. Reuse d (into a
		// second Beacon, on another body, then on this one again) and check
		// that the copy still equals the fresh result and that d decodes the
		// body the same way once more.
		kept := b.Clone()
		var other Beacon
		_ = d.Decode([]byte(trackerSeeds[len(body)%len(trackerSeeds)]), &other)
		if !reflect.DeepEqual(kept, fresh) {
			t.Fatalf("copy made before the next Decode changed: %+v, fresh %+v", kept, fresh)
		}
		var again Beacon
		if err := d.Decode(body, &again); err != nil || !reflect.DeepEqual(again, fresh) {
			t.Fatalf("decoding again with the reused decoder gave %v %+v, fresh %+v", err, again, fresh)
		}
	})
}

func checkBeacon(t *testing.T, b *Beacon) {
	t.Helper()
	for _, s := range beaconStrings(b) {
		if !utf8.ValidString(s) {
			t.Fatalf("invalid UTF-8 %q in %+v", s, b)
		}
	}
	for _, s := range []string{b.Host, b.Path, b.ReferrerHost} {
		if strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			t.Fatalf("control character in %q", s)
		}
	}
	if !strings.HasPrefix(b.Path, "/") || strings.Contains(b.Path, "?") {
		t.Fatalf("bad Path %q", b.Path)
	}
	if b.Host == "" || strings.ContainsAny(b.Host, "/?#@\\ ") {
		t.Fatalf("bad Host %q", b.Host)
	}
	if strings.ContainsAny(b.ReferrerHost, "/?#@\\ ") {
		t.Fatalf("bad ReferrerHost %q", b.ReferrerHost)
	}
	if strings.TrimSpace(b.Name) == "" || utf8.RuneCountInString(b.Name) > MaxNameChars {
		t.Fatalf("bad Name %q", b.Name)
	}
	if len(b.Domains) == 0 || len(b.Domains) > MaxDomains {
		t.Fatalf("bad Domains %q", b.Domains)
	}
	for _, dom := range b.Domains {
		if dom == "" {
			t.Fatalf("empty domain in %q", b.Domains)
		}
	}
	for _, s := range []string{b.UTMSource, b.UTMMedium, b.UTMCampaign, b.UTMContent, b.UTMTerm} {
		if len(s) > MaxUTMBytes || s != strings.TrimSpace(s) {
			t.Fatalf("bad utm value %q", s)
		}
	}
	switch b.ClickID {
	case "", "gclid", "gbraid", "wbraid", "msclkid", "fbclid", "twclid":
	default:
		t.Fatalf("bad ClickID %q", b.ClickID)
	}
	if len(b.Props) > MaxProps {
		t.Fatalf("%d props", len(b.Props))
	}
	for _, p := range b.Props {
		if strings.TrimSpace(p.Key) == "" || strings.TrimSpace(p.Value) == "" ||
			len(p.Key) > MaxPropKeyBytes || len(p.Value) > MaxPropValBytes {
			t.Fatalf("bad prop %q", p)
		}
	}
	if (b.RevenueAmount == "") != (b.RevenueCurrency == "") || b.RevenueCurrency != "" && len(b.RevenueCurrency) != 3 {
		t.Fatalf("bad revenue %q %q", b.RevenueAmount, b.RevenueCurrency)
	}
	if b.ScrollDepth < -1 || b.ScrollDepth > 100 || b.EngagedMS < -1 || b.EngagedMS >= MaxEngagedMS {
		t.Fatalf("bad engagement %d %d", b.ScrollDepth, b.EngagedMS)
	}
	if b.Name == NameEngagement && b.ScrollDepth < 0 && b.EngagedMS < 0 ||
		b.Name != NameEngagement && (b.ScrollDepth != -1 || b.EngagedMS != -1) {
		t.Fatalf("engagement fields %d %d on %q", b.ScrollDepth, b.EngagedMS, b.Name)
	}
}

// beaconStrings lists every string output field except the utm values, which
// are the one place query values may go.
func beaconStrings(b *Beacon) []string {
	out := []string{b.Name, b.Host, b.Path, b.ReferrerHost, b.ClickID, b.RevenueAmount, b.RevenueCurrency}
	out = append(out, b.Domains...)
	for _, p := range b.Props {
		out = append(out, p.Key, p.Value)
	}
	return out
}

// checkNoQueryLeak asserts that no value of a page URL query parameter other
// than utm_*, source and ref shows up in an output field, unless some other
// part of the input carries it too (a prop value may legitimately equal it).
func checkNoQueryLeak(t *testing.T, body []byte, b *Beacon) {
	t.Helper()
	var p fastjson.Parser
	root, err := p.ParseBytes(body)
	if err != nil {
		t.Fatalf("decoded a body fastjson cannot parse: %v", err)
	}
	uv := refPick(root.Get("u"), root.Get("url"))
	raw, _ := uv.StringBytes()
	rawURL := string(bytes.TrimSpace(raw))

	// Split off the query and the fragment's query, as a browser would.
	rest, frag, hasFrag := strings.Cut(rawURL, "#")
	rest, query, _ := strings.Cut(rest, "?")
	frag, fragQuery, _ := strings.Cut(frag, "?")
	withoutQuery := rest
	if hasFrag {
		withoutQuery += "#" + frag
	}

	others := []string{withoutQuery, string(appendPath(nil, []byte(withoutQuery)))}
	var collect func(v *fastjson.Value)
	collect = func(v *fastjson.Value) {
		switch v.Type() {
		case fastjson.TypeObject:
			o, _ := v.Object()
			o.Visit(func(k []byte, v *fastjson.Value) {
				others = append(others, string(k))
				collect(v)
			})
		case fastjson.TypeArray:
			a, _ := v.Array()
			for _, e := range a {
				collect(e)
			}
		case fastjson.TypeString:
			if v == uv {
				return
			}
			s, _ := v.StringBytes()
			others = append(others, string(s))
			var inner fastjson.Parser // props or revenue sent as a string
			if iv, err := inner.ParseBytes(s); err == nil {
				collect(iv)
			}
		default:
			others = append(others, v.String())
		}
	}
	collect(root)
	for i := range others {
		others[i] = strings.ToLower(others[i])
	}
	fields := beaconStrings(b)
	for i := range fields {
		fields[i] = strings.ToLower(fields[i])
	}

	for _, q := range []string{query, fragQuery} {
		for pair := range strings.SplitSeq(q, "&") {
			key, val, _ := strings.Cut(pair, "=")
			k := string(appendQueryValue(nil, []byte(key)))
			if strings.HasPrefix(k, "utm_") || k == "source" || k == "ref" {
				continue
			}
			for _, v := range []string{val, string(appendQueryValue(nil, []byte(val)))} {
				v = strings.ToLower(strings.TrimSpace(v))
				if len(v) < 4 || containsAny(others, v) {
					continue
				}
				for _, f := range fields {
					if strings.Contains(f, v) {
						t.Fatalf("value %q of query parameter %q leaked into %q (%+v)", v, key, f, b)
					}
				}
			}
		}
	}
}

func containsAny(haystacks []string, needle string) bool {
	for _, h := range haystacks {
		if strings.Contains(h, needle) {
			return true
		}
	}
	return false
}
