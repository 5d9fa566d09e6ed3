// Package useragent owns the coarse classification of a User-Agent header:
// browser and major version, operating system and major version, device class,
// and for automated clients which kind of bot they are (Classes: crawler,
// headless, preview, monitor, library, invalid; see bot.go). Names follow
// Plausible's ("Chrome", "Samsung Internet", "Mac", "GNU/Linux", "Tablet", ...)
// so that dashboards and the Stats API read the same as Plausible's.
//
// The User-Agent string itself never leaves this package: callers get an Info
// that holds only values from small, fixed vocabularies plus major version
// numbers. Parsing is done by github.com/mssola/useragent with corrections for
// browsers it does not know; results are kept in a bounded cache because a
// site's traffic comes from a few thousand distinct strings.
package useragent

import (
	"strings"
	"sync/atomic"

	mssola "github.com/mssola/useragent"
)

// Info is the coarse classification of one User-Agent string. Empty strings
// mean "unknown"; the aggregator decides how to show them. When Bot is true
// BotClass says which kind of bot and all other fields are empty: bots are
// dropped, not classified.
type Info struct {
	Browser        string // "Chrome", "Firefox", "Safari", "Edge", "Samsung Internet", ...
	BrowserVersion string // major version only, e.g. "120"
	OS             string // "Windows", "Mac", "iOS", "Android", "GNU/Linux", "Chrome OS", ...
	OSVersion      string // major version only, e.g. "17" for iOS 17.2
	Device         string // "Desktop", "Mobile" or "Tablet"
	Bot            bool   // BotClass != ""
	BotClass       string // one of Classes for bots, "" for humans
}

// Device classes.
const (
	Desktop = "Desktop"
	Mobile  = "Mobile"
	Tablet  = "Tablet"
)

// Length bounds of a plausible browser User-Agent. Real browsers send 60 to
// 400 bytes; anything outside these bounds is a script or an attack and is
// classified as a bot without being parsed or cached: short strings by their
// markers ("curl" is a library) or as invalid, long ones as invalid.
const (
	minLen = 10
	maxLen = 1000
)

// Parser classifies User-Agent strings. It is safe for concurrent use.
type Parser struct {
	cache *cache // nil when caching is disabled
	// hits and misses count cache lookups, for the collector's metrics.
	hits, misses atomic.Uint64
}

// CacheStats returns the cache hits and misses so far.
func (p *Parser) CacheStats() (hits, misses uint64) { return p.hits.Load(), p.misses.Load() }

// New returns a Parser that caches up to cacheSize distinct User-Agent
// strings (at least 2; 0 or less disables the cache). A few thousand entries
// cover the traffic of a large site.
func New(cacheSize int) *Parser {
	return &Parser{cache: newCache(cacheSize)}
}

// Parse classifies ua. It does not retain ua: on a cache miss the string is
// copied once. A cache hit does not allocate.
func (p *Parser) Parse(ua []byte) Info {
	if len(ua) > maxLen {
		return botInfo(invalid)
	}
	if len(ua) < minLen {
		c := botClass(ua)
		if c == human {
			c = invalid
		}
		return botInfo(c)
	}
	var k uint64
	if p.cache != nil {
		k = p.cache.key(ua)
		if info, ok := p.cache.get(k); ok {
			p.hits.Add(1)
			return info
		}
		p.misses.Add(1)
	}
	info := classify(string(ua))
	if p.cache != nil {
		p.cache.put(k, info)
	}
	return info
}

// classify does the uncached work for one User-Agent of acceptable length.
func classify(ua string) Info {
	if c := botClass(ua); c != human {
		return botInfo(c)
	}
	var m mssola.UserAgent
	m.Parse(ua)
	if m.Bot() {
		// mssola finds a few more crawlers, by a link in a comment.
		return botInfo(crawler)
	}
	var info Info
	info.OS, info.OSVersion = operatingSystem(&m)
	info.Browser, info.BrowserVersion = browser(ua, &m, info.OS)
	info.Device = device(ua, &m, info.OS, info.Browser)
	return info
}

// botInfo is the Info of a bot of class c.
func botInfo(c class) Info {
	return Info{Bot: true, BotClass: c.String()}
}

// productOverrides are product tokens ("Name/1.2.3") that identify a browser
// better than mssola does, in order of precedence: Chromium-based browsers
// also send "Chrome/…" and usually "Safari/…", so their own token must win.
// Brave sends Chrome's User-Agent unchanged and is counted as Chrome.
var productOverrides = []struct{ token, name string }{
	{"SamsungBrowser", "Samsung Internet"},
	{"UCBrowser", "UC Browser"},
	{"YaBrowser", "Yandex Browser"},
	{"Vivaldi", "Vivaldi"},
	{"OPR", "Opera"},
	{"OPT", "Opera"},
	{"OPiOS", "Opera"},
	{"EdgA", "Edge"},
	{"EdgiOS", "Edge"},
	{"Edg", "Edge"},
	{"Edge", "Edge"},
	{"CriOS", "Chrome"},
	{"FxiOS", "Firefox"},
}

// knownBrowsers maps mssola's browser names to ours. Names not listed are
// reported as unknown (""), which keeps the set of values bounded: mssola
// otherwise reports whatever product name an unusual client sends.
var knownBrowsers = map[string]string{
	"Chrome":            "Chrome",
	"Chromium":          "Chromium",
	"Firefox":           "Firefox",
	"Safari":            "Safari",
	"Edge":              "Edge",
	"Opera":             "Opera",
	"Internet Explorer": "Internet Explorer",
	"YaBrowser":         "Yandex Browser",
	"Coc Coc":           "Coc Coc",
	"DuckDuckGo":        "DuckDuckGo",
	"Google App":        "Google App",
	"Android":           "Android Browser",
}

func browser(ua string, m *mssola.UserAgent, os string) (name, version string) {
	for _, o := range productOverrides {
		if v, ok := product(ua, o.token); ok {
			return o.name, major(v)
		}
	}
	if os == "iOS" && strings.Contains(ua, "AppleWebKit/") && !strings.Contains(ua, " Safari/") {
		// Apps that embed WKWebView (Facebook, Instagram, ...) drop the
		// Safari token and carry no meaningful browser version.
		return "Safari (in-app)", ""
	}
	mname, mversion := m.Browser()
	name = knownBrowsers[mname]
	switch {
	case name == "":
		return "", ""
	case name == "Chrome" && strings.Contains(ua, "; wv)"):
		// Android WebView: "Version/4.0 Chrome/119.0..." with "wv" in the
		// platform comment.
		name = "Chrome Webview"
		if v, ok := product(ua, "Chrome"); ok {
			mversion = v
		}
	case name == "Android Browser" && strings.Contains(ua, "; wv)"):
		name = "Chrome Webview"
		mversion, _ = product(ua, "Chrome")
	case name == "Opera" && strings.HasPrefix(mversion, "9.80"):
		// Presto-era Opera froze "Opera/9.80" and moved the real version
		// into "Version/12.16".
		if v, ok := product(ua, "Version"); ok {
			mversion = v
		}
	}
	return name, major(mversion)
}

func operatingSystem(m *mssola.UserAgent) (name, version string) {
	switch m.Platform() {
	case "iPhone", "iPad", "iPod", "iPod touch":
		return "iOS", major(m.OSInfo().Version)
	}
	info := m.OSInfo()
	switch n := info.Name; {
	case n == "Windows":
		return "Windows", major(info.Version)
	case n == "Windows Phone":
		return "Windows Phone", major(info.Version)
	case n == "Mac OS X" || n == "Mac OS":
		return "Mac", major(info.Version)
	case n == "Android":
		return "Android", major(info.Version)
	case strings.HasPrefix(n, "CrOS"):
		return "Chrome OS", ""
	case n == "Linux" || n == "Ubuntu" || n == "Fedora" || n == "Debian" ||
		n == "Mint" || n == "openSUSE" || n == "Arch Linux" || n == "Manjaro":
		return "GNU/Linux", ""
	case n == "FreeBSD":
		return "FreeBSD", ""
	case n == "OpenBSD":
		return "OpenBSD", ""
	}
	return "", ""
}

func device(ua string, m *mssola.UserAgent, os, browser string) string {
	switch os {
	case "iOS":
		if m.Platform() == "iPad" {
			return Tablet
		}
		return Mobile
	case "Android":
		// Android browsers mark phones with "Mobile"; tablets omit it
		// (Firefox says "Tablet" instead).
		if strings.Contains(ua, "Mobile") {
			return Mobile
		}
		return Tablet
	case "Windows Phone":
		return Mobile
	case "Windows", "Mac", "GNU/Linux", "Chrome OS", "FreeBSD", "OpenBSD":
		return Desktop
	}
	switch {
	case m.Mobile():
		return Mobile
	case browser != "":
		return Desktop
	}
	return ""
}

// product returns the version of the product token "name/version" in ua. The
// token must start the string or follow a space or a closing parenthesis, so
// that "Edg" does not match "EdgA/…" nor "Chrome" match "HeadlessChrome/…".
func product(ua, name string) (version string, ok bool) {
	for i := 0; i < len(ua); {
		j := strings.Index(ua[i:], name)
		if j < 0 {
			return "", false
		}
		start := i + j
		end := start + len(name)
		i = end
		if end >= len(ua) || ua[end] != '/' {
			continue
		}
		if start > 0 && ua[start-1] != ' ' && ua[start-1] != ')' {
			continue
		}
		v := ua[end+1:]
		if k := strings.IndexAny(v, " ;)("); k >= 0 {
			v = v[:k]
		}
		return v, true
	}
	return "", false
}

// major returns the leading component of a dotted or underscored version
// ("17_2" and "17.2.1" both give "17"). Anything that does not look like a
// short version number gives "", so a client cannot inject arbitrary values.
// The result is a copy: a substring would keep the whole User-Agent alive in
// the cache and in every aggregate that holds the version.
func major(v string) string {
	if i := strings.IndexAny(v, "._"); i >= 0 {
		v = v[:i]
	}
	if v == "" || len(v) > 8 {
		return ""
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return ""
		}
	}
	return strings.Clone(v)
}
