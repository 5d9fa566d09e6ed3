package main

import (
	"encoding/json"
	"slices"

	"analytics/collector/pathtmpl"
	"analytics/collector/visitor"
	"analytics/schema"
)

// privacyDoc is the document behind GET /privacy.json and the "inventory"
// of `analytics audit --json`: what the running configuration collects, how
// it coarsens it, what it stores and for how long. It is built from the
// configuration at start, so it cannot drift from what the process does.
type privacyDoc struct {
	Collected    []collectedItem   `json:"collected"`
	Stored       []schema.TableDoc `json:"stored"`
	VisitorKey   string            `json:"visitor_key"`
	Salt         saltDoc           `json:"salt"`
	Sites        []sitePrivacy     `json:"sites"`
	Filtering    []string          `json:"filtering"`
	Cookies      string            `json:"cookies"`
	ThirdParties string            `json:"third_parties"`
}

type collectedItem struct {
	Data        string `json:"data"`
	CoarsenedTo string `json:"coarsened_to"`
	StoredRaw   bool   `json:"stored_raw"`
}

type saltDoc struct {
	Period       string `json:"period"`
	GraceSeconds int    `json:"grace_seconds"`
	Shared       bool   `json:"shared_between_nodes"`
	Storage      string `json:"storage"`
}

type sitePrivacy struct {
	Domain          string       `json:"domain"`
	RetentionMonths int          `json:"retention_months"`
	MinVisitors     int          `json:"min_visitors"`
	HonorDNT        bool         `json:"honor_dnt"`
	HonorGPC        bool         `json:"honor_gpc"`
	PathTemplating  pathPrivacy  `json:"path_templating"`
	SpamReferrers   int          `json:"extra_spam_referrer_hosts"`
	Consent         []string     `json:"consent_signals_honoured"`
	Props           propsPrivacy `json:"props"`
}

type pathPrivacy struct {
	Builtins         []string `json:"builtins"`
	DisabledBuiltins []string `json:"disabled_builtins"`
	ExtraRules       int      `json:"extra_rules"`
	Keep             []string `json:"keep"`
}

type propsPrivacy struct {
	Coarsening string `json:"coarsening"`
}

// privacyJSON renders the privacy document for cfg. sharedSalts says whether
// collector nodes share the day's salt through ClickHouse (salt-key set).
func privacyJSON(cfg *fileConfig, sharedSalts bool) ([]byte, error) {
	doc := privacyDoc{
		Collected: []collectedItem{
			{Data: "IP address", CoarsenedTo: "country (ISO 3166-1) and, with a City database, region (ISO 3166-2); one input of the daily visitor key; never stored, logged or passed on"},
			{Data: "User-Agent", CoarsenedTo: "browser family and major version, OS and version, device class (desktop, mobile, tablet), bot or not; one input of the daily visitor key; never stored"},
			{Data: "page URL", CoarsenedTo: "path only, with identifying segments templated (e-mail addresses, phone numbers, IPs, UUIDs, long numbers, hex and random tokens: see path_templating per site); query string and fragment dropped except the five UTM parameters, kept as campaign dimensions"},
			{Data: "referrer", CoarsenedTo: "host only, and the acquisition channel derived from it"},
			{Data: "custom props", CoarsenedTo: "key/value pairs per event name, capped per hour; url and path props coarsened like page URLs"},
			{Data: "engagement", CoarsenedTo: "maximum scroll depth (percent) and engaged time per pageview, summed per page and hour"},
		},
		Stored:     schema.Tables,
		VisitorKey: "SipHash-2-4 of (site, IP address, User-Agent) under the salt of the current UTC day; only added to HyperLogLog sketches, never stored",
		Salt: saltDoc{
			Period: "UTC day", GraceSeconds: int(visitor.DefaultGrace.Seconds()), Shared: sharedSalts,
			Storage: "random 16 bytes per day in data-dir/salt (0600), deleted after its day and the grace period",
		},
		Filtering: []string{
			"bots and crawlers (User-Agent classification) are dropped",
			"referrer spam hosts (built-in list plus each site's spam_referrers) are dropped",
			"events for unknown sites or page hosts not listed for the site are dropped",
			"breakdown rows with fewer than min_visitors visitors fold into (other)",
		},
		Cookies:      "none: no cookies, no local storage",
		ThirdParties: "none: nothing is shared with or sent to third parties",
	}
	if sharedSalts {
		doc.Salt.Storage = "one 16-byte salt per UTC day, sealed with AES-256-GCM under ANALYTICS_SALT_KEY in the ClickHouse salts table and in data-dir/salt (0600); dropped after its day and the grace period"
	}
	for _, s := range cfg.Sites {
		sp := sitePrivacy{
			Domain: s.Domain, RetentionMonths: s.RetentionMonths, MinVisitors: s.MinVisitors,
			HonorDNT: s.HonorDNT == nil || *s.HonorDNT, HonorGPC: s.HonorGPC == nil || *s.HonorGPC,
			SpamReferrers: len(s.SpamReferrers),
			Consent:       []string{},
			Props:         propsPrivacy{Coarsening: "url and path props: as page URLs; other props: as sent, capped per hour"},
			PathTemplating: pathPrivacy{
				DisabledBuiltins: append([]string{}, s.Paths.DisableBuiltins...),
				ExtraRules:       len(s.Paths.Rules),
				Keep:             append([]string{}, s.Paths.Keep...),
			},
		}
		for _, b := range pathtmpl.Builtins() {
			if !slices.Contains(s.Paths.DisableBuiltins, b) {
				sp.PathTemplating.Builtins = append(sp.PathTemplating.Builtins, b)
			}
		}
		if sp.HonorDNT {
			sp.Consent = append(sp.Consent, "DNT: 1")
		}
		if sp.HonorGPC {
			sp.Consent = append(sp.Consent, "Sec-GPC: 1")
		}
		doc.Sites = append(doc.Sites, sp)
	}
	return json.MarshalIndent(doc, "", "  ")
}
