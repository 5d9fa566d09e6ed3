package beacon

// The decoder as it was before the single-pass JSON scanner (fastjson.Parse +
// fastjson.Validate + utf8.Valid, then the same field rules), kept as the
// reference that FuzzDecodeMatchesReference compares Decoder against: the
// scanner must accept, refuse and decode every body exactly as this did.

import (
	"reflect"
	"strings"
	"testing"

	"bytes"
	"unicode/utf8"
	"unsafe"

	"github.com/valyala/fastjson"
)

// Decoder decodes beacon bodies. It owns a fastjson parser and the buffers
// that a decoded Beacon's strings point into, and reuses them from one Decode
// to the next. A Decoder is not safe for concurrent use: keep one per worker
// or in a sync.Pool. The zero value is ready to use.
//
// WARNING: the next Decode or Reset overwrites the bytes behind the strings of
// the Beacon that the previous Decode filled (see Beacon). Put a pooled
// Decoder back only once nothing uses that Beacon's strings any more, and copy
// (Beacon.Clone, strings.Clone) whatever must outlive that.
type refDecoder struct {
	p  fastjson.Parser // the body
	pp fastjson.Parser // props or revenue sent as a string holding JSON

	tmp []byte // scratch

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

// fields are the top-level members of a body, by key. The first occurrence
// of a key wins.
type refFields struct {
	n, name         *fastjson.Value
	u, url          *fastjson.Value
	d, domain       *fastjson.Value
	r, referrer     *fastjson.Value
	p, props, m, mt *fastjson.Value
	rev, revenue    *fastjson.Value
	h, hashMode     *fastjson.Value
	i, interactive  *fastjson.Value
	sd, e, v        *fastjson.Value
}

func refSet(dst **fastjson.Value, v *fastjson.Value) {
	if *dst == nil {
		*dst = v
	}
}

// pick returns the first of vs that is present and not null.
func refPick(vs ...*fastjson.Value) *fastjson.Value {
	for _, v := range vs {
		if v != nil && v.Type() != fastjson.TypeNull {
			return v
		}
	}
	return nil
}

// Decode decodes one Events API body into b, which it resets first. On error
// it returns an *Error and leaves b reset.
//
// The body must be a JSON object of valid UTF-8 (strict JSON: no NaN, no
// leading zeros, no invalid escapes, nesting at most 300 deep); unknown
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
func (d *refDecoder) Decode(body []byte, b *Beacon) error {
	err := d.decode(body, b)
	if err != nil {
		b.Reset()
	}
	if len(body) > maxRetainedBody {
		// Do not let a pooled Decoder pin the buffers of one huge body.
		*d = refDecoder{}
	}
	return err
}

// Reset truncates d's buffers for reuse: from here on, the strings of the
// last Beacon d filled are invalid (the next Decode overwrites their bytes).
// Decode resets d itself; call Reset where a Decoder goes back into a pool,
// to mark the point after which its last Beacon must not be read.
func (d *refDecoder) Reset() { d.reset() }

func (d *refDecoder) decode(body []byte, b *Beacon) error {
	b.Reset()
	d.reset()
	if !utf8.Valid(body) {
		return errRequest
	}
	// Parse first: it bounds the nesting depth. Validate then refuses what
	// fastjson's lenient parser accepts but JSON does not (NaN, 01, "\x").
	root, err := d.p.ParseBytes(body)
	if err != nil || fastjson.ValidateBytes(body) != nil {
		return errRequest
	}
	obj, err := root.Object()
	if err != nil {
		return errRequest
	}
	var f refFields
	obj.Visit(func(k []byte, v *fastjson.Value) {
		switch string(k) {
		case "n":
			refSet(&f.n, v)
		case "name":
			refSet(&f.name, v)
		case "u":
			refSet(&f.u, v)
		case "url":
			refSet(&f.url, v)
		case "d":
			refSet(&f.d, v)
		case "domain":
			refSet(&f.domain, v)
		case "r":
			refSet(&f.r, v)
		case "referrer":
			refSet(&f.referrer, v)
		case "p":
			refSet(&f.p, v)
		case "props":
			refSet(&f.props, v)
		case "m":
			refSet(&f.m, v)
		case "meta":
			refSet(&f.mt, v)
		case "$":
			refSet(&f.rev, v)
		case "revenue":
			refSet(&f.revenue, v)
		case "h":
			refSet(&f.h, v)
		case "hashMode":
			refSet(&f.hashMode, v)
		case "i":
			refSet(&f.i, v)
		case "interactive":
			refSet(&f.interactive, v)
		case "sd":
			refSet(&f.sd, v)
		case "e":
			refSet(&f.e, v)
		case "v":
			refSet(&f.v, v)
		}
	})

	if e := d.decodeName(refPick(f.n, f.name), b); e != nil {
		return e
	}
	b.HashMode = refHashMode(refPick(f.h, f.hashMode))
	if e := d.decodeURL(refPick(f.u, f.url), b); e != nil {
		return e
	}
	if e := d.decodeDomains(refPick(f.d, f.domain)); e != nil {
		return e
	}
	if e := d.decodeReferrer(refPick(f.r, f.referrer)); e != nil {
		return e
	}
	if e := d.decodeProps(refPick(f.p, f.props, f.m, f.mt)); e != nil {
		return e
	}
	d.decodeRevenue(refPick(f.rev, f.revenue))
	if iv := refPick(f.i, f.interactive); iv != nil {
		b.Interactive = !refIsFalse(iv)
	}
	if v := refPick(f.v); v != nil && v.Type() == fastjson.TypeNumber {
		d.tmp = v.MarshalTo(d.tmp[:0])
		if n, ok := parseUint(d.tmp, false); ok && n <= 1<<31-1 {
			b.Version = int(n)
		}
	}
	if b.Name == NameEngagement {
		if v := refPick(f.sd); v != nil {
			if n, ok := d.number(v, true); ok {
				b.ScrollDepth = int(min(n, 100))
			}
		}
		if v := refPick(f.e); v != nil {
			if n, ok := d.number(v, true); ok && n < MaxEngagedMS {
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

func (d *refDecoder) reset() {
	d.out = d.out[:0]
	d.pout = d.pout[:0]
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
func (d *refDecoder) materialize(b *Beacon) {
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

func (d *refDecoder) appendOut(p []byte) span {
	start := len(d.out)
	d.out = append(d.out, p...)
	return span{start, len(d.out)}
}

func (d *refDecoder) decodeName(v *fastjson.Value, b *Beacon) *Error {
	if v == nil {
		return errNameRequired
	}
	var s []byte
	switch v.Type() {
	case fastjson.TypeString:
		s, _ = v.StringBytes()
		if isBlank(s) {
			return errNameRequired
		}
	case fastjson.TypeNumber:
		d.tmp = v.MarshalTo(d.tmp[:0]) // as written
		s = d.tmp
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

func (d *refDecoder) decodeURL(v *fastjson.Value, b *Beacon) *Error {
	if v == nil {
		return errURLRequired
	}
	if v.Type() != fastjson.TypeString {
		return errURLInvalid
	}
	s, _ := v.StringBytes()
	s = bytes.TrimSpace(s)
	if len(s) == 0 {
		return errURLRequired
	}
	if len(s) > MaxURLBytes {
		return errURLTooLong
	}
	u, st := refSplitURL(s)
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
	d.out = appendPath(d.out, u.path)
	if b.HashMode && u.hasFrag {
		frag := u.fragment
		if q := bytes.IndexByte(frag, '?'); q >= 0 {
			frag = frag[:q] // a hash router's query string is a query string
		}
		if len(frag) > 0 {
			d.out = append(d.out, '#')
			d.out = appendPath(d.out, frag)
		}
	}
	d.path = span{start, len(d.out)}
	if !utf8.Valid(d.out[start:]) {
		return errURLInvalid
	}

	d.decodeQuery(u.query, b)
	return nil
}

// decodeQuery keeps the utm values and the click id name, and nothing else,
// from the page URL's query string.
func (d *refDecoder) decodeQuery(q []byte, b *Beacon) {
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
func (d *refDecoder) appendQueryValue(raw []byte) span {
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

func (d *refDecoder) decodeDomains(v *fastjson.Value) *Error {
	if v == nil {
		d.domains = append(d.domains, d.host)
		return nil
	}
	if v.Type() != fastjson.TypeString {
		return errDomainInvalid
	}
	s, _ := v.StringBytes()
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

func (d *refDecoder) decodeReferrer(v *fastjson.Value) *Error {
	if v == nil {
		return nil
	}
	if v.Type() != fastjson.TypeString {
		return errReferrerInvalid
	}
	s, _ := v.StringBytes()
	s = truncateUTF8(bytes.TrimSpace(s), MaxReferrerBytes)
	if len(s) == 0 {
		return nil
	}
	if hasPrefixFold(s, "android-app://") {
		pkg := s[len("android-app://"):]
		end := 0
		for end < len(pkg) && (isAlpha(pkg[end]) || isDigit(pkg[end]) || pkg[end] == '.' || pkg[end] == '_') {
			end++
		}
		if end > 0 && (end == len(pkg) || isDelim(pkg[end])) {
			var start int
			d.out, start = appendHost(d.out, pkg[:end])
			d.ref = span{start, len(d.out)}
		}
		return nil
	}
	u, st := refSplitURL(s)
	if st != urlOK {
		return nil // an unusable referrer is no referrer
	}
	var start int
	d.out, start = appendHost(d.out, u.host)
	if bytes.Equal(d.out[start:], d.out[d.host.start:d.host.end]) {
		d.out = d.out[:start] // internal navigation
		return nil
	}
	d.ref = span{start, len(d.out)}
	return nil
}

func (d *refDecoder) decodeProps(v *fastjson.Value) *Error {
	if v == nil {
		return nil
	}
	obj, e := d.objectOrJSONString(v)
	if e != nil || obj == nil {
		return e
	}
	var err *Error
	obj.Visit(func(k []byte, v *fastjson.Value) {
		if err != nil {
			return
		}
		start := len(d.pout)
		d.pout = append(d.pout, k...)
		keyEnd := len(d.pout)
		switch v.Type() {
		case fastjson.TypeString:
			s, _ := v.StringBytes()
			d.pout = append(d.pout, s...)
		case fastjson.TypeNumber:
			d.pout = v.MarshalTo(d.pout) // as written
		case fastjson.TypeTrue:
			d.pout = append(d.pout, "true"...)
		case fastjson.TypeFalse:
			d.pout = append(d.pout, "false"...)
		default: // null is blank; objects and arrays are not properties
			d.pout = d.pout[:start]
			return
		}
		ps := propSpan{span{start, keyEnd}, span{keyEnd, len(d.pout)}}
		key, val := d.pout[start:keyEnd], d.pout[keyEnd:]
		if len(key) > MaxPropKeyBytes || len(val) > MaxPropValBytes {
			err = errPropsTooLong
			return
		}
		keep := len(d.props) < MaxProps && !isBlank(key) && !isBlank(val)
		for i := 0; keep && i < len(d.props); i++ {
			o := d.props[i].key
			keep = !bytes.Equal(d.pout[o.start:o.end], key)
		}
		if !keep {
			d.pout = d.pout[:start]
			return
		}
		d.props = append(d.props, ps)
	})
	return err
}

// objectOrJSONString returns v's object, or the object that the JSON string v
// holds (parsed with d.pp, valid until its next use). A blank string is no
// object and no error.
func (d *refDecoder) objectOrJSONString(v *fastjson.Value) (*fastjson.Object, *Error) {
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		return o, nil
	case fastjson.TypeString:
		s, _ := v.StringBytes()
		if isBlank(s) {
			return nil, nil
		}
		inner, err := d.pp.ParseBytes(s)
		if err != nil || fastjson.ValidateBytes(s) != nil || inner.Type() != fastjson.TypeObject {
			return nil, errPropsInvalid
		}
		o, _ := inner.Object()
		return o, nil
	}
	return nil, errPropsInvalid
}

// decodeRevenue keeps a valid {"amount", "currency"} and drops anything else
// silently, as Plausible does.
func (d *refDecoder) decodeRevenue(v *fastjson.Value) {
	if v == nil {
		return
	}
	obj, e := d.objectOrJSONString(v)
	if e != nil || obj == nil {
		return
	}
	amount, currency := obj.Get("amount"), obj.Get("currency")
	if amount == nil || currency == nil || currency.Type() != fastjson.TypeString {
		return
	}
	cur, _ := currency.StringBytes()
	cur = bytes.TrimSpace(cur)
	if len(cur) != 3 || !isAlpha(cur[0]) || !isAlpha(cur[1]) || !isAlpha(cur[2]) {
		return
	}
	var amt []byte
	switch amount.Type() {
	case fastjson.TypeNumber:
		d.tmp = amount.MarshalTo(d.tmp[:0])
		amt = d.tmp
	case fastjson.TypeString:
		amt, _ = amount.StringBytes()
		amt = bytes.TrimSpace(amt)
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

// number reads a non-negative JSON number, or a string holding one,
// truncated to an integer.
func (d *refDecoder) number(v *fastjson.Value, allowFrac bool) (int64, bool) {
	switch v.Type() {
	case fastjson.TypeNumber:
		d.tmp = v.MarshalTo(d.tmp[:0])
		return parseUint(d.tmp, allowFrac)
	case fastjson.TypeString:
		s, _ := v.StringBytes()
		return parseUint(bytes.TrimSpace(s), allowFrac)
	}
	return 0, false
}

// hashMode is true for h = 1, 1.0 or true.
func refHashMode(v *fastjson.Value) bool {
	if v == nil {
		return false
	}
	switch v.Type() {
	case fastjson.TypeTrue:
		return true
	case fastjson.TypeNumber:
		f, err := v.Float64()
		return err == nil && f == 1
	}
	return false
}

// isFalse is true for false and 0.
func refIsFalse(v *fastjson.Value) bool {
	switch v.Type() {
	case fastjson.TypeFalse:
		return true
	case fastjson.TypeNumber:
		f, err := v.Float64()
		return err == nil && f == 0
	}
	return false
}

// refSplitURL is splitURL as it was before its one-pass authority scan: it splits an http(s) URL (see the rules above) into views of s.
func refSplitURL(s []byte) (u urlParts, st urlStatus) {
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

	end := 0
	for end < len(rest) && !isDelim(rest[end]) {
		end++
	}
	auth := rest[:end]
	rest = rest[end:]
	if at := bytes.LastIndexByte(auth, '@'); at >= 0 {
		auth = auth[at+1:]
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
		if c := bytes.LastIndexByte(auth, ':'); c >= 0 {
			u.host, port = auth[:c], auth[c+1:]
		}
		if !refValidHost(u.host) {
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

// refValidHost is validHost as it was: it accepts registered names, IPv4 addresses and Unicode (IDN)
// names; it refuses what no browser would put in a host.
func refValidHost(h []byte) bool {
	if len(h) == 0 {
		return false
	}
	for _, c := range h {
		if c <= ' ' || c == 0x7f {
			return false
		}
		switch c {
		case '"', '%', '<', '>', '[', ']', '^', '`', '{', '|', '}', ':', '@', '/', '\\', '?', '#':
			return false
		}
	}
	return true
}

// TestDecodeMatchesReference: bodies at the edges of the JSON rules decode
// (or fail) exactly as with the reference decoder. FuzzDecode checks the same
// on its corpus and on whatever the fuzzer generates.
func TestDecodeMatchesReference(t *testing.T) {
	const u = `"u":"https://example.com/a"`
	nest := func(n int, open, inner, close string) string {
		return strings.Repeat(open, n) + inner + strings.Repeat(close, n)
	}
	bodies := []string{
		`{"n":"pageview",` + u + `}`,
		`{"n":"\ud83d\ude00",` + u + `}`,   // a surrogate pair
		`{"n":"a\ud800b",` + u + `}`,       // a lone high surrogate
		`{"n":"a\udc00",` + u + `}`,        // a lone low surrogate at the end
		`{"n":"a\ud800\u0041b",` + u + `}`, // a high surrogate and no low one
		`{"n":"a\ud800\\u0041",` + u + `}`, // an escaped backslash after it
		`{"n":"a\uD83D\uDE00\u00e9\/\b\f\n\r\t",` + u + `}`,
		`{"n":"x","p":{"\u006b":"\ud800","k2":"\"\\"}` + "," + u + `}`,
		`{"n":"x","p":"{\"a\":\"\\ud800\",\"b\":1e3,\"c\":-0.5}",` + u + `}`,
		`{"n":"x","p":" {\"a\":1} ",` + u + `}`,
		`{"n":"x","p":"{\"a\":1}x",` + u + `}`,
		`{"n":"x","p":"[1]",` + u + `}`,
		`{"n":"x","p":"\u00a0",` + u + `}`,
		`{"n":"x","$":"{\"amount\":\"1.5\",\"currency\":\"eur\",\"amount\":2}",` + u + `}`,
		`{"n":"x","revenue":{"\u0061mount":3,"currency":" usd "},` + u + `}`,
		`{"n":"engagement","sd":"1e2","e":1E2,` + u + `}`,
		`{"n":"engagement","sd":-0,"e":0.5,` + u + `}`,
		`{"n":"x","h":1.0,"i":0e5,` + u + `}`,
		`{"n":"x","h":10e-1,"i":-0.0,` + u + `}`,
		`{"n":"x","h":1e400,"i":1e-400,` + u + `}`,
		`{"n":"x","v":2147483648,` + u + `}`,
		`{"n":"x","v":"24",` + u + `}`,
		`{"n":"x",` + u + `,"x":` + nest(298, "[", "1", "]") + `}`,
		`{"n":"x",` + u + `,"x":` + nest(299, "[", "1", "]") + `}`,
		`{"n":"x",` + u + `,"x":` + nest(299, "[", "", "]") + `}`,
		`{"n":"x",` + u + `,"x":` + nest(300, "[", "", "]") + `}`,
		`{"n":"x",` + u + `,"x":` + nest(298, `{"a":`, "1", "}") + `}`,
		`{"n":"x",` + u + `,"x":` + nest(299, `{"a":`, "1", "}") + `}`,
		`{"n":"x",` + u + `,"p":"` + nest(299, `[`, "", `]`) + `"}`,
		`{"n":"x",` + u + `,"p":"` + nest(300, `[`, "", `]`) + `"}`,
		`{"n":"x",` + u + `,"p":"{\"a\":` + nest(298, `[`, "1", `]`) + `}"}`,
		`{"n":"x",` + u + `,"p":"{\"a\":` + nest(299, `[`, "1", `]`) + `}"}`,
		`{"n":"x",` + u + `,"x":[1,]}`,
		`{"n":"x",` + u + `,}`,
		`{,"n":"x",` + u + `}`,
		`{"n":"x" ` + u + `}`,
		`{"n" "x",` + u + `}`,
		`{"n":"x",` + u + `,"x":-}`,
		`{"n":"x",` + u + `,"x":1.}`,
		`{"n":"x",` + u + `,"x":.5}`,
		`{"n":"x",` + u + `,"x":+1}`,
		`{"n":"x",` + u + `,"x":1e}`,
		`{"n":"x",` + u + `,"x":1e+}`,
		`{"n":"x",` + u + `,"x":-01}`,
		`{"n":"x",` + u + `,"x":tru}`,
		`{"n":"x",` + u + `,"x":nulll}`,
		`{"n":"x",` + u + `,"x":"\u12"}`,
		`{"n":"x",` + u + `,"x":"\u12G4"}`,
		`{"n":"x",` + u + `,"x":"\x"}`,
		"{\"n\":\"x\"," + u + ",\"x\":\"\x7f\"}",
		"{\"n\":\"x\"," + u + ",\"x\":\"\xed\xa0\x80\"}", // a UTF-8 encoded surrogate
		"{\"n\":\"x\"," + u + ",\"x\":\"\xc0\xaf\"}",     // an overlong encoding
		"{\"n\":\"x\"," + u + ",\"x\":\"\xef\xbf\xbd\"}", // U+FFFD itself
		"{\"n\":\"x\"," + u + "}\xc3",
		// fastjson.Validate finds raw control characters only after a
		// string's last escape sequence.
		"{\"n\":\"a\x01\\tb\"," + u + "}",
		"{\"n\":\"a\\tb\x01\"," + u + "}",
		"{\"n\":\"a\x01b\"," + u + "}",
		"{\"\x01\\u006e\":\"a\"," + u + "}",
		"{\"\\u006e\x01\":\"a\"," + u + "}",
		"{\"n\":\"a\",\"p\":{\"k\":\"\x1f\\/\"}," + u + "}",
		"\t{\"n\":\"x\"," + u + "}\v",
		"{\"n\":\"x\"," + u + "}\x00",
		`{"n":"x",` + u + `}}`,
		`{"n":"x",` + u,
		`{"n":"x",` + u + `,"d":"a.com","d":1}`,
		`{"n":"x",` + u + `,"d":null,"domain":"b.com"}`,
		`{"name":"x","url":"https://a.com/","domain":"a.com","referrer":"https://b.com/","props":{"a":"b"},"meta":{"c":"d"},"hashMode":true,"interactive":false}`,
	}
	for _, body := range bodies {
		var got, want Beacon
		err := new(Decoder).Decode([]byte(body), &got)
		wantErr := new(refDecoder).Decode([]byte(body), &want)
		if err != wantErr || !reflect.DeepEqual(got, want) {
			t.Errorf("%.200q:\n got %v %+v\nwant %v %+v", body, err, got, wantErr, want)
		}
	}
}
