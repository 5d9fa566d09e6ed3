package pathtmpl

import (
	"strings"
	"testing"
)

const (
	testUUID  = "3f2a1c4e-1b2c-4d5e-8f9a-0123456789ab"
	testJWT   = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkphbmUifQ.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
	testHex32 = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"
)

// builtinCases are real-world-looking paths through Default. want "" means
// the path is kept as it is.
var builtinCases = []struct{ name, path, want string }{
	// Kept: content, not people.
	{"root", "/", ""},
	{"empty", "", ""},
	{"search", "/search", ""},
	{"blog date slug", "/blog/2024/11/my-post", ""},
	{"date archive", "/2024/11/05/launch-day", ""},
	{"product slug with model number", "/products/iphone-15-pro", ""},
	{"api version", "/docs/v2/api", ""},
	{"locale with trailing slash", "/en-us/", ""},
	{"hex-letter word", "/cafe", ""},
	{"unicode", "/café/menü/größe-42", ""},
	{"short hashed asset", "/static/app.3f2a1c4e.js", ""},
	{"vite asset", "/assets/index-BZ3xTq9a.js", ""},
	{"handle", "/@jane_doe", ""},
	{"fediverse handle", "/@jane@mastodon.social", ""},
	{"retina image", "/images/logo@2x.png", ""},
	{"fractional density image", "/images/icon@1.5x.webp", ""},
	{"address without dot", "/users/jane@localhost", ""},
	{"pagination", "/page/2", ""},
	{"small catalog id", "/products/42", ""},
	{"four digits", "/orders/8341", ""},
	{"wiki title with year", "/wiki/2024_United_States_presidential_election", ""},
	{"wiki standard", "/wiki/ISO_8601", ""},
	{"listicle", "/top-10-python-libraries-2024", ""},
	{"version slug", "/windows-11-22h2-update", ""},
	{"youtube id", "/watch/dQw4w9WgXcQ", ""},
	{"asin", "/dp/B07XJ8C8F5", ""},
	{"medium slug", "/@writer/my-post-title-1a2b3c4d5e6f", ""},
	{"sku", "/shop/MBP14-M3PRO-16GB-512", ""},
	{"camel case", "/api/getUserProfileSettings", ""},
	{"pascal case", "/Account/ForgotPassword", ""},
	{"double slashes", "//double//slash/", ""},
	{"triple", "/x86_64-linux-gnu/lib", ""},
	{"plus one", "/reactions/+1", ""},
	{"short plus number", "/call/+49", ""},
	{"covid", "/news/covid-19-update", ""},
	{"quarter", "/Q3-2024-Results", ""},
	{"hash route", "/app#/settings/profile", ""},
	{"hash anchor", "/docs#section-12", ""},
	{"hashbang", "/#!/inbox", ""},
	{"placeholder", "/users/:id/orders/:id", ""},
	{"digits glued to letters", "/o/ORD12345", ""},
	{"sha256sum", "/man/sha256sum", ""},
	{"invalid escape", "/a%zz/100%", ""},
	{"escaped question mark", "/faq/why%3F", ""},
	{"spaces", "/my folder/file name.txt", ""},
	{"version", "/download/v1.2.3/setup-1.2.3.exe", ""},
	{"not an ip", "/releases/1.2.300.4", ""},
	{"ip with leading zero", "/x/01.02.03.04", ""},
	{"hex words with colons", "/cafe::babe", ""},

	// Templated.
	{"order", "/orders/83412", "/orders/:id"},
	{"order with action", "/orders/83412/invoice", "/orders/:id/invoice"},
	{"nested ids", "/users/83412/orders/99871/items/3", "/users/:id/orders/:id/items/3"},
	{"snowflake", "/status/1854321987654321098", "/status/:id"},
	{"compact date", "/archive/20241105", "/archive/:id"},
	{"build number", "/releases/10.0.19041.1", "/releases/10.0.:id.1"},
	{"email", "/users/jane.doe@example.com", "/users/:email"},
	{"email escaped", "/users/jane.doe%40example.com/settings", "/users/:email/settings"},
	{"email with tag and subdomain", "/unsubscribe/jane+news@mail.example.co.uk", "/unsubscribe/:email"},
	{"mailto", "/contact/mailto:jane@example.com", "/contact/:email"},
	{"email with trailing junk", "/u/jane@example.com;x=1", "/u/:email"},
	{"email with idn", "/u/jane@bücher.de", "/u/:email"},
	{"uuid", "/u/" + testUUID, "/u/:uuid"},
	{"uuid upper", "/u/" + strings.ToUpper(testUUID) + "/edit", "/u/:uuid/edit"},
	{"uuid in file name", "/files/report-" + testUUID + ".pdf", "/files/report-:uuid.pdf"},
	{"reset hex", "/reset/" + testHex32, "/reset/:token"},
	{"laravel verify", "/email/verify/12/" + testHex32 + "f9e8d7c6", "/email/verify/12/:token"},
	{"objectid", "/obj/507f1f77bcf86cd799439011", "/obj/:token"},
	{"git sha", "/commit/3f2a1c4e5b6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f", "/commit/:token"},
	{"long hashed asset", "/static/main.3f2a1c4e5b6d7e8f9a0b.js", "/static/main.:token.js"},
	{"jwt", "/invite/" + testJWT, "/invite/:token"},
	{"base64 json", "/i/eyJ1c2VyIjoiamFuZSJ9", "/i/:token"},
	{"tracking upper digits", "/track/AB12CD34EF56GH78", "/track/:token"},
	{"ups", "/track/1Z999AA10123456784", "/track/:token"},
	{"ulid", "/t/01ARZ3NDEKTSV4RRFFQ69G5FAV", "/t/:token"},
	{"google doc", "/document/d/1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms/edit", "/document/d/:token/edit"},
	{"firebase push id", "/magic/-M9aBcDeFgHiJkLmNoPq", "/magic/:token"},
	{"prefixed token", "/pay/cs_test_a1B2c3D4e5F6g7H8i9J0kLmNoPqRsT", "/pay/:token"},
	{"padded base64", "/k/dGhpcyBpcyBhIDEyMzQ1Njc4OTA=", "/k/:token"},
	{"token around an id", "/x/xY9-83412-AbCdEfGh12345q", "/x/:token"},
	{"ipv4", "/whois/192.168.100.200", "/whois/:ip"},
	{"ipv6", "/ip/2001:db8::8a2e:370:7334", "/ip/:ip"},
	{"ipv6 full", "/ip/2001:0db8:0000:0000:0000:ff00:0042:8329", "/ip/:ip"},
	{"ipv4 mapped", "/ip/::ffff:192.0.2.128", "/ip/:ip"},
	{"phone", "/call/+4917612345678", "/call/:phone"},
	{"phone grouped", "/call/+49 (176) 1234-5678", "/call/:phone"},
	{"tel uri", "/contact/tel:+1-202-555-0143", "/contact/:phone"},
	{"id inside slug", "/invoice-2024-83412", "/invoice-2024-:id"},
	{"woocommerce", "/checkout/order-received/83412/", "/checkout/order-received/:id/"},
	{"prefixed order", "/orders/ORD-83412", "/orders/ORD-:id"},
	{"news id", "/news/some-headline-12345678", "/news/some-headline-:id"},
	{"id with extension", "/item/1005004123456.html", "/item/:id.html"},
	{"notion", "/My-Page-Title-3f2a1c4e1b2c4d5e8f9a0123456789ab", "/My-Page-Title-:token"},
	{"django reset", "/reset/MQ/bzkv4n-5d4e1f8a9b2c3d4e5f6a7b8c9d0e1f2a/", "/reset/MQ/bzkv4n-:token/"},
	{"jsessionid", "/shop;jsessionid=0A1B2C3D4E5F60718293A4B5C6D7E8F9", "/shop;jsessionid=:token"},
	{"escape next to id", "/q/a%3F83412", "/q/a%3F:id"},
	{"hash route id", "/app#/orders/83412", "/app#/orders/:id"},
	{"hashbang email", "/#!/user/jane@example.com", "/#!/user/:email"},
	{"path and route", "/u/83412#/tab/99871", "/u/:id#/tab/:id"},
	{"escaped uuid", "/u/%7B" + testUUID + "%7D", "/u/%7B:uuid%7D"},
}

func TestDefault(t *testing.T) {
	for _, tc := range builtinCases {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.want
			if want == "" {
				want = tc.path
			}
			got := string(Default.Apply(nil, tc.path))
			if got != want {
				t.Fatalf("Apply(%q) = %q, want %q", tc.path, got, want)
			}
			if again := string(Default.Apply(nil, got)); again != got {
				t.Errorf("not idempotent: Apply(%q) = %q", got, again)
			}
		})
	}
}

func TestApplyAppends(t *testing.T) {
	dst := []byte("prefix:")
	got := string(Default.Apply(dst, "/orders/83412"))
	if got != "prefix:/orders/:id" {
		t.Fatalf("got %q", got)
	}
}

func TestDisableBuiltins(t *testing.T) {
	cases := []struct {
		name    string
		disable []string
		path    string
		want    string
	}{
		{"id off", []string{"id"}, "/orders/83412/order-99871", "/orders/83412/order-99871"},
		{"id off keeps hex", []string{"id"}, "/r/" + testHex32, "/r/:token"},
		{"mixed off, whole segment", []string{"mixed"}, "/orders/83412", "/orders/:id"},
		{"mixed off, part", []string{"mixed"}, "/invoice-2024-83412", "/invoice-2024-83412"},
		{"mixed off, uuid part", []string{"mixed"}, "/f/report-" + testUUID + ".pdf", "/f/report-" + testUUID + ".pdf"},
		{"email off", []string{"email"}, "/users/jane@example.com", "/users/jane@example.com"},
		{"phone off falls to mixed", []string{"phone"}, "/call/+4917612345678", "/call/+:id"},
		{"uuid off falls to token", []string{"uuid"}, "/u/" + testUUID, "/u/:token"},
		{"uuid and token off", []string{"uuid", "token"}, "/u/" + testUUID, "/u/" + testUUID},
		{"hex off falls to token", []string{"hex"}, "/r/" + testHex32, "/r/:token"},
		{"token off", []string{"token"}, "/track/AB12CD34EF56GH78", "/track/AB12CD34EF56GH78"},
		{"token off, jwt", []string{"token"}, "/i/" + testJWT, "/i/" + testJWT},
		{"all off", Builtins(), "/u/jane@example.com/83412", "/u/jane@example.com/83412"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tp, err := New(Config{DisableBuiltins: tc.disable})
			if err != nil {
				t.Fatal(err)
			}
			if got := string(tp.Apply(nil, tc.path)); got != tc.want {
				t.Fatalf("Apply(%q) = %q, want %q", tc.path, got, tc.want)
			}
		})
	}
}

func TestRulesAndKeep(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		path string
		want string
	}{
		{
			name: "rule before built-ins",
			cfg:  Config{Rules: []Rule{{Match: `[0-9]{5}`, Replace: ":zip"}}},
			path: "/stores/10115", want: "/stores/:zip",
		},
		{
			name: "rule is anchored",
			cfg:  Config{Rules: []Rule{{Match: `ORD[0-9]+`, Replace: ":order"}}},
			path: "/o/ORD12345/xORD1/ORD1x", want: "/o/:order/xORD1/ORD1x",
		},
		{
			name: "first matching rule wins",
			cfg: Config{Rules: []Rule{
				{Match: `[a-z]+-[0-9]+`, Replace: ":sku"},
				{Match: `.*`, Replace: ":any"},
			}},
			path: "/p/ab-12/Other", want: "/:any/:sku/:any",
		},
		{
			name: "rule on decoded escapes",
			cfg:  Config{Rules: []Rule{{Match: `[a-z]+\?`, Replace: ":q"}}},
			path: "/faq/why%3F", want: "/faq/:q",
		},
		{
			name: "scoped rule",
			cfg:  Config{Rules: []Rule{{Scope: "/users/*", Match: `[0-9]+`, Replace: ":id"}}},
			path: "/users/42", want: "/users/:id",
		},
		{
			name: "scoped rule elsewhere",
			cfg:  Config{Rules: []Rule{{Scope: "/users/*", Match: `[0-9]+`, Replace: ":id"}}},
			path: "/page/2/users/42", want: "/page/2/users/42",
		},
		{
			name: "scoped rule covers one segment",
			cfg:  Config{Rules: []Rule{{Scope: "/users/*", Match: `[0-9]+`, Replace: ":id"}}},
			path: "/users/42/posts/7", want: "/users/:id/posts/7",
		},
		{
			name: "scope prefix covers below",
			cfg:  Config{Rules: []Rule{{Scope: "/users", Match: `[0-9]+`, Replace: ":n"}}},
			path: "/users/42/posts/7", want: "/users/:n/posts/:n",
		},
		{
			name: "scope literal compares the templated path",
			cfg:  Config{Rules: []Rule{{Scope: "/users/:id/*", Match: `[a-z]+`, Replace: ":tab"}}},
			path: "/users/83412/settings", want: "/users/:id/:tab",
		},
		{
			name: "keep one segment",
			cfg:  Config{Keep: []string{"/blog/*"}},
			path: "/blog/A1b2C3d4E5f6G7h8I9/comments/83412", want: "/blog/A1b2C3d4E5f6G7h8I9/comments/:id",
		},
		{
			name: "keep prefix",
			cfg:  Config{Keep: []string{"/docs"}},
			path: "/docs/v2/3f2a1c4e5b6d7e8f9a0b/83412", want: "/docs/v2/3f2a1c4e5b6d7e8f9a0b/83412",
		},
		{
			name: "keep prefix is segment-wise",
			cfg:  Config{Keep: []string{"/docs"}},
			path: "/docsearch/83412", want: "/docsearch/:id",
		},
		{
			name: "keep trailing slash ignored",
			cfg:  Config{Keep: []string{"/docs/"}},
			path: "/docs/83412", want: "/docs/83412",
		},
		{
			name: "keep double star",
			cfg:  Config{Keep: []string{"/p/*/**"}},
			path: "/p/83412/99871/x", want: "/p/83412/99871/x",
		},
		{
			name: "keep star in the middle",
			cfg:  Config{Keep: []string{"/*/downloads/*"}},
			path: "/en/downloads/setup-1.2.83412.exe/83412", want: "/en/downloads/setup-1.2.83412.exe/:id",
		},
		{
			name: "keep everything",
			cfg:  Config{Keep: []string{"/"}},
			path: "/u/jane@example.com/83412#/x/99871", want: "/u/jane@example.com/83412#/x/:id",
		},
		{
			name: "keep after placeholder",
			cfg:  Config{Keep: []string{"/users/:id/*"}},
			path: "/users/83412/AB12CD34EF56GH78", want: "/users/:id/AB12CD34EF56GH78",
		},
		{
			name: "keep literal mismatch",
			cfg:  Config{Keep: []string{"/blog/*"}},
			path: "/news/83412", want: "/news/:id",
		},
		{
			name: "keep shorter path",
			cfg:  Config{Keep: []string{"/a/b/c/*"}},
			path: "/a/b", want: "/a/b",
		},
		{
			name: "keep hash route",
			cfg:  Config{Keep: []string{"#/route/*"}},
			path: "/route/83412#/route/83412", want: "/route/:id#/route/83412",
		},
		{
			name: "keep hashbang route",
			cfg:  Config{Keep: []string{"#!/r"}},
			path: "/#!/r/83412", want: "/#!/r/83412",
		},
		{
			name: "keep every route",
			cfg:  Config{Keep: []string{"#"}},
			path: "/u/83412#!/x/83412", want: "/u/:id#!/x/83412",
		},
		{
			name: "rule beats keep",
			cfg: Config{
				Keep:  []string{"/shop"},
				Rules: []Rule{{Scope: "/shop/orders/*", Match: `[0-9]+`, Replace: ":order"}},
			},
			path: "/shop/orders/83412/AB12CD34EF56GH78", want: "/shop/orders/:order/AB12CD34EF56GH78",
		},
		{
			name: "placeholders are not templated again",
			cfg:  Config{Rules: []Rule{{Match: `:?[a-z]+`, Replace: ":word"}}},
			path: "/:id/abc", want: "/:id/:word",
		},
		{
			name: "empty segments are kept",
			cfg:  Config{Rules: []Rule{{Match: `.*`, Replace: ":x"}}},
			path: "//a/", want: "//:x/",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tp, err := New(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			got := string(tp.Apply(nil, tc.path))
			if got != tc.want {
				t.Fatalf("Apply(%q) = %q, want %q", tc.path, got, tc.want)
			}
			if again := string(tp.Apply(nil, got)); again != got {
				t.Errorf("not idempotent: Apply(%q) = %q", got, again)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	many := make([]string, MaxPatterns+1)
	for i := range many {
		many[i] = "/a"
	}
	cases := []struct {
		name string
		cfg  Config
		want []string // substrings of the error
	}{
		{"bad regexp", Config{Rules: []Rule{{Match: "[a-", Replace: ":x"}}},
			[]string{`rule 1 (match "[a-")`, "missing closing ]"}},
		{"empty match", Config{Rules: []Rule{{Replace: ":x"}}}, []string{"rule 1", "match is empty"}},
		{"replace without colon", Config{Rules: []Rule{{Match: "x", Replace: "slug"}}},
			[]string{`rule 1 (match "x"): replace "slug"`}},
		{"replace with slash", Config{Rules: []Rule{{Match: "x", Replace: ":a/b"}}}, []string{`replace ":a/b"`}},
		{"replace without letter", Config{Rules: []Rule{{Match: "x", Replace: ":_"}}}, []string{`replace ":_"`}},
		{"replace with digit", Config{Rules: []Rule{{Match: "x", Replace: ":id2"}}}, []string{`replace ":id2"`}},
		{"replace too long", Config{Rules: []Rule{{Match: "x", Replace: ":" + strings.Repeat("a", 33)}}}, []string{"replace"}},
		{"second rule", Config{Rules: []Rule{{Match: "x", Replace: ":x"}, {Match: "(", Replace: ":y"}}},
			[]string{`rule 2 (match "(")`}},
		{"bad scope", Config{Rules: []Rule{{Match: "x", Replace: ":x", Scope: "users/*"}}},
			[]string{`rule 1 (match "x"): scope "users/*": must start with '/'`}},
		{"keep relative", Config{Keep: []string{"blog/*"}}, []string{`keep "blog/*": must start with '/'`}},
		{"keep empty", Config{Keep: []string{""}}, []string{`keep "": empty pattern`}},
		{"keep partial star", Config{Keep: []string{"/v*/x"}}, []string{`keep "/v*/x": segment "v*"`}},
		{"keep double star in the middle", Config{Keep: []string{"/**/x"}}, []string{`keep "/**/x"`, "last segment"}},
		{"keep query", Config{Keep: []string{"/a?b"}}, []string{`keep "/a?b"`, "'?'"}},
		{"keep hash inside", Config{Keep: []string{"/app#/x"}}, []string{`keep "/app#/x"`}},
		{"unknown builtin", Config{DisableBuiltins: []string{"ids"}},
			[]string{`disable_builtins: unknown built-in rule "ids" (known: email, phone, ip, uuid, id, hex, token, mixed)`}},
		{"too many patterns", Config{Keep: many}, []string{"at most 64"}},
		{"all errors at once", Config{Keep: []string{"x", "y"}, Rules: []Rule{{Match: "(", Replace: "z"}}},
			[]string{`keep "x"`, `keep "y"`, `rule 1 (match "(")`, `replace "z"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if err == nil {
				t.Fatal("no error")
			}
			if verr := tc.cfg.Validate(); verr == nil || verr.Error() != err.Error() {
				t.Errorf("Validate() = %v, New: %v", verr, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	if err := (Config{Keep: []string{"/", "#", "#**", "/blog/*/**", "#!/r/*"}}).Validate(); err != nil {
		t.Errorf("valid config: %v", err)
	}
}

// TestFastPathAgrees checks that skipping segments without a digit, '@' or
// escape changes nothing: the slow path on such segments keeps them too.
func TestFastPathAgrees(t *testing.T) {
	segs := []string{
		"abcdefab-abcd-abcd-abcd-abcdefabcdef", "ffffffff-ffff-ffff-ffff-ffffffffffff", "deadbeefdeadbeefdeadbeef",
		"aBcDeFgHiJkLmNoPqRsTuVwXyZ", "how-we-count-visitors-without-cookies", "cafe::babe", "+", "tel:+",
		"eyJhYmMiOiJkZWYifQ", "MyPostAboutHtmlAndCssForBeginners",
	}
	for _, seg := range segs {
		var parts []byte
		if ph := Default.whole(seg); ph != "" {
			parts = []byte(ph)
		} else {
			parts = Default.parts(nil, seg)
		}
		got := string(Default.Apply(nil, "/"+seg))
		if got != "/"+string(parts) {
			t.Errorf("%q: Apply gives %q, the rules %q", seg, got, parts)
		}
	}
}
