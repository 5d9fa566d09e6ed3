package tech

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// An error message is written by a program, but programs quote data into
// their messages: `Cannot find user jane@example.com`, `Request to
// https://api.example.com/reset?token=9f8e... failed`, `Order 83412 not
// found`, `Unexpected token 'J', "Jane Doe" is not valid JSON`. Normalize
// keeps the program's words and replaces everything that looks like data by
// a placeholder, in this order:
//
//   - URLs (anything with "://", and blob:, data:, file:, javascript:,
//     mailto: URIs) -> <url>
//   - e-mail addresses -> <email>
//   - quoted text ('...', "...", `...`, “...”, ‘...’) -> the same quotes
//     around <str>, unless the quoted text is a plain identifier without
//     digits, up to 40 characters (`'map'`, `"Window"`, `'foo.bar'`), which
//     is how programs name properties and functions
//   - UUIDs -> <uuid>
//   - IPv6 addresses (3 or more colons, or "::") -> <ip>
//   - runs of 8 or more hex digits with a digit -> <hex>
//   - words of 16 or more letters, digits, "-", "_", "+", "/", "=" mixing
//     letters and digits (tokens, base64) -> <token>
//   - every remaining run of digits (with decimals) -> <n>; so IPv4
//     addresses, ids, amounts, phone numbers and dates lose their digits
//
// then collapses white space, drops control characters and cuts the result
// to MaxMessage bytes. The same program error thus gets the same message
// (and fingerprint) whatever data it quoted.
func Normalize(dst []byte, msg string) []byte {
	if len(msg) > 4*MaxMessage {
		msg = msg[:4*MaxMessage] // the rest cannot survive the cut anyway
	}
	// Broken bytes and control characters become spaces first, so that
	// dropping them cannot join two harmless pieces into a URL or a number.
	msg = strings.Map(func(r rune) rune {
		if r == utf8.RuneError || unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(msg, " "))
	msg = urlRe.ReplaceAllString(msg, "<url>")
	msg = emailRe.ReplaceAllString(msg, "<email>")
	msg = quotedRe.ReplaceAllStringFunc(msg, quoted)
	msg = uuidRe.ReplaceAllString(msg, "<uuid>")
	msg = ipv6Re.ReplaceAllStringFunc(msg, func(s string) string {
		if strings.ContainsAny(s, "0123456789") && (strings.Count(s, ":") >= 3 || strings.Contains(s, "::")) {
			return "<ip>"
		}
		return s
	})
	msg = hexRe.ReplaceAllStringFunc(msg, func(s string) string {
		if strings.ContainsAny(s, "0123456789") {
			return "<hex>"
		}
		return s
	})
	msg = tokenRe.ReplaceAllStringFunc(msg, func(s string) string {
		if strings.ContainsAny(s, "0123456789") && strings.IndexFunc(s, unicode.IsLetter) >= 0 {
			return "<token>"
		}
		return s
	})
	msg = numberRe.ReplaceAllString(msg, "<n>")

	start := len(dst)
	space := false
	for _, r := range msg {
		switch {
		case unicode.IsSpace(r):
			space = len(dst) > start
			continue
		}
		if space {
			dst = append(dst, ' ')
			space = false
		}
		dst = utf8.AppendRune(dst, r)
	}
	if len(dst)-start > MaxMessage {
		dst = truncate(dst, start+MaxMessage)
	}
	return dst
}

var (
	urlRe    = regexp.MustCompile(`(?i)(?:[a-z][a-z0-9+.\-]*://|\b(?:blob|data|file|javascript|mailto):)[^\s'"<>` + "`" + `]*`)
	emailRe  = regexp.MustCompile(`[^\s'"<>()\[\]{},;:@` + "`" + `]+@[^\s'"<>()\[\]{},;:@` + "`" + `]+\.[^\s'"<>()\[\]{},;:@` + "`" + `]+`)
	quotedRe = regexp.MustCompile(`'[^']*'|"[^"]*"|` + "`[^`]*`" + `|“[^”]*”|‘[^’]*’`)
	identRe  = regexp.MustCompile(`^(?:[A-Za-z_$][A-Za-z_$.\-]{0,39}|<(?:url|email|str)>)?$`)
	uuidRe   = regexp.MustCompile(`(?i)\b[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\b`)
	ipv6Re   = regexp.MustCompile(`(?i)[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}`)
	hexRe    = regexp.MustCompile(`(?i)\b(?:0x)?[0-9a-f]{8,}\b`)
	tokenRe  = regexp.MustCompile(`[A-Za-z0-9_\-+/=]{16,}`)
	numberRe = regexp.MustCompile(`[0-9]+(?:[.,][0-9]+)*`)
)

// quoted keeps a quoted identifier and replaces any other quoted text.
func quoted(s string) string {
	open, size := utf8.DecodeRuneInString(s)
	close, csize := utf8.DecodeLastRuneInString(s)
	inner := s[size : len(s)-csize]
	if identRe.MatchString(inner) {
		return s
	}
	return string(open) + "<str>" + string(close)
}
