package channel

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"strings"
)

// kind is the category a source belongs to, from the lists.
type kind uint8

const (
	kindNone kind = iota
	kindSearch
	kindSocial
	kindVideo
	kindShopping
	kindEmail
	// kindExcluded marks "!" entries: known to belong to no list. It stops
	// the search for a shorter entry and reads as kindNone.
	kindExcluded
)

var kindNames = [...]string{"none", "search", "social", "video", "shopping", "email", "excluded"}

func (k kind) String() string { return kindNames[k] }

//go:embed lists/*.txt
var listFS embed.FS

// listFiles maps each list to its kind, in a fixed order.
var listFiles = []struct {
	name string
	kind kind
}{
	{"search_engines.txt", kindSearch},
	{"social.txt", kindSocial},
	{"video.txt", kindVideo},
	{"shopping.txt", kindShopping},
	{"email.txt", kindEmail},
}

// maxKey bounds the length of a list entry and of a value looked up in the
// lists: a longer value cannot match and is not examined (no allocation).
const maxKey = 256

// minDerivedName is the shortest host label that also matches as a
// utm_source word: "bing" from bing.com, but not "t" from t.co or "ok" from
// ok.ru. Shorter words are listed explicitly where wanted ("x", "fb").
const minDerivedName = 3

// genericSLD are second-level labels under a two-letter country code that
// belong to the TLD part for name.* entries: google.co.uk, yahoo.co.jp,
// google.com.br, yandex.com.tr.
var genericSLD = map[string]bool{
	"ac": true, "co": true, "com": true, "edu": true, "gob": true, "gov": true,
	"ltd": true, "mil": true, "ne": true, "net": true, "nom": true, "or": true,
	"org": true, "plc": true, "sch": true,
}

// table is the compiled form of the lists, built once at init and read-only
// afterwards (safe for concurrent use).
type table struct {
	// hosts holds host entries and "!" host entries: "facebook.com".
	hosts map[string]kind
	// stems holds name.* entries without the ".*": "google", "mail.yahoo".
	stems map[string]kind
	// words holds utm_source words: explicit ones and those derived from
	// one-label host names.
	words map[string]kind
	// sizes counts the entries per list file, for tests and docs.
	sizes map[string]int
}

// lists is built from the embedded files; a malformed file is a build
// defect, caught by every test run, so it panics.
var lists = mustLoad()

func mustLoad() *table {
	t, err := load()
	if err != nil {
		panic("channel: " + err.Error())
	}
	return t
}

func load() (*table, error) {
	b := newBuilder()
	for _, f := range listFiles {
		data, err := listFS.ReadFile("lists/" + f.name)
		if err != nil {
			return nil, fmt.Errorf("read list: %w", err)
		}
		b.parse(f.name, f.kind, string(data))
	}
	return b.finish()
}

type wordSource struct {
	kind     kind
	explicit bool
	where    string
}

type builder struct {
	t     *table
	words map[string]wordSource
	errs  []error
}

func newBuilder() *builder {
	return &builder{
		t: &table{
			hosts: make(map[string]kind),
			stems: make(map[string]kind),
			words: make(map[string]kind),
			sizes: make(map[string]int),
		},
		words: make(map[string]wordSource),
	}
}

func (b *builder) errorf(format string, args ...any) {
	b.errs = append(b.errs, fmt.Errorf(format, args...))
}

// parse adds one list file's entries as kind k.
func (b *builder) parse(file string, k kind, data string) {
	for n, line := range strings.Split(data, "\n") {
		where := fmt.Sprintf("%s:%d", file, n+1)
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		e := strings.TrimSpace(line)
		if e == "" {
			continue
		}
		if err := checkEntry(e); err != nil {
			b.errorf("%s: %q: %v", where, e, err)
			continue
		}
		b.t.sizes[file]++
		entryKind := k
		if strings.HasPrefix(e, "!") {
			entryKind = kindExcluded
			e = e[1:]
		}
		switch {
		case strings.HasSuffix(e, ".*"):
			stem := e[:len(e)-2]
			b.add(b.t.stems, stem, entryKind, where)
			b.deriveWord(stem, entryKind, where)
		case strings.Contains(e, "."):
			b.add(b.t.hosts, e, entryKind, where)
			b.deriveWord(hostStem([]byte(e)), entryKind, where)
		default:
			b.addWord(e, entryKind, true, where)
		}
	}
}

// checkEntry validates the syntax of one entry.
func checkEntry(e string) error {
	if len(e) > maxKey {
		return fmt.Errorf("longer than %d bytes", maxKey)
	}
	if e != strings.ToLower(e) {
		return errors.New("not lowercase")
	}
	body, excluded := strings.CutPrefix(e, "!")
	host, wild := strings.CutSuffix(body, ".*")
	if excluded && !wild && !strings.Contains(host, ".") {
		return errors.New("only a host or name.* can be excluded")
	}
	if strings.HasPrefix(host, "www.") {
		return errors.New(`sources are looked up without "www."`)
	}
	if !wild && !strings.Contains(host, ".") {
		// A utm_source word: letters, digits, "-", "_" and inner spaces.
		for _, c := range []byte(host) {
			if !isWordByte(c) && c != ' ' {
				return fmt.Errorf("invalid character %q in a word", c)
			}
		}
		return nil
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" {
			return errors.New("empty label")
		}
		for _, c := range []byte(label) {
			if !isWordByte(c) {
				return fmt.Errorf("invalid character %q in a host", c)
			}
		}
	}
	return nil
}

func isWordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

// add records a host or stem entry; the same key twice is an error even
// with the same kind, as it is a leftover or a contradiction.
func (b *builder) add(m map[string]kind, key string, k kind, where string) {
	if prev, ok := m[key]; ok {
		b.errorf("%s: %q is already listed (as %s)", where, key, prev)
		return
	}
	m[key] = k
}

// deriveWord adds a one-label name of a host entry as a utm_source word.
func (b *builder) deriveWord(name string, k kind, where string) {
	if k == kindExcluded || strings.Contains(name, ".") || len(name) < minDerivedName {
		return
	}
	b.addWord(name, k, false, where)
}

func (b *builder) addWord(w string, k kind, explicit bool, where string) {
	prev, ok := b.words[w]
	switch {
	case !ok:
		b.words[w] = wordSource{kind: k, explicit: explicit, where: where}
	case prev.kind != k:
		b.errorf("%s: utm_source word %q would be %s, but %s makes it %s", where, w, k, prev.where, prev.kind)
	case explicit && prev.explicit:
		b.errorf("%s: word %q already listed at %s", where, w, prev.where)
	}
}

func (b *builder) finish() (*table, error) {
	for w, s := range b.words {
		b.t.words[w] = s.kind
	}
	if len(b.errs) > 0 {
		return nil, errors.Join(b.errs...)
	}
	return b.t, nil
}

// hostStem returns a host without its top-level-domain part: "google" for
// google.co.uk and google.de, "news.google" for news.google.com, "t" for t.co.
func hostStem(h []byte) string {
	return string(h[:tldStart(h)-1])
}

// tldStart returns the index where h's top-level-domain part begins: the
// last label, or the last two when they are a generic second level under a
// two-letter country code (co.uk, com.br) and something precedes them. h
// must contain a dot.
func tldStart(h []byte) int {
	last := bytes.LastIndexByte(h, '.')
	if len(h)-last-1 != 2 {
		return last + 1
	}
	prev := bytes.LastIndexByte(h[:last], '.')
	if prev < 0 || !genericSLD[string(h[prev+1:last])] {
		return last + 1
	}
	return prev + 1
}

// lookup returns the kind of a normalised source: a host (walking from the
// full host to shorter suffixes at label boundaries, where a host entry and
// a name.* entry of the same length are both tried) or a utm_source word.
func (t *table) lookup(s []byte) kind {
	if len(s) == 0 {
		return kindNone
	}
	if bytes.IndexByte(s, '.') < 0 {
		return t.words[string(s)]
	}
	stemEnd := tldStart(s) - 1
	for i := 0; ; {
		if k := t.hosts[string(s[i:])]; k != kindNone {
			return visible(k)
		}
		if i < stemEnd {
			if k := t.stems[string(s[i:stemEnd])]; k != kindNone {
				return visible(k)
			}
		}
		j := bytes.IndexByte(s[i:], '.')
		if j < 0 {
			return kindNone
		}
		i += j + 1
	}
}

func visible(k kind) kind {
	if k == kindExcluded {
		return kindNone
	}
	return k
}

// normalize lowercases (ASCII) a trimmed source into buf and removes a
// leading "www." and a trailing dot. It returns nil for values longer than
// maxKey, which no entry can match.
func normalize(buf *[maxKey]byte, s string) []byte {
	s = strings.TrimSpace(s)
	if len(s) > maxKey {
		return nil
	}
	b := lower(buf, s)
	if len(b) > 4 && string(b[:4]) == "www." {
		b = b[4:]
	}
	if n := len(b); n > 0 && b[n-1] == '.' {
		b = b[:n-1]
	}
	return b
}

// lower copies s (at most maxKey bytes) into buf with ASCII letters
// lowercased.
func lower(buf *[maxKey]byte, s string) []byte {
	n := copy(buf[:], s)
	b := buf[:n]
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return b
}
