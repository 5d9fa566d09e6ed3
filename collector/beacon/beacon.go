// Package beacon decodes and validates one body of Plausible's Events API
// (POST /api/event) and normalises what it carries: the page URL becomes a
// host and a decoded path, the referrer becomes a host, the query string is
// reduced to the utm_* values and the name of a click id.
//
// It runs for every beacon the collector receives, so it avoids reflection and
// allocations: a Decoder owns a reused fastjson parser and scratch buffers, and
// all strings of one decoded Beacon share one backing allocation (custom
// properties a second one). See Decoder.Decode for the exact rules.
//
// Privacy rules enforced here: the values of query parameters never reach a
// Beacon except utm_source (or its fallbacks source and ref), utm_medium,
// utm_campaign, utm_content and utm_term; a click id is reported by name only;
// the referrer is reduced to its host; userinfo and ports are dropped.
package beacon

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
// Strings in a Beacon never alias the request body, but they share one
// backing allocation per Decode (Props a second one): a caller that keeps a
// single field for a long time while dropping the rest (a map key, say)
// should copy it with strings.Clone after coarsening it.
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
