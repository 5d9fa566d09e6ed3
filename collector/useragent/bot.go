package useragent

import "bytes"

// Bot classes: why a User-Agent is not counted as a visitor. Info.BotClass
// holds one of them for bots and "" for humans.
const (
	// BotCrawler: search engines, SEO tools, AI crawlers, feed readers and
	// anything else that says "bot", "crawler" or "spider", links to its
	// documentation or follows the "(compatible; Name/1.0)" convention.
	BotCrawler = "crawler"
	// BotHeadless: headless and automated browsers (HeadlessChrome,
	// PhantomJS, Puppeteer, Playwright, Selenium, Lighthouse, ...).
	BotHeadless = "headless"
	// BotPreview: link previewers of chat and social apps
	// (facebookexternalhit, Twitterbot, Slackbot-LinkExpanding, WhatsApp,
	// TelegramBot, Discordbot, iMessage, ...).
	BotPreview = "preview"
	// BotMonitor: uptime, performance and synthetic checks (Pingdom,
	// UptimeRobot, StatusCake, GTmetrix, Datadog or New Relic synthetics, ...).
	BotMonitor = "monitor"
	// BotLibrary: HTTP libraries, command-line clients and scanners (curl,
	// Wget, python-requests, Go-http-client, Java, okhttp, axios, Scrapy,
	// PostmanRuntime, ...), and every other client that names itself with
	// a product token but not the way browsers do ("Mozilla/5.0 ...";
	// Presto Opera's "Opera/9.80" and UC Browser's "UCWEB/2.0" excepted),
	// such as an app's own HTTP stack ("Dalvik/2.1.0", "MyApp/1.0").
	BotLibrary = "library"
	// BotInvalid: a User-Agent no browser sends: empty, longer than 1000
	// bytes, shorter than 10 bytes without a known name, bytes outside
	// printable ASCII, no "product/version" token, a bare "Mozilla/5.0" or
	// "Mozilla/5.0 (platform)", or platforms that cannot go together.
	BotInvalid = "invalid"
)

// Classes lists every bot class, for callers that create one metric per
// class up front. Do not modify.
var Classes = []string{BotCrawler, BotHeadless, BotPreview, BotMonitor, BotLibrary, BotInvalid}

// class is a bot class as a small number. When a User-Agent carries markers
// of several classes the lowest number wins: a link previewer or a monitor
// that also says "bot" or links to its documentation is reported as what it
// does, and a headless browser driven by a library as headless.
type class uint8

const (
	human class = iota
	preview
	monitor
	headless
	library
	crawler
	invalid
)

var classNames = [...]string{
	human:    "",
	preview:  BotPreview,
	monitor:  BotMonitor,
	headless: BotHeadless,
	library:  BotLibrary,
	crawler:  BotCrawler,
	invalid:  BotInvalid,
}

func (c class) String() string { return classNames[c] }

// A marker is a lower-case fragment of a User-Agent and the class it implies.
type marker struct {
	s []byte
	c class
}

// substrings are matched anywhere in the lower-cased User-Agent, so they
// also find names glued to other words ("uptimerobot", "headlesschrome",
// "bingpreview"). Each costs a bytes.Index over the string on a cache miss:
// keep this list short and put exact names in words instead.
//
// "bot" is matched separately (see containsBot) because of a phone brand.
var substrings = []marker{
	{[]byte("preview"), preview}, // BingPreview, SkypeUriPreview, Google Web Preview, LinkPreview, ...
	{[]byte("monitor"), monitor},
	{[]byte("uptime"), monitor}, // UptimeRobot, Uptime-Kuma, ...
	{[]byte("synthetic"), monitor},
	{[]byte("pingdom"), monitor},
	{[]byte("checker"), monitor},   // link and SSL checkers, ELB-HealthChecker, ...
	{[]byte("validator"), monitor}, // W3C and feed validators
	{[]byte("headless"), headless}, // HeadlessChrome, Firefox headless, ...
	{[]byte("lighthouse"), headless},
	{[]byte("crawl"), crawler},
	{[]byte("spider"), crawler},
	{[]byte("scrap"), crawler}, // scraper, scraping
	{[]byte("slurp"), crawler},
	{[]byte("archiv"), crawler}, // ia_archiver, archive.org
	{[]byte("fetch"), crawler},  // Feedfetcher, meta-externalfetcher
	{[]byte("feed"), crawler},   // feed readers
	{[]byte("parser"), crawler},
	{[]byte("audit"), crawler},
	// Browsers never put a link or a domain name in their User-Agent;
	// crawlers do, to document themselves.
	{[]byte("http:"), crawler},
	{[]byte("https:"), crawler},
	{[]byte("www."), crawler},
}

// words are matched against whole words of the lower-cased User-Agent,
// where a word is a run of letters, digits, '.', '-' and '_', and against the
// parts of such a word between '-' and '_' ("chrome-lighthouse",
// "python-requests", "statuscake_uptime_checker"). A map lookup per word
// keeps a long list cheap; exact matching keeps short names safe: "curl"
// and "java" do not match inside other words, and names in an app's package
// id ("jp.co.yahoo.ipn.appli") stay inside one word.
var words = func() map[string]class {
	m := make(map[string]class)
	add := func(c class, names ...string) {
		for _, n := range names {
			m[n] = c
		}
	}
	add(preview,
		"facebookexternalhit", "facebookcatalog", "facebot", "twitterbot",
		"slackbot", "slack-imgproxy", "whatsapp", "telegrambot", "discordbot",
		"linkedinbot", "embedly", "iframely", "vkshare", "redditbot",
		"skypeuripreview", "mastodon", "pleroma", "misskey", "bluesky", "cardyb",
		"kakaotalk-scrap", "onebox", "nuzzel", "flipboardproxy", "imessage",
		"snap-url-preview", "zoombot", "teamsbot", "mattermost-bot",
		"opengraph", "og-parser", "unfurl", "unfurler")
	add(monitor,
		"datadog", "newrelic", "catchpoint", "thousandeyes", "nodeping",
		"freshping", "updown", "uptrends", "panopta", "hetrixtools", "pingping",
		"hyperping", "ptst", "webpagetest", "speedcurve", "dareboost",
		"sitespeed", "gtmetrix", "statuscake", "site24x7", "pagespeed",
		"nagios", "zabbix", "icinga", "blackbox", "appinsights", "rigor",
		"inspector", "probe", "check", "checkly", "checklink", "linkcheck",
		"healthcheck", "health-check", "dynatrace", "alertsite", "dotcom-monitor",
		"stackdriver", "cloudflare-healthchecks", "pulsetic", "oh-dear", "ohdear",
		"freshworks", "better-uptime", "betterstack", "cron-job")
	add(headless,
		"phantomjs", "puppeteer", "playwright", "selenium", "webdriver",
		"cypress", "slimerjs", "prerender", "rendertron", "htmlunit", "jsdom",
		"wkhtmltopdf", "wkhtmltoimage", "screenshot", "splash", "nightmare",
		"zombie", "chromedp", "browserless", "scrapingbee", "zenrows")
	add(library,
		"curl", "libcurl", "wget", "python", "python-requests", "python-urllib",
		"urllib", "urllib3", "httpx", "python-httpx", "aiohttp", "requests",
		"go-http-client", "fasthttp", "resty", "java", "jakarta", "okhttp",
		"apache-httpclient", "apache-httpasyncclient", "httpclient", "ahc",
		"jetty", "axios", "node-fetch", "node", "undici", "got", "superagent",
		"needle", "libwww-perl", "lwp", "perl", "ruby", "faraday", "httparty",
		"php", "guzzlehttp", "wordpress", "scrapy", "colly", "mechanize",
		"httrack", "httpie", "postmanruntime", "insomnia", "restsharp", "dart",
		"reqwest", "http.rb", "winhttp", "wininet", "powershell", "cfnetwork",
		"dalvik", "indy", "grpc", "libfetch", "aria2", "wget2",
		// security scanners and internet surveys
		"nmap", "masscan", "zgrab", "nuclei", "nikto", "sqlmap", "wpscan",
		"acunetix", "openvas", "whatweb", "zmeu", "netcraft", "censys",
		"shodan", "expanse", "nessus", "burp", "dirbuster", "gobuster")
	// Search engines' and AI vendors' own names are missing on purpose:
	// their apps' web views may say "Baidu", "Yandex", "Naver" or "ChatGPT"
	// too, while their crawlers say "bot", "spider" or "-User".
	add(crawler,
		"googleother", "googleagent", "mediapartners-google",
		"claude-web", "anthropic", "cohere", "ai",
		"ahrefs", "ahrefssiteaudit", "semrush", "sistrix", "seokicks", "seo",
		"serpstat", "dataforseo", "screaming", "favicon", "rss", "outbrain",
		"qwantify", "daumoa", "exabot",
		"ia_archiver", "heritrix", "nutch", "yeti", "proximic", "grapeshot",
		"mj12", "blexbot", "dotbot", "linkdex", "majestic", "moz", "rogerbot",
		"datanyze", "builtwith", "wappalyzer", "similarweb", "netestate",
		"bytedance-bot", "bytespider", "amazonbot", "applebot", "diffbot",
		"meta-externalagent", "externalagent", "ccbot", "omgili", "webzio",
		"newspaper", "readability", "readable", "instapaper", "linkwalker",
		"linkfinder", "w3c")
	return m
}()

// containsBot reports whether low contains "bot" other than in the name of the
// phone maker Cubot, whose devices send "CUBOT_X30" and the like.
func containsBot(low []byte) bool {
	for i := 0; ; {
		j := bytes.Index(low[i:], []byte("bot"))
		if j < 0 {
			return false
		}
		at := i + j
		if at < 2 || string(low[at-2:at]) != "cu" {
			return true
		}
		i = at + 3
	}
}

// partWords are matched only against the parts of a compound word:
// "google" names Google's own agents ("Google-InspectionTool",
// "Mediapartners-Google", "Google-Extended") but could be part of a device
// name on its own.
// "agent" and "user" name automated agents ("Nitro-Optimizer-Agent",
// "ChatGPT-User", "Perplexity-User").
var partWords = map[string]class{
	"google": crawler,
	"agent":  crawler,
	"user":   crawler,
}

// domainSuffixes are the top-level domains looked for at the end of a word
// with a dot: browsers do not name a domain ("Siteimprove.com",
// "scope3.com", "Miniature.io"), crawlers often do. An app's reverse-domain
// package id ("jp.co.yahoo.ipn.appli") ends with a name, not one of these.
var domainSuffixes = map[string]bool{
	"com": true, "net": true, "org": true, "io": true, "ai": true, "co": true,
	"info": true, "biz": true, "eu": true, "uk": true, "fr": true, "de": true,
	"nl": true, "ru": true, "jp": true,
}

// isWordByte reports whether c belongs to a word (see words); c is lower case.
func isWordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_'
}

// botClass classifies ua (at most maxLen bytes) as a bot class or human. It
// needs no parser: one pass lowers the case and checks the bytes, then come
// the markers and a few checks of the shape of the string. It does not
// allocate.
func botClass[T string | []byte](ua T) class {
	if len(ua) > maxLen {
		return invalid
	}
	var buf [maxLen]byte
	low := buf[:len(ua)]
	for i := 0; i < len(ua); i++ {
		c := ua[i]
		if c < 0x20 || c > 0x7e {
			return invalid
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		low[i] = c
	}

	best := human
	note := func(c class) {
		if c != human && (best == human || c < best) {
			best = c
		}
	}
	for _, m := range substrings {
		if m.c < best || best == human {
			if bytes.Contains(low, m.s) {
				note(m.c)
			}
		}
	}
	if best == human && containsBot(low) {
		best = crawler
	}
	note(wordClass(low))
	if best == human && oddEngineComment(low) {
		best = crawler
	}
	if best != human {
		return best
	}
	return shapeClass(low)
}

// wordClass returns the best class of the words of low and their parts.
func wordClass(low []byte) class {
	best := human
	note := func(c class, ok bool) {
		if ok && c != human && (best == human || c < best) {
			best = c
		}
	}
	for i := 0; i < len(low); {
		if !isWordByte(low[i]) {
			i++
			continue
		}
		start, split := i, false
		for i < len(low) && isWordByte(low[i]) {
			if low[i] == '-' || low[i] == '_' {
				split = true
			}
			i++
		}
		word := low[start:i]
		if c := word[0]; '0' <= c && c <= '9' {
			continue // a version or a build number; no name starts with a digit
		}
		c, ok := words[string(word)]
		note(c, ok)
		if isDomain(word) {
			note(crawler, true)
		}
		if !split {
			continue
		}
		for p := 0; p < len(word); {
			q := p
			for q < len(word) && word[q] != '-' && word[q] != '_' {
				q++
			}
			if q > p {
				part := word[p:q]
				c, ok := words[string(part)]
				note(c, ok)
				c, ok = partWords[string(part)]
				note(c, ok)
			}
			p = q + 1
		}
	}
	return best
}

// shapeClass judges a lower-cased User-Agent that carries no marker by its
// shape. Browsers send "Mozilla/5.0 (platform) Engine/version ..."; Presto
// Opera and UC Browser's lite mode keep their own leading product.
func shapeClass(low []byte) class {
	if !hasProductToken(low) {
		return invalid
	}
	var rest []byte
	switch {
	case bytes.HasPrefix(low, []byte("mozilla/")):
		rest = low[len("mozilla/"):]
	case bytes.HasPrefix(low, []byte("opera/")), bytes.HasPrefix(low, []byte("ucweb/")):
		return human
	default:
		// A client that names itself with a product token but is not a
		// browser: an HTTP library, a tool or an app's own HTTP stack.
		return library
	}
	ie := bytes.Contains(rest, []byte("msie")) || bytes.Contains(rest, []byte("trident/"))
	if bytes.Contains(rest, []byte("compatible")) && !ie && !bytes.Contains(rest, []byte("konqueror")) {
		// "Mozilla/5.0 (compatible; Name/1.0)" is how crawlers introduce
		// themselves; only Internet Explorer and Konqueror sent it.
		return crawler
	}
	// Skip the version, then the platform comment: a browser follows them
	// with at least one product token ("AppleWebKit/...", "Gecko/..."), or
	// is Internet Explorer, which ends with the comment.
	i := 0
	for i < len(rest) && rest[i] != ' ' && rest[i] != '(' {
		i++
	}
	for i < len(rest) && rest[i] == ' ' {
		i++
	}
	if i < len(rest) && rest[i] == '(' {
		if j := bytes.IndexByte(rest[i:], ')'); j >= 0 {
			i += j + 1
		} else {
			i = len(rest)
		}
	}
	if !ie && !hasProductToken(rest[i:]) {
		return invalid
	}
	if impossiblePlatforms(rest) {
		return invalid
	}
	return human
}

// hasProductToken reports whether s holds "name/version": a letter or digit,
// a slash, a letter or digit.
func hasProductToken(s []byte) bool {
	for i := 1; i+1 < len(s); i++ {
		if s[i] == '/' && isAlnum(s[i-1]) && isAlnum(s[i+1]) {
			return true
		}
	}
	return false
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// impossiblePlatforms reports whether low names operating systems that no
// single browser reports together, as generators of random User-Agents do.
// Windows Phone ("Windows Phone 10.0; Android 6.0.1") says "windows phone",
// not "windows nt"; iPads that ask for desktop sites say only "Macintosh".
func impossiblePlatforms(low []byte) bool {
	win := bytes.Contains(low, []byte("windows nt"))
	mac := bytes.Contains(low, []byte("macintosh"))
	ios := bytes.Contains(low, []byte("iphone")) || bytes.Contains(low, []byte("ipad"))
	android := bytes.Contains(low, []byte("android"))
	n := 0
	for _, b := range []bool{win, mac, ios, android} {
		if b {
			n++
		}
	}
	return n > 1
}

// isDomain reports whether word looks like a domain name: a label with a
// letter, a dot, and one of domainSuffixes.
func isDomain(word []byte) bool {
	dot := bytes.LastIndexByte(word, '.')
	if dot <= 0 || !domainSuffixes[string(word[dot+1:])] {
		return false
	}
	for _, c := range word[:dot] {
		if 'a' <= c && c <= 'z' {
			return true
		}
	}
	return false
}

// oddEngineComment reports whether the "(KHTML, like Gecko)" comment that
// WebKit and Blink browsers send carries anything else: crawlers put their
// name there ("KHTML, like Gecko; compatible; GPTBot/1.0"), browsers never.
func oddEngineComment(low []byte) bool {
	const engine = "(khtml, like gecko"
	i := bytes.Index(low, []byte(engine))
	if i < 0 {
		return false
	}
	rest := low[i+len(engine):]
	return len(rest) > 0 && rest[0] != ')'
}
