// Package channel classifies a visit's acquisition channel ("Organic
// Search", "Paid Social", "Email", ...) from the coarse inputs the collector
// keeps: the referrer host, the utm_source, utm_medium and utm_campaign
// values, and the name of an ad click id. It follows the default channel
// grouping of Google Analytics 4, as Plausible does, so numbers compare with
// both.
//
// # Rules
//
// Classify tries these rules in order; the first that holds names the
// channel. "Paid" means a paid medium (one containing "cp" such as cpc, cpm,
// cpv; "ppc"; "retargeting"; or one starting with "paid") or a paid click id
// (below). The source's category (search, social, video, shopping, email)
// comes from the lists in lists/.
//
//  1. Direct: no referrer, no utm value and no known click id.
//  2. Cross-network: the campaign contains "cross-network".
//  3. Paid Shopping: paid, and a shopping source or a shopping campaign.
//  4. Paid Search: paid and a search source.
//  5. Paid Social: paid and a social source.
//  6. Paid Video: paid and a video source.
//  7. Display: medium display, banner, expandable, interstitial or cpm.
//  8. Paid Other: paid.
//  9. Organic Shopping: a shopping source or a shopping campaign.
//  10. Organic Social: a social source, or medium social, social-network,
//     social-media (or with "_" or " "), or sm.
//  11. Organic Video: a video source, or a medium containing "video".
//  12. Organic Search: a search source, or medium organic.
//  13. Email: an email source (webmail host or a word such as "newsletter"),
//     or medium email, e-mail, e_mail, e mail, newsletter or mail.
//  14. Affiliates: medium affiliate or affiliates.
//  15. Audio: medium audio.
//  16. SMS: source or medium sms.
//  17. Mobile Push Notifications: a medium ending in "push" or containing
//     "mobile" or "notification", or source firebase.
//  18. Referral: any other referrer or utm_source, or medium referral, app
//     or link.
//  19. Direct: the rest (only a utm_medium or utm_campaign that no rule
//     knows). GA4 calls this "Unassigned"; Plausible, like this package,
//     calls it Direct.
//
// A campaign is about shopping when it contains "shopping", or "shop" at the
// start or after a character that is not a letter other than "e" ("shop",
// "summer_shop", "eshop"; not "workshop"), as in GA4.
//
// # Sources
//
// The utm_source is the advertiser's declaration, so its category wins; the
// referrer's category counts when utm_source is absent or not in the lists
// (utm_source=spring-sale from google.com is Organic Search, where GA4 would
// say Unassigned). Hosts match list entries at label boundaries, longest
// entry first across all lists: l.facebook.com is Facebook, mail.google.com
// is Email rather than Google search, and "!" entries such as
// !news.google.* take hosts out of a shorter entry (Google News, Docs and
// Drive are Referral). Entries such as google.* cover country domains
// (google.co.uk, google.com.br, yahoo.co.jp). A utm_source may also be a
// word ("google", "fb", "ig", "x", "newsletter"): list hosts whose name is
// one label of three or more characters match by that name, and shorter
// words are listed explicitly. Comparisons ignore ASCII case, surrounding
// space and a leading "www."; values longer than 256 bytes match no list or
// medium.
//
// The referrer is expected without self-referrals (the collector drops the
// site's own host); internal navigation is not a channel.
//
// Judgement calls, beyond GA4's rules:
//
//   - Click ids: gclid, gbraid and wbraid (Google Ads), msclkid (Microsoft
//     Advertising) and twclid (X Ads) mark a visit as paid and, when neither
//     utm_source nor the referrer places it, imply the platform: Google and
//     Microsoft mean search, X means social. So a bare gclid is Paid Search,
//     and gclid from youtube.com is Paid Video.
//   - fbclid is not paid: Facebook and Instagram add it to every outbound
//     link, organic posts included. It implies Facebook (Organic Social)
//     only without a referrer, because links copied with their fbclid are
//     often shared elsewhere; with a paid medium it becomes Paid Social.
//   - Other click ids are ignored.
//   - news.ycombinator.com, Reddit, Quora, Stack Overflow and messengers are
//     social; YouTube is video, not social; Google News is Referral;
//     iCloud's web hosts are Email; blog and newsletter platforms (Medium,
//     Substack) and AI assistants are Referral.
//   - Only large Mastodon and Lemmy instances are listed: the fediverse has
//     no common domain.
package channel

import (
	"bytes"
	"slices"
	"strings"
)

// Channel names, as Plausible shows them.
const (
	Direct          = "Direct"
	OrganicSearch   = "Organic Search"
	PaidSearch      = "Paid Search"
	OrganicSocial   = "Organic Social"
	PaidSocial      = "Paid Social"
	OrganicVideo    = "Organic Video"
	PaidVideo       = "Paid Video"
	OrganicShopping = "Organic Shopping"
	PaidShopping    = "Paid Shopping"
	Email           = "Email"
	Affiliates      = "Affiliates"
	Display         = "Display"
	PaidOther       = "Paid Other"
	Audio           = "Audio"
	SMS             = "SMS"
	MobilePush      = "Mobile Push Notifications"
	CrossNetwork    = "Cross-network"
	Referral        = "Referral"
)

var channels = [...]string{
	Direct, OrganicSearch, PaidSearch, OrganicSocial, PaidSocial,
	OrganicVideo, PaidVideo, OrganicShopping, PaidShopping, Email,
	Affiliates, Display, PaidOther, Audio, SMS, MobilePush, CrossNetwork,
	Referral,
}

// Channels returns every name Classify can return, in a fixed order for
// display. The caller owns the slice.
func Channels() []string { return slices.Clone(channels[:]) }

// Classify returns the acquisition channel of a visit. source is the
// referrer host (lowercase, without "www." and port; "" for none);
// utmSource, utmMedium and utmCampaign are the raw utm values of the landing
// URL; clickID is "" or the name of an ad click id in that URL, such as
// "gclid". Classify does not allocate and is safe for concurrent use.
func Classify(source, utmSource, utmMedium, utmCampaign, clickID string) string {
	source, utmSource = strings.TrimSpace(source), strings.TrimSpace(utmSource)
	utmMedium, utmCampaign = strings.TrimSpace(utmMedium), strings.TrimSpace(utmCampaign)
	click := clickOf(strings.TrimSpace(clickID))
	if source == "" && utmSource == "" && utmMedium == "" && utmCampaign == "" && click == (clickInfo{}) {
		return Direct
	}
	// One stack buffer serves each value in turn: lowercased copies live only
	// as long as their lookup.
	var buf [maxKey]byte
	k := lists.lookup(normalize(&buf, utmSource))
	if k == kindNone {
		k = lists.lookup(normalize(&buf, source))
	}
	if k == kindNone && (click.paid || source == "") {
		k = click.implies
	}
	var m medium
	if len(utmMedium) <= maxKey {
		m = mediumOf(lower(&buf, utmMedium))
	}
	paid := m&mediumPaid != 0 || click.paid
	shop := shoppingCampaign(utmCampaign)

	switch {
	case containsFold(utmCampaign, "cross-network"):
		return CrossNetwork
	case paid && (k == kindShopping || shop):
		return PaidShopping
	case paid && k == kindSearch:
		return PaidSearch
	case paid && k == kindSocial:
		return PaidSocial
	case paid && k == kindVideo:
		return PaidVideo
	case m&mediumDisplay != 0:
		return Display
	case paid:
		return PaidOther
	case k == kindShopping || shop:
		return OrganicShopping
	case k == kindSocial || m&mediumSocial != 0:
		return OrganicSocial
	case k == kindVideo || m&mediumVideo != 0:
		return OrganicVideo
	case k == kindSearch || m&mediumOrganic != 0:
		return OrganicSearch
	case k == kindEmail || m&mediumEmail != 0:
		return Email
	case m&mediumAffiliate != 0:
		return Affiliates
	case m&mediumAudio != 0:
		return Audio
	case m&mediumSMS != 0 || isWord(utmSource, "sms") || isWord(source, "sms"):
		return SMS
	case m&mediumPush != 0 || isWord(utmSource, "firebase") || isWord(source, "firebase"):
		return MobilePush
	case source != "" || utmSource != "" || m&mediumReferral != 0:
		return Referral
	default:
		return Direct
	}
}

// isWord reports whether a trimmed source is w, ignoring ASCII case.
func isWord(s, w string) bool { return len(s) == len(w) && hasPrefixFold(s, w) }

// clickInfo is what an ad click id says about a visit.
type clickInfo struct {
	implies kind
	paid    bool
}

func clickOf(name string) clickInfo {
	switch {
	case name == "":
		return clickInfo{}
	case strings.EqualFold(name, "gclid"), strings.EqualFold(name, "gbraid"),
		strings.EqualFold(name, "wbraid"), strings.EqualFold(name, "msclkid"):
		return clickInfo{implies: kindSearch, paid: true}
	case strings.EqualFold(name, "twclid"):
		return clickInfo{implies: kindSocial, paid: true}
	case strings.EqualFold(name, "fbclid"):
		return clickInfo{implies: kindSocial}
	}
	return clickInfo{}
}

// medium is a set of traits of a utm_medium.
type medium uint16

const (
	mediumPaid medium = 1 << iota
	mediumDisplay
	mediumSocial
	mediumVideo
	mediumOrganic
	mediumEmail
	mediumAffiliate
	mediumAudio
	mediumSMS
	mediumPush
	mediumReferral
)

// mediumExact holds the mediums known by their whole (lowercase) value.
var mediumExact = map[string]medium{
	"ppc":            mediumPaid,
	"retargeting":    mediumPaid,
	"display":        mediumDisplay,
	"banner":         mediumDisplay,
	"expandable":     mediumDisplay,
	"interstitial":   mediumDisplay,
	"cpm":            mediumDisplay, // and paid, by containing "cp"
	"social":         mediumSocial,
	"social-network": mediumSocial,
	"social-media":   mediumSocial,
	"social_network": mediumSocial,
	"social_media":   mediumSocial,
	"social network": mediumSocial,
	"social media":   mediumSocial,
	"sm":             mediumSocial,
	"organic":        mediumOrganic,
	"email":          mediumEmail,
	"e-mail":         mediumEmail,
	"e_mail":         mediumEmail,
	"e mail":         mediumEmail,
	"newsletter":     mediumEmail,
	"mail":           mediumEmail,
	"affiliate":      mediumAffiliate,
	"affiliates":     mediumAffiliate,
	"audio":          mediumAudio,
	"sms":            mediumSMS,
	"referral":       mediumReferral,
	"app":            mediumReferral,
	"link":           mediumReferral,
}

var (
	bCP           = []byte("cp")
	bPaid         = []byte("paid")
	bVideo        = []byte("video")
	bPush         = []byte("push")
	bMobile       = []byte("mobile")
	bNotification = []byte("notification")
)

// mediumOf returns the traits of a lowercase utm_medium.
func mediumOf(m []byte) medium {
	if len(m) == 0 {
		return 0
	}
	t := mediumExact[string(m)]
	if bytes.Contains(m, bCP) || bytes.HasPrefix(m, bPaid) {
		t |= mediumPaid
	}
	if bytes.Contains(m, bVideo) {
		t |= mediumVideo
	}
	if bytes.HasSuffix(m, bPush) || bytes.Contains(m, bMobile) || bytes.Contains(m, bNotification) {
		t |= mediumPush
	}
	return t
}

// shoppingCampaign reports whether a campaign name is about shopping, as
// GA4's pattern ^(.*(([^a-df-z]|^)shop|shopping).*)$ does, ignoring case.
func shoppingCampaign(c string) bool {
	for i := 0; ; {
		j := indexFold(c[i:], "shop")
		if j < 0 {
			return false
		}
		j += i
		if j == 0 || !shopBlocker(toLower(c[j-1])) || hasPrefixFold(c[j:], "shopping") {
			return true
		}
		i = j + 1
	}
}

// shopBlocker reports whether c before "shop" makes it part of another word
// (workshop): any lowercase letter but "e" (eshop counts).
func shopBlocker(c byte) bool { return 'a' <= c && c <= 'z' && c != 'e' }

func toLower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// indexFold is strings.Index ignoring ASCII case; needle must be lowercase.
func indexFold(s, needle string) int {
	for i := 0; i+len(needle) <= len(s); i++ {
		if hasPrefixFold(s[i:], needle) {
			return i
		}
	}
	return -1
}

func containsFold(s, needle string) bool { return indexFold(s, needle) >= 0 }

// hasPrefixFold is strings.HasPrefix ignoring ASCII case; prefix must be
// lowercase.
func hasPrefixFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		if toLower(s[i]) != prefix[i] {
			return false
		}
	}
	return true
}
