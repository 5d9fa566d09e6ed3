// Package tech reads the snippet's technical events: "$web_vitals" (the
// page's web vitals) and "$js_error" (an uncaught JavaScript error). Both
// arrive at the event endpoint as ordinary beacons under reserved names; this
// package validates their properties and, for errors, replaces the browser's
// message by a normalised one that cannot carry the data a message may quote
// (e-mail addresses, URLs with tokens, ids, numbers, user input in quotes).
//
// Names starting with "$" are reserved: a beacon with any other "$" name is
// refused, so that a future technical event cannot be counted as a goal by
// an older collector.
package tech

import (
	"encoding/binary"
	"encoding/hex"
	"hash/fnv"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"analytics/aggregator"
	"analytics/aggregator/vitals"
	"analytics/collector/beacon"
)

// The reserved event names.
const (
	NameVitals = "$web_vitals"
	NameError  = "$js_error"
)

// Reserved reports whether name is in the reserved "$" namespace.
func Reserved(name string) bool { return strings.HasPrefix(name, "$") }

var (
	// ErrUnknownName refuses a reserved name this collector does not know.
	ErrUnknownName = &beacon.Error{Field: "name", Message: `is a reserved name ("$" prefix) this collector does not know`}
	errNoVitals    = &beacon.Error{Field: "props", Message: "$web_vitals needs at least one of lcp, inp, cls, fcp, ttfb"}
	errNoMessage   = &beacon.Error{Field: "props", Message: "$js_error needs a message"}
	errLineColumn  = &beacon.Error{Field: "props", Message: "$js_error line and column must be whole numbers from 0 to 10000000"}
	errVitalValue  = [vitals.NumMetrics]*beacon.Error{}
)

func init() {
	for m, d := range vitals.Defs {
		unit := " ms"
		if d.Unit == "" {
			unit = ""
		}
		errVitalValue[m] = &beacon.Error{Field: "props",
			Message: d.Name + " must be a number from 0 to " + strconv.FormatFloat(d.Max, 'f', -1, 64) + unit}
	}
}

// Vitals reads the metrics of a "$web_vitals" beacon. Unknown keys are
// ignored (a newer snippet may measure more); a known metric with a value
// that is not a finite number in its range is an error, and so is a beacon
// without any known metric.
func Vitals(props []beacon.Prop, out *aggregator.VitalsSample) error {
	*out = aggregator.VitalsSample{}
	n := 0
	for _, p := range props {
		m, ok := vitals.ByName(p.Key)
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(p.Value, 64)
		if err != nil || math.IsNaN(v) || v < 0 || v > vitals.Defs[m].Max {
			return errVitalValue[m]
		}
		out.Has[m], out.Value[m] = true, v
		n++
	}
	if n == 0 {
		return errNoVitals
	}
	return nil
}

// MaxMessage bounds a normalised message, in bytes.
const MaxMessage = 300

// maxSource bounds the source path, in bytes.
const maxSource = 300

// Error is the reusable state for reading "$js_error" beacons; the strings
// of the report it returns point into its buffers until the next call.
type Error struct {
	msg, src, fp []byte
}

// Report reads a "$js_error" beacon: the message is normalised, the source
// reduced to its path (templated by template, which may be nil) with line
// and column, and the pair fingerprinted.
func (e *Error) Report(props []beacon.Prop, template func(dst []byte, path string) []byte, out *aggregator.ErrorReport) error {
	var message, source, line, column, kind string
	for _, p := range props {
		switch p.Key {
		case "message":
			message = p.Value
		case "source":
			source = p.Value
		case "line":
			line = p.Value
		case "column":
			column = p.Value
		case "kind":
			kind = p.Value
		}
	}
	if strings.TrimSpace(message) == "" {
		return errNoMessage
	}
	ln, ok1 := lineNumber(line)
	col, ok2 := lineNumber(column)
	if !ok1 || !ok2 {
		return errLineColumn
	}
	e.msg = e.msg[:0]
	if kind == "rejection" {
		e.msg = append(e.msg, "(unhandled rejection) "...)
	}
	e.msg = Normalize(e.msg, message)

	e.src = e.src[:0]
	if path := sourcePath(source); path != "" {
		if template != nil {
			e.src = template(e.src, path)
		} else {
			e.src = append(e.src, path...)
		}
		if len(e.src) > maxSource {
			e.src = truncate(e.src, maxSource)
		}
	}
	h := fnv.New64a()
	h.Write(e.msg)
	h.Write([]byte{0})
	h.Write(e.src)
	var sum [8]byte
	binary.BigEndian.PutUint64(sum[:], h.Sum64())
	e.fp = hex.AppendEncode(e.fp[:0], sum[:])

	if len(e.src) > 0 && ln > 0 {
		e.src = append(e.src, ':')
		e.src = strconv.AppendUint(e.src, ln, 10)
		if col > 0 {
			e.src = append(e.src, ':')
			e.src = strconv.AppendUint(e.src, col, 10)
		}
	}
	*out = aggregator.ErrorReport{Fingerprint: string(e.fp), Message: string(e.msg), Source: string(e.src)}
	return nil
}

// lineNumber parses an optional line or column number.
func lineNumber(s string) (uint64, bool) {
	if s == "" {
		return 0, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f > 1e7 || f != math.Trunc(f) {
		return 0, false
	}
	return uint64(f), true
}

// sourcePath returns the path of a script URL: scheme, user info, host,
// query string and fragment dropped. "inline" and anything that is not a
// URL or path give "".
func sourcePath(s string) string {
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i]
	}
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
		j := strings.IndexByte(s, '/')
		if j < 0 {
			return "/"
		}
		s = s[j:]
	}
	if !strings.HasPrefix(s, "/") || !utf8.ValidString(s) {
		return ""
	}
	return s
}

// truncate cuts b to at most n bytes on a UTF-8 boundary.
func truncate(b []byte, n int) []byte {
	for n > 0 && n < len(b) && !utf8.RuneStart(b[n]) {
		n--
	}
	return b[:n]
}
