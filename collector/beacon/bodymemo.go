package beacon

import (
	"encoding/binary"
	"unsafe"
)

// Whole bodies in the memo.
//
// The beacons of one page are mostly the same bytes from every visitor:
// the same name, URL, domain and referrer (Plausible's tracker sends
// nothing of the visitor in a pageview or custom event). So a Decoder with
// a Memo remembers what a whole body decoded to, by the keyed hash of the
// body, and a body seen before is copied out of the memo without being
// scanned or parsed at all. It is the same Beacon byte for byte: Decode
// depends on nothing but the body.
//
// Only what recurs is remembered: engagement events carry the visitor's own
// scroll depth and time, and names in the reserved "$" namespace are the
// collector's technical reports (web vitals, errors), whose values differ
// from one report to the next; remembering them would only push out the
// entries that do recur. Bodies that failed to decode are never remembered,
// so every error is found again. Bodies over maxMemoBody bytes are not
// looked up (hashing them costs more than they are likely to repeat).

// memoBody is the key kind of whole bodies (see memoURL).
const memoBody = 0x93c5_6e0a_4d17_b82b

// maxMemoBody is the longest body looked up in the memo.
const maxMemoBody = 1024

// A remembered body is a header of bodyMemoHeader bytes, then its strings,
// each with a length byte before it: the name (custom events only), host,
// path, referrer host, the five utm values, revenue amount and currency,
// the domains (empty for a domain that is the host), then each property's
// key and value. The header holds flags
// (hash mode, interactive, pageview), the click id's index in clickIDs (or
// len(clickIDs)), the version (four bytes, little-endian), the number of
// domains and of properties. A value is at most memo.MaxValue bytes, so a
// byte holds any of its lengths.
const bodyMemoHeader = 1 + 1 + 4 + 1 + 1

const (
	bodyHashMode = 1 << iota
	bodyInteractive
	bodyPageview
)

// rememberable reports whether the decoded b is worth a memo entry.
func rememberable(b *Beacon) bool {
	return b.Name != NameEngagement && (len(b.Name) == 0 || b.Name[0] != '$')
}

// bodyToMemo remembers the Beacon that body (whose key is key) decoded to;
// values too long for the memo are dropped by Put.
func (d *Decoder) bodyToMemo(key uint64, b *Beacon) {
	if !rememberable(b) {
		return
	}
	v := d.tmp[:0]
	var flags byte
	if b.HashMode {
		flags |= bodyHashMode
	}
	if b.Interactive {
		flags |= bodyInteractive
	}
	if b.Name == NamePageview {
		flags |= bodyPageview
	}
	click := byte(len(clickIDs))
	for i, id := range clickIDs {
		if b.ClickID == id {
			click = byte(i)
		}
	}
	if len(b.Domains) > 255 || len(b.Props) > 255 || b.Version < 0 || b.Version > 1<<31-1 {
		return
	}
	v = append(v, flags, click)
	v = binary.LittleEndian.AppendUint32(v, uint32(b.Version))
	v = append(v, byte(len(b.Domains)), byte(len(b.Props)))
	long := false
	add := func(s string) {
		if len(s) > 255 {
			long = true
			return
		}
		v = append(v, byte(len(s)))
		v = append(v, s...)
	}
	if b.Name != NamePageview {
		add(b.Name)
	}
	add(b.Host)
	add(b.Path)
	add(b.ReferrerHost)
	add(b.UTMSource)
	add(b.UTMMedium)
	add(b.UTMCampaign)
	add(b.UTMContent)
	add(b.UTMTerm)
	add(b.RevenueAmount)
	add(b.RevenueCurrency)
	for _, dom := range b.Domains {
		if dom == b.Host {
			dom = "" // the usual case; a decoded domain is never empty
		}
		add(dom)
	}
	for _, p := range b.Props {
		add(p.Key)
		add(p.Value)
	}
	d.tmp = v
	if !long {
		d.Memo.Put(key, v) // ignored when too long
	}
}

// bodyFromMemo fills b (reset) with the Beacon remembered under key, its
// strings views of d.out (reset), or reports false and leaves both as they
// were.
func (d *Decoder) bodyFromMemo(key uint64, b *Beacon) bool {
	out, ok := d.Memo.Get(d.out, key)
	if !ok {
		return false
	}
	v := out[len(d.out):]
	if len(v) < bodyMemoHeader || v[1] > byte(len(clickIDs)) {
		return false
	}
	flags, click := v[0], v[1]
	version := binary.LittleEndian.Uint32(v[2:])
	nDomains, nProps := int(v[6]), int(v[7])
	if nDomains == 0 || version > 1<<31-1 {
		return false
	}
	// Check the layout before anything of b is set.
	nStrings := 10 + nDomains + 2*nProps
	if flags&bodyPageview == 0 {
		nStrings++ // the name
	}
	at := bodyMemoHeader
	for range nStrings {
		if at >= len(v) {
			return false
		}
		at += 1 + int(v[at])
	}
	if at != len(v) {
		return false
	}
	// From here on nothing is appended to out: views of it stay valid
	// until the next Decode or Reset, as the decoder's own.
	d.out = out
	s := unsafe.String(unsafe.SliceData(v), len(v))
	at = bodyMemoHeader
	next := func() string {
		n := int(v[at])
		str := s[at+1 : at+1+n]
		at += 1 + n
		return str
	}
	if flags&bodyPageview != 0 {
		b.Name = NamePageview
	} else {
		b.Name = next()
	}
	b.Host = next()
	b.Path = next()
	b.ReferrerHost = next()
	b.UTMSource = next()
	b.UTMMedium = next()
	b.UTMCampaign = next()
	b.UTMContent = next()
	b.UTMTerm = next()
	b.RevenueAmount = next()
	b.RevenueCurrency = next()
	for range nDomains {
		dom := next()
		if dom == "" {
			dom = b.Host
		}
		b.Domains = append(b.Domains, dom)
	}
	for range nProps {
		k := next()
		b.Props = append(b.Props, Prop{Key: k, Value: next()})
	}
	b.HashMode = flags&bodyHashMode != 0
	b.Interactive = flags&bodyInteractive != 0
	if int(click) < len(clickIDs) {
		b.ClickID = clickIDs[click]
	}
	b.Version = int(version)
	return true
}
