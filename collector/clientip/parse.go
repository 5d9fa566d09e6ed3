package clientip

import (
	"bytes"
	"net/netip"
	"unsafe"
)

// maxNodeLen bounds one address with brackets and port:
// "[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:65535" is 53 bytes.
const maxNodeLen = 64

// parseNode parses one address as found in forwarding headers: "1.2.3.4",
// "1.2.3.4:5678", "2001:db8::1", "[2001:db8::1]", "[2001:db8::1]:443",
// optionally quoted and surrounded by spaces. Zones are rejected.
func parseNode(b []byte) (netip.Addr, bool) {
	b = bytes.TrimSpace(b)
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		b = bytes.TrimSpace(b[1 : len(b)-1])
	}
	if len(b) == 0 || len(b) > maxNodeLen {
		return netip.Addr{}, false
	}
	if b[0] == '[' {
		end := bytes.IndexByte(b, ']')
		if end < 0 || !isPort(b[end+1:], true) {
			return netip.Addr{}, false
		}
		b = b[1:end]
	} else if colon := bytes.IndexByte(b, ':'); colon >= 0 && bytes.IndexByte(b[colon+1:], ':') < 0 {
		// Exactly one colon: IPv4 with a port. Bare IPv6 has at least two.
		if !isPort(b[colon:], false) {
			return netip.Addr{}, false
		}
		b = b[:colon]
	}
	if !addrChars(b) {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(unsafeString(b))
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// addrChars reports whether b consists of hex digits, dots and colons only
// and could thus be an address without a zone. It rejects "unknown", "_hidden"
// and other words before ParseAddr, whose errors cost an allocation.
func addrChars(b []byte) bool {
	if len(b) < 2 {
		return false
	}
	for _, c := range b {
		switch {
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f', 'A' <= c && c <= 'F', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}

// unsafeString views b as a string without copying. ParseAddr would
// otherwise cost one allocation per address (measured): the conversion
// escapes because parse errors keep their input. It is safe here because b
// is not modified during the call, the error (the only thing that keeps the
// string) is dropped at once, and a returned Addr holds no reference to its
// input since zones, the only textual part, are rejected before parsing.
func unsafeString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// isPort reports whether s is empty (if emptyOK) or ":" followed by a port:
// 1 to 5 digits, or an RFC 7239 obfuscated port ("_abc").
func isPort(s []byte, emptyOK bool) bool {
	if len(s) == 0 {
		return emptyOK
	}
	if s[0] != ':' || len(s) < 2 {
		return false
	}
	s = s[1:]
	if s[0] == '_' {
		return true
	}
	if len(s) > 5 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
