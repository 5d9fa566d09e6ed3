package beacon

import (
	"bytes"
	"unicode"
	"unicode/utf8"
)

// A hand-written URL splitter rather than net/url: it allocates nothing, and
// it follows what browsers do with the URLs a tracker actually sends
// (location.href, document.referrer) instead of RFC 3986 strictness:
//   - a missing scheme means http(s): "example.com/a" and "//example.com/a"
//     have the host example.com ("localhost:8080/a" too: a "scheme" made of
//     digits only is a port);
//   - any scheme other than http and https is refused;
//   - after "http:" any number of '/' or '\' may precede the host, and '\'
//     ends the host like '/' does (so "https://a.com\@b.com" is on a.com);
//   - userinfo and port are dropped, IPv6 literals lose their brackets.

// urlParts are views into the URL being split.
type urlParts struct {
	host     []byte // without userinfo, port and IPv6 brackets; not normalised
	path     []byte // raw, "" or starting with '/' or '\'
	query    []byte // raw, without '?'
	fragment []byte // raw, without '#'
	hasFrag  bool
}

type urlStatus uint8

const (
	urlOK urlStatus = iota
	urlBadScheme
	urlInvalid
)

func isAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// schemeEnd returns the index of the ':' that ends s's scheme, or -1 when s
// has none.
func schemeEnd(s []byte) int {
	if len(s) == 0 || !isAlpha(s[0]) {
		return -1
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case isAlpha(c) || isDigit(c) || c == '+' || c == '-' || c == '.':
		case c == ':':
			// "host:port" without a scheme, e.g. "localhost:8080/".
			j := i + 1
			for j < len(s) && isDigit(s[j]) {
				j++
			}
			if j > i+1 && (j == len(s) || isDelim(s[j])) {
				return -1
			}
			return i
		default:
			return -1
		}
	}
	return -1
}

// isDelim reports whether c ends the authority of a URL.
func isDelim(c byte) bool { return c == '/' || c == '\\' || c == '?' || c == '#' }

// hasPrefixFold reports whether s starts with the lower-case ASCII prefix.
func hasPrefixFold(s []byte, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}

func equalFold(s []byte, lower string) bool {
	return len(s) == len(lower) && hasPrefixFold(s, lower)
}

// splitURL splits an http(s) URL (see the rules above) into views of s.
func splitURL(s []byte) (u urlParts, st urlStatus) {
	rest := s
	if i := schemeEnd(s); i >= 0 {
		if !equalFold(s[:i], "http") && !equalFold(s[:i], "https") {
			return u, urlBadScheme
		}
		rest = s[i+1:]
		for len(rest) > 0 && (rest[0] == '/' || rest[0] == '\\') {
			rest = rest[1:]
		}
	} else if len(rest) >= 2 && rest[0] == '/' && rest[1] == '/' {
		for len(rest) > 0 && rest[0] == '/' {
			rest = rest[1:]
		}
	}

	// One pass over the authority finds its end, its last '@' and the last
	// ':' after that, and whether the host part may hold a bad byte.
	end, at, colon := 0, -1, -1
	var classes uint8
	for ; end < len(rest); end++ {
		c := rest[end]
		cl := urlClass[c]
		if cl&classDelim != 0 {
			break
		}
		if cl&classBadHost != 0 {
			switch c {
			case '@':
				at, colon = end, -1 // a ':' before the host is the userinfo's
			case ':':
				colon = end
			}
		}
		classes |= cl
	}
	auth := rest[:end]
	rest = rest[end:]
	if at >= 0 {
		auth = auth[at+1:]
		if colon >= 0 {
			colon -= at + 1
		}
	}
	var port []byte
	if len(auth) > 0 && auth[0] == '[' {
		closing := bytes.IndexByte(auth, ']')
		if closing < 0 {
			return u, urlInvalid
		}
		u.host = auth[1:closing]
		if after := auth[closing+1:]; len(after) > 0 {
			if after[0] != ':' {
				return u, urlInvalid
			}
			port = after[1:]
		}
		if !validIPv6(u.host) {
			return u, urlInvalid
		}
	} else {
		u.host = auth
		if colon >= 0 {
			u.host, port = auth[:colon], auth[colon+1:]
		}
		// Without any byte of the bad class in the authority, the host
		// is valid when not empty; else check it byte by byte.
		if len(u.host) == 0 || classes&classBadHost != 0 && !validHost(u.host) {
			return u, urlInvalid
		}
	}
	for _, c := range port {
		if !isDigit(c) {
			return u, urlInvalid
		}
	}

	end = 0
	for end < len(rest) && rest[end] != '?' && rest[end] != '#' {
		end++
	}
	u.path = rest[:end]
	rest = rest[end:]
	if len(rest) > 0 && rest[0] == '?' {
		end = bytes.IndexByte(rest, '#')
		if end < 0 {
			end = len(rest)
		}
		u.query = rest[1:end]
		rest = rest[end:]
	}
	if len(rest) > 0 { // rest[0] == '#'
		u.hasFrag = true
		u.fragment = rest[1:]
	}
	return u, urlOK
}

// Byte classes of URL parsing.
const (
	classDelim   = 1 << iota // ends an authority: / \ ? #
	classBadHost             // never in a host: controls, space, DEL and "%<>[]^`{|}:@/\?#
)

var urlClass = func() (t [256]uint8) {
	for _, c := range "/\\?#" {
		t[c] |= classDelim
	}
	for c := 0; c <= ' '; c++ {
		t[c] |= classBadHost
	}
	t[0x7f] |= classBadHost
	for _, c := range `"%<>[]^` + "`" + `{|}:@/\?#` {
		t[c] |= classBadHost
	}
	return t
}()

// validHost accepts registered names, IPv4 addresses and Unicode (IDN)
// names; it refuses what no browser would put in a host.
func validHost(h []byte) bool {
	if len(h) == 0 {
		return false
	}
	for _, c := range h {
		if urlClass[c]&classBadHost != 0 {
			return false
		}
	}
	return true
}

func validIPv6(h []byte) bool {
	if len(h) < 2 || bytes.IndexByte(h, ':') < 0 {
		return false
	}
	for _, c := range h {
		if !isDigit(c) && !(c|0x20 >= 'a' && c|0x20 <= 'f') && c != ':' && c != '.' {
			return false
		}
	}
	return true
}

// appendHost appends h lowercased, without a trailing dot and without a
// leading "www.", and returns the extended dst and where the host starts.
func appendHost(dst, h []byte) ([]byte, int) {
	start := len(dst)
	for i := 0; i < len(h); {
		c := h[i]
		if c < utf8.RuneSelf {
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(h[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, c) // callers validate UTF-8 beforehand
		} else {
			dst = utf8.AppendRune(dst, unicode.ToLower(r))
		}
		i += size
	}
	if n := len(dst); n > start+1 && dst[n-1] == '.' {
		dst = dst[:n-1]
	}
	if len(dst)-start > 4 && string(dst[start:start+4]) == "www." {
		dst = append(dst[:start], dst[start+4:]...)
	}
	return dst, start
}

func unhex(c byte) (byte, bool) {
	switch {
	case isDigit(c):
		return c - '0', true
	case c|0x20 >= 'a' && c|0x20 <= 'f':
		return c | 0x20 - 'a' + 10, true
	}
	return 0, false
}

const upperHex = "0123456789ABCDEF"

// appendPath appends the percent-decoded p. Malformed escapes are kept as
// sent. Bytes that would change the meaning of a path or corrupt a log line,
// '?', '#', controls and DEL, stay (or become) percent-encoded. A '\\' that
// is sent raw is a '/', as browsers read it in http(s) URLs.
func appendPath(dst, p []byte) []byte {
	dst, _ = appendPathHigh(dst, p)
	return dst
}

// appendPathHigh is appendPath that also reports whether it decoded an
// escape into a byte above 0x7f: only those can make a valid UTF-8 p
// invalid.
func appendPathHigh(dst, p []byte) ([]byte, bool) {
	high := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '%' && i+2 < len(p) {
			hi, ok1 := unhex(p[i+1])
			lo, ok2 := unhex(p[i+2])
			if ok1 && ok2 {
				c = hi<<4 | lo
				i += 2
				if c == '?' || c == '#' || c < ' ' || c == 0x7f {
					dst = append(dst, '%', upperHex[c>>4], upperHex[c&0xf])
				} else {
					high = high || c >= utf8.RuneSelf
					dst = append(dst, c)
				}
				continue
			}
		}
		switch {
		case c < ' ' || c == 0x7f:
			dst = append(dst, '%', upperHex[c>>4], upperHex[c&0xf])
		case c == '\\':
			dst = append(dst, '/')
		default:
			dst = append(dst, c)
		}
	}
	return dst, high
}

// appendQueryValue appends the decoded query component q ('+' is a space).
// Malformed escapes are kept as sent.
func appendQueryValue(dst, q []byte) []byte {
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '+':
			c = ' '
		case c == '%' && i+2 < len(q):
			hi, ok1 := unhex(q[i+1])
			lo, ok2 := unhex(q[i+2])
			if ok1 && ok2 {
				c = hi<<4 | lo
				i += 2
			}
		}
		dst = append(dst, c)
	}
	return dst
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s []byte, n int) []byte {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
