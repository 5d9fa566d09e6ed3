// Package beacon decodes and validates one body of Plausible's Events API
// (POST /api/event) and normalises what it carries: the page URL becomes a
// host and a decoded path, the referrer becomes a host, the query string is
// reduced to the utm_* values and the name of a click id.
//
// It runs for every beacon the collector receives, so it avoids reflection and
// allocations: a Decoder validates a body and finds its members in one pass
// of its own strict JSON scanner, owns reused output buffers, and the strings
// of a decoded Beacon are views into those buffers. A reused Decoder and
// Beacon decode a typical body with zero allocations.
//
// MEMORY CONTRACT (as fasthttp's RequestCtx): the strings of a Beacon are
// valid only until the next Decode or Reset on the Decoder that produced
// them. Use them, or copy them (Beacon.Clone, strings.Clone), before that.
// See Decoder.Decode for the decoding rules.
//
// Privacy rules enforced here: the values of query parameters never reach a
// Beacon except utm_source (or its fallbacks source and ref), utm_medium,
// utm_campaign, utm_content and utm_term; a click id is reported by name only;
// the referrer is reduced to its host; userinfo and ports are dropped.
package beacon

import "strings"

// Well-known event names. Decode returns these exact constants (no
// allocation) for the two special names.
const (
	NamePageview   = "pageview"
	NameEngagement = "engagement"
)

// Limits. Name, URL, referrer and props limits are Plausible's; the others
// are ours.
const (
	MaxNameChars     = 120                      // n: code points
	MaxURLBytes      = 2000                     // u
	MaxReferrerBytes = 2000                     // r: longer referrers are truncated, not rejected
	MaxProps         = 30                       // pairs kept, the rest dropped silently
	MaxPropKeyBytes  = 300                      // longer -> 400
	MaxPropValBytes  = 2000                     // longer -> 400
	MaxUTMBytes      = 200                      // utm_* values are truncated to this
	MaxDomains       = 10                       // distinct entries of d kept, the rest dropped
	MaxEngagedMS     = 30 * 24 * 60 * 60 * 1000 // e must be below: 30 days
)

// Prop is one custom property, with its value stringified.
type Prop struct {
	Key, Value string
}

// Beacon is one decoded and normalised event.
//
// WARNING: the strings of a Beacon (every string field, Domains and Props)
// never alias the request body, but they are views into buffers owned by the
// Decoder that filled it, and they are VALID ONLY UNTIL THE NEXT Decode OR
// Reset ON THAT DECODER, which overwrites the bytes in place. A string kept
// beyond that (a map key, a field stored in a struct, a value sent to another
// goroutine) silently changes under its holder. Copy what you keep:
// strings.Clone for one field, Clone for the whole Beacon. The constants
// NamePageview and NameEngagement are the exception: Name is one of them
// for those two names, never a view.
type Beacon struct {
	// Name is NamePageview, NameEngagement or a custom name, at most 120
	// code points; a JSON integer name such as 404 becomes "404".
	Name string
	// Domains are the sites the event counts for: the comma-separated d,
	// each trimmed, lowercased, trailing dot and leading "www." removed,
	// empties and duplicates dropped (at most MaxDomains). When d is missing
	// it is []string{Host}.
	Domains []string
	// Host is the page host: lowercased (Unicode hosts are kept as Unicode),
	// without userinfo, port, trailing dot or leading "www."; IPv6 literals
	// without brackets.
	Host string
	// Path is the percent-decoded page path, "/" when empty, always starting
	// with "/", valid UTF-8, never containing "?" (an encoded "?", "#" or
	// control byte stays percent-encoded). In hash mode "#fragment" is
	// appended, cut at the fragment's own "?".
	Path string
	// ReferrerHost is the referrer's host, normalised like Host; "" when
	// there is no referrer, it cannot be parsed, it is not http(s), or it is
	// the page's own host (internal navigation). An android-app:// referrer
	// gives the app's package name.
	ReferrerHost string
	// UTM values from the page URL query, decoded, trimmed, at most
	// MaxUTMBytes. UTMSource falls back to the source, then ref parameter.
	UTMSource, UTMMedium, UTMCampaign, UTMContent, UTMTerm string
	// ClickID is the name (never the value) of the first of gclid, gbraid,
	// wbraid, msclkid, fbclid, twclid present in the page URL query.
	ClickID string
	// Props are the custom properties in the order sent, at most MaxProps.
	Props []Prop
	// Interactive is false only for i=false (or 0): such events do not
	// un-bounce a visit.
	Interactive bool
	// HashMode is h=1 (1, 1.0 or true).
	HashMode bool
	// RevenueAmount is a plain decimal as sent (e.g. "12.50") and
	// RevenueCurrency three upper-case letters; both "" when revenue was
	// missing or invalid.
	RevenueAmount, RevenueCurrency string
	// ScrollDepth is sd of an engagement event, 0..100; -1 when absent.
	ScrollDepth int
	// EngagedMS is e of an engagement event; -1 when absent.
	EngagedMS int64
	// Version is the tracker version v; 0 when absent or not an integer.
	Version int
}

// Clone returns a deep copy of b whose strings and slices share nothing
// with b or its Decoder: it stays valid after the Decoder's next use.
func (b *Beacon) Clone() Beacon {
	c := *b
	c.Name = cloneString(b.Name)
	c.Host = strings.Clone(b.Host)
	c.Path = strings.Clone(b.Path)
	c.ReferrerHost = strings.Clone(b.ReferrerHost)
	c.UTMSource = strings.Clone(b.UTMSource)
	c.UTMMedium = strings.Clone(b.UTMMedium)
	c.UTMCampaign = strings.Clone(b.UTMCampaign)
	c.UTMContent = strings.Clone(b.UTMContent)
	c.UTMTerm = strings.Clone(b.UTMTerm)
	c.RevenueAmount = strings.Clone(b.RevenueAmount)
	c.RevenueCurrency = strings.Clone(b.RevenueCurrency)
	if b.Domains != nil {
		c.Domains = make([]string, len(b.Domains))
		for i, d := range b.Domains {
			c.Domains[i] = strings.Clone(d)
		}
	}
	if b.Props != nil {
		c.Props = make([]Prop, len(b.Props))
		for i, p := range b.Props {
			c.Props[i] = Prop{Key: strings.Clone(p.Key), Value: strings.Clone(p.Value)}
		}
	}
	return c
}

// cloneString is strings.Clone except for the two constant names, which
// need no copy.
func cloneString(s string) string {
	switch s {
	case NamePageview:
		return NamePageview
	case NameEngagement:
		return NameEngagement
	}
	return strings.Clone(s)
}

// Reset clears b for reuse, keeping the capacity of Domains and Props.
func (b *Beacon) Reset() {
	domains, props := b.Domains, b.Props
	clear(domains)
	clear(props)
	*b = Beacon{
		Domains:     domains[:0],
		Props:       props[:0],
		Interactive: true,
		ScrollDepth: -1,
		EngagedMS:   -1,
	}
}
