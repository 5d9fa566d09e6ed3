package pathtmpl

// The built-in rules, as byte classifiers (the rules themselves are in the
// package documentation). Most run on a segment as sent (a string); a
// segment with %XX escapes is classified on its decoded bytes, hence the
// functions generic over text.

type text interface{ ~string | ~[]byte }

const (
	phEmail = ":email"
	phPhone = ":phone"
	phIP    = ":ip"
	phUUID  = ":uuid"
	phID    = ":id"
	phToken = ":token"
)

// Thresholds of the rules.
const (
	minIDDigits   = 5  // id
	minHexDigits  = 16 // hex
	minTokenLen   = 16 // token: length of the pieces that change kind
	tokenPerShift = 5  // token: at least one change of kind per this many characters
	minJWTLen     = 16 // token: "eyJ..."
	minPhone      = 7  // phone: digits
	maxPhone      = 15
)

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
func isAlnum(c byte) bool { return isDigit(c) || isAlpha(c) }
func isHex(c byte) bool   { return isDigit(c) || c|0x20 >= 'a' && c|0x20 <= 'f' }

// isWord reports whether c belongs to a part (see mixed): ASCII letters and
// digits, and every byte of a non-ASCII character, so that parts never split
// a UTF-8 sequence and "straße12345" is one part.
func isWord(c byte) bool { return isAlnum(c) || c >= 0x80 }

// Byte classes that some built-in rule needs (see Templater.segment).
const (
	clDigit uint8 = 1 << iota
	clAt
	clPercent
)

var byteClass = func() (t [256]uint8) {
	for c := '0'; c <= '9'; c++ {
		t[c] = clDigit
	}
	t['@'] = clAt
	t['%'] = clPercent
	return t
}()

func isJWTStart[T text](s T) bool { return len(s) >= 3 && s[0] == 'e' && s[1] == 'y' && s[2] == 'J' }

func hasPrefix[T text](s T, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		if s[i] != prefix[i] {
			return false
		}
	}
	return true
}

func isBase64URL(c byte) bool { return isAlnum(c) || c == '-' || c == '_' }

// whole returns the placeholder of s by the rules that look at a whole
// segment (email, phone, ip, JWT), or "". With parts, also by the rules that
// parts applies to a segment as sent (uuid, id, hex, token): a segment
// with %XX escapes is classified on its decoded bytes here, and given to
// parts (as sent) only for mixed.
func whole[T text](on builtin, s T, parts bool) string {
	switch {
	case on&ruleEmail != 0 && isEmail(s):
		return phEmail
	case on&rulePhone != 0 && isPhone(s):
		return phPhone
	case on&ruleIP != 0 && (isIPv4(s) || isIPv6(s)):
		return phIP
	case on&ruleToken != 0 && isJWT(s):
		return phToken
	case !parts:
		return ""
	case on&ruleUUID != 0 && len(s) == 36 && uuidAt(s, 0):
		return phUUID
	}
	if ph := wordRule(on, s); ph != "" {
		return ph
	}
	if on&ruleToken != 0 {
		var st tokenStats
		for i := 0; i < len(s); {
			if !isWord(s[i]) {
				st.delim(s[i])
				i++
				continue
			}
			j := i + 1
			for j < len(s) && isWord(s[j]) {
				j++
			}
			addWord(&st, s[i:j])
			i = j
		}
		if st.isToken() {
			return phToken
		}
	}
	return ""
}

func (t *Templater) whole(s string) string { return whole(t.on, s, false) }

func (t *Templater) wholeDecoded(s []byte) string { return whole(t.on, s, true) }

// parts appends s, a segment as sent, with its uuid, id and hex parts
// replaced (only a part that is the whole segment when mixed is off), or
// ":token" when what is left looks random.
func (t *Templater) parts(dst []byte, s string) []byte {
	start := len(dst)
	mixed := t.on&ruleMixed != 0
	var st tokenStats
	for i := 0; i < len(s); {
		c := s[i]
		if !isWord(c) {
			if c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
				dst = append(dst, s[i:i+3]...) // an escape is a separator
				st.bad = true
				i += 3
				continue
			}
			dst = append(dst, c)
			st.delim(c)
			i++
			continue
		}
		if t.on&ruleUUID != 0 && uuidAt(s, i) && (i+36 == len(s) || !isWord(s[i+36])) &&
			(mixed || i == 0 && len(s) == 36) {
			dst = append(dst, phUUID...)
			i += 36
			continue
		}
		j := i + 1
		for j < len(s) && isWord(s[j]) {
			j++
		}
		w := s[i:j]
		if mixed || len(w) == len(s) {
			if ph := wordRule(t.on, w); ph != "" {
				dst = append(dst, ph...)
				i = j
				continue
			}
		}
		dst = append(dst, w...)
		addWord(&st, w)
		i = j
	}
	if t.on&ruleToken != 0 && st.isToken() {
		return append(dst[:start], phToken...)
	}
	return dst
}

// wordRule returns the placeholder of a part by id and hex, or "".
func wordRule[T text](on builtin, w T) string {
	if len(w) < minIDDigits {
		return ""
	}
	digits, hex := 0, 0
	for i := 0; i < len(w); i++ {
		switch c := w[i]; {
		case isDigit(c):
			digits++
		case isHex(c):
			hex++
		default:
			return ""
		}
	}
	switch {
	case digits == len(w):
		if on&ruleID != 0 {
			return phID
		}
	case digits > 0 && len(w) >= minHexDigits && on&ruleHex != 0:
		return phToken
	}
	return ""
}

// uuidAt reports whether s[i:] starts with 8-4-4-4-12 hex digits, one of
// them at least a decimal digit (as every built-in rule needs one, so that
// Templater.segment can skip segments without).
func uuidAt[T text](s T, i int) bool {
	if len(s)-i < 36 {
		return false
	}
	digit := false
	for k := 0; k < 36; k++ {
		c := s[i+k]
		if k == 8 || k == 13 || k == 18 || k == 23 {
			if c != '-' {
				return false
			}
		} else if isDigit(c) {
			digit = true
		} else if !isHex(c) {
			return false
		}
	}
	return digit
}

// isEmail: an '@' that is not the first byte (a leading '@' is a public
// handle, "@jane@mastodon.social" included), followed by a domain.
func isEmail[T text](s T) bool {
	if len(s) < 6 || s[0] == '@' { // a@b.cd
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if s[i] == '@' && emailDomain(s[i+1:]) {
			return true
		}
	}
	return false
}

// emailDomain reports whether d starts with a domain: a label, a '.' and a
// label of 2+ characters that starts with a letter (or a non-ASCII
// character). What follows the domain does not matter ("a@b.com;x" is an
// address), which also makes the answer depend only on a prefix of d.
func emailDomain[T text](d T) bool {
	if isDensity(d) {
		return false
	}
	dots, n := 0, 0 // labels ended, length of the current label
	var first byte
	for i := 0; i < len(d); i++ {
		c := d[i]
		switch {
		case c == '.':
			if n == 0 {
				return false
			}
			dots++
			n = 0
		case isAlnum(c) || c == '-' || c >= 0x80:
			if n == 0 {
				first = c
			}
			n++
			if dots > 0 && n >= 2 && (isAlpha(first) || first >= 0x80) {
				return true
			}
		default:
			return false
		}
	}
	return false
}

// isDensity reports whether d starts with an image density suffix after
// the '@' of "logo@2x.png" or "icon@1.5x.webp": digits, maybe '.' and
// digits, 'x', and then '.' or the end.
func isDensity[T text](d T) bool {
	i := 0
	for i < len(d) && isDigit(d[i]) {
		i++
	}
	if i == 0 {
		return false
	}
	if i < len(d) && d[i] == '.' {
		j := i + 1
		for j < len(d) && isDigit(d[j]) {
			j++
		}
		if j == i+1 {
			return false
		}
		i = j
	}
	if i == len(d) || d[i]|0x20 != 'x' {
		return false
	}
	i++
	return i == len(d) || d[i] == '.'
}

// isPhone: "+" or "tel:+", then 7 to 15 digits grouped by ' ', '-', '.',
// '(' and ')', starting and ending with a digit (or '(').
func isPhone[T text](s T) bool {
	i := 0
	if len(s) > 4 && s[0]|0x20 == 't' && s[1]|0x20 == 'e' && s[2]|0x20 == 'l' && s[3] == ':' {
		i = 4
	}
	if len(s)-i < 1+minPhone || s[i] != '+' || !isDigit(s[len(s)-1]) {
		return false
	}
	i++
	if c := s[i]; !isDigit(c) && c != '(' {
		return false
	}
	digits := 0
	for ; i < len(s); i++ {
		switch c := s[i]; {
		case isDigit(c):
			digits++
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
		default:
			return false
		}
	}
	return digits >= minPhone && digits <= maxPhone
}

// isIPv4: four decimal numbers 0-255 without leading zeros, separated by
// dots.
func isIPv4[T text](s T) bool {
	parts, n, val := 0, 0, 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			if n == 0 || val > 255 || n > 1 && s[i-n] == '0' {
				return false
			}
			parts++
			n, val = 0, 0
			continue
		}
		if !isDigit(s[i]) || n == 3 {
			return false
		}
		val = val*10 + int(s[i]-'0')
		n++
	}
	return parts == 4
}

// isIPv6: eight groups of 1 to 4 hex digits separated by ':', fewer with
// one "::", the last two maybe an IPv4 address; with at least one decimal
// digit, so that words such as "cafe::babe" stay.
func isIPv6[T text](s T) bool {
	if len(s) < 3 || len(s) > 45 {
		return false
	}
	digit := false
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			digit = true
			break
		}
	}
	if !digit {
		return false
	}
	groups, double := 0, false
	i := 0
	if s[0] == ':' {
		if s[1] != ':' {
			return false
		}
		double = true
		i = 2
	}
	for {
		j := i
		for j < len(s) && isHex(s[j]) {
			j++
		}
		if j < len(s) && s[j] == '.' {
			if !isIPv4(s[i:]) {
				return false
			}
			groups += 2
			break
		}
		if j == i || j-i > 4 {
			return false
		}
		groups++
		if j == len(s) {
			break
		}
		if s[j] != ':' || j+1 == len(s) {
			return false
		}
		j++
		if s[j] == ':' {
			if double {
				return false
			}
			double = true
			j++
			if j == len(s) {
				break
			}
		}
		i = j
	}
	if double {
		return groups < 8
	}
	return groups == 8
}

// isJWT: base64url of '{"' ("eyJ"), then base64url characters and dots: a
// JWT (two dots; four for JWE), or base64-encoded JSON.
func isJWT[T text](s T) bool {
	if len(s) < minJWTLen || !isJWTStart(s) {
		return false
	}
	for i := 3; i < len(s); i++ {
		if c := s[i]; !isBase64URL(c) && c != '.' && c != '=' {
			return false
		}
	}
	return true
}

// tokenStats collects, over the pieces of a segment that parts has not
// replaced, what the token rule needs.
type tokenStats struct {
	bad     bool // a byte outside the token alphabet, or '=' not at the end
	pad     int  // '=' seen
	long    int  // bytes of the pieces that change kind
	changes int  // changes of kind in those pieces
	digit   bool // those pieces have a digit
}

// kinds of characters for token: lowercase, uppercase, digit.
const (
	kindLower = iota
	kindUpper
	kindDigit
)

func (st *tokenStats) delim(c byte) {
	switch {
	case c == '=':
		st.pad++
		if st.pad > 2 {
			st.bad = true
		}
	case st.pad > 0:
		st.bad = true
	case c == '-' || c == '_' || c == '+':
	default:
		st.bad = true
	}
}

// addWord adds a piece: a run of isWord bytes.
func addWord[T text](st *tokenStats, w T) {
	if st.pad > 0 {
		st.bad = true
	}
	if st.bad {
		return
	}
	changes, digit := 0, false
	prev := -1
	for i := 0; i < len(w); i++ {
		c := w[i]
		var k int
		switch {
		case c >= 'a' && c <= 'z':
			k = kindLower
		case c >= 'A' && c <= 'Z':
			k = kindUpper
		case isDigit(c):
			k = kindDigit
			digit = true
		default:
			st.bad = true // non-ASCII
			return
		}
		if prev >= 0 && k != prev && !(prev == kindUpper && k == kindLower) {
			changes++
		}
		prev = k
	}
	if changes > 0 {
		st.long += len(w)
		st.changes += changes
		st.digit = st.digit || digit
	}
}

func (st *tokenStats) isToken() bool {
	return !st.bad && st.digit && st.long >= minTokenLen && st.changes*tokenPerShift >= st.long
}

// hasEscape reports whether s contains a %XX escape.
func hasEscape(s string) bool {
	for i := 0; i+2 < len(s); i++ {
		if s[i] == '%' && isHex(s[i+1]) && isHex(s[i+2]) {
			return true
		}
	}
	return false
}

func unhex(c byte) byte {
	switch {
	case isDigit(c):
		return c - '0'
	default:
		return c | 0x20 - 'a' + 10
	}
}

// appendUnescape appends s with its %XX escapes decoded.
func appendUnescape(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			c = unhex(s[i+1])<<4 | unhex(s[i+2])
			i += 2
		}
		dst = append(dst, c)
	}
	return dst
}
