package channel

import (
	"strings"
	"testing"
)

func TestListsLoad(t *testing.T) {
	tb, err := load()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range listFiles {
		n := tb.sizes[f.name]
		t.Logf("%s: %d entries", f.name, n)
		if n < 20 {
			t.Errorf("%s has only %d entries", f.name, n)
		}
	}
	t.Logf("%d hosts, %d name.* stems, %d utm_source words", len(tb.hosts), len(tb.stems), len(tb.words))
}

func TestLookup(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want kind
	}{
		{"google.com", kindSearch},
		{"google.co.uk", kindSearch},
		{"google.com.au", kindSearch},
		{"google.co.jp", kindSearch},
		{"google", kindSearch},
		{"news.google.co.uk", kindNone},
		{"mail.google.com", kindEmail},
		{"shopping.google.de", kindShopping},
		{"google.evil.com", kindNone},
		{"google.co.evil", kindNone},
		{"mail.yahoo.com", kindEmail},
		{"yahoo", kindSearch},
		{"l.facebook.com", kindSocial},
		{"facebook", kindSocial},
		{"facebook.com.evil.net", kindNone},
		{"myfacebook.com", kindNone},
		{"t.co", kindSocial},
		{"t", kindNone},
		{"x", kindSocial},
		{"com", kindNone},
		{"co.uk", kindNone},
		{"youtube", kindVideo},
		{"amazon", kindShopping},
		{"amazon.de", kindShopping},
		{"aws.amazon.com", kindNone},
		{"outlook", kindEmail},
		{"newsletter", kindEmail},
		{"e mail", kindEmail},
		{"127.0.0.1", kindNone},
		{".", kindNone},
		{"..", kindNone},
		{"a..b", kindNone},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := lists.lookup([]byte(tc.in)); got != tc.want {
				t.Errorf("lookup(%q) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
}

func TestTLDStart(t *testing.T) {
	for _, tc := range []struct {
		host, tld string
	}{
		{"google.com", "com"},
		{"google.co.uk", "co.uk"},
		{"google.com.br", "com.br"},
		{"yahoo.co.jp", "co.jp"},
		{"news.google.co.uk", "co.uk"},
		{"t.co", "co"},
		{"co.uk", "uk"},
		{"bsky.app", "app"},
		{"example.net.io", "net.io"},
		{"example.net.com", "com"},
		{"example.co.ukk", "ukk"},
	} {
		t.Run(tc.host, func(t *testing.T) {
			if got := tc.host[tldStart([]byte(tc.host)):]; got != tc.tld {
				t.Errorf("TLD part of %q = %q, want %q", tc.host, got, tc.tld)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		files   [][2]string // name, data; kinds alternate search, social
		wantErr string
	}{
		{"valid", [][2]string{{"a.txt", "# c\nexample.com # trailing\n\nex.*\nword\ne mail\n!docs.ex.*\n"}}, ""},
		{"uppercase", [][2]string{{"a.txt", "Example.com"}}, "not lowercase"},
		{"www", [][2]string{{"a.txt", "www.example.com"}}, `without "www."`},
		{"empty label", [][2]string{{"a.txt", "example..com"}}, "empty label"},
		{"bad character", [][2]string{{"a.txt", "exa/mple.com"}}, "invalid character"},
		{"space in host", [][2]string{{"a.txt", "exa mple.com"}}, "invalid character"},
		{"excluded word", [][2]string{{"a.txt", "!word"}}, "can be excluded"},
		{"too long", [][2]string{{"a.txt", strings.Repeat("a", maxKey+1)}}, "longer than"},
		{"duplicate host", [][2]string{{"a.txt", "example.com\nexample.com"}}, "already listed"},
		{"host in two lists", [][2]string{{"a.txt", "example.com"}, {"b.txt", "example.com"}}, "already listed"},
		{"excluded and listed", [][2]string{{"a.txt", "!x.example.com"}, {"b.txt", "x.example.com"}}, "already listed"},
		{"duplicate word", [][2]string{{"a.txt", "word\nword"}}, "already listed"},
		{"derived word conflict", [][2]string{{"a.txt", "example.com"}, {"b.txt", "example.org"}}, `word "example"`},
		{"explicit word conflict", [][2]string{{"a.txt", "example.com"}, {"b.txt", "example"}}, `word "example"`},
		{"same kind derived twice", [][2]string{{"a.txt", "example.com\nexample.*\nexample"}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBuilder()
			for i, f := range tc.files {
				b.parse(f[0], kind(kindSearch+kind(i%2)), f[1])
			}
			_, err := b.finish()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tc.wantErr != "" && err == nil:
				t.Errorf("no error, want one containing %q", tc.wantErr)
			case tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr):
				t.Errorf("error %q does not contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"  Google.COM ", "google.com"},
		{"www.example.com", "example.com"},
		{"WWW.Example.com.", "example.com"},
		{"www.", "www"},
		{"newsletter", "newsletter"},
	} {
		var buf [maxKey]byte
		if got := string(normalize(&buf, tc.in)); got != tc.want {
			t.Errorf("normalize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	var buf [maxKey]byte
	if got := normalize(&buf, strings.Repeat("a", maxKey+1)); got != nil {
		t.Errorf("normalize of an over-long value = %q, want nil", got)
	}
}
