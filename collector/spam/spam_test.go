package spam

import (
	"strings"
	"testing"
)

func TestSpam(t *testing.T) {
	l := New([]string{"Spam.Example.ORG", " www.other-spam.test. ", "*.wild.test", ""})
	tests := []struct {
		host string
		want bool
	}{
		{"semalt.com", true},
		{"x.semalt.com", true},
		{"a.b.c.semalt.com", true},
		{"darodar.com", true},
		{"forum20.smailik.org", true},
		{"ilovevitaly.ru", true},
		{"xn--oogle-wmc.com", true},
		{"ɢoogle.com", true},
		{"spam.example.org", true},
		{"sub.spam.example.org", true},
		{"other-spam.test", true},
		{"x.wild.test", true},

		{"", false},
		{"com", false},
		{".", false},
		{"google.com", false},
		{"notsemalt.com", false},   // a suffix, but not at a label boundary
		{"semalt.com.evil", false}, // listed domain as a prefix
		{"semalt.co", false},
		{"example.org", false}, // parent of an extra entry
		{"news.ycombinator.com", false},
		{"t.co", false},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			if got := l.Spam(tt.host); got != tt.want {
				t.Errorf("Spam(%q) = %v, want %v", tt.host, got, tt.want)
			}
		})
	}
}

func TestExtrasArePerList(t *testing.T) {
	a := New([]string{"only-a.test"})
	b := New(nil)
	if !a.Spam("only-a.test") {
		t.Error("list a misses its own extra domain")
	}
	if b.Spam("only-a.test") {
		t.Error("list b matches a domain added to list a")
	}
	if !b.Spam("semalt.com") || !a.Spam("semalt.com") {
		t.Error("built-in domain missing from a list")
	}
	if a.Len() != b.Len()+1 {
		t.Errorf("Len: a = %d, b = %d, want a = b+1", a.Len(), b.Len())
	}
}

func TestNilList(t *testing.T) {
	var l *List
	if l.Spam("semalt.com") || l.Len() != 0 {
		t.Error("nil List matches")
	}
	if (&List{}).Spam("semalt.com") {
		t.Error("zero List matches")
	}
}

// TestBuiltinList checks the form of every entry of domains.txt.
func TestBuiltinList(t *testing.T) {
	seen := map[string]int{}
	n := 0
	for i, line := range strings.Split(domainsTxt, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		n++
		if prev, ok := seen[line]; ok {
			t.Errorf("line %d: %q already on line %d", i+1, line, prev)
		}
		seen[line] = i + 1
		if line != strings.ToLower(line) || normalize(line) != line {
			t.Errorf("line %d: %q is not in normal form (%q)", i+1, line, normalize(line))
		}
		if !strings.Contains(line, ".") || strings.ContainsAny(line, " \t/:@") {
			t.Errorf("line %d: %q is not a domain name", i+1, line)
		}
	}
	if n < 100 {
		t.Errorf("built-in list has %d domains, want at least 100", n)
	}
	if len(builtin) != n {
		t.Errorf("parsed %d domains from %d lines", len(builtin), n)
	}
	t.Logf("built-in list: %d domains", n)
}

var sink bool

func BenchmarkSpam(b *testing.B) {
	l := New([]string{"spam.example.org"})
	for _, bc := range []struct{ name, host string }{
		{"host=listed", "semalt.com"},
		{"host=subdomain", "forum20.smailik.org"},
		{"host=clean", "news.ycombinator.com"},
		{"host=clean-deep", "a.b.c.d.example.co.uk"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sink = l.Spam(bc.host)
			}
		})
	}
}
