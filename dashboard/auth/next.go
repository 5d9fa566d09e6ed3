package auth

import (
	"net/url"
	"strings"
)

// SafeNext returns next if it is a path on this site, else "/". It refuses
// absolute URLs, scheme-relative ones ("//evil.com"), backslashes (which
// browsers read as slashes) and control characters.
func SafeNext(next string) string {
	if next == "" || next[0] != '/' || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\") || len(next) > 2048 {
		return "/"
	}
	for _, c := range next {
		if c < 0x20 || c == 0x7f {
			return "/"
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return next
}
