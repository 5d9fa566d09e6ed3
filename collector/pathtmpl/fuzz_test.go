package pathtmpl

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzConfig has site rules of every kind; none of them matches a segment
// with a placeholder in it, so Apply stays idempotent.
var fuzzConfig = Config{
	Rules: []Rule{
		{Match: `[a-z]+-[0-9]+`, Replace: ":sku"},
		{Scope: "/users/*", Match: `[0-9]+`, Replace: ":id"},
		{Scope: "#/r/:id/*", Match: `[a-z]+`, Replace: ":tab"},
	},
	Keep: []string{"/blog/*", "/docs", "#/keep/**", "/*/x/*"},
}

func FuzzApply(f *testing.F) {
	for _, tc := range builtinCases {
		f.Add(tc.path)
	}
	for _, s := range []string{
		"/users/42/settings", "/blog/A1b2C3d4E5f6G7h8I9/83412", "/docs/83412", "/a/x/83412/83412",
		"#/r/83412/tab/99871", "/#/keep/83412/AB12CD34EF56GH78", "/a%4", "/%", "/%%41", "/\xff\xfe",
		"/+(49) 176 1234", "/tel:+", "/a@2x.", "/a@1.x", "/eyJ", "/" + testUUID + testUUID,
	} {
		f.Add(s)
	}
	custom, err := New(fuzzConfig)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, path string) {
		if len(path) > 4096 {
			return // beacon URLs are at most 2000 bytes
		}
		out := Default.Apply(nil, path)
		checkOutput(t, Default, path, out)
		if len(out) > len(path) {
			t.Fatalf("Apply(%q) = %q is longer than its input", path, out)
		}
		// The append contract: dst is extended, never overwritten.
		withPrefix := Default.Apply([]byte("pre"), path)
		if string(withPrefix) != "pre"+string(out) {
			t.Fatalf("Apply(pre, %q) = %q, want %q", path, withPrefix, "pre"+string(out))
		}

		out = custom.Apply(nil, path)
		checkOutput(t, custom, path, out)
		if bound := len(path) + 2*(strings.Count(path, "/")+1); len(out) > bound {
			t.Fatalf("custom Apply(%q) = %q is longer than %d", path, out, bound)
		}
	})
}

func checkOutput(t *testing.T, tp *Templater, path string, out []byte) {
	t.Helper()
	if utf8.ValidString(path) && !utf8.Valid(out) {
		t.Fatalf("Apply(%q) = %q is not valid UTF-8", path, out)
	}
	if strings.HasPrefix(path, "/") && !bytes.HasPrefix(out, []byte("/")) {
		t.Fatalf("Apply(%q) = %q does not start with '/'", path, out)
	}
	if bytes.Count(out, []byte("/")) != strings.Count(path, "/") {
		t.Fatalf("Apply(%q) = %q changed the number of '/'", path, out)
	}
	if bytes.Contains(out, []byte("#")) != strings.Contains(path, "#") {
		t.Fatalf("Apply(%q) = %q lost or added the hash route", path, out)
	}
	if again := tp.Apply(nil, string(out)); !bytes.Equal(again, out) {
		t.Fatalf("not idempotent: Apply(%q) = %q, Apply(%q) = %q", path, out, out, again)
	}
}

// TestGeneratedPaths checks the properties of FuzzApply on paths built from
// pieces that the rules look at, which byte-level fuzzing rarely finds, for
// every built-in rule switched off in turn.
func TestGeneratedPaths(t *testing.T) {
	pieces := []string{
		"/", "/", "/", "#", "", "a", "blog", "Ab", "x9", "83412", "12", "2024", testUUID, testHex32[:16],
		"jane", "@", "example", ".", ".com", "%40", "%3F", "%7", "-", "_", "+", "=", "+49", "1761234567",
		"(", ")", " ", "AB12CD34", "eyJ", "tel:", "2x", ":", ":id", "ü", "\xff", "aB3dE5gH7jK9", "*",
	}
	templaters := []*Templater{Default}
	custom, err := New(fuzzConfig)
	if err != nil {
		t.Fatal(err)
	}
	templaters = append(templaters, custom)
	for _, name := range Builtins() {
		tp, err := New(Config{DisableBuiltins: []string{name}})
		if err != nil {
			t.Fatal(err)
		}
		templaters = append(templaters, tp)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	for range 30000 {
		b.Reset()
		for range 1 + rng.IntN(14) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		path := b.String()
		for _, tp := range templaters {
			out := tp.Apply(nil, path)
			checkOutput(t, tp, path, out)
			if tp != custom && len(out) > len(path) {
				t.Fatalf("Apply(%q) = %q is longer than its input", path, out)
			}
		}
	}
}
