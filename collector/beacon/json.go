package beacon

import (
	"encoding/binary"
	"unicode/utf16"
	"unicode/utf8"
)

// A strict single-pass JSON scanner for beacon bodies. One pass over the
// body validates it (RFC 8259 JSON, valid UTF-8, nesting at most maxDepth
// values deep) and finds the top-level members the decoder reads; their
// values are located, not decoded, and only the few that are used get
// decoded (strings unescaped only when they hold escape sequences). It
// replaces utf8.Valid + a fastjson parse + fastjson.Validate, which walked
// the body three times and built a tree of every value.
//
// Its rules are fastjson's, which the decoder used before (and which
// reference_test.go keeps as the oracle of a differential fuzz test): the
// depth limit counts values as fastjson.Parse does, and strings are
// unescaped as fastjson does it, including its handling of lone surrogates.

// maxDepth is the deepest value accepted: the top-level value is at depth 1
// (fastjson.MaxDepth).
const maxDepth = 300

type kind uint8

const (
	kindNone kind = iota // absent
	kindNull
	kindTrue
	kindFalse
	kindNumber
	kindString
	kindObject
	kindArray
)

// value is one JSON value of a validated text: its kind and where it is.
// A string's span excludes the quotes; an object's or array's includes the
// brackets; a number's is the number as written.
type value struct {
	kind       kind
	esc        bool // a string holding escape sequences
	start, end int
}

// present reports whether v is there and not null.
func (v value) present() bool { return v.kind != kindNone && v.kind != kindNull }

// raw returns v's text in src.
func (v value) raw(src []byte) []byte { return src[v.start:v.end] }

// strClass sorts string bytes: 0 plain ASCII, 1 quote, 2 backslash,
// 3 control character, 4 start of a multi-byte (or invalid) UTF-8 sequence.
var strClass = func() (t [256]uint8) {
	for c := 0; c < 0x20; c++ {
		t[c] = 3
	}
	t['"'] = 1
	t['\\'] = 2
	for c := 0x80; c < 0x100; c++ {
		t[c] = 4
	}
	return t
}()

// special8 reports whether any of the eight bytes in x is not plain ASCII
// string content: a quote, a backslash, a control character or a byte of a
// multi-byte sequence.
func special8(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	quote := x ^ (ones * '"')
	backslash := x ^ (ones * '\\')
	// (v - ones) & ^v & highs is non-zero when some byte of v is 0, and
	// (x - ones*0x20) & ^x & highs when some byte of x is below 0x20.
	return ((quote-ones)&^quote|(backslash-ones)&^backslash|(x-ones*0x20)&^x|x)&highs != 0
}

func isWS(c byte) bool { return c == ' ' || c == '\n' || c == '\t' || c == '\r' }

func skipWS(s []byte, i int) int {
	for i < len(s) && isWS(s[i]) {
		i++
	}
	return i
}

func isHex(c byte) bool { return isDigit(c) || c|0x20 >= 'a' && c|0x20 <= 'f' }

// scanString validates the string whose opening quote is at s[i-1]. It
// returns the index of the closing quote and whether escapes occur.
//
// A raw control character is refused only when no escape sequence follows
// it in the string: fastjson.Validate checks for them only after a
// string's last escape, and the decoder keeps accepting what it accepted.
func scanString(s []byte, i int) (end int, esc, ok bool) {
	ctl := false // a control character since the last escape
	for i < len(s) {
		// Eight plain bytes at a time: URLs make most of a body.
		for i+8 <= len(s) && !special8(binary.LittleEndian.Uint64(s[i:])) {
			i += 8
		}
		if i >= len(s) {
			break
		}
		switch strClass[s[i]] {
		case 0:
			i++
		case 1:
			return i, esc, !ctl
		case 2:
			esc, ctl = true, false
			if i+1 >= len(s) {
				return 0, false, false
			}
			switch s[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+5 >= len(s) || !isHex(s[i+2]) || !isHex(s[i+3]) || !isHex(s[i+4]) || !isHex(s[i+5]) {
					return 0, false, false
				}
				i += 6
			default:
				return 0, false, false
			}
		case 3:
			ctl = true
			i++
		default:
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				return 0, false, false
			}
			i += size
		}
	}
	return 0, false, false
}

// scanNumber validates the number at s[i:] (JSON's grammar: no leading
// zeros, no leading '+', no bare '.') and returns the index after it.
func scanNumber(s []byte, i int) (int, bool) {
	if i < len(s) && s[i] == '-' {
		i++
	}
	start := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	if i == start || s[start] == '0' && i-start > 1 {
		return 0, false
	}
	if i < len(s) && s[i] == '.' {
		i++
		start = i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i == start {
			return 0, false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '-' || s[i] == '+') {
			i++
		}
		start = i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i == start {
			return 0, false
		}
	}
	return i, true
}

func hasLiteral(s []byte, i int, lit string) bool {
	return len(s)-i >= len(lit) && string(s[i:i+len(lit)]) == lit
}

// scanValue validates the value that starts at s[i] (no whitespace before
// it) at the given depth, sets *v and returns the index after it.
func scanValue(s []byte, i, depth int, v *value) (int, bool) {
	if i >= len(s) || depth > maxDepth {
		return 0, false
	}
	*v = value{start: i}
	switch s[i] {
	case '{':
		v.kind = kindObject
		m := members{s: s, i: i + 1, depth: depth + 1}
		var k, mv value
		for m.next(&k, &mv) {
		}
		if m.err {
			return 0, false
		}
		v.end = m.i
	case '[':
		v.kind = kindArray
		j := skipWS(s, i+1)
		if j < len(s) && s[j] == ']' {
			v.end = j + 1
			break
		}
		var e value
		for {
			var ok bool
			if j, ok = scanValue(s, j, depth+1, &e); !ok {
				return 0, false
			}
			if j = skipWS(s, j); j >= len(s) {
				return 0, false
			}
			if s[j] == ']' {
				v.end = j + 1
				break
			}
			if s[j] != ',' {
				return 0, false
			}
			j = skipWS(s, j+1)
		}
	case '"':
		end, esc, ok := scanString(s, i+1)
		if !ok {
			return 0, false
		}
		v.kind, v.esc, v.start, v.end = kindString, esc, i+1, end
		return end + 1, true
	case 't':
		if !hasLiteral(s, i, "true") {
			return 0, false
		}
		v.kind, v.end = kindTrue, i+4
	case 'f':
		if !hasLiteral(s, i, "false") {
			return 0, false
		}
		v.kind, v.end = kindFalse, i+5
	case 'n':
		if !hasLiteral(s, i, "null") {
			return 0, false
		}
		v.kind, v.end = kindNull, i+4
	default:
		end, ok := scanNumber(s, i)
		if !ok {
			return 0, false
		}
		v.kind, v.end = kindNumber, end
	}
	return v.end, true
}

// members iterates over the members of an object, validating them (and the
// closing brace) on the way: start it just after the '{' with the depth of
// the members' values, call next until it returns false, then check err.
// After the last member, i is the index after the closing brace.
type members struct {
	s       []byte
	i       int
	depth   int
	started bool
	err     bool
}

func (m *members) next(key, val *value) bool {
	s := m.s
	j := skipWS(s, m.i)
	if j >= len(s) {
		m.err = true
		return false
	}
	switch {
	case s[j] == '}':
		m.i = j + 1
		return false
	case m.started:
		if s[j] != ',' {
			m.err = true
			return false
		}
		j = skipWS(s, j+1)
	}
	m.started = true
	if j >= len(s) || s[j] != '"' {
		m.err = true
		return false
	}
	end, esc, ok := scanString(s, j+1)
	if !ok {
		m.err = true
		return false
	}
	*key = value{kind: kindString, esc: esc, start: j + 1, end: end}
	j = skipWS(s, end+1)
	if j >= len(s) || s[j] != ':' {
		m.err = true
		return false
	}
	if j, ok = scanValue(s, skipWS(s, j+1), m.depth, val); !ok {
		m.err = true
		return false
	}
	m.i = j
	return true
}

// scanDocument validates s as one JSON text and returns its value.
func scanDocument(s []byte) (value, bool) {
	var v value
	end, ok := scanValue(s, skipWS(s, 0), 1, &v)
	if !ok || skipWS(s, end) != len(s) {
		return value{}, false
	}
	return v, true
}

// appendUnescaped appends the content of a validated JSON string, unescaped
// as fastjson does: a lone surrogate escape stays as written (\ud800), and
// a surrogate escape followed by any \u escape is decoded as a pair (U+FFFD
// when it is not one).
func appendUnescaped(dst, s []byte) []byte {
	for {
		n := 0
		for n < len(s) && s[n] != '\\' {
			n++
		}
		dst = append(dst, s[:n]...)
		if n+1 >= len(s) {
			return dst
		}
		ch := s[n+1]
		s = s[n+2:]
		switch ch {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			x := hex4(s)
			xs := s[:4]
			s = s[4:]
			if !utf16.IsSurrogate(x) {
				dst = utf8.AppendRune(dst, x)
				break
			}
			if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
				dst = append(dst, '\\', 'u')
				dst = append(dst, xs...)
				break
			}
			dst = utf8.AppendRune(dst, utf16.DecodeRune(x, hex4(s[2:])))
			s = s[6:]
		default: // '"', '\\', '/'
			dst = append(dst, ch)
		}
	}
}

// hex4 decodes the four hex digits at the start of s (validated).
func hex4(s []byte) rune {
	var r rune
	for _, c := range s[:4] {
		h, _ := unhex(c)
		r = r<<4 | rune(h)
	}
	return r
}
