// Package aggregator turns coarsened events into the only thing the product
// keeps: aggregates. It holds rollups per site and hour (counters and
// HyperLogLog sketches of visitor keys) in memory and hands cumulative rows to
// a Store, which main wires to ClickHouse.
//
// The Event type is the privacy boundary: it has no field that could hold an
// IP address or a User-Agent string, so nothing downstream of the collector can
// persist one by accident.
package aggregator

import (
	"time"

	"analytics/aggregator/vitals"
)

// Kind says what an Event counts as.
type Kind uint8

const (
	// Pageview is Plausible's "pageview" event.
	Pageview Kind = iota + 1
	// Custom is any other named event (goals such as "Signup", "404",
	// "Outbound Link: Click").
	Custom
	// Engagement is Plausible's "engagement" event (scroll depth, engaged time).
	Engagement
	// Vitals is the snippet's "$web_vitals" event: technical data counted in
	// histograms only; it is neither a pageview nor an event of a visit.
	Vitals
	// JSError is the snippet's "$js_error" event, counted per fingerprint
	// for ops; like Vitals it does not touch visits or event counts.
	JSError
)

// VitalsSample holds the web vitals of one page load, in the units the
// snippet sends (milliseconds; CLS unitless). Has marks the measured ones.
type VitalsSample struct {
	Has   [vitals.NumMetrics]bool
	Value [vitals.NumMetrics]float64
}

// ErrorReport is one JavaScript error after the collector normalised it:
// nothing in it is the browser's raw message.
type ErrorReport struct {
	// Fingerprint identifies the error (hex of a hash of the normalised
	// message and the source file).
	Fingerprint string
	// Message is the normalised message: numbers, ids, URLs, e-mail
	// addresses and quoted text replaced by placeholders.
	Message string
	// Source is the script path with line and column ("/app.js:12:34"),
	// "" when unknown.
	Source string
}

// Prop is one custom property of an event, already validated and bounded.
type Prop struct {
	Key, Value string
}

// Event is one accepted beacon after the collector coarsened it: a path
// without query string, a referrer host, a country code, a browser family.
//
// An Event and its strings are valid only during the Sink's Add call: the
// collector reuses their memory for the next request (fasthttp style), so the
// aggregator copies whatever it keeps beyond the call.
type Event struct {
	// Time is stamped by the collector on receipt (there is no client time).
	Time time.Time
	// Site is the configured domain the event counts for.
	Site string
	Kind Kind
	// Name is "pageview", "engagement" or the custom event name.
	Name string
	// Path is the page path with query string and fragment removed and
	// identifying segments templated.
	Path string
	// Source is the referrer host (without "www.") or the utm_source; "" means
	// direct / none.
	Source string
	// Referrer is the referrer host alone ("" for none or the site itself).
	Referrer    string
	UTMSource   string
	UTMMedium   string
	UTMCampaign string
	UTMContent  string
	UTMTerm     string
	// ClickID is the name (never the value) of an ad click id in the page
	// URL, such as "gclid": it marks paid traffic.
	ClickID string
	// Country is an ISO 3166-1 alpha-2 code, "" when unknown; Region an ISO
	// 3166-2 subdivision code such as "DE-BY", "" without a City database.
	Country string
	Region  string
	// Browser, OS and Device follow Plausible's names ("Chrome", "Mac",
	// "Desktop"); BrowserVersion is the major version only.
	Browser        string
	BrowserVersion string
	OS             string
	OSVersion      string
	Device         string
	// Visitor is the keyed hash of (site, IP, User-Agent) under the day's
	// salt. It is only ever inserted into HyperLogLog sketches and session
	// maps held in memory; it is never written anywhere.
	Visitor uint64
	// Interactive is false for events sent with "i": false.
	Interactive bool
	// ScrollDepth (0-100) and EngagedMS are set on engagement events only.
	ScrollDepth int
	EngagedMS   int64
	Props       []Prop
	// Vitals is set on Vitals events, Error on JSError events.
	Vitals VitalsSample
	Error  ErrorReport
	// Unlocated says that Country and Region were not looked up. Only the
	// event that starts a visit gives the visit its location, so the
	// collector leaves the lookup to that event: Count does not start a
	// visit with an unlocated event but answers NeedsLocation.
	Unlocated bool
}

// Outcome is what Count did with an event.
type Outcome uint8

const (
	// Counted: the event is counted.
	Counted Outcome = iota
	// NoVisit: an engagement event with no visit in progress, not counted
	// (Plausible drops those too).
	NoVisit
	// NeedsLocation: an Unlocated event that starts a visit, not counted:
	// count it again with its Country and Region.
	NeedsLocation
)
