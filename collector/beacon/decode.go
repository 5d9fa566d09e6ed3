package beacon

import (
	"bytes"
	"unicode/utf8"
	"unsafe"

	"github.com/valyala/fastjson/fastfloat"

	"analytics/collector/memo"
)

// Decoder decodes beacon bodies. It owns the buffers that a decoded Beacon's
// strings point into, and reuses them from one Decode to the next. A Decoder is not safe for concurrent use: keep one per worker
// or in a sync.Pool. The zero value is ready to use.
//
// WARNING: the next Decode or Reset overwrites the bytes behind the strings of
// the Beacon that the previous Decode filled (see Beacon). Put a pooled
// Decoder back only once nothing uses that Beacon's strings any more, and copy
// (Beacon.Clone, strings.Clone) whatever must outlive that.
type Decoder struct {
	// Memo, when set, remembers what whole bodies (see bodymemo.go), page
	// URLs and referrers decoded to, by the keyed hash of their raw JSON
	// text (see package memo), so that a body, URL or referrer seen before
	// is copied instead of parsed. One Table is meant to be shared by all
	// the Decoders of a server. The results are the same with or without
	// it.
	Memo *memo.Table

	tmp []byte // scratch
	// esc holds unescaped JSON strings (and props or revenue sent as a
	// string holding JSON), appended during one Decode: a slice into it
	// stays valid until the next Decode even when esc grows.
	esc []byte

	// All strings of a Beacon are built in out (props in pout) and, once
	// decoding is over and the buffers no longer move, handed out as views
	// (unsafe.String) of these spans.
	out, pout []byte
	name      span
	host      span
	path      span
	ref       span
	utm       [numUTM]span
	revAmount span
	revCurr   span
	domains   []span
	props     []propSpan
}

type span struct{ start, end int }

type propSpan struct{ key, val span }

func (s span) of(str string) string { return str[s.start:s.end] }

// The query parameters we read: the five utm_* values, then the fallbacks of
// utm_source.
const (
	utmSource = iota
	utmMedium
	utmCampaign
	utmContent
	utmTerm
	qSource
	qRef
	numQuery

	numUTM = qSource
)

// clickIDs in order of precedence.
var clickIDs = [...]string{"gclid", "gbraid", "wbraid", "msclkid", "fbclid", "twclid"}

// The top-level members a body may carry, by key. The first occurrence of a
// key wins.
const (
	fN = iota
	fName
	fU
	fURL
	fD
	fDomain
	fR
	fReferrer
	fP
	fProps
	fM
	fMeta
	fRev
	fRevenue
	fH
	fHashMode
	fI
	fInteractive
	fSD
	fE
	fV
	numFields
)

// fieldOf returns the member index of a top-level key, or -1.
func fieldOf(k []byte) int {
	switch string(k) {
	case "n":
		return fN
	case "name":
		return fName
	case "u":
		return fU
	case "url":
		return fURL
	case "d":
		return fD
	case "domain":
		return fDomain
	case "r":
		return fR
	case "referrer":
		return fReferrer
	case "p":
		return fP
	case "props":
		return fProps
	case "m":
		return fM
	case "meta":
		return fMeta
	case "$":
		return fRev
	case "revenue":
		return fRevenue
	case "h":
		return fH
	case "hashMode":
		return fHashMode
	case "i":
		return fI
	case "interactive":
		return fInteractive
	case "sd":
		return fSD
	case "e":
		return fE
	case "v":
		return fV
	}
	return -1
}

// pick returns the first of a and b that is present and not null.
func pick(a, b value) value {
	if a.present() {
		return a
	}
	if b.present() {
		return b
	}
	return value{}
}

// Decode decodes one Events API body into b, which it resets first. On error
// it returns an *Error and leaves b reset.
//
// The body must be a JSON object of valid UTF-8 (strict JSON: no NaN, no
// leading zeros, no invalid escapes, nesting at most 300 deep; one quirk of
// the fastjson validation it used to run is kept: a raw control character in
// a string passes when an escape sequence follows it in the string); unknown
// members are ignored. When an alias and its short form are both present and
// not null, the short form wins: n over name, u over url, d over domain, r
// over referrer, p over props over m over meta, $ over revenue, h over
// hashMode, i over interactive. When a key is repeated, its first occurrence
// wins (inside props too).
//
// b's strings are views into d's buffers: valid until d's next Decode or
// Reset, which overwrite them in place (see Beacon). A Decode allocates
// nothing once d and b have decoded a body of the same shape before (the
// buffers, b.Domains and b.Props keep their capacity).
//
// Errors are checked in this order and only the first is returned: request
// (not JSON, not an object, invalid UTF-8), name, url, domain, referrer,
// props, engagement. A string field of another JSON type is "is invalid"
// (null counts as missing). Fields that only inform (h, i, v, sd, e, $) never
// fail a beacon: invalid values count as absent, and an engagement fails only
// when neither sd nor e is valid.
//
// Rules beyond the Beacon field docs:
//   - n counts code points, not graphemes as Plausible does (stricter only
//     for combining sequences);
//   - the referrer is cut at 2000 bytes (at a character boundary) before its
//     host is taken;
//   - props: string, number (as written), true and false values are kept;
//     null, blank, object and array values drop the pair silently, as do blank
//     keys, duplicates and pairs after the 30th; a key over 300 bytes or a
//     value over 2000 bytes fails the beacon, wherever the pair is;
//   - a string props (or revenue) must hold a JSON object: props that is
//     neither an object nor such a string fails the beacon;
//   - revenue amount: digits with an optional fraction, as a number or a
//     string (no sign, no exponent, at most 32 bytes); currency: three ASCII
//     letters, upper-cased (not checked against ISO 4217);
//   - sd and e: a non-negative number or numeric string, fraction dropped,
//     no exponent; they are ignored on events other than engagement.
func (d *Decoder) Decode(body []byte, b *Beacon) error {
	err := d.decode(body, b)
	if err != nil {
		b.Reset()
	}
	if len(body) > maxRetainedBody {
		// Do not let a pooled Decoder pin the buffers of one huge body.
		*d = Decoder{Memo: d.Memo}
	}
	return err
}

// maxRetainedBody is the largest body whose buffers a Decoder keeps for reuse.
const maxRetainedBody = 64 << 10

// Reset truncates d's buffers for reuse: from here on, the strings of the
// last Beacon d filled are invalid (the next Decode overwrites their bytes).
// Decode resets d itself; call Reset where a Decoder goes back into a pool,
// to mark the point after which its last Beacon must not be read.
func (d *Decoder) Reset() { d.reset() }

func (d *Decoder) decode(body []byte, b *Beacon) error {
	b.Reset()
	d.reset()
	if d.Memo == nil || len(body) > maxMemoBody {
		return d.parse(body, b)
	}
	key := d.Memo.Key(body) ^ memoBody
	if d.bodyFromMemo(key, b) {
		return nil
	}
	if err := d.parse(body, b); err != nil {
		return err
	}
	d.bodyToMemo(key, b)
	return nil
}

// parse decodes body into b and d's buffers, both reset.
func (d *Decoder) parse(body []byte, b *Beacon) error {
	// One pass validates the whole body and finds the members.
	i := skipWS(body, 0)
	if i >= len(body) || body[i] != '{' {
		return errRequest
	}
	var f [numFields]value
	m := members{s: body, i: i + 1, depth: 2}
	var k, v value
	for m.next(&k, &v) {
		key := k.raw(body)
		if k.esc {
			d.tmp = appendUnescaped(d.tmp[:0], key)
			key = d.tmp
		}
		if idx := fieldOf(key); idx >= 0 && f[idx].kind == kindNone {
			f[idx] = v
		}
	}
	if m.err || skipWS(body, m.i) != len(body) {
		return errRequest
	}

	if e := d.decodeName(body, pick(f[fN], f[fName]), b); e != nil {
		return e
	}
	b.HashMode = hashMode(body, pick(f[fH], f[fHashMode]))
	if e := d.decodeURL(body, pick(f[fU], f[fURL]), b); e != nil {
		return e
	}
	if e := d.decodeDomains(body, pick(f[fD], f[fDomain])); e != nil {
		return e
	}
	if e := d.decodeReferrer(body, pick(f[fR], f[fReferrer])); e != nil {
		return e
	}
	if e := d.decodeProps(body, pick(pick(f[fP], f[fProps]), pick(f[fM], f[fMeta]))); e != nil {
		return e
	}
	d.decodeRevenue(body, pick(f[fRev], f[fRevenue]))
	if iv := pick(f[fI], f[fInteractive]); iv.kind != kindNone {
		b.Interactive = !isFalse(body, iv)
	}
	if v := f[fV]; v.kind == kindNumber {
		if n, ok := parseUint(v.raw(body), false); ok && n <= 1<<31-1 {
			b.Version = int(n)
		}
	}
	if b.Name == NameEngagement {
		if v := f[fSD]; v.present() {
			if n, ok := d.number(body, v, true); ok {
				b.ScrollDepth = int(min(n, 100))
			}
		}
		if v := f[fE]; v.present() {
			if n, ok := d.number(body, v, true); ok && n < MaxEngagedMS {
				b.EngagedMS = n
			}
		}
		if b.ScrollDepth < 0 && b.EngagedMS < 0 {
			return errEngagement
		}
	}
	d.materialize(b)
	return nil
}

// str returns the content of the string v of src, unescaped: a view of src
// when it has no escapes, else a view of d.esc (valid until the next Decode).
func (d *Decoder) str(src []byte, v value) []byte {
	if !v.esc {
		return v.raw(src)
	}
	start := len(d.esc)
	d.esc = appendUnescaped(d.esc, v.raw(src))
	return d.esc[start:len(d.esc):len(d.esc)]
}

func (d *Decoder) reset() {
	d.out = d.out[:0]
	d.pout = d.pout[:0]
	d.esc = d.esc[:0]
	d.name, d.host, d.path, d.ref = span{}, span{}, span{}, span{}
	d.utm = [numUTM]span{}
	d.revAmount, d.revCurr = span{}, span{}
	d.domains = d.domains[:0]
	d.props = d.props[:0]
}

// materialize points b's fields into the built bytes without copying them:
// the strings are views of d.out and d.pout, valid until they are next
// written, that is until d's next Decode or Reset. It runs last, once no
// append can move the buffers any more.
func (d *Decoder) materialize(b *Beacon) {
	if len(d.out) > 0 {
		s := unsafe.String(unsafe.SliceData(d.out), len(d.out))
		if b.Name == "" {
			b.Name = d.name.of(s)
		}
		b.Host = d.host.of(s)
		b.Path = d.path.of(s)
		b.ReferrerHost = d.ref.of(s)
		b.UTMSource = d.utm[utmSource].of(s)
		b.UTMMedium = d.utm[utmMedium].of(s)
		b.UTMCampaign = d.utm[utmCampaign].of(s)
		b.UTMContent = d.utm[utmContent].of(s)
		b.UTMTerm = d.utm[utmTerm].of(s)
		b.RevenueAmount = d.revAmount.of(s)
		b.RevenueCurrency = d.revCurr.of(s)
		for _, sp := range d.domains {
			b.Domains = append(b.Domains, sp.of(s))
		}
	}
	if len(d.pout) > 0 {
		s := unsafe.String(unsafe.SliceData(d.pout), len(d.pout))
		for _, ps := range d.props {
			b.Props = append(b.Props, Prop{Key: ps.key.of(s), Value: ps.val.of(s)})
		}
	}
}

func (d *Decoder) appendOut(p []byte) span {
	start := len(d.out)
	d.out = append(d.out, p...)
	return span{start, len(d.out)}
}

func isBlank(s []byte) bool { return len(bytes.TrimSpace(s)) == 0 }

func (d *Decoder) decodeName(src []byte, v value, b *Beacon) *Error {
	var s []byte
	switch v.kind {
	case kindNone:
		return errNameRequired
	case kindString:
		s = d.str(src, v)
		if isBlank(s) {
			return errNameRequired
		}
	case kindNumber:
		s = v.raw(src) // as written
		if bytes.ContainsAny(s, ".eE") {
			return errNameInvalid // an integer, such as 404, but no float
		}
	default:
		return errNameInvalid
	}
	if utf8.RuneCount(s) > MaxNameChars {
		return errNameTooLong
	}
	switch string(s) {
	case NamePageview:
		b.Name = NamePageview
	case NameEngagement:
		b.Name = NameEngagement
	default:
		d.name = d.appendOut(s)
	}
	return nil
}

func (d *Decoder) decodeURL(src []byte, v value, b *Beacon) *Error {
	switch v.kind {
	case kindNone:
		return errURLRequired
	case kindString:
	default:
		return errURLInvalid
	}
	var key uint64
	if d.Memo != nil {
		key = d.Memo.Key(v.raw(src)) ^ memoURL
		if b.HashMode {
			key ^= memoHashMode
		}
		if d.urlFromMemo(key, b) {
			return nil
		}
	}
	s := bytes.TrimSpace(d.str(src, v))
	if len(s) == 0 {
		return errURLRequired
	}
	if len(s) > MaxURLBytes {
		return errURLTooLong
	}
	u, st := splitURL(s)
	switch st {
	case urlBadScheme:
		return errURLScheme
	case urlInvalid:
		return errURLInvalid
	}
	var start int
	d.out, start = appendHost(d.out, u.host)
	d.host = span{start, len(d.out)}

	start = len(d.out)
	if len(u.path) == 0 || u.path[0] != '/' && u.path[0] != '\\' {
		d.out = append(d.out, '/')
	}
	var high, fragHigh bool
	d.out, high = appendPathHigh(d.out, u.path)
	if b.HashMode && u.hasFrag {
		frag := u.fragment
		if q := bytes.IndexByte(frag, '?'); q >= 0 {
			frag = frag[:q] // a hash router's query string is a query string
		}
		if len(frag) > 0 {
			d.out = append(d.out, '#')
			d.out, fragHigh = appendPathHigh(d.out, frag)
		}
	}
	d.path = span{start, len(d.out)}
	// The URL is valid UTF-8 and so is what appendPath copies: only bytes
	// it decoded from escapes can make the path invalid.
	if (high || fragHigh) && !utf8.Valid(d.out[start:]) {
		return errURLInvalid
	}

	d.decodeQuery(u.query, b)
	if d.Memo != nil {
		d.urlToMemo(key, b)
	}
	return nil
}

// Memo keys of the two kinds of values a Decoder remembers are the raw
// JSON text's key mixed with a constant of the kind (and of hash mode, which
// changes what a URL decodes to).
const (
	memoURL      = 0x5a1d_0c3e_9b27_46f1
	memoReferrer = 0x2e8b_71a4_d06c_935f
	memoHashMode = 0x7c4f_1b92_e5a3_0d68
)

// A remembered URL is a header of urlMemoHeader bytes, then the host, the
// path and the five utm values one after the other. The header holds the
// click id's index in clickIDs (or len(clickIDs)), the length of the host
// (one byte), of the path (two, big-endian) and of each utm value (one each:
// at most MaxUTMBytes). URLs whose parts are longer are not remembered.
const urlMemoHeader = 1 + 1 + 2 + numUTM

// urlToMemo remembers what decodeURL found.
func (d *Decoder) urlToMemo(key uint64, b *Beacon) {
	host, path := d.host.end-d.host.start, d.path.end-d.path.start
	if host > 255 || path > 0xffff {
		return
	}
	v := append(d.tmp[:0], byte(len(clickIDs)), byte(host), byte(path>>8), byte(path))
	for i, id := range clickIDs {
		if b.ClickID == id {
			v[0] = byte(i)
		}
	}
	for _, u := range d.utm {
		v = append(v, byte(u.end-u.start)) // <= MaxUTMBytes
	}
	v = append(v, d.out[d.host.start:d.host.end]...)
	v = append(v, d.out[d.path.start:d.path.end]...)
	for _, u := range d.utm {
		v = append(v, d.out[u.start:u.end]...)
	}
	d.tmp = v
	d.Memo.Put(key, v) // ignored when too long
}

// urlFromMemo appends a remembered URL to out (after its header, left in
// out unused) and sets the spans and b's click id, or reports false.
func (d *Decoder) urlFromMemo(key uint64, b *Beacon) bool {
	base := len(d.out)
	out, ok := d.Memo.Get(d.out, key)
	if !ok {
		return false
	}
	v := out[base:]
	if len(v) < urlMemoHeader || int(v[0]) > len(clickIDs) {
		return false // not what urlToMemo writes: d.out is left as it was
	}
	n := urlMemoHeader + int(v[1]) + (int(v[2])<<8 | int(v[3]))
	for _, l := range v[4:urlMemoHeader] {
		n += int(l)
	}
	if n != len(v) {
		return false
	}
	d.out = out
	at := base + urlMemoHeader
	next := func(l int) span {
		sp := span{at, at + l}
		at += l
		return sp
	}
	d.host = next(int(v[1]))
	d.path = next(int(v[2])<<8 | int(v[3]))
	for i, l := range v[4:urlMemoHeader] {
		d.utm[i] = span{}
		if l > 0 {
			d.utm[i] = next(int(l))
		}
	}
	if int(v[0]) < len(clickIDs) {
		b.ClickID = clickIDs[v[0]]
	}
	return true
}

func (d *Decoder) decodeQuery(q []byte, b *Beacon) {
	var vals [numQuery][]byte // raw values; the first non-empty one wins
	click := len(clickIDs)
	for len(q) > 0 {
		pair := q
		if amp := bytes.IndexByte(q, '&'); amp >= 0 {
			pair, q = q[:amp], q[amp+1:]
		} else {
			q = nil
		}
		key, val := pair, []byte(nil)
		if eq := bytes.IndexByte(pair, '='); eq >= 0 {
			key, val = pair[:eq], pair[eq+1:]
		}
		if len(val) == 0 || len(key) == 0 {
			continue
		}
		if bytes.IndexByte(key, '%') >= 0 || bytes.IndexByte(key, '+') >= 0 {
			d.tmp = appendQueryValue(d.tmp[:0], key)
			key = d.tmp
		}
		idx := -1
		switch string(key) {
		case "utm_source":
			idx = utmSource
		case "utm_medium":
			idx = utmMedium
		case "utm_campaign":
			idx = utmCampaign
		case "utm_content":
			idx = utmContent
		case "utm_term":
			idx = utmTerm
		case "source":
			idx = qSource
		case "ref":
			idx = qRef
		default:
			for i := 0; i < click; i++ {
				if string(key) == clickIDs[i] {
					click = i
					break
				}
			}
		}
		if idx >= 0 && vals[idx] == nil {
			vals[idx] = val
		}
	}
	for i := range numUTM {
		d.utm[i] = d.appendQueryValue(vals[i])
	}
	for i := qSource; i <= qRef && d.utm[utmSource].start == d.utm[utmSource].end; i++ {
		d.utm[utmSource] = d.appendQueryValue(vals[i])
	}
	if click < len(clickIDs) {
		b.ClickID = clickIDs[click]
	}
}

// appendQueryValue decodes, trims and caps one utm value into out. A value
// that is not valid UTF-8 once decoded counts as absent.
func (d *Decoder) appendQueryValue(raw []byte) span {
	if len(raw) == 0 {
		return span{}
	}
	d.tmp = appendQueryValue(d.tmp[:0], raw)
	if !utf8.Valid(d.tmp) {
		return span{}
	}
	v := truncateUTF8(bytes.TrimSpace(d.tmp), MaxUTMBytes)
	if len(v) == 0 {
		return span{}
	}
	return d.appendOut(v)
}

func (d *Decoder) decodeDomains(src []byte, v value) *Error {
	switch v.kind {
	case kindNone:
		d.domains = append(d.domains, d.host)
		return nil
	case kindString:
	default:
		return errDomainInvalid
	}
	s := d.str(src, v)
	for len(s) > 0 && len(d.domains) < MaxDomains {
		item := s
		if c := bytes.IndexByte(s, ','); c >= 0 {
			item, s = s[:c], s[c+1:]
		} else {
			s = nil
		}
		item = bytes.TrimSpace(item)
		if len(item) == 0 {
			continue
		}
		var start int
		d.out, start = appendHost(d.out, item)
		sp := span{start, len(d.out)}
		if bytes.Equal(d.out[start:], d.out[d.host.start:d.host.end]) {
			d.out = d.out[:start]
			sp = d.host // the common case: share the page host's bytes
		}
		dup := false
		for _, o := range d.domains {
			if bytes.Equal(d.out[o.start:o.end], d.out[sp.start:sp.end]) {
				dup = true
				break
			}
		}
		if dup {
			d.out = d.out[:min(len(d.out), start)]
			continue
		}
		d.domains = append(d.domains, sp)
	}
	if len(d.domains) == 0 {
		return errDomainBlank
	}
	return nil
}

func (d *Decoder) decodeReferrer(src []byte, v value) *Error {
	switch v.kind {
	case kindNone:
		return nil
	case kindString:
	default:
		return errReferrerInvalid
	}
	start := len(d.out)
	if d.Memo == nil {
		d.out = d.appendReferrerHost(d.out, d.str(src, v))
	} else {
		key := d.Memo.Key(v.raw(src)) ^ memoReferrer
		var ok bool
		if d.out, ok = d.Memo.Get(d.out, key); !ok {
			d.out = d.appendReferrerHost(d.out, d.str(src, v))
			d.Memo.Put(key, d.out[start:])
		}
	}
	switch {
	case len(d.out) == start: // none, or unusable
	case bytes.Equal(d.out[start:], d.out[d.host.start:d.host.end]) &&
		!hasPrefixFold(bytes.TrimSpace(d.str(src, v)), "android-app://"):
		// Internal navigation. An app's package name is never the page's
		// host, even when it reads the same.
		d.out = d.out[:start]
	default:
		d.ref = span{start, len(d.out)}
	}
	return nil
}

// appendReferrerHost appends the host of the referrer s to out, or nothing
// when s has none: blank, unusable or not http(s) (an unusable referrer is
// no referrer). An android-app:// referrer gives the app's package name.
func (d *Decoder) appendReferrerHost(out, s []byte) []byte {
	s = truncateUTF8(bytes.TrimSpace(s), MaxReferrerBytes)
	if len(s) == 0 {
		return out
	}
	if hasPrefixFold(s, "android-app://") {
		pkg := s[len("android-app://"):]
		end := 0
		for end < len(pkg) && (isAlpha(pkg[end]) || isDigit(pkg[end]) || pkg[end] == '.' || pkg[end] == '_') {
			end++
		}
		if end > 0 && (end == len(pkg) || isDelim(pkg[end])) {
			out, _ = appendHost(out, pkg[:end])
		}
		return out
	}
	u, st := splitURL(s)
	if st != urlOK {
		return out
	}
	out, _ = appendHost(out, u.host)
	return out
}

func (d *Decoder) decodeProps(body []byte, v value) *Error {
	if v.kind == kindNone {
		return nil
	}
	src, m, e := d.objectOrJSONString(body, v)
	if e != nil || m.s == nil {
		return e
	}
	var k, pv value
	for m.next(&k, &pv) {
		start := len(d.pout)
		if k.esc {
			d.pout = appendUnescaped(d.pout, k.raw(src))
		} else {
			d.pout = append(d.pout, k.raw(src)...)
		}
		keyEnd := len(d.pout)
		switch pv.kind {
		case kindString:
			if pv.esc {
				d.pout = appendUnescaped(d.pout, pv.raw(src))
			} else {
				d.pout = append(d.pout, pv.raw(src)...)
			}
		case kindNumber:
			d.pout = append(d.pout, pv.raw(src)...) // as written
		case kindTrue:
			d.pout = append(d.pout, "true"...)
		case kindFalse:
			d.pout = append(d.pout, "false"...)
		default: // null is blank; objects and arrays are not properties
			d.pout = d.pout[:start]
			continue
		}
		ps := propSpan{span{start, keyEnd}, span{keyEnd, len(d.pout)}}
		key, val := d.pout[start:keyEnd], d.pout[keyEnd:]
		if len(key) > MaxPropKeyBytes || len(val) > MaxPropValBytes {
			return errPropsTooLong
		}
		keep := len(d.props) < MaxProps && !isBlank(key) && !isBlank(val)
		for i := 0; keep && i < len(d.props); i++ {
			o := d.props[i].key
			keep = !bytes.Equal(d.pout[o.start:o.end], key)
		}
		if !keep {
			d.pout = d.pout[:start]
			continue
		}
		d.props = append(d.props, ps)
	}
	return nil
}

// objectOrJSONString returns an iterator over the members of v, an object
// member of the top-level object of body, or of the object that the JSON
// string v holds, and the text they are in. A blank string is no object
// (m.s is nil) and no error.
func (d *Decoder) objectOrJSONString(body []byte, v value) (src []byte, m members, e *Error) {
	switch v.kind {
	case kindObject:
		// A member of the top-level object is at depth 2.
		return body, members{s: body, i: v.start + 1, depth: 3}, nil
	case kindString:
		s := d.str(body, v)
		if isBlank(s) {
			return nil, members{}, nil
		}
		inner, ok := scanDocument(s)
		if !ok || inner.kind != kindObject {
			return nil, members{}, errPropsInvalid
		}
		return s, members{s: s, i: inner.start + 1, depth: 2}, nil
	}
	return nil, members{}, errPropsInvalid
}

// decodeRevenue keeps a valid {"amount", "currency"} and drops anything else
// silently, as Plausible does.
func (d *Decoder) decodeRevenue(body []byte, v value) {
	if v.kind == kindNone {
		return
	}
	src, m, e := d.objectOrJSONString(body, v)
	if e != nil || m.s == nil {
		return
	}
	// The first member of each name counts.
	var amount, currency, k, mv value
	for m.next(&k, &mv) {
		key := k.raw(src)
		if k.esc {
			d.tmp = appendUnescaped(d.tmp[:0], key)
			key = d.tmp
		}
		switch {
		case amount.kind == kindNone && string(key) == "amount":
			amount = mv
		case currency.kind == kindNone && string(key) == "currency":
			currency = mv
		}
	}
	if amount.kind == kindNone || currency.kind != kindString {
		return
	}
	cur := bytes.TrimSpace(d.str(src, currency))
	if len(cur) != 3 || !isAlpha(cur[0]) || !isAlpha(cur[1]) || !isAlpha(cur[2]) {
		return
	}
	var amt []byte
	switch amount.kind {
	case kindNumber:
		amt = amount.raw(src)
	case kindString:
		amt = bytes.TrimSpace(d.str(src, amount))
	default:
		return
	}
	if len(amt) > 32 || !isPlainDecimal(amt) {
		return
	}
	d.revAmount = d.appendOut(amt)
	start := len(d.out)
	for _, c := range cur {
		d.out = append(d.out, c&^0x20) // upper case
	}
	d.revCurr = span{start, len(d.out)}
}

// isPlainDecimal reports whether s is digits with an optional fraction.
func isPlainDecimal(s []byte) bool {
	intPart, frac, hasFrac := bytes.Cut(s, []byte("."))
	if len(intPart) == 0 || hasFrac && len(frac) == 0 {
		return false
	}
	for _, c := range intPart {
		if !isDigit(c) {
			return false
		}
	}
	for _, c := range frac {
		if !isDigit(c) {
			return false
		}
	}
	return true
}

// parseUint parses digits, with a fraction that is dropped when allowFrac.
// It refuses signs, exponents and values above 1e15.
func parseUint(s []byte, allowFrac bool) (int64, bool) {
	intPart, frac, hasFrac := bytes.Cut(s, []byte("."))
	if len(intPart) == 0 || len(intPart) > 15 || hasFrac && (!allowFrac || len(frac) == 0) {
		return 0, false
	}
	var n int64
	for _, c := range intPart {
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	for _, c := range frac {
		if !isDigit(c) {
			return 0, false
		}
	}
	return n, true
}

// number reads a non-negative JSON number, or a string holding one,
// truncated to an integer.
func (d *Decoder) number(src []byte, v value, allowFrac bool) (int64, bool) {
	switch v.kind {
	case kindNumber:
		return parseUint(v.raw(src), allowFrac)
	case kindString:
		return parseUint(bytes.TrimSpace(d.str(src, v)), allowFrac)
	}
	return 0, false
}

// hashMode is true for h = 1, 1.0 or true.
func hashMode(src []byte, v value) bool {
	switch v.kind {
	case kindTrue:
		return true
	case kindNumber:
		f, err := numberValue(v.raw(src))
		return err == nil && f == 1
	}
	return false
}

// isFalse is true for false and 0.
func isFalse(src []byte, v value) bool {
	switch v.kind {
	case kindFalse:
		return true
	case kindNumber:
		f, err := numberValue(v.raw(src))
		return err == nil && f == 0
	}
	return false
}

// numberValue parses a JSON number as fastjson's Value.Float64 does.
func numberValue(raw []byte) (float64, error) {
	switch string(raw) {
	case "0":
		return 0, nil
	case "1":
		return 1, nil
	}
	return fastfloat.Parse(unsafe.String(unsafe.SliceData(raw), len(raw)))
}
