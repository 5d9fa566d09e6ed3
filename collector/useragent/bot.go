package useragent

// automationSubstrings are lower-case fragments of User-Agent strings sent by
// crawlers, link previewers, monitoring services, headless browsers and HTTP
// libraries. mssola/useragent recognises many crawlers by itself; this list
// catches the rest, and every entry found in the wild belongs here.
//
// Keep entries specific: each one is matched anywhere in the lower-cased
// string, so a short or common word would drop real visitors. The generic
// "bot" is matched separately (see containsBot) because of a phone brand.
//
// Maintenance: when a site owner reports an automated client counted as a
// visitor, add the shortest fragment that is unique to it and a test case.
var automationSubstrings = []string{
	// Crawlers and indexers that do not say "bot".
	"crawl", "spider", "slurp", "scrapy", "archiver",
	"feedfetcher", "mediapartners-google", "google-inspectiontool",
	"google-read-aloud",
	// AI agents and scrapers.
	"chatgpt-user", "anthropic-ai", "claude-web", "perplexity", "cohere-ai",
	// Link previews and embeds.
	// "preview" also covers BingPreview, SkypeUriPreview, Google Web Preview.
	"facebookexternalhit", "facebookcatalog", "whatsapp", "preview",
	"embedly", "vkshare",
	// Headless and automated browsers.
	// "headless" covers HeadlessChrome and headless Firefox builds.
	"headless", "phantomjs", "puppeteer", "playwright", "selenium",
	"webdriver", "cypress", "slimerjs", "prerender",
	// Performance and uptime monitoring.
	"lighthouse", "pagespeed", "gtmetrix", "pingdom", "uptime", "monitor",
	"statuscake", "site24x7", "newrelic", "datadog", "synthetics", "ptst/",
	"check_http", "nagios", "zabbix",
	// SEO tools.
	"ahrefs", "semrush", "mj12", "screaming frog", "seokicks", "serpstat",
	"sistrix", "dataforseo",
	// HTTP libraries and command-line clients.
	"curl/", "wget/", "python-requests", "python-urllib", "python-httpx",
	"aiohttp", "go-http-client", "java/", "okhttp", "axios", "node-fetch",
	"undici", "httpclient", "libwww", "lwp-", "guzzlehttp", "ruby",
	"php/", "postmanruntime", "insomnia", "httpie", "restsharp", "dart:io",
	"reqwest", "winhttp", "powershell",
	// Security scanners.
	"nmap", "masscan", "zgrab", "nuclei", "nikto", "sqlmap", "censys",
	"shodan", "expanse",
}

// automationMarkers is automationSubstrings as byte slices, ready for
// bytes.Contains without a conversion per call.
var automationMarkers = func() [][]byte {
	out := make([][]byte, len(automationSubstrings))
	for i, s := range automationSubstrings {
		out[i] = []byte(s)
	}
	return out
}()
