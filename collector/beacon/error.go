package beacon

import (
	"unicode/utf8"
)

// Error is a validation failure. Field and Message map onto the body of
// Plausible's 400 answer: {"errors":{"<Field>":["<Message>"]}}.
//
// Decode returns shared *Error values: do not modify them.
type Error struct {
	Field   string
	Message string
}

func (e *Error) Error() string {
	return "invalid beacon: " + e.Field + ": " + e.Message
}

// AppendJSON appends the 400 body, e.g. {"errors":{"url":["is required"]}},
// to dst.
func (e *Error) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"errors":{`...)
	dst = appendJSONString(dst, e.Field)
	dst = append(dst, `:[`...)
	dst = appendJSONString(dst, e.Message)
	return append(dst, `]}}`...)
}

// JSON returns the 400 body; see AppendJSON.
func (e *Error) JSON() []byte {
	return e.AppendJSON(make([]byte, 0, 24+len(e.Field)+len(e.Message)))
}

// The errors Decode returns. Messages follow Plausible's wording where it has
// one.
var (
	errRequest = &Error{"request", "Unable to parse request body as json"}

	errNameRequired = &Error{"name", "is required"}
	errNameInvalid  = &Error{"name", "is invalid"}
	errNameTooLong  = &Error{"name", "should be at most 120 character(s)"}

	errURLRequired = &Error{"url", "is required"}
	errURLInvalid  = &Error{"url", "is invalid"}
	errURLScheme   = &Error{"url", "must be an http or https URL"}
	errURLTooLong  = &Error{"url", "should be at most 2000 byte(s)"}

	errDomainInvalid = &Error{"domain", "is invalid"}
	errDomainBlank   = &Error{"domain", "can't be blank"}

	errReferrerInvalid = &Error{"referrer", "is invalid"}

	errPropsInvalid = &Error{"props", "must be an object or a string holding a JSON object"}
	errPropsTooLong = &Error{"props", "keys should be at most 300 bytes and values at most 2000 bytes"}

	errEngagement = &Error{"engagement", "needs a valid sd or e"}
)

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string literal. Invalid UTF-8 becomes
// U+FFFD; U+2028 and U+2029 are escaped so the output is also safe inside a
// <script>.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
