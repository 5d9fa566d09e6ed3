package channel

import (
	"slices"
	"strings"
	"testing"
)

// visit is one Classify input.
type visit struct {
	source, utmSource, utmMedium, utmCampaign, clickID string
}

func ref(host string) visit { return visit{source: host} }

func utm(source, medium, campaign string) visit {
	return visit{utmSource: source, utmMedium: medium, utmCampaign: campaign}
}

func click(source, id string) visit { return visit{source: source, clickID: id} }

var classifyCases = []struct {
	name string
	in   visit
	want string
}{
	// Direct.
	{"nothing", visit{}, Direct},
	{"only spaces", visit{" ", "  ", "\t", " ", ""}, Direct},
	{"unknown click id only", click("", "ttclid"), Direct},
	{"campaign only", utm("", "", "spring"), Direct},
	{"unknown medium only", utm("", "foo", ""), Direct},

	// Organic Search: referrers.
	{"google.com", ref("google.com"), OrganicSearch},
	{"google.co.uk", ref("google.co.uk"), OrganicSearch},
	{"google.de", ref("google.de"), OrganicSearch},
	{"google.com.br", ref("google.com.br"), OrganicSearch},
	{"maps.google.fr", ref("maps.google.fr"), OrganicSearch},
	{"bing.com", ref("bing.com"), OrganicSearch},
	{"cn.bing.com", ref("cn.bing.com"), OrganicSearch},
	{"duckduckgo.com", ref("duckduckgo.com"), OrganicSearch},
	{"yandex.ru", ref("yandex.ru"), OrganicSearch},
	{"yandex.com.tr", ref("yandex.com.tr"), OrganicSearch},
	{"baidu.com", ref("baidu.com"), OrganicSearch},
	{"m.baidu.com", ref("m.baidu.com"), OrganicSearch},
	{"ecosia.org", ref("ecosia.org"), OrganicSearch},
	{"search.brave.com", ref("search.brave.com"), OrganicSearch},
	{"yahoo.co.jp", ref("yahoo.co.jp"), OrganicSearch},
	{"search.yahoo.com", ref("search.yahoo.com"), OrganicSearch},
	{"naver.com", ref("naver.com"), OrganicSearch},
	{"go.mail.ru beats mail.ru", ref("go.mail.ru"), OrganicSearch},
	{"referrer with www and case", ref("WWW.Google.COM."), OrganicSearch},
	// Organic Search: utm words and mediums.
	{"utm_source google", utm("google", "", ""), OrganicSearch},
	{"utm_source Bing uppercase", utm("BING", "", ""), OrganicSearch},
	{"utm_source host", utm("duckduckgo.com", "", ""), OrganicSearch},
	{"medium organic", utm("somewhere", "organic", ""), OrganicSearch},
	{"medium Organic no source", utm("", " Organic ", ""), OrganicSearch},
	{"unknown utm_source, search referrer", visit{source: "google.com", utmSource: "spring-sale"}, OrganicSearch},

	// Not search: Google and Yahoo hosts that are something else.
	{"news.google.com", ref("news.google.com"), Referral},
	{"docs.google.com", ref("docs.google.com"), Referral},
	{"news.yahoo.co.jp", ref("news.yahoo.co.jp"), Referral},
	{"google lookalike", ref("google.example.com"), Referral},
	{"google as subdomain of blog", ref("google.blogspot.com"), Referral},
	{"notbing.com", ref("notbing.com"), Referral},

	// Paid Search.
	{"gclid alone", click("", "gclid"), PaidSearch},
	{"gbraid alone", click("", "gbraid"), PaidSearch},
	{"wbraid alone", click("", "wbraid"), PaidSearch},
	{"msclkid alone", click("", "msclkid"), PaidSearch},
	{"click id uppercase", click("", "GCLID"), PaidSearch},
	{"gclid from google.com", click("google.com", "gclid"), PaidSearch},
	{"gclid from display site", click("example-news.com", "gclid"), PaidSearch},
	{"msclkid from bing", click("bing.com", "msclkid"), PaidSearch},
	{"google cpc", utm("google", "cpc", "brand"), PaidSearch},
	{"Google CPC mixed case", utm("Google", "CPC", ""), PaidSearch},
	{"bing ppc", utm("bing", "ppc", ""), PaidSearch},
	{"google paid_search", utm("google", "paid_search", ""), PaidSearch},
	{"paid medium, search referrer", visit{source: "google.de", utmMedium: "cpc"}, PaidSearch},

	// Organic Social.
	{"facebook.com", ref("facebook.com"), OrganicSocial},
	{"l.facebook.com", ref("l.facebook.com"), OrganicSocial},
	{"m.facebook.com", ref("m.facebook.com"), OrganicSocial},
	{"lm.facebook.com", ref("lm.facebook.com"), OrganicSocial},
	{"t.co", ref("t.co"), OrganicSocial},
	{"x.com", ref("x.com"), OrganicSocial},
	{"linkedin.com", ref("linkedin.com"), OrganicSocial},
	{"lnkd.in", ref("lnkd.in"), OrganicSocial},
	{"reddit.com", ref("reddit.com"), OrganicSocial},
	{"old.reddit.com", ref("old.reddit.com"), OrganicSocial},
	{"instagram.com", ref("instagram.com"), OrganicSocial},
	{"l.instagram.com", ref("l.instagram.com"), OrganicSocial},
	{"pinterest.com", ref("pinterest.com"), OrganicSocial},
	{"pinterest.de", ref("pinterest.de"), OrganicSocial},
	{"pinterest.co.uk", ref("pinterest.co.uk"), OrganicSocial},
	{"tiktok.com", ref("tiktok.com"), OrganicSocial},
	{"threads.net", ref("threads.net"), OrganicSocial},
	{"bsky.app", ref("bsky.app"), OrganicSocial},
	{"mastodon.social", ref("mastodon.social"), OrganicSocial},
	{"news.ycombinator.com", ref("news.ycombinator.com"), OrganicSocial},
	{"tieba.baidu.com beats baidu.com", ref("tieba.baidu.com"), OrganicSocial},
	{"my.mail.ru beats mail.ru", ref("my.mail.ru"), OrganicSocial},
	{"utm_source facebook", utm("facebook", "", ""), OrganicSocial},
	{"utm_source fb", utm("fb", "", ""), OrganicSocial},
	{"utm_source ig", utm("IG", "", ""), OrganicSocial},
	{"utm_source linkedin", utm("linkedin", "", ""), OrganicSocial},
	{"utm_source twitter", utm("twitter", "", ""), OrganicSocial},
	{"utm_source x", utm("x", "", ""), OrganicSocial},
	{"utm_source t.co", utm("t.co", "", ""), OrganicSocial},
	{"medium social", utm("partner", "social", ""), OrganicSocial},
	{"medium social-network", utm("", "Social-Network", ""), OrganicSocial},
	{"medium sm", utm("", "sm", ""), OrganicSocial},
	{"fbclid without referrer", click("", "fbclid"), OrganicSocial},
	{"fbclid from l.facebook.com", click("l.facebook.com", "fbclid"), OrganicSocial},
	{"fbclid from instagram", click("l.instagram.com", "fbclid"), OrganicSocial},
	{"social utm beats search referrer", visit{source: "google.com", utmSource: "facebook"}, OrganicSocial},

	// fbclid on a copied link: the referrer is the truth.
	{"fbclid from a blog", click("someblog.net", "fbclid"), Referral},

	// Paid Social.
	{"twclid alone", click("", "twclid"), PaidSocial},
	{"twclid from t.co", click("t.co", "twclid"), PaidSocial},
	{"fbclid with paid medium", visit{utmMedium: "paid", clickID: "fbclid"}, PaidSocial},
	{"facebook cpc", utm("facebook", "cpc", ""), PaidSocial},
	{"fb paid_social", utm("fb", "paid_social", ""), PaidSocial},
	{"linkedin cpm", utm("linkedin", "cpm", ""), PaidSocial},
	{"reddit retargeting", utm("reddit.com", "retargeting", ""), PaidSocial},
	{"paid medium, social referrer", visit{source: "l.facebook.com", utmMedium: "cpc"}, PaidSocial},

	// Video.
	{"youtube.com", ref("youtube.com"), OrganicVideo},
	{"m.youtube.com", ref("m.youtube.com"), OrganicVideo},
	{"youtu.be", ref("youtu.be"), OrganicVideo},
	{"vimeo.com", ref("vimeo.com"), OrganicVideo},
	{"twitch.tv", ref("twitch.tv"), OrganicVideo},
	{"utm_source youtube", utm("YouTube", "", ""), OrganicVideo},
	{"medium video", utm("partner", "video", ""), OrganicVideo},
	{"medium containing video", utm("", "webinar-video", ""), OrganicVideo},
	{"youtube cpv", utm("youtube", "cpv", ""), PaidVideo},
	{"gclid from youtube", click("youtube.com", "gclid"), PaidVideo},
	{"vimeo paid", utm("vimeo", "paid", ""), PaidVideo},

	// Shopping.
	{"amazon.com", ref("amazon.com"), OrganicShopping},
	{"amazon.co.uk", ref("amazon.co.uk"), OrganicShopping},
	{"ebay.de", ref("ebay.de"), OrganicShopping},
	{"etsy.com", ref("etsy.com"), OrganicShopping},
	{"shopping.google.com beats google.*", ref("shopping.google.com"), OrganicShopping},
	{"aws.amazon.com is not shopping", ref("aws.amazon.com"), Referral},
	{"shopping campaign", utm("partner", "", "summer-shopping"), OrganicShopping},
	{"shop campaign", utm("partner", "", "Shop_Launch"), OrganicShopping},
	{"eshop campaign", utm("partner", "", "eshop"), OrganicShopping},
	{"workshop campaign is not shopping", utm("partner", "", "workshop"), Referral},
	{"workshop then shop", utm("partner", "", "workshop-shop"), OrganicShopping},
	{"shopping campaign beats search source", utm("google", "", "shopping"), OrganicShopping},
	{"google cpc shopping campaign", utm("google", "cpc", "Shopping-DE"), PaidShopping},
	{"gclid shop campaign", visit{utmCampaign: "shop", clickID: "gclid"}, PaidShopping},
	{"amazon ppc", utm("amazon", "ppc", ""), PaidShopping},

	// Email.
	{"mail.google.com", ref("mail.google.com"), Email},
	{"outlook.live.com", ref("outlook.live.com"), Email},
	{"outlook safelinks", ref("eur01.safelinks.protection.outlook.com"), Email},
	{"mail.yahoo.co.jp", ref("mail.yahoo.co.jp"), Email},
	{"e.mail.ru", ref("e.mail.ru"), Email},
	{"utm_source newsletter", utm("newsletter", "", ""), Email},
	{"utm_source E-Mail", utm("E-Mail", "", ""), Email},
	{"utm_source mail", utm("mail", "", ""), Email},
	{"medium email", utm("weekly", "email", ""), Email},
	{"medium newsletter", utm("", "Newsletter", ""), Email},
	{"medium e mail", utm("acme", "e mail", ""), Email},
	{"email utm beats social referrer", visit{source: "l.facebook.com", utmSource: "newsletter"}, Email},
	// GA4 order: a social source beats an email medium.
	{"social source, email medium", utm("facebook", "email", ""), OrganicSocial},

	// The remaining medium-only channels.
	{"affiliate", utm("partner", "affiliate", ""), Affiliates},
	{"affiliates no source", utm("", "Affiliates", ""), Affiliates},
	{"audio", utm("spotify-podcast", "audio", ""), Audio},
	{"sms medium", utm("acme", "sms", ""), SMS},
	{"sms source", utm("SMS", "", ""), SMS},
	{"push medium", utm("app", "web-push", ""), MobilePush},
	{"notification medium", utm("", "notification", ""), MobilePush},
	{"mobile medium", utm("acme", "mobile_app", ""), MobilePush},
	{"firebase source", utm("firebase", "", ""), MobilePush},

	// Display and Paid Other.
	{"display", utm("adnetwork", "display", ""), Display},
	{"banner", utm("", "Banner", ""), Display},
	{"interstitial", utm("acme", "interstitial", ""), Display},
	{"cpm unknown source", utm("adnetwork", "cpm", ""), Display},
	{"cpc unknown source", utm("adnetwork", "cpc", ""), PaidOther},
	{"paid medium only", utm("", "paid", ""), PaidOther},
	{"retargeting unknown source", utm("criteo", "retargeting", ""), PaidOther},
	{"gclid from newsletter", visit{utmSource: "newsletter", clickID: "gclid"}, PaidOther},

	// Cross-network beats everything but Direct.
	{"cross-network", utm("google", "cpc", "pmax_cross-network"), CrossNetwork},
	{"cross-network uppercase", visit{utmCampaign: "Cross-Network Q3", clickID: "gclid"}, CrossNetwork},

	// Referral.
	{"unknown host", ref("example.com"), Referral},
	{"github.com", ref("github.com"), Referral},
	{"unknown utm_source", utm("partner-site", "", ""), Referral},
	{"medium referral", utm("", "referral", ""), Referral},
	{"medium link", utm("", "link", ""), Referral},
	{"medium app", utm("", "APP", ""), Referral},
	{"unknown source and medium", utm("partner", "foo", "bar"), Referral},
	{"short word not derived from t.co", utm("t", "", ""), Referral},
	{"referrer longer than any entry", ref(strings.Repeat("a", 300) + ".google.com"), Referral},
}

func TestClassify(t *testing.T) {
	if len(classifyCases) < 60 {
		t.Fatalf("only %d cases", len(classifyCases))
	}
	for _, tc := range classifyCases {
		t.Run(tc.name, func(t *testing.T) {
			v := tc.in
			got := Classify(v.source, v.utmSource, v.utmMedium, v.utmCampaign, v.clickID)
			if got != tc.want {
				t.Errorf("Classify(%q, %q, %q, %q, %q) = %q, want %q",
					v.source, v.utmSource, v.utmMedium, v.utmCampaign, v.clickID, got, tc.want)
			}
		})
	}
}

// TestClassifyCoversEveryChannel keeps the table honest: every channel is
// the expected answer of some case.
func TestClassifyCoversEveryChannel(t *testing.T) {
	covered := map[string]bool{}
	for _, tc := range classifyCases {
		covered[tc.want] = true
	}
	for _, c := range Channels() {
		if !covered[c] {
			t.Errorf("no case expects %q", c)
		}
	}
}

func TestChannels(t *testing.T) {
	got := Channels()
	if len(got) != 18 {
		t.Errorf("Channels() has %d names, want 18", len(got))
	}
	seen := map[string]bool{}
	for _, c := range got {
		if seen[c] {
			t.Errorf("%q listed twice", c)
		}
		seen[c] = true
	}
	got[0] = "changed"
	if Channels()[0] != Direct {
		t.Error("Channels returns shared memory")
	}
	if !slices.Contains(Channels(), "Mobile Push Notifications") || !slices.Contains(Channels(), "Cross-network") {
		t.Error("Plausible's spelling of channel names changed")
	}
}

func TestShoppingCampaign(t *testing.T) {
	for _, tc := range []struct {
		campaign string
		want     bool
	}{
		{"shop", true},
		{"SHOP", true},
		{"shopping", true},
		{"workshopping", true}, // "shopping" anywhere, as GA4
		{"eshop", true},
		{"e-shop", true},
		{"2024shop", true},
		{"summer_shop_de", true},
		{"workshop", false},
		{"bishop", false},
		{"WorkShop", false},
		{"shoe", false},
		{"", false},
		{"sho", false},
	} {
		t.Run(tc.campaign, func(t *testing.T) {
			if got := shoppingCampaign(tc.campaign); got != tc.want {
				t.Errorf("shoppingCampaign(%q) = %v, want %v", tc.campaign, got, tc.want)
			}
		})
	}
}
