package tech

import (
	"math"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"analytics/aggregator"
	"analytics/aggregator/vitals"
	"analytics/collector/beacon"
)

func TestNormalize(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"TypeError: Cannot read properties of undefined (reading 'map')",
			"TypeError: Cannot read properties of undefined (reading 'map')"},
		{"Cannot find user jane.doe+news@example.co.uk in list",
			"Cannot find user <email> in list"},
		{"Request to https://api.example.com/reset?token=9f8e7d6c5b4a&user=42 failed with 500",
			"Request to <url> failed with <n>"},
		{"Order 83412 not found (retry 3 of 5, took 1.25s)",
			"Order <n> not found (retry <n> of <n>, took <n>s)"},
		{`Unexpected token 'J', "Jane Doe" is not valid JSON`,
			`Unexpected token 'J', "<str>" is not valid JSON`},
		{"Invalid session 550e8400-e29b-41d4-a716-446655440000 for 10.1.2.3",
			"Invalid session <uuid> for <n>"},
		{"Bad key 9f86d081884c7d659a2feaa0c55ad015 from 2001:db8::ff00:42:8329",
			"Bad key <uuid> from <ip>"},
		{"Auth failed: eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
			"Auth failed: <token>.<token>.<token>"},
		{"Failed to load blob:https://example.com/6b1e and data:image/png;base64,iVBORw0KGgo=",
			"Failed to load <url> and <url>"},
		{"at 12:34:56 the value was \u201cjohn smith\u201d\n\tthen\x00 'user_42'",
			"at <n>:<n>:<n> the value was \u201c<str>\u201d then '<str>'"},
		{"Phone +1 (555) 123-4567 invalid", "Phone +<n> (<n>) <n>-<n> invalid"},
		{"   ", ""},
		{"Script error.", "Script error."},
		{"Int32Array length 0x1F is odd", "Int<n>Array length <n>x<n>F is odd"},
	} {
		if got := string(Normalize(nil, tc.in)); got != tc.want {
			t.Errorf("Normalize(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
	long := strings.Repeat("é word ", 200)
	if got := Normalize(nil, long); len(got) > MaxMessage || !utf8.Valid(got) {
		t.Errorf("long message: %d bytes, valid UTF-8 %v", len(got), utf8.Valid(got))
	}
}

func TestErrorReport(t *testing.T) {
	var e Error
	var r aggregator.ErrorReport
	props := []beacon.Prop{
		{Key: "message", Value: "Error: user 48213 (jane@example.com) has no cart 7f3e9a1c2b4d"},
		{Key: "source", Value: "https://cdn.example.com/static/app.js?v=abcdef123456#x"},
		{Key: "line", Value: "12"}, {Key: "column", Value: "34"}, {Key: "kind", Value: "rejection"},
	}
	if err := e.Report(props, nil, &r); err != nil {
		t.Fatal(err)
	}
	if want := "(unhandled rejection) Error: user <n> (<email>) has no cart <hex>"; r.Message != want {
		t.Errorf("message %q, want %q", r.Message, want)
	}
	if r.Source != "/static/app.js:12:34" {
		t.Errorf("source %q", r.Source)
	}
	if len(r.Fingerprint) != 16 {
		t.Errorf("fingerprint %q", r.Fingerprint)
	}
	// The same program error with other data and another line (a new
	// deploy) has the same fingerprint; another file has another.
	fp := r.Fingerprint
	props[0].Value = "Error: user 7 (bob@example.org) has no cart 0000ffff1111"
	props[2].Value = "99"
	if err := e.Report(props, nil, &r); err != nil {
		t.Fatal(err)
	}
	if r.Fingerprint != fp {
		t.Errorf("fingerprint changed with the data: %s != %s", r.Fingerprint, fp)
	}
	props[1].Value = "/static/other.js"
	if err := e.Report(props, nil, &r); err != nil {
		t.Fatal(err)
	}
	if r.Fingerprint == fp {
		t.Error("another source file kept the fingerprint")
	}
	for _, bad := range [][]beacon.Prop{
		{{Key: "source", Value: "/a.js"}},
		{{Key: "message", Value: "  "}},
		{{Key: "message", Value: "x"}, {Key: "line", Value: "-1"}},
		{{Key: "message", Value: "x"}, {Key: "column", Value: "1.5"}},
		{{Key: "message", Value: "x"}, {Key: "line", Value: "abc"}},
	} {
		if err := e.Report(bad, nil, &r); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	for in, want := range map[string]string{
		"inline": "", "": "", "/a/b.js": "/a/b.js", "http://x.test": "/", "https://u:p@x.test/p.js?q#f": "/p.js",
		"webpack-internal:///./src/x.js": "/./src/x.js", "C:\\app.js": "",
	} {
		if got := sourcePath(in); got != want {
			t.Errorf("sourcePath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestVitals(t *testing.T) {
	var s aggregator.VitalsSample
	err := Vitals([]beacon.Prop{{Key: "lcp", Value: "2310.5"}, {Key: "cls", Value: "0.042"}, {Key: "fid", Value: "12"}}, &s)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Has[vitals.LCP] || s.Value[vitals.LCP] != 2310.5 || !s.Has[vitals.CLS] || s.Value[vitals.CLS] != 0.042 || s.Has[vitals.INP] {
		t.Errorf("got %+v", s)
	}
	for _, bad := range [][]beacon.Prop{
		nil,
		{{Key: "fid", Value: "3"}},
		{{Key: "lcp", Value: "-1"}},
		{{Key: "inp", Value: "NaN"}},
		{{Key: "ttfb", Value: "Infinity"}},
		{{Key: "cls", Value: "101"}},
		{{Key: "fcp", Value: "600001"}},
		{{Key: "lcp", Value: "fast"}},
	} {
		if err := Vitals(bad, &s); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

var schemeRe = regexp.MustCompile(`(?i)[a-z]://`)

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"TypeError: x is 'undefined'", "user jane@example.com id 42", "https://a.b/c?d=1",
		"\xff\xfe 'a\"b' “x”", "2001:db8::1", strings.Repeat("9", 2000)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		out := Normalize(nil, msg)
		if len(out) > MaxMessage || !utf8.Valid(out) {
			t.Fatalf("%q -> %q: %d bytes, valid %v", msg, out, len(out), utf8.Valid(out))
		}
		if strings.ContainsAny(string(out), "0123456789") {
			t.Fatalf("%q -> %q keeps digits", msg, out)
		}
		if schemeRe.Match(out) {
			t.Fatalf("%q -> %q keeps a URL", msg, out)
		}
	})
}

func FuzzVitals(f *testing.F) {
	f.Add("lcp", "2500", "cls", "0.1")
	f.Add("inp", "1e309", "ttfb", "-0")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		var s aggregator.VitalsSample
		if Vitals([]beacon.Prop{{Key: k1, Value: v1}, {Key: k2, Value: v2}}, &s) != nil {
			return
		}
		for m := range vitals.NumMetrics {
			v := s.Value[m]
			if s.Has[m] && (math.IsNaN(v) || v < 0 || v > vitals.Defs[m].Max) {
				t.Fatalf("accepted %s = %v", vitals.Defs[m].Name, v)
			}
		}
	})
}
