package useragent

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// Real-world User-Agent strings, as sent by current browsers and well-known
// automated clients.
const (
	uaChromeWindows  = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
	uaChromeMac      = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
	uaChromeLinux    = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
	uaChromeWin7     = "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/109.0.0.0 Safari/537.36"
	uaChromeOS       = "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
	uaFirefoxWindows = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0"
	uaFirefoxMac     = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:121.0) Gecko/20100101 Firefox/121.0"
	uaFirefoxLinux   = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"
	uaFirefoxUbuntu  = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"
	uaFirefoxFedora  = "Mozilla/5.0 (X11; Fedora; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"
	uaSafariMac      = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15"
	uaEdgeWindows    = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91"
	uaEdgeMac        = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91"
	uaEdgeLegacy     = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.102 Safari/537.36 Edge/18.19045"
	uaIE11           = "Mozilla/5.0 (Windows NT 6.1; Trident/7.0; rv:11.0) like Gecko"
	uaOperaWindows   = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36 OPR/105.0.0.0"
	uaOperaPresto    = "Opera/9.80 (Windows NT 6.1; U; en) Presto/2.12.388 Version/12.16"
	uaVivaldi        = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Vivaldi/6.5.3206.48"
	uaYandex         = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 YaBrowser/23.11.0.0 Safari/537.36"
	uaIPhoneSafari   = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1"
	uaIPhoneChrome   = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1"
	uaIPhoneFirefox  = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/121.0 Mobile/15E148 Safari/605.1.15"
	uaIPhoneEdge     = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) EdgiOS/120.0.2210.116 Version/17.0 Mobile/15E148 Safari/604.1"
	uaIPhoneFacebook = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBDV/iPhone14,5;FBMD/iPhone;FBSN/iOS;FBSV/17.1.2;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5]"
	uaIPadSafari     = "Mozilla/5.0 (iPad; CPU OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1"
	uaAndroidChrome  = "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36"
	uaAndroidTablet  = "Mozilla/5.0 (Linux; Android 13; SM-X706B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
	uaAndroidOld     = "Mozilla/5.0 (Linux; Android 4.4.2; GT-I9505 Build/KOT49H) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/34.0.1847.114 Mobile Safari/537.36"
	uaSamsung        = "Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36"
	uaSamsungTablet  = "Mozilla/5.0 (Linux; Android 12; SM-T870) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/22.0 Chrome/111.0.5563.116 Safari/537.36"
	uaAndroidWebview = "Mozilla/5.0 (Linux; Android 13; Pixel 7 Build/TQ3A.230901.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.163 Mobile Safari/537.36"
	uaFirefoxAndroid = "Mozilla/5.0 (Android 14; Mobile; rv:121.0) Gecko/121.0 Firefox/121.0"
	uaFirefoxTablet  = "Mozilla/5.0 (Android 13; Tablet; rv:121.0) Gecko/121.0 Firefox/121.0"
	uaOperaAndroid   = "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Mobile Safari/537.36 OPR/79.1.4195.76505"
	uaEdgeAndroid    = "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36 EdgA/120.0.2210.115"
	uaUCBrowser      = "Mozilla/5.0 (Linux; U; Android 10; en-US; RMX2185 Build/QP1A.190711.020) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/78.0.3904.108 UCBrowser/13.4.0.1306 Mobile Safari/537.36"
	uaCubot          = "Mozilla/5.0 (Linux; Android 10; CUBOT_X30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36"
	uaWindowsPhone   = "Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; Microsoft; Lumia 950) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0.2743.116 Mobile Safari/537.36 Edge/15.15063"

	uaGooglebot        = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
	uaGooglebotMobile  = "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.71 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
	uaBingbot          = "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"
	uaCurl             = "curl/8.4.0"
	uaWget             = "Wget/1.21.4"
	uaPythonRequests   = "python-requests/2.31.0"
	uaGoHTTP           = "Go-http-client/2.0"
	uaHeadlessChrome   = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.6099.28 Safari/537.36"
	uaFacebookHit      = "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"
	uaLighthouse       = "Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Mobile Safari/537.36 Chrome-Lighthouse"
	uaAhrefs           = "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)"
	uaUptimeRobot      = "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)"
	uaWhatsApp         = "WhatsApp/2.23.20.0"
	uaGPTBot           = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.0; +https://openai.com/gptbot)"
	uaPingdom          = "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/534.34 (KHTML, like Gecko) PingdomTMS/22.04 Safari/534.34"
	uaPlaywrightWebkit = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15 Playwright/1.40"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		ua   string
		want Info
	}{
		{"chrome windows", uaChromeWindows, Info{"Chrome", "120", "Windows", "10", Desktop, false, ""}},
		{"chrome mac", uaChromeMac, Info{"Chrome", "120", "Mac", "10", Desktop, false, ""}},
		{"chrome linux", uaChromeLinux, Info{"Chrome", "120", "GNU/Linux", "", Desktop, false, ""}},
		{"chrome windows 7", uaChromeWin7, Info{"Chrome", "109", "Windows", "7", Desktop, false, ""}},
		{"chrome os", uaChromeOS, Info{"Chrome", "120", "Chrome OS", "", Desktop, false, ""}},
		{"firefox windows", uaFirefoxWindows, Info{"Firefox", "121", "Windows", "10", Desktop, false, ""}},
		{"firefox mac", uaFirefoxMac, Info{"Firefox", "121", "Mac", "10", Desktop, false, ""}},
		{"firefox linux", uaFirefoxLinux, Info{"Firefox", "121", "GNU/Linux", "", Desktop, false, ""}},
		{"firefox ubuntu", uaFirefoxUbuntu, Info{"Firefox", "121", "GNU/Linux", "", Desktop, false, ""}},
		{"firefox fedora", uaFirefoxFedora, Info{"Firefox", "120", "GNU/Linux", "", Desktop, false, ""}},
		{"safari mac", uaSafariMac, Info{"Safari", "17", "Mac", "10", Desktop, false, ""}},
		{"edge windows", uaEdgeWindows, Info{"Edge", "120", "Windows", "10", Desktop, false, ""}},
		{"edge mac", uaEdgeMac, Info{"Edge", "120", "Mac", "10", Desktop, false, ""}},
		{"edge legacy", uaEdgeLegacy, Info{"Edge", "18", "Windows", "10", Desktop, false, ""}},
		{"internet explorer 11", uaIE11, Info{"Internet Explorer", "11", "Windows", "7", Desktop, false, ""}},
		{"opera windows", uaOperaWindows, Info{"Opera", "105", "Windows", "10", Desktop, false, ""}},
		{"opera presto", uaOperaPresto, Info{"Opera", "12", "Windows", "7", Desktop, false, ""}},
		{"vivaldi", uaVivaldi, Info{"Vivaldi", "6", "Windows", "10", Desktop, false, ""}},
		{"yandex", uaYandex, Info{"Yandex Browser", "23", "Windows", "10", Desktop, false, ""}},
		{"iphone safari", uaIPhoneSafari, Info{"Safari", "17", "iOS", "17", Mobile, false, ""}},
		{"iphone chrome", uaIPhoneChrome, Info{"Chrome", "120", "iOS", "17", Mobile, false, ""}},
		{"iphone firefox", uaIPhoneFirefox, Info{"Firefox", "121", "iOS", "17", Mobile, false, ""}},
		{"iphone edge", uaIPhoneEdge, Info{"Edge", "120", "iOS", "17", Mobile, false, ""}},
		{"iphone facebook in-app", uaIPhoneFacebook, Info{"Safari (in-app)", "", "iOS", "17", Mobile, false, ""}},
		{"ipad safari", uaIPadSafari, Info{"Safari", "17", "iOS", "17", Tablet, false, ""}},
		{"android chrome mobile", uaAndroidChrome, Info{"Chrome", "120", "Android", "10", Mobile, false, ""}},
		{"android chrome tablet", uaAndroidTablet, Info{"Chrome", "120", "Android", "13", Tablet, false, ""}},
		{"android 4.4 chrome", uaAndroidOld, Info{"Chrome", "34", "Android", "4", Mobile, false, ""}},
		{"samsung internet", uaSamsung, Info{"Samsung Internet", "23", "Android", "13", Mobile, false, ""}},
		{"samsung internet tablet", uaSamsungTablet, Info{"Samsung Internet", "22", "Android", "12", Tablet, false, ""}},
		{"android webview", uaAndroidWebview, Info{"Chrome Webview", "119", "Android", "13", Mobile, false, ""}},
		{"firefox android", uaFirefoxAndroid, Info{"Firefox", "121", "Android", "14", Mobile, false, ""}},
		{"firefox android tablet", uaFirefoxTablet, Info{"Firefox", "121", "Android", "13", Tablet, false, ""}},
		{"opera android", uaOperaAndroid, Info{"Opera", "79", "Android", "10", Mobile, false, ""}},
		{"edge android", uaEdgeAndroid, Info{"Edge", "120", "Android", "10", Mobile, false, ""}},
		{"uc browser", uaUCBrowser, Info{"UC Browser", "13", "Android", "10", Mobile, false, ""}},
		{"cubot phone is not a bot", uaCubot, Info{"Chrome", "120", "Android", "10", Mobile, false, ""}},
		{"windows phone", uaWindowsPhone, Info{"Edge", "15", "Windows Phone", "10", Mobile, false, ""}},

		{"googlebot", uaGooglebot, Info{Bot: true, BotClass: BotCrawler}},
		{"googlebot smartphone", uaGooglebotMobile, Info{Bot: true, BotClass: BotCrawler}},
		{"bingbot", uaBingbot, Info{Bot: true, BotClass: BotCrawler}},
		{"curl", uaCurl, Info{Bot: true, BotClass: BotLibrary}},
		{"wget", uaWget, Info{Bot: true, BotClass: BotLibrary}},
		{"python requests", uaPythonRequests, Info{Bot: true, BotClass: BotLibrary}},
		{"go http client", uaGoHTTP, Info{Bot: true, BotClass: BotLibrary}},
		{"headless chrome", uaHeadlessChrome, Info{Bot: true, BotClass: BotHeadless}},
		{"facebookexternalhit", uaFacebookHit, Info{Bot: true, BotClass: BotPreview}},
		{"lighthouse", uaLighthouse, Info{Bot: true, BotClass: BotHeadless}},
		{"ahrefs", uaAhrefs, Info{Bot: true, BotClass: BotCrawler}},
		{"uptimerobot", uaUptimeRobot, Info{Bot: true, BotClass: BotMonitor}},
		{"whatsapp preview", uaWhatsApp, Info{Bot: true, BotClass: BotPreview}},
		{"gptbot", uaGPTBot, Info{Bot: true, BotClass: BotCrawler}},
		{"pingdom", uaPingdom, Info{Bot: true, BotClass: BotMonitor}},
		{"playwright", uaPlaywrightWebkit, Info{Bot: true, BotClass: BotHeadless}},
		{"empty", "", Info{Bot: true, BotClass: BotInvalid}},
		{"too short", "Mozilla/5", Info{Bot: true, BotClass: BotInvalid}},
		{"too long", uaChromeWindows + strings.Repeat(" x", 500), Info{Bot: true, BotClass: BotInvalid}},
		{"unknown product", "SomeApp/1.0 (+custom build; linux)", Info{Bot: true, BotClass: BotLibrary}},
	}
	p := New(100)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Twice: a miss, then a cache hit.
			for range 2 {
				if got := p.Parse([]byte(tt.ua)); got != tt.want {
					t.Errorf("Parse(%q)\n got %+v\nwant %+v", tt.ua, got, tt.want)
				}
			}
		})
	}
}

func TestParseDoesNotRetainInput(t *testing.T) {
	p := New(10)
	buf := []byte(uaSamsung)
	first := p.Parse(buf)
	for i := range buf {
		buf[i] = 'x'
	}
	if got := p.Parse([]byte(uaSamsung)); got != first {
		t.Fatalf("cached Info changed after the caller reused its buffer: %+v, want %+v", got, first)
	}
	if first.Browser != "Samsung Internet" {
		t.Fatalf("Browser = %q after the caller reused its buffer", first.Browser)
	}
}

func TestProduct(t *testing.T) {
	tests := []struct {
		name, ua, token string
		want            string
		ok              bool
	}{
		{"first token", "curl/8.4.0", "curl", "8.4.0", true},
		{"after space", uaEdgeWindows, "Edg", "120.0.2210.91", true},
		{"prefix of longer token", uaEdgeAndroid, "Edg", "", false},
		{"suffix of longer token", uaHeadlessChrome, "Chrome", "", false},
		{"after parenthesis", "Mozilla/5.0 (X)Foo/2", "Foo", "2", true},
		{"inside comment", "Mozilla/5.0 (compatible; Foo/3; +http://foo.example)", "Foo", "3", true},
		{"missing slash", "Mozilla/5.0 Chrome", "Chrome", "", false},
		{"empty version", "Mozilla/5.0 Chrome/", "Chrome", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := product(tt.ua, tt.token)
			if got != tt.want || ok != tt.ok {
				t.Errorf("product(%q, %q) = %q, %v; want %q, %v", tt.ua, tt.token, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestMajor(t *testing.T) {
	tests := []struct{ in, want string }{
		{"120.0.6099.109", "120"},
		{"17_2", "17"},
		{"10", "10"},
		{"XP", "XP"},
		{"", ""},
		{".1", ""},
		{"1234567890.1", ""},
		{"12<script>", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := major(tt.in); got != tt.want {
				t.Errorf("major(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestCacheBounded(t *testing.T) {
	for _, size := range []int{1, 7, 100, 5000, 100000} {
		t.Run(fmt.Sprint("size=", size), func(t *testing.T) {
			c := newCache(size)
			for i := range 3 * size {
				c.put(c.key(fmt.Appendf(nil, "%s %d", uaChromeWindows, i)), Info{Browser: "Chrome"})
			}
			n := 0
			for i := range c.shards {
				n += len(c.shards[i].cur) + len(c.shards[i].old)
			}
			if limit := max(size, 2); n > limit {
				t.Errorf("cache holds %d entries, want at most %d", n, limit)
			}
			if n == 0 {
				t.Error("cache holds nothing")
			}
		})
	}
}

func TestCacheKeepsHotEntries(t *testing.T) {
	c := newCache(64)
	hot := c.key([]byte(uaChromeMac))
	c.put(hot, Info{Browser: "Chrome"})
	for i := range 10000 {
		c.put(c.key(fmt.Append(nil, "cold ", i)), Info{})
		if _, ok := c.get(hot); !ok {
			t.Fatalf("hot entry evicted after %d cold inserts", i+1)
		}
	}
}

func TestParseConcurrent(t *testing.T) {
	uas := []string{uaChromeWindows, uaSafariMac, uaIPhoneSafari, uaSamsung, uaGooglebot, uaCurl}
	want := make([]Info, len(uas))
	for i, ua := range uas {
		want[i] = New(0).Parse([]byte(ua))
	}
	p := New(4) // small, so that goroutines keep rotating generations
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				k := (g + i) % len(uas)
				if got := p.Parse([]byte(uas[k])); got != want[k] {
					t.Errorf("Parse(%q) = %+v, want %+v", uas[k], got, want[k])
					return
				}
			}
		})
	}
	wg.Wait()
}

var sink Info

// BenchmarkParse measures a cache miss: the full classification.
func BenchmarkParse(b *testing.B) {
	for _, bc := range []struct{ name, ua string }{
		{"browser=chrome", uaChromeWindows},
		{"browser=samsung", uaSamsung},
		{"browser=instagram", uaIPhoneFacebook},
		{"bot=googlebot", uaGooglebot},
		{"bot=googlebot-smartphone", uaGooglebotMobile},
		{"bot=headless", uaHeadlessChrome},
		{"bot=curl", uaCurl},
	} {
		b.Run(bc.name, func(b *testing.B) {
			p := New(0)
			ua := []byte(bc.ua)
			b.ReportAllocs()
			for b.Loop() {
				sink = p.Parse(ua)
			}
		})
	}
}

// BenchmarkBotClass measures the bot classification alone, which runs on
// every cache miss before the parser.
func BenchmarkBotClass(b *testing.B) {
	for _, bc := range []struct{ name, ua string }{
		{"ua=chrome", uaChromeWindows},
		{"ua=instagram", uaIPhoneFacebook},
		{"ua=googlebot", uaGooglebot},
		{"ua=curl", uaCurl},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ua := []byte(bc.ua)
			b.ReportAllocs()
			for b.Loop() {
				classSink = botClass(ua)
			}
		})
	}
}

var classSink class

// BenchmarkParseCached measures a cache hit, the common case.
func BenchmarkParseCached(b *testing.B) {
	p := New(10000)
	ua := []byte(uaChromeWindows)
	p.Parse(ua)
	b.ReportAllocs()
	for b.Loop() {
		sink = p.Parse(ua)
	}
}

func BenchmarkParseCachedParallel(b *testing.B) {
	uas := [][]byte{[]byte(uaChromeWindows), []byte(uaSafariMac), []byte(uaIPhoneSafari), []byte(uaSamsung)}
	p := New(10000)
	for _, ua := range uas {
		p.Parse(ua)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			p.Parse(uas[i%len(uas)])
			i++
		}
	})
}
