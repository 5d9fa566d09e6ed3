// Package spam owns the referrer-spam check: whether a referrer host belongs
// to a domain that exists only to show up in analytics reports. The built-in
// list is domains.txt, embedded; each site may add its own domains.
//
// A host matches a listed domain when it is that domain or a subdomain of it:
// "x.semalt.com" matches "semalt.com", "notsemalt.com" does not. The check
// looks up the host and each parent domain (at label boundaries) in one map,
// so its cost grows with the number of labels of the host, not with the size
// of the list, and it does not allocate.
package spam

import (
	_ "embed"
	"strings"
)

//go:embed domains.txt
var domainsTxt string

// builtin is the parsed domains.txt, shared by every List without extras.
var builtin = parse(domainsTxt)

// List is a set of referrer-spam domains: the built-in list plus a site's
// own. It is safe for concurrent use; the zero value and nil match nothing.
type List struct {
	domains map[string]struct{}
}

// New returns the built-in list plus extra domains. Extra entries are
// normalised like referrer hosts (lower case, no leading "www." or "*.", no
// trailing dot); empty ones are ignored. An entry matches its subdomains too,
// so a bare top-level domain such as "xyz" drops every host under it.
func New(extra []string) *List {
	if len(extra) == 0 {
		return &List{domains: builtin}
	}
	m := make(map[string]struct{}, len(builtin)+len(extra))
	for d := range builtin {
		m[d] = struct{}{}
	}
	for _, d := range extra {
		if d = normalize(d); d != "" {
			m[d] = struct{}{}
		}
	}
	return &List{domains: m}
}

// Spam reports whether host, a referrer host already lower-cased and without
// a leading "www.", is a listed domain or a subdomain of one. It does not
// allocate.
func (l *List) Spam(host string) bool {
	if l == nil || len(l.domains) == 0 {
		return false
	}
	for h := host; h != ""; {
		if _, ok := l.domains[h]; ok {
			return true
		}
		i := strings.IndexByte(h, '.')
		if i < 0 {
			return false
		}
		h = h[i+1:]
	}
	return false
}

// Len returns the number of domains in the list.
func (l *List) Len() int {
	if l == nil {
		return 0
	}
	return len(l.domains)
}

// parse reads one domain per line; "#" starts a comment.
func parse(text string) map[string]struct{} {
	m := make(map[string]struct{})
	for line := range strings.Lines(text) {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		if d := normalize(line); d != "" {
			m[d] = struct{}{}
		}
	}
	return m
}

// normalize brings a configured domain to the form of a referrer host.
func normalize(d string) string {
	d = strings.ToLower(strings.TrimSpace(d))
	d = strings.TrimSuffix(d, ".")
	d = strings.TrimPrefix(d, "*.")
	d = strings.TrimPrefix(d, ".")
	d = strings.TrimPrefix(d, "www.")
	return d
}
