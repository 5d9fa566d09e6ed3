package audit

import (
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// Kinds of raw client data the audit looks for.
const (
	KindIPv4      = "IPv4 address"
	KindIPv6      = "IPv6 address"
	KindEmail     = "e-mail address"
	KindUserAgent = "User-Agent"
	KindQuery     = "query string"
	KindToken     = "long hex/base64 token"
)

var (
	ipv4Re  = regexp.MustCompile(`(?:^|[^0-9.])((?:[0-9]{1,3}\.){3}[0-9]{1,3})(?:$|[^0-9.])`)
	ipv6Re  = regexp.MustCompile(`[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*`)
	emailRe = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}`)
	queryRe = regexp.MustCompile(`\?[^=&?#\s]+=[^&\s]*`)
	uaMarks = []string{"Mozilla/", "AppleWebKit", "Gecko/"}
)

// hit is the first raw client datum found in a value.
type hit struct {
	kind       string
	start, end int
}

// scan finds the earliest pattern of raw client data in s. path says that
// s is a page path, where long random tokens are also suspicious.
func scan(s string, path bool) (hit, bool) {
	best := hit{start: -1}
	consider := func(kind string, start, end int) {
		if start >= 0 && (best.start < 0 || start < best.start) {
			best = hit{kind, start, end}
		}
	}
	for _, m := range ipv4Re.FindAllStringSubmatchIndex(s, -1) {
		if a, err := netip.ParseAddr(s[m[2]:m[3]]); err == nil && a.Is4() {
			consider(KindIPv4, m[2], m[3])
			break
		}
	}
	for _, m := range ipv6Re.FindAllStringIndex(s, -1) {
		if a, err := netip.ParseAddr(s[m[0]:m[1]]); err == nil && a.Is6() && m[1]-m[0] >= 6 {
			consider(KindIPv6, m[0], m[1])
			break
		}
	}
	if m := emailRe.FindStringIndex(s); m != nil {
		consider(KindEmail, m[0], m[1])
	}
	if m := queryRe.FindStringIndex(s); m != nil {
		consider(KindQuery, m[0], m[1])
	}
	for _, mark := range uaMarks {
		if i := strings.Index(s, mark); i >= 0 {
			consider(KindUserAgent, i, i+len(mark))
		}
	}
	if path {
		if start, end, ok := token(s); ok {
			consider(KindToken, start, end)
		}
	}
	return best, best.start >= 0
}

// token finds a run of letters and digits that looks random: 16 or more hex
// digits with a digit and a letter, 20 or more characters mixing upper case,
// lower case and digits, or a JWT ("eyJ" and 13 more base64url characters).
// The collector templates these away (collector/pathtmpl), so a stored one
// means a rule was switched off or bypassed.
func token(s string) (start, end int, ok bool) {
	for i := 0; i < len(s); {
		if !isAlnum(s[i]) {
			i++
			continue
		}
		j := i
		var upper, lower, digit, nonHex bool
		for j < len(s) && (isAlnum(s[j]) || (strings.HasPrefix(s[i:], "eyJ") && (s[j] == '-' || s[j] == '_' || s[j] == '.'))) {
			c := s[j]
			switch {
			case c >= '0' && c <= '9':
				digit = true
			case c >= 'A' && c <= 'Z':
				upper = true
				nonHex = nonHex || c > 'F'
			case c >= 'a' && c <= 'z':
				lower = true
				nonHex = nonHex || c > 'f'
			default:
				nonHex = true
			}
			j++
		}
		n := j - i
		switch {
		case strings.HasPrefix(s[i:], "eyJ") && n >= 16:
			return i, j, true
		case n >= 16 && !nonHex && digit && (upper || lower):
			return i, j, true
		case n >= 20 && upper && lower && digit:
			return i, j, true
		}
		i = j
	}
	return 0, 0, false
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// redact shows where in s the hit is without showing it: up to 16
// characters before it, then the hit's first character and a mask. Nothing
// after the hit is shown.
func redact(s string, h hit) string {
	prefix := s[:h.start]
	if len(prefix) > 16 {
		prefix = "…" + prefix[len(prefix)-16:]
	}
	return strings.ToValidUTF8(prefix, "") + s[h.start:h.start+1] + "*** [" + h.kind + ", " + strconv.Itoa(h.end-h.start) + " chars, redacted]"
}
