package beacon

import (
	"analytics/collector/memo"
	"reflect"
	"strings"
	"testing"
	"unsafe"
)

// pageview is what `{"n":"pageview","u":"https://example.com/"}` decodes to;
// cases state how they differ from it.
func pageview() Beacon {
	return Beacon{
		Name:        NamePageview,
		Domains:     []string{"example.com"},
		Host:        "example.com",
		Path:        "/",
		Interactive: true,
		ScrollDepth: -1,
		EngagedMS:   -1,
	}
}

// testMemo is shared by every decodeString of the package's tests, so that
// later tests also meet URLs and referrers remembered by earlier ones.
var testMemo = memo.New(1024)

// decodeString decodes body with a plain Decoder, and twice with one that
// remembers URLs and referrers in testMemo (the first may find them or not,
// the second finds them), and fails unless all three agree.
func decodeString(t *testing.T, body string) (Beacon, error) {
	t.Helper()
	decode := func(m *memo.Table) (Beacon, error) {
		d := Decoder{Memo: m}
		var b Beacon
		err := d.Decode([]byte(body), &b)
		if len(b.Props) == 0 {
			b.Props = nil
		}
		if len(b.Domains) == 0 {
			b.Domains = nil
		}
		return b.Clone(), err
	}
	b, err := decode(nil)
	for range 2 {
		if mb, merr := decode(testMemo); merr != err || !reflect.DeepEqual(mb, b) {
			t.Fatalf("Decode(%s) with a memo: %v %+v\nwithout: %v %+v", body, merr, mb, err, b)
		}
	}
	return b, err
}

type okCase struct {
	name string
	body string
	want func(b *Beacon) // applied to pageview()
}

func runOK(t *testing.T, tests []okCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeString(t, tc.body)
			if err != nil {
				t.Fatalf("Decode(%s) = %v, want no error", tc.body, err)
			}
			want := pageview()
			if tc.want != nil {
				tc.want(&want)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Decode(%s)\n got %+v\nwant %+v", tc.body, got, want)
			}
		})
	}
}

type errCase struct {
	name    string
	body    string
	field   string
	message string
	json    string
}

func runErr(t *testing.T, tests []errCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeString(t, tc.body)
			e, ok := err.(*Error)
			if !ok {
				t.Fatalf("Decode(%.200s) = %v, want *Error", tc.body, err)
			}
			if e.Field != tc.field || e.Message != tc.message {
				t.Errorf("Decode(%.200s) = %q: %q, want %q: %q", tc.body, e.Field, e.Message, tc.field, tc.message)
			}
			if tc.json != "" && string(e.JSON()) != tc.json {
				t.Errorf("JSON() = %s, want %s", e.JSON(), tc.json)
			}
		})
	}
}

const u = `"u":"https://example.com/"`

func TestDecodeName(t *testing.T) {
	runOK(t, []okCase{
		{"pageview", `{"n":"pageview",` + u + `}`, nil},
		{"alias name", `{"name":"pageview",` + u + `}`, nil},
		{"engagement", `{"n":"engagement",` + u + `,"sd":10}`, func(b *Beacon) { b.Name = NameEngagement; b.ScrollDepth = 10 }},
		{"custom", `{"n":"Outbound Link: Click",` + u + `}`, func(b *Beacon) { b.Name = "Outbound Link: Click" }},
		{"integer", `{"n":404,` + u + `}`, func(b *Beacon) { b.Name = "404" }},
		{"negative integer", `{"n":-1,` + u + `}`, func(b *Beacon) { b.Name = "-1" }},
		{"120 chars", `{"n":"` + strings.Repeat("é", 120) + `",` + u + `}`, func(b *Beacon) { b.Name = strings.Repeat("é", 120) }},
		{"escaped", `{"n":"Form: \u0053ubmission",` + u + `}`, func(b *Beacon) { b.Name = "Form: Submission" }},
		{"short form wins", `{"name":"b","n":"a",` + u + `}`, func(b *Beacon) { b.Name = "a" }},
		{"null short form falls back", `{"n":null,"name":"b",` + u + `}`, func(b *Beacon) { b.Name = "b" }},
		{"first duplicate wins", `{"n":"a","n":"b",` + u + `}`, func(b *Beacon) { b.Name = "a" }},
		{"escaped key", `{"\u006e":"a",` + u + `}`, func(b *Beacon) { b.Name = "a" }},
	})
	runErr(t, []errCase{
		{"missing", `{` + u + `}`, "name", "is required", `{"errors":{"name":["is required"]}}`},
		{"null", `{"n":null,` + u + `}`, "name", "is required", ""},
		{"empty", `{"n":"",` + u + `}`, "name", "is required", ""},
		{"blank", `{"n":" \t",` + u + `}`, "name", "is required", ""},
		{"float", `{"n":404.5,` + u + `}`, "name", "is invalid", `{"errors":{"name":["is invalid"]}}`},
		{"exponent", `{"n":4e2,` + u + `}`, "name", "is invalid", ""},
		{"bool", `{"n":true,` + u + `}`, "name", "is invalid", ""},
		{"object", `{"n":{},` + u + `}`, "name", "is invalid", ""},
		{"array", `{"name":["a"],` + u + `}`, "name", "is invalid", ""},
		{"121 chars", `{"n":"` + strings.Repeat("é", 121) + `",` + u + `}`, "name", "should be at most 120 character(s)",
			`{"errors":{"name":["should be at most 120 character(s)"]}}`},
		{"checked before url", `{}`, "name", "is required", ""},
	})
}

func TestDecodeURL(t *testing.T) {
	long := "https://example.com/" + strings.Repeat("a", MaxURLBytes-len("https://example.com/"))
	runOK(t, []okCase{
		{"alias url", `{"n":"pageview","url":"https://example.com/"}`, nil},
		{"short form wins", `{"n":"pageview","url":"https://a.com/","u":"https://example.com/"}`, nil},
		{"2000 bytes", `{"n":"pageview","u":"` + long + `"}`, func(b *Beacon) { b.Path = long[len("https://example.com"):] }},
		{"surrounding space", `{"n":"pageview","u":"  https://example.com/ "}`, nil},
	})
	runErr(t, []errCase{
		{"missing", `{"n":"pageview"}`, "url", "is required", `{"errors":{"url":["is required"]}}`},
		{"null", `{"n":"pageview","u":null}`, "url", "is required", ""},
		{"empty", `{"n":"pageview","u":""}`, "url", "is required", ""},
		{"number", `{"n":"pageview","u":1}`, "url", "is invalid", `{"errors":{"url":["is invalid"]}}`},
		{"object", `{"n":"pageview","url":{}}`, "url", "is invalid", ""},
		{"2001 bytes", `{"n":"pageview","u":"` + long + `a"}`, "url", "should be at most 2000 byte(s)",
			`{"errors":{"url":["should be at most 2000 byte(s)"]}}`},
		{"data", `{"n":"pageview","u":"data:text/html,<b>hi</b>"}`, "url", "must be an http or https URL",
			`{"errors":{"url":["must be an http or https URL"]}}`},
		{"DATA", `{"n":"pageview","u":"DATA:text/plain,x"}`, "url", "must be an http or https URL", ""},
		{"javascript", `{"n":"pageview","u":"javascript:alert(1)"}`, "url", "must be an http or https URL", ""},
		{"ftp", `{"n":"pageview","u":"ftp://example.com/"}`, "url", "must be an http or https URL", ""},
		{"file", `{"n":"pageview","u":"file:///etc/passwd"}`, "url", "must be an http or https URL", ""},
		{"chrome-extension", `{"n":"pageview","u":"chrome-extension://abc/x.html"}`, "url", "must be an http or https URL", ""},
		{"no host", `{"n":"pageview","u":"https://"}`, "url", "is invalid", ""},
		{"only port", `{"n":"pageview","u":"https://:80/"}`, "url", "is invalid", ""},
		{"only userinfo", `{"n":"pageview","u":"https://user@/"}`, "url", "is invalid", ""},
		{"path only", `{"n":"pageview","u":"/about"}`, "url", "is invalid", ""},
		{"query only", `{"n":"pageview","u":"?a=b"}`, "url", "is invalid", ""},
		{"bad port", `{"n":"pageview","u":"https://example.com:80a/"}`, "url", "is invalid", ""},
		{"two colons", `{"n":"pageview","u":"https://a:b:80/"}`, "url", "is invalid", ""},
		{"space in host", `{"n":"pageview","u":"https://exa mple.com/"}`, "url", "is invalid", ""},
		{"percent in host", `{"n":"pageview","u":"https://ex%41mple.com/"}`, "url", "is invalid", ""},
		{"unclosed ipv6", `{"n":"pageview","u":"https://[::1/"}`, "url", "is invalid", ""},
		{"bad ipv6", `{"n":"pageview","u":"https://[example.com]/"}`, "url", "is invalid", ""},
		{"junk after ipv6", `{"n":"pageview","u":"https://[::1]x/"}`, "url", "is invalid", ""},
		{"path not utf-8", `{"n":"pageview","u":"https://example.com/%FF"}`, "url", "is invalid", ""},
		{"fragment not utf-8 in hash mode", `{"n":"pageview","h":1,"u":"https://example.com/#%C3"}`, "url", "is invalid", ""},
	})
}

// TestNormaliseURL covers how the page URL becomes Host and Path.
func TestNormaliseURL(t *testing.T) {
	tests := []struct {
		name, url, host, path string
		hash                  bool
	}{
		{"plain", "https://example.com/a/b", "example.com", "/a/b", false},
		{"http", "http://example.com/", "example.com", "/", false},
		{"scheme case", "HTTPS://example.com/", "example.com", "/", false},
		{"www stripped", "https://www.example.com/", "example.com", "/", false},
		{"www only leading", "https://shop.www.example.com/", "shop.www.example.com", "/", false},
		{"www alone kept", "https://www/", "www", "/", false},
		{"host lowercased, path case kept", "https://WWW.Example.COM/About/Us", "example.com", "/About/Us", false},
		{"port dropped", "https://example.com:8443/x", "example.com", "/x", false},
		{"empty port", "https://example.com:/x", "example.com", "/x", false},
		{"userinfo dropped", "https://user:secret@example.com/", "example.com", "/", false},
		{"userinfo with @", "https://a@b@example.com/", "example.com", "/", false},
		{"backslash ends host", `https://example.com\\@evil.com/`, "example.com", "/@evil.com/", false},
		{"ipv4", "http://192.168.1.10:8080/x", "192.168.1.10", "/x", false},
		{"ipv6", "http://[2001:DB8::1]:8080/x", "2001:db8::1", "/x", false},
		{"ipv6 no port", "http://[::1]/", "::1", "/", false},
		{"idn kept lowercased", "https://BÜCHER.de/Straße", "bücher.de", "/Straße", false},
		{"punycode kept", "https://xn--bcher-kva.de/", "xn--bcher-kva.de", "/", false},
		{"trailing dot", "https://example.com./", "example.com", "/", false},
		{"empty path", "https://example.com", "example.com", "/", false},
		{"empty path with query", "https://example.com?x=1", "example.com", "/", false},
		{"empty path with fragment", "https://example.com#top", "example.com", "/", false},
		{"trailing slash kept", "https://example.com/blog/", "example.com", "/blog/", false},
		{"no trailing slash kept", "https://example.com/blog", "example.com", "/blog", false},
		{"double slash kept", "https://example.com//a", "example.com", "//a", false},
		{"dot segments kept", "https://example.com/a/../b", "example.com", "/a/../b", false},
		{"encoded space", "https://example.com/a%20b", "example.com", "/a b", false},
		{"encoded unicode", "https://example.com/caf%C3%A9", "example.com", "/café", false},
		{"raw unicode", "https://example.com/café", "example.com", "/café", false},
		{"encoded slash decoded", "https://example.com/a%2Fb", "example.com", "/a/b", false},
		{"encoded percent decoded", "https://example.com/100%25", "example.com", "/100%", false},
		{"encoded question mark kept", "https://example.com/a%3fb", "example.com", "/a%3Fb", false},
		{"encoded hash kept", "https://example.com/a%23b", "example.com", "/a%23b", false},
		{"encoded newline kept", "https://example.com/a%0Ab", "example.com", "/a%0Ab", false},
		{"raw control encoded", `https://example.com/a\nb`, "example.com", "/a%0Ab", false},
		{"bad escape kept", "https://example.com/50%off", "example.com", "/50%off", false},
		{"truncated escape kept", "https://example.com/a%4", "example.com", "/a%4", false},
		{"plus kept in path", "https://example.com/a+b", "example.com", "/a+b", false},
		{"backslash in path", `https://example.com/a\\b`, "example.com", "/a/b", false},
		{"query dropped", "https://example.com/p?secret=1", "example.com", "/p", false},
		{"fragment dropped", "https://example.com/p#/secret", "example.com", "/p", false},
		{"missing scheme", "example.com/about", "example.com", "/about", false},
		{"missing scheme www", "www.example.com", "example.com", "/", false},
		{"scheme-relative", "//example.com/a", "example.com", "/a", false},
		{"host:port without scheme", "localhost:3000/app", "localhost", "/app", false},
		{"host:port only", "localhost:3000", "localhost", "/", false},
		{"extra slashes", "https:///example.com/a", "example.com", "/a", false},
		{"no slashes", "https:example.com/a", "example.com", "/a", false},
		{"hash mode", "https://example.com/#/users", "example.com", "/#/users", true},
		{"hash mode with path", "https://example.com/app#/users/1", "example.com", "/app#/users/1", true},
		{"hash mode cuts fragment query", "https://example.com/#/search?q=secret", "example.com", "/#/search", true},
		{"hash mode after query", "https://example.com/?utm_source=x#/a", "example.com", "/#/a", true},
		{"hash mode empty fragment", "https://example.com/#", "example.com", "/", true},
		{"hash mode no fragment", "https://example.com/a", "example.com", "/a", true},
		{"hash mode decodes fragment", "https://example.com/#/caf%C3%A9", "example.com", "/#/café", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := ""
			if tc.hash {
				h = `,"h":1`
			}
			body := `{"n":"pageview","u":"` + tc.url + `"` + h + `}`
			got, err := decodeString(t, body)
			if err != nil {
				t.Fatalf("Decode(%s) = %v", body, err)
			}
			if got.Host != tc.host || got.Path != tc.path {
				t.Errorf("Decode(%s): host %q path %q, want %q %q", body, got.Host, got.Path, tc.host, tc.path)
			}
			if len(got.Domains) != 1 || got.Domains[0] != tc.host {
				t.Errorf("Domains = %q, want [%q]", got.Domains, tc.host)
			}
		})
	}
}

func TestDecodeQuery(t *testing.T) {
	const pv = `{"n":"pageview","u":"https://example.com/?`
	runOK(t, []okCase{
		{"all utm", pv + `utm_source=news&utm_medium=email&utm_campaign=spring&utm_content=top&utm_term=shoes"}`, func(b *Beacon) {
			b.UTMSource, b.UTMMedium, b.UTMCampaign, b.UTMContent, b.UTMTerm = "news", "email", "spring", "top", "shoes"
		}},
		{"source fallback", pv + `source=hn"}`, func(b *Beacon) { b.UTMSource = "hn" }},
		{"ref fallback", pv + `ref=producthunt"}`, func(b *Beacon) { b.UTMSource = "producthunt" }},
		{"utm_source before source", pv + `ref=r&source=s&utm_source=u"}`, func(b *Beacon) { b.UTMSource = "u" }},
		{"source before ref", pv + `ref=r&source=s"}`, func(b *Beacon) { b.UTMSource = "s" }},
		{"empty utm_source falls back", pv + `utm_source=&ref=r"}`, func(b *Beacon) { b.UTMSource = "r" }},
		{"blank utm_source falls back", pv + `utm_source=%20+&ref=r"}`, func(b *Beacon) { b.UTMSource = "r" }},
		{"first wins", pv + `utm_medium=a&utm_medium=b"}`, func(b *Beacon) { b.UTMMedium = "a" }},
		{"decoded", pv + `utm_campaign=Black+Friday%202026%21"}`, func(b *Beacon) { b.UTMCampaign = "Black Friday 2026!" }},
		{"unicode", pv + `utm_term=caf%C3%A9"}`, func(b *Beacon) { b.UTMTerm = "café" }},
		{"trimmed", pv + `utm_medium=+email%20"}`, func(b *Beacon) { b.UTMMedium = "email" }},
		{"bad escape kept", pv + `utm_medium=100%"}`, func(b *Beacon) { b.UTMMedium = "100%" }},
		{"not utf-8 dropped", pv + `utm_medium=%FF&utm_term=t"}`, func(b *Beacon) { b.UTMTerm = "t" }},
		{"encoded key", pv + `utm%5Fsource=x"}`, func(b *Beacon) { b.UTMSource = "x" }},
		{"key case matters", pv + `UTM_SOURCE=x"}`, nil},
		{"capped", pv + `utm_content=` + strings.Repeat("a", 300) + `"}`, func(b *Beacon) { b.UTMContent = strings.Repeat("a", MaxUTMBytes) }},
		{"capped at character", pv + `utm_content=a` + strings.Repeat("%C3%A9", 150) + `"}`, func(b *Beacon) {
			b.UTMContent = "a" + strings.Repeat("é", 99)
		}},
		{"no value", pv + `utm_source&utm_medium=&=x&&"}`, nil},
		{"other params ignored", pv + `q=secret&token=abc"}`, nil},
		{"fragment is not query", `{"n":"pageview","u":"https://example.com/#?utm_source=x"}`, nil},
		{"gclid", pv + `gclid=Cj0KCQ"}`, func(b *Beacon) { b.ClickID = "gclid" }},
		{"gbraid", pv + `gbraid=x"}`, func(b *Beacon) { b.ClickID = "gbraid" }},
		{"wbraid", pv + `wbraid=x"}`, func(b *Beacon) { b.ClickID = "wbraid" }},
		{"msclkid", pv + `msclkid=x"}`, func(b *Beacon) { b.ClickID = "msclkid" }},
		{"fbclid", pv + `fbclid=IwAR"}`, func(b *Beacon) { b.ClickID = "fbclid" }},
		{"twclid", pv + `twclid=x"}`, func(b *Beacon) { b.ClickID = "twclid" }},
		{"click id precedence", pv + `twclid=1&fbclid=2&gclid=3"}`, func(b *Beacon) { b.ClickID = "gclid" }},
		{"empty click id ignored", pv + `gclid=&fbclid=2"}`, func(b *Beacon) { b.ClickID = "fbclid" }},
		{"click id with utm", pv + `utm_source=google&gclid=abc"}`, func(b *Beacon) { b.UTMSource = "google"; b.ClickID = "gclid" }},
	})
}

func TestDecodeDomain(t *testing.T) {
	const pv = `{"n":"pageview","u":"https://example.com/",`
	runOK(t, []okCase{
		{"same as host", pv + `"d":"example.com"}`, nil},
		{"alias domain", pv + `"domain":"example.com"}`, nil},
		{"short form wins", pv + `"domain":"b.com","d":"a.com"}`, func(b *Beacon) { b.Domains = []string{"a.com"} }},
		{"missing uses host", `{"n":"pageview","u":"https://www.Shop.example.com/"}`, func(b *Beacon) {
			b.Host = "shop.example.com"
			b.Domains = []string{"shop.example.com"}
		}},
		{"null uses host", pv + `"d":null}`, nil},
		{"other site", pv + `"d":"other.org"}`, func(b *Beacon) { b.Domains = []string{"other.org"} }},
		{"normalised", pv + `"d":"  WWW.Example.COM. "}`, nil},
		{"comma list", pv + `"d":"example.com,rollup.example.net"}`, func(b *Beacon) {
			b.Domains = []string{"example.com", "rollup.example.net"}
		}},
		{"comma list trimmed, empties dropped", pv + `"d":" a.com , ,www.b.com,,"}`, func(b *Beacon) {
			b.Domains = []string{"a.com", "b.com"}
		}},
		{"duplicates dropped", pv + `"d":"a.com,A.com,www.a.com,example.com,example.com"}`, func(b *Beacon) {
			b.Domains = []string{"a.com", "example.com"}
		}},
		{"at most 10", pv + `"d":"a0,a1,a2,a3,a4,a5,a6,a7,a8,a9,a10,a11"}`, func(b *Beacon) {
			b.Domains = []string{"a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9"}
		}},
	})
	runErr(t, []errCase{
		{"empty", pv + `"d":""}`, "domain", "can't be blank", `{"errors":{"domain":["can't be blank"]}}`},
		{"blank", pv + `"d":"  "}`, "domain", "can't be blank", ""},
		{"only commas", pv + `"domain":" , ,"}`, "domain", "can't be blank", ""},
		{"number", pv + `"d":1}`, "domain", "is invalid", `{"errors":{"domain":["is invalid"]}}`},
		{"array", pv + `"d":["a.com"]}`, "domain", "is invalid", ""},
	})
}

func TestDecodeReferrer(t *testing.T) {
	const pv = `{"n":"pageview","u":"https://example.com/",`
	runOK(t, []okCase{
		{"host only", pv + `"r":"https://www.Google.com/search?q=secret#frag"}`, func(b *Beacon) { b.ReferrerHost = "google.com" }},
		{"alias referrer", pv + `"referrer":"https://news.ycombinator.com/item?id=1"}`, func(b *Beacon) { b.ReferrerHost = "news.ycombinator.com" }},
		{"short form wins", pv + `"referrer":"https://b.com/","r":"https://a.com/"}`, func(b *Beacon) { b.ReferrerHost = "a.com" }},
		{"null", pv + `"r":null}`, nil},
		{"empty", pv + `"r":""}`, nil},
		{"port and userinfo dropped", pv + `"r":"http://u:p@Blog.Example.org:8080/post"}`, func(b *Beacon) { b.ReferrerHost = "blog.example.org" }},
		{"ipv6", pv + `"r":"http://[::1]:3000/"}`, func(b *Beacon) { b.ReferrerHost = "::1" }},
		{"missing scheme", pv + `"r":"t.co/abc"}`, func(b *Beacon) { b.ReferrerHost = "t.co" }},
		{"same host is internal", pv + `"r":"https://example.com/previous"}`, nil},
		{"same host with www and port is internal", pv + `"r":"http://WWW.example.com:80/previous"}`, nil},
		{"subdomain is not internal", pv + `"r":"https://blog.example.com/"}`, func(b *Beacon) { b.ReferrerHost = "blog.example.com" }},
		{"android app", pv + `"r":"android-app://com.Google.android.gm/"}`, func(b *Beacon) { b.ReferrerHost = "com.google.android.gm" }},
		{"android app without slash", pv + `"r":"android-app://org.telegram.messenger"}`, func(b *Beacon) { b.ReferrerHost = "org.telegram.messenger" }},
		{"android app bad package", pv + `"r":"android-app://a b/"}`, nil},
		{"android app named like the page host is not internal", `{"n":"pageview","u":"https://com.example.app/","r":" Android-App://com.example.app"}`, func(b *Beacon) {
			b.Host, b.Domains, b.ReferrerHost = "com.example.app", []string{"com.example.app"}, "com.example.app"
		}},
		{"android app named like the page host, escaped", `{"n":"pageview","u":"https://com.example.app/","r":"\u0061ndroid-app://com.example.app"}`, func(b *Beacon) {
			b.Host, b.Domains, b.ReferrerHost = "com.example.app", []string{"com.example.app"}, "com.example.app"
		}},
		{"other scheme", pv + `"r":"ftp://files.example.org/"}`, nil},
		{"ios app", pv + `"r":"ios-app://12345/x"}`, nil},
		{"invalid", pv + `"r":"https://exa mple.org/"}`, nil},
		{"path only", pv + `"r":"/relative"}`, nil},
		{"truncated, not rejected", pv + `"r":"https://ref.example.org/` + strings.Repeat("x", 3000) + `"}`, func(b *Beacon) { b.ReferrerHost = "ref.example.org" }},
	})
	runErr(t, []errCase{
		{"number", pv + `"r":1}`, "referrer", "is invalid", `{"errors":{"referrer":["is invalid"]}}`},
		{"object", pv + `"referrer":{}}`, "referrer", "is invalid", ""},
	})
}

func TestDecodeProps(t *testing.T) {
	const pv = `{"n":"Signup","u":"https://example.com/",`
	custom := func(props ...string) func(b *Beacon) {
		return func(b *Beacon) {
			b.Name = "Signup"
			for i := 0; i < len(props); i += 2 {
				b.Props = append(b.Props, Prop{props[i], props[i+1]})
			}
		}
	}
	many := make([]string, 0, 62)
	manyJSON := make([]string, 0, 31)
	for i := range 31 {
		k := string(rune('A'+i/26)) + string(rune('a'+i%26))
		manyJSON = append(manyJSON, `"`+k+`":"v"`)
		if i < MaxProps {
			many = append(many, k, "v")
		}
	}
	runOK(t, []okCase{
		{"object", pv + `"p":{"plan":"pro","seats":3}}`, custom("plan", "pro", "seats", "3")},
		{"alias props", pv + `"props":{"plan":"pro"}}`, custom("plan", "pro")},
		{"alias m", pv + `"m":{"plan":"pro"}}`, custom("plan", "pro")},
		{"alias meta", pv + `"meta":{"plan":"pro"}}`, custom("plan", "pro")},
		{"p wins over props, m, meta", pv + `"meta":{"a":"4"},"m":{"a":"3"},"props":{"a":"2"},"p":{"a":"1"}}`, custom("a", "1")},
		{"props wins over m", pv + `"m":{"a":"3"},"props":{"a":"2"}}`, custom("a", "2")},
		{"null p falls back", pv + `"p":null,"m":{"a":"3"}}`, custom("a", "3")},
		{"string holding object", pv + `"m":"{\"plan\":\"pro\",\"n\":1}"}`, custom("plan", "pro", "n", "1")},
		{"blank string", pv + `"p":" "}`, custom()},
		{"empty object", pv + `"p":{}}`, custom()},
		{"order kept", pv + `"p":{"z":"1","a":"2","m":"3"}}`, custom("z", "1", "a", "2", "m", "3")},
		{"numbers as written", pv + `"p":{"a":1.50,"b":-0,"c":1e3,"d":12345678901234567890}}`, custom("a", "1.50", "b", "-0", "c", "1e3", "d", "12345678901234567890")},
		{"booleans", pv + `"p":{"a":true,"b":false}}`, custom("a", "true", "b", "false")},
		{"null dropped", pv + `"p":{"a":null,"b":"x"}}`, custom("b", "x")},
		{"nested dropped", pv + `"p":{"a":{"x":1},"b":[1,2],"c":"x"}}`, custom("c", "x")},
		{"blank key dropped", pv + `"p":{"":"x"," ":"y","k":"v"}}`, custom("k", "v")},
		{"blank value dropped", pv + `"p":{"a":"","b":" \n","k":"v"}}`, custom("k", "v")},
		{"kept as sent", pv + `"p":{" Key ":" Value "}}`, custom(" Key ", " Value ")},
		{"escapes", pv + `"p":{"k\"ey":"line\nbreak \u00e9"}}`, custom(`k"ey`, "line\nbreak é")},
		{"first duplicate wins", pv + `"p":{"a":"1","a":"2"}}`, custom("a", "1")},
		{"at most 30", pv + `"p":{` + strings.Join(manyJSON, ",") + `}}`, custom(many...)},
		{"key 300 bytes", pv + `"p":{"` + strings.Repeat("k", 300) + `":"v"}}`, custom(strings.Repeat("k", 300), "v")},
		{"value 2000 bytes", pv + `"p":{"k":"` + strings.Repeat("v", 2000) + `"}}`, custom("k", strings.Repeat("v", 2000))},
		{"long nested value ignored", pv + `"p":{"k":["` + strings.Repeat("v", 2001) + `"]}}`, custom()},
		{"props on pageview", `{"n":"pageview","u":"https://example.com/","p":{"author":"Ann"}}`, func(b *Beacon) {
			b.Props = []Prop{{"author", "Ann"}}
		}},
	})
	runErr(t, []errCase{
		{"array", pv + `"p":[1]}`, "props", "must be an object or a string holding a JSON object",
			`{"errors":{"props":["must be an object or a string holding a JSON object"]}}`},
		{"number", pv + `"props":1}`, "props", "must be an object or a string holding a JSON object", ""},
		{"bool", pv + `"m":true}`, "props", "must be an object or a string holding a JSON object", ""},
		{"string not json", pv + `"m":"plan=pro"}`, "props", "must be an object or a string holding a JSON object", ""},
		{"string holding array", pv + `"m":"[1]"}`, "props", "must be an object or a string holding a JSON object", ""},
		{"string holding bad json", pv + `"m":"{\"a\":NaN}"}`, "props", "must be an object or a string holding a JSON object", ""},
		{"key 301 bytes", pv + `"p":{"` + strings.Repeat("k", 301) + `":"v"}}`, "props", "keys should be at most 300 bytes and values at most 2000 bytes",
			`{"errors":{"props":["keys should be at most 300 bytes and values at most 2000 bytes"]}}`},
		{"value 2001 bytes", pv + `"p":{"k":"` + strings.Repeat("v", 2001) + `"}}`, "props", "keys should be at most 300 bytes and values at most 2000 bytes", ""},
		{"long number", pv + `"p":{"k":` + strings.Repeat("1", 2001) + `}}`, "props", "keys should be at most 300 bytes and values at most 2000 bytes", ""},
		{"too long beyond 30", pv + `"p":{` + strings.Join(manyJSON, ",") + `,"k":"` + strings.Repeat("v", 2001) + `"}}`,
			"props", "keys should be at most 300 bytes and values at most 2000 bytes", ""},
		{"too long in string", pv + `"m":"{\"k\":\"` + strings.Repeat("v", 2001) + `\"}"}`, "props", "keys should be at most 300 bytes and values at most 2000 bytes", ""},
	})
}

func TestDecodeRevenue(t *testing.T) {
	const pv = `{"n":"Purchase","u":"https://example.com/",`
	rev := func(amount, currency string) func(b *Beacon) {
		return func(b *Beacon) { b.Name = "Purchase"; b.RevenueAmount, b.RevenueCurrency = amount, currency }
	}
	runOK(t, []okCase{
		{"number", pv + `"$":{"amount":12.5,"currency":"EUR"}}`, rev("12.5", "EUR")},
		{"string", pv + `"$":{"amount":"1322.22","currency":"USD"}}`, rev("1322.22", "USD")},
		{"alias revenue", pv + `"revenue":{"amount":10,"currency":"usd"}}`, rev("10", "USD")},
		{"short form wins", pv + `"revenue":{"amount":1,"currency":"USD"},"$":{"amount":2,"currency":"EUR"}}`, rev("2", "EUR")},
		{"string holding object", pv + `"$":"{\"amount\":\"5\",\"currency\":\"GBP\"}"}`, rev("5", "GBP")},
		{"trimmed", pv + `"$":{"amount":" 7.00 ","currency":" jpy "}}`, rev("7.00", "JPY")},
		{"missing currency dropped", pv + `"$":{"amount":1}}`, rev("", "")},
		{"missing amount dropped", pv + `"$":{"currency":"EUR"}}`, rev("", "")},
		{"long currency dropped", pv + `"$":{"amount":1,"currency":"EURO"}}`, rev("", "")},
		{"digit currency dropped", pv + `"$":{"amount":1,"currency":"E1R"}}`, rev("", "")},
		{"negative dropped", pv + `"$":{"amount":-1,"currency":"EUR"}}`, rev("", "")},
		{"exponent dropped", pv + `"$":{"amount":1e3,"currency":"EUR"}}`, rev("", "")},
		{"text amount dropped", pv + `"$":{"amount":"ten","currency":"EUR"}}`, rev("", "")},
		{"bool amount dropped", pv + `"$":{"amount":true,"currency":"EUR"}}`, rev("", "")},
		{"array dropped", pv + `"$":[1]}`, rev("", "")},
		{"bad string dropped", pv + `"$":"12 EUR"}`, rev("", "")},
		{"null", pv + `"$":null}`, rev("", "")},
	})
}

func TestDecodeFlags(t *testing.T) {
	const pv = `{"n":"pageview","u":"https://example.com/a#b",`
	hash := func(b *Beacon) { b.HashMode = true; b.Path = "/a#b" }
	noHash := func(b *Beacon) { b.Path = "/a" }
	runOK(t, []okCase{
		{"h 1", pv + `"h":1}`, hash},
		{"h 1.0", pv + `"h":1.0}`, hash},
		{"h true", pv + `"h":true}`, hash},
		{"alias hashMode", pv + `"hashMode":1}`, hash},
		{"h 0", pv + `"h":0}`, noHash},
		{"h false", pv + `"h":false}`, noHash},
		{"h null", pv + `"h":null}`, noHash},
		{"h 2", pv + `"h":2}`, noHash},
		{"h string", pv + `"h":"1"}`, noHash},
		{"i false", pv + `"i":false}`, func(b *Beacon) { noHash(b); b.Interactive = false }},
		{"i 0", pv + `"i":0}`, func(b *Beacon) { noHash(b); b.Interactive = false }},
		{"alias interactive", pv + `"interactive":false}`, func(b *Beacon) { noHash(b); b.Interactive = false }},
		{"i true", pv + `"i":true}`, noHash},
		{"i null", pv + `"i":null}`, noHash},
		{"i string", pv + `"i":"false"}`, noHash},
		{"v", pv + `"v":24}`, func(b *Beacon) { noHash(b); b.Version = 24 }},
		{"v float", pv + `"v":1.5}`, noHash},
		{"v negative", pv + `"v":-1}`, noHash},
		{"v huge", pv + `"v":99999999999}`, noHash},
		{"v string", pv + `"v":"3"}`, noHash},
		{"sd and e ignored unless engagement", pv + `"sd":50,"e":1000}`, noHash},
		{"unknown fields ignored", pv + `"w":1280,"x":{"y":[null]},"q":"secret"}`, noHash},
	})
}

func TestDecodeEngagement(t *testing.T) {
	const eng = `{"n":"engagement","u":"https://example.com/",`
	e := func(sd int, ms int64) func(b *Beacon) {
		return func(b *Beacon) { b.Name = NameEngagement; b.ScrollDepth = sd; b.EngagedMS = ms }
	}
	runOK(t, []okCase{
		{"both", eng + `"sd":45,"e":3200}`, e(45, 3200)},
		{"sd only", eng + `"sd":0}`, e(0, -1)},
		{"e only", eng + `"e":0}`, e(-1, 0)},
		{"sd clamped", eng + `"sd":150}`, e(100, -1)},
		{"sd numeric string", eng + `"sd":"45"}`, e(45, -1)},
		{"sd fraction truncated", eng + `"sd":45.9}`, e(45, -1)},
		{"e numeric string", eng + `"e":" 1200 "}`, e(-1, 1200)},
		{"e just under 30 days", eng + `"e":2591999999}`, e(-1, 2591999999)},
		{"invalid sd with valid e", eng + `"sd":-1,"e":5}`, e(-1, 5)},
		{"invalid e with valid sd", eng + `"sd":5,"e":2592000000}`, e(5, -1)},
		{"with props", eng + `"sd":1,"p":{"a":"b"}}`, func(b *Beacon) { e(1, -1)(b); b.Props = []Prop{{"a", "b"}} }},
	})
	const msg = "needs a valid sd or e"
	runErr(t, []errCase{
		{"neither", eng + `"v":1}`, "engagement", msg, `{"errors":{"engagement":["needs a valid sd or e"]}}`},
		{"null", eng + `"sd":null,"e":null}`, "engagement", msg, ""},
		{"negative sd", eng + `"sd":-5}`, "engagement", msg, ""},
		{"text sd", eng + `"sd":"half"}`, "engagement", msg, ""},
		{"bool sd", eng + `"sd":true}`, "engagement", msg, ""},
		{"exponent sd", eng + `"sd":1e2}`, "engagement", msg, ""},
		{"e 30 days", eng + `"e":2592000000}`, "engagement", msg, ""},
		{"e negative", eng + `"e":-1}`, "engagement", msg, ""},
		{"e huge", eng + `"e":1234567890123456789012}`, "engagement", msg, ""},
	})
}

func TestDecodeRequest(t *testing.T) {
	const msg = "Unable to parse request body as json"
	const body = `{"errors":{"request":["Unable to parse request body as json"]}}`
	deep := strings.Repeat(`{"a":`, 10000) + `1` + strings.Repeat(`}`, 10000)
	runErr(t, []errCase{
		{"empty", ``, "request", msg, body},
		{"whitespace", "  \n", "request", msg, body},
		{"null", `null`, "request", msg, body},
		{"array", `[{"n":"pageview","u":"https://example.com/"}]`, "request", msg, body},
		{"string", `"pageview"`, "request", msg, body},
		{"number", `1`, "request", msg, body},
		{"truncated", `{"n":"pageview","u":"https://exa`, "request", msg, body},
		{"trailing garbage", `{"n":"pageview","u":"https://example.com/"}x`, "request", msg, body},
		{"two objects", `{"n":"pageview","u":"https://example.com/"}{}`, "request", msg, body},
		{"single quotes", `{'n':'pageview'}`, "request", msg, body},
		{"NaN", `{"n":"pageview","u":"https://example.com/","x":NaN}`, "request", msg, body},
		{"leading zero", `{"n":"pageview","u":"https://example.com/","x":01}`, "request", msg, body},
		{"bad escape", `{"n":"pageview","u":"https://example.com/","x":"\q"}`, "request", msg, body},
		{"raw control char", "{\"n\":\"page\nview\",\"u\":\"https://example.com/\"}", "request", msg, body},
		{"invalid utf-8", "{\"n\":\"pageview\",\"u\":\"https://example.com/\xff\"}", "request", msg, body},
		{"invalid utf-8 in unknown field", "{\"n\":\"pageview\",\"u\":\"https://example.com/\",\"x\":\"\xc3\"}", "request", msg, body},
		{"too deep", deep, "request", msg, body},
		{"form encoded", `n=pageview&u=https://example.com/`, "request", msg, body},
	})
	runOK(t, []okCase{
		{"whitespace around", " \n{\"n\":\"pageview\",\"u\":\"https://example.com/\"}\r\n", nil},
		{"BOM-free unicode", `{"n":"pageview","u":"https://example.com/","x":"\ud83d\ude00"}`, nil},
	})
}

// TestDecodeTracker decodes bodies as the official trackers send them.
func TestDecodeTracker(t *testing.T) {
	runOK(t, []okCase{
		{"script.js pageview", `{"n":"pageview","u":"https://www.example.com/blog/post-1?utm_source=newsletter&utm_medium=email","d":"example.com","r":"https://mail.google.com/","w":1512}`, func(b *Beacon) {
			b.Path = "/blog/post-1"
			b.ReferrerHost = "mail.google.com"
			b.UTMSource, b.UTMMedium = "newsletter", "email"
		}},
		{"npm tracker pageview", `{"n":"pageview","v":24,"u":"https://example.com/pricing","d":"example.com","r":null,"i":true}`, func(b *Beacon) {
			b.Path = "/pricing"
			b.Version = 24
		}},
		{"engagement", `{"n":"engagement","sd":73,"e":15230,"d":"example.com","u":"https://example.com/pricing","p":{"plan":"pro"},"v":24}`, func(b *Beacon) {
			b.Name = NameEngagement
			b.Path = "/pricing"
			b.ScrollDepth, b.EngagedMS = 73, 15230
			b.Props = []Prop{{"plan", "pro"}}
			b.Version = 24
		}},
		{"404 with props string", `{"n":"404","u":"https://example.com/missing","d":"example.com","r":null,"m":"{\"path\":\"/missing\"}"}`, func(b *Beacon) {
			b.Name = "404"
			b.Path = "/missing"
			b.Props = []Prop{{"path", "/missing"}}
		}},
		{"outbound link", `{"n":"Outbound Link: Click","u":"https://example.com/","d":"example.com","r":null,"p":{"url":"https://github.com/x"},"i":true}`, func(b *Beacon) {
			b.Name = "Outbound Link: Click"
			b.Props = []Prop{{"url", "https://github.com/x"}}
		}},
		{"revenue goal", `{"n":"Purchase","u":"https://example.com/checkout","d":"example.com","r":null,"$":{"amount":"49.90","currency":"EUR"}}`, func(b *Beacon) {
			b.Name = "Purchase"
			b.Path = "/checkout"
			b.RevenueAmount, b.RevenueCurrency = "49.90", "EUR"
		}},
		{"hash mode", `{"n":"pageview","u":"https://app.example.com/#/settings/profile","d":"app.example.com","r":null,"h":1}`, func(b *Beacon) {
			b.Host = "app.example.com"
			b.Domains = []string{"app.example.com"}
			b.Path = "/#/settings/profile"
			b.HashMode = true
		}},
		{"rollup domains", `{"n":"pageview","u":"https://example.com/","d":"example.com,rollup.example.net","r":null}`, func(b *Beacon) {
			b.Domains = []string{"example.com", "rollup.example.net"}
		}},
		{"non-interactive", `{"n":"Video Play","u":"https://example.com/","d":"example.com","i":false}`, func(b *Beacon) {
			b.Name = "Video Play"
			b.Interactive = false
		}},
	})
}

// TestDecodeReuse checks that nothing leaks from one Decode into the next and
// that a Clone of a Beacon survives the Decoder's next use (the Beacon's own
// strings do not: they are views into the Decoder's buffers).
func TestDecodeReuse(t *testing.T) {
	var d Decoder
	var first, second Beacon
	if err := d.Decode([]byte(`{"n":"Signup","u":"https://a.example/x?utm_source=s&gclid=1","d":"a.example,b.example","r":"https://ref.example/","p":{"k":"v"},"$":{"amount":1,"currency":"EUR"},"h":1,"i":false,"v":3}`), &first); err != nil {
		t.Fatal(err)
	}
	keep := first.Clone()
	if !reflect.DeepEqual(keep, first) {
		t.Fatalf("Clone() = %+v, want %+v", keep, first)
	}
	if err := d.Decode([]byte(`{"n":"pageview","u":"https://example.com/"}`), &second); err != nil {
		t.Fatal(err)
	}
	if len(second.Props) == 0 {
		second.Props = nil
	}
	if !reflect.DeepEqual(second, pageview()) {
		t.Errorf("second decode = %+v", second)
	}
	if keep.Name != "Signup" || keep.Host != "a.example" || keep.Path != "/x" || keep.ReferrerHost != "ref.example" ||
		keep.UTMSource != "s" || keep.Props[0] != (Prop{"k", "v"}) || keep.RevenueCurrency != "EUR" || keep.Domains[1] != "b.example" {
		t.Errorf("cloned beacon changed after reuse: %+v", keep)
	}
	// Reusing the Beacon for an error leaves it reset.
	if err := d.Decode([]byte(`{}`), &first); err == nil {
		t.Fatal("want error")
	}
	if first.Name != "" || len(first.Props) != 0 || len(first.Domains) != 0 || first.ScrollDepth != -1 {
		t.Errorf("after error: %+v", first)
	}
	if err := d.Decode([]byte(`{"n":"x","h":1,"u":"https://a.example/","d":""}`), &first); err == nil {
		t.Fatal("want error")
	}
	if first.Name != "" || first.Host != "" || first.HashMode || first.ScrollDepth != -1 {
		t.Errorf("after late error: %+v", first)
	}
	// A huge body releases the Decoder's buffers; it keeps working.
	huge := `{"n":"pageview","u":"https://example.com/","x":"` + strings.Repeat("x", maxRetainedBody) + `"}`
	if err := d.Decode([]byte(huge), &second); err != nil || second.Host != "example.com" {
		t.Fatalf("huge body: %v %+v", err, second)
	}
	if err := d.Decode([]byte(`{"n":"pageview","u":"https://b.example/"}`), &second); err != nil || second.Host != "b.example" {
		t.Fatalf("after huge body: %v %+v", err, second)
	}
	if keep.Props[0].Value != "v" || keep.Host != "a.example" {
		t.Errorf("kept strings changed: %+v", keep)
	}
	// Reset ends a Beacon's validity as a Decode does; the Decoder keeps
	// working after it.
	d.Reset()
	if err := d.Decode([]byte(`{"n":"Signup","u":"https://c.example/y","p":{"a":1}}`), &second); err != nil ||
		second.Host != "c.example" || second.Name != "Signup" || second.Props[0] != (Prop{"a", "1"}) {
		t.Fatalf("after Reset: %v %+v", err, second)
	}
}

// TestBeaconClone checks that a decoded Beacon's strings are views of the
// Decoder's buffers and that a Clone's are not.
func TestBeaconClone(t *testing.T) {
	var d Decoder
	var b Beacon
	body := []byte(`{"n":"Signup","u":"https://a.example/x?utm_source=s&utm_medium=m&utm_campaign=c&utm_content=k&utm_term=t","d":"a.example,b.example","r":"https://ref.example/","p":{"k":"v"},"$":{"amount":1,"currency":"EUR"}}`)
	if err := d.Decode(body, &b); err != nil {
		t.Fatal(err)
	}
	c := b.Clone()
	inBuffers := func(s string) bool {
		for _, buf := range [][]byte{d.out, d.pout} {
			if len(s) > 0 && len(buf) > 0 {
				p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
				lo := uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
				if p >= lo && p < lo+uintptr(cap(buf)) {
					return true
				}
			}
		}
		return false
	}
	strs := beaconStrings(&c)
	strs = append(strs, c.UTMSource, c.UTMMedium, c.UTMCampaign, c.UTMContent, c.UTMTerm)
	for _, s := range strs {
		if inBuffers(s) {
			t.Errorf("Clone keeps %q in the Decoder's buffers", s)
		}
	}
	if !inBuffers(b.Host) || !inBuffers(b.Props[0].Value) {
		t.Errorf("decoded strings are not views of the Decoder's buffers")
	}
	var pv Beacon
	if err := d.Decode([]byte(`{"n":"pageview","u":"https://example.com/"}`), &pv); err != nil {
		t.Fatal(err)
	}
	if c := pv.Clone(); !reflect.DeepEqual(c, pv) {
		t.Errorf("Clone() = %+v, want %+v", c, pv)
	}
	var zero Beacon
	if c := zero.Clone(); !reflect.DeepEqual(c, zero) {
		t.Errorf("Clone of the zero Beacon = %+v", c)
	}
}

func TestErrorJSON(t *testing.T) {
	tests := []struct {
		name string
		err  *Error
		want string
	}{
		{"plain", &Error{"url", "is required"}, `{"errors":{"url":["is required"]}}`},
		{"apostrophe", &Error{"domain", "can't be blank"}, `{"errors":{"domain":["can't be blank"]}}`},
		{"quotes and backslash", &Error{`a"b`, `c\d`}, `{"errors":{"a\"b":["c\\d"]}}`},
		{"controls", &Error{"f", "a\nb\tc\rd\x00e\x1f"}, `{"errors":{"f":["a\nb\tc\rd\u0000e\u001f"]}}`},
		{"unicode kept", &Error{"f", "café 😀"}, `{"errors":{"f":["café 😀"]}}`},
		{"line separators escaped", &Error{"f", "a\u2028b\u2029"}, `{"errors":{"f":["a\u2028b\u2029"]}}`},
		{"invalid utf-8 replaced", &Error{"f", "a\xffb\xc3"}, `{"errors":{"f":["a\ufffdb\ufffd"]}}`},
		{"html kept", &Error{"f", "<b>&"}, `{"errors":{"f":["<b>&"]}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(tc.err.JSON()); got != tc.want {
				t.Errorf("JSON() = %s, want %s", got, tc.want)
			}
			if got := string(tc.err.AppendJSON([]byte("x"))); got != "x"+tc.want {
				t.Errorf("AppendJSON = %s", got)
			}
		})
	}
	if got := (&Error{"url", "is required"}).Error(); got != "invalid beacon: url: is required" {
		t.Errorf("Error() = %q", got)
	}
}

// TestMemoIsUsed: a body decoded again is found whole in the memo; another
// body with the same URL and referrer finds those; engagement events and
// "$" names are never remembered whole; a URL whose parts are too long to
// remember decodes all the same, every time. decodeString proves the
// answers equal with and without the memo; this proves they came from it.
func TestMemoIsUsed(t *testing.T) {
	m := memo.New(256)
	decode := func(body string) Beacon {
		t.Helper()
		d := Decoder{Memo: m}
		var b Beacon
		if err := d.Decode([]byte(body), &b); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		return b.Clone()
	}
	var hits, misses uint64
	step := func(what string, wantHits, wantMisses uint64) {
		t.Helper()
		h, miss := m.Stats()
		if h-hits != wantHits || miss-misses != wantMisses {
			t.Errorf("%s: %d hits, %d misses; want %d, %d", what, h-hits, miss-misses, wantHits, wantMisses)
		}
		hits, misses = h, miss
	}
	const url = `"u":"https://www.a.com/pricing?utm_source=news&utm_campaign=nov&gclid=x","d":"a.com","r":"https://google.com/"`
	body := `{"n":"pageview",` + url + `,"v":21}`
	first := decode(body)
	step("first body", 0, 3) // the body, its URL, its referrer
	if first.Path != "/pricing" || first.UTMSource != "news" || first.UTMCampaign != "nov" || first.ClickID != "gclid" || first.ReferrerHost != "google.com" || first.Version != 21 {
		t.Fatalf("decoded %+v", first)
	}
	for range 2 {
		if b := decode(body); !reflect.DeepEqual(b, first) {
			t.Fatalf("again: %+v, first %+v", b, first)
		}
		step("the same body", 1, 0)
	}
	custom := decode(`{"n":"Signup",` + url + `,"p":{"plan":"pro"}}`)
	step("another body with the same URL and referrer", 2, 1)
	if custom.Name != "Signup" || custom.Path != first.Path || custom.ReferrerHost != "google.com" || len(custom.Props) != 1 {
		t.Fatalf("decoded %+v", custom)
	}
	if b := decode(`{"n":"Signup",` + url + `,"p":{"plan":"pro"}}`); !reflect.DeepEqual(b, custom) {
		t.Fatalf("again: %+v, first %+v", b, custom)
	}
	step("the custom event again", 1, 0)
	for _, name := range []string{"engagement", "$web_vitals"} {
		for range 2 {
			decode(`{"n":"` + name + `",` + url + `,"sd":40,"p":{"lcp":1200}}`)
			step(name, 2, 1) // its URL and referrer, never the body
		}
	}
	long := `{"n":"pageview","u":"https://a.com/` + strings.Repeat("p", 300) + `","d":"a.com"}`
	firstLong := decode(long)
	for range 2 {
		if b := decode(long); !reflect.DeepEqual(b, firstLong) {
			t.Fatalf("again: %+v, first %+v", b, firstLong)
		}
	}
	step("a URL too long to remember", 0, 6)
}
