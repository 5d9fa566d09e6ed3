package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"analytics/schema/chtest"
)

// TestPrivacyEndToEnd sends identifiable input through the real binary (IP
// addresses, User-Agents with unique build numbers, e-mail addresses and
// tokens in paths, query strings, referrers and custom properties), then
// checks that none of it reached ClickHouse, the data dir or the logs, in
// text or packed binary form, and that every Stats API breakdown honours the
// k-anonymity threshold.
func TestPrivacyEndToEnd(t *testing.T) {
	chURL := chtest.NewURL(t)
	dir := t.TempDir()
	const key = "privacy-test-key-0123456789"
	sum := sha256.Sum256([]byte(key))
	config := filepath.Join(dir, "analytics.toml")
	os.WriteFile(config, []byte(fmt.Sprintf("[[site]]\ndomain = \"shop.example\"\nmin_visitors = 5\n\n[[api_key]]\nname = \"p\"\nsha256 = %q\nsites = [\"*\"]\n",
		hex.EncodeToString(sum[:]))), 0o600)
	collectorAddr, dashboardAddr := freeAddr(t), freeAddr(t)
	dataDir := filepath.Join(dir, "data")
	env := []string{
		"ANALYTICS_CONFIG=" + config, "ANALYTICS_CLICKHOUSE_URL=" + chURL,
		"ANALYTICS_COLLECTOR_ADDR=" + collectorAddr, "ANALYTICS_DASHBOARD_ADDR=" + dashboardAddr,
		"ANALYTICS_DATA_DIR=" + dataDir, "ANALYTICS_TRUSTED_PROXIES=127.0.0.1",
		"ANALYTICS_FLUSH_INTERVAL=200ms", "ANALYTICS_GEOIP_DB=" + os.Getenv("ANALYTICS_GEOIP_DB"),
		"ANALYTICS_LOG_LEVEL=debug",
	}
	srv := start(t, env, "serve")
	collector := "http://" + collectorAddr
	waitHTTP(t, collector+"/healthz")

	var visits []visit
	var ips, secrets []string
	for v := 0; v < 60; v++ {
		ip := fmt.Sprintf("198.18.%d.%d", v/200, v%200+7)
		switch {
		case v == 0:
			ip = "8.8.8.8" // the only visitor from the US: a value below k
		case v%10 == 3:
			ip = fmt.Sprintf("2001:db8:%x::%x", 0xa000+v, 0xbe00+v) // IPv6 clients
		}
		ips = append(ips, ip)
		email := fmt.Sprintf("jane.doe%d@example.com", v)
		token := fmt.Sprintf("9f8e7d6c5b4a3928%016x", v*7919+1)
		secrets = append(secrets, email, token, fmt.Sprintf("Build/%d", 9000+v))
		page := []string{"/", "/pricing", "/blog/post"}[v%3]
		if v == 1 {
			page = "/rare-page" // one visitor: below k
		}
		plan := []string{"free", "pro"}[v%2]
		if v == 2 {
			plan = "enterprise" // one visitor: below k
		}
		vis := visit{ip: ip, ua: browserUAs["Firefox"] + fmt.Sprintf(" Build/%d", 9000+v)}
		vis.bodies = append(vis.bodies,
			fmt.Sprintf(`{"n":"pageview","u":"https://shop.example%s?email=%s&token=%s&utm_source=news","d":"shop.example","r":"https://www.google.com/search?q=%s"}`, page, email, token, email),
			fmt.Sprintf(`{"n":"pageview","u":"https://shop.example/users/%s/orders/%d","d":"shop.example"}`, email, 100000+v),
			fmt.Sprintf(`{"n":"Signup","u":"https://shop.example/join","d":"shop.example","p":{"email":%q,"plan":%q,"ref":"https://partner.example/?session=%s"}}`, email, plan, token),
			fmt.Sprintf(`{"n":"Outbound Link: Click","u":"https://shop.example/","d":"shop.example","p":{"url":"https://other.example/reset/%s?mail=%s"}}`, token, email),
			// Technical events: a JavaScript error quoting the visitor's
			// data (e-mail, token, order number, address, a name in
			// quotes, a URL with a token), and web vitals.
			fmt.Sprintf(`{"n":"$js_error","u":"https://shop.example/users/%s","d":"shop.example","p":{"message":"Error: payment %d failed for %s from %s with \"Jane Doe %d\" at https://pay.example/cb?token=%s (session %s)","source":"https://shop.example/static/app.js?token=%s","line":12,"column":%d}}`,
				email, 500000+v, email, ip, v, token, token, token, 30+v%2),
			fmt.Sprintf(`{"n":"$web_vitals","u":"https://shop.example/users/%s?token=%s","d":"shop.example","p":{"lcp":%d,"inp":%d,"cls":0.0%d,"fcp":900,"ttfb":120}}`,
				email, token, 1800+v*13, 80+v, v%10),
		)
		visits = append(visits, vis)
	}
	send(t, visits, func(visit) string { return collector })
	srv.stop(t)

	dash := start(t, env, "dashboard")
	base := "http://" + dashboardAddr
	waitHTTP(t, base+"/healthz")
	dims := []string{"event:page", "event:goal", "event:props:plan", "event:props:email", "event:props:url", "visit:entry_page",
		"visit:exit_page", "visit:source", "visit:channel", "visit:utm_source", "visit:utm_medium", "visit:utm_campaign",
		"visit:utm_content", "visit:utm_term", "visit:country", "visit:region", "visit:browser", "visit:browser_version",
		"visit:os", "visit:os_version", "visit:device"}
	for _, dim := range dims {
		code, qr, raw := query(t, base, key, fmt.Sprintf(`{"site_id":"shop.example","metrics":["visitors"],"date_range":"day","dimensions":[%q]}`, dim))
		if code != 200 {
			t.Errorf("%s: %d %s", dim, code, raw)
			continue
		}
		if len(qr.Results) == 0 {
			t.Errorf("%s: no rows: the check would prove nothing", dim)
		}
		var shown []string
		for _, r := range qr.Results {
			v := fmt.Sprint(r.Dimensions[0])
			shown = append(shown, fmt.Sprintf("%s=%v", v, r.Metrics[0]))
			if v != "(other)" && r.Metrics[0] < 5 {
				t.Errorf("%s: row %q shows %v visitors, below min_visitors 5", dim, v, r.Metrics[0])
			}
			for _, rare := range []string{"/rare-page", "US", "enterprise"} {
				if v == rare {
					t.Errorf("%s: the single visitor's value %q is shown", dim, v)
				}
			}
		}
		t.Logf("%s: %s", dim, strings.Join(shown, ", "))
	}
	dash.stop(t)

	// Nothing identifying anywhere we persist or log.
	assertNothingIdentifying(t, chURL, nil, []string{srv.logs.String(), dash.logs.String()})
	text := dumpTables(t, chURL) + srv.logs.String() + dash.logs.String()
	// The technical events were stored, in their coarsened form only.
	for _, want := range []string{
		`Error: payment <n> failed for <email> from <n> with "<str>" at <url> (session <uuid>)`,
		"from <ip> with", // the IPv6 clients' addresses
		"/static/app.js:12:30", "/users/:email", "lcp", "inp",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("stored data lacks %q: the technical events were not stored, the check would prove nothing", want)
		}
	}

	for _, s := range append(secrets, "jane.doe", "@example.com", "search?q", "session=", "mail=") {
		if strings.Contains(text, s) {
			t.Errorf("stored data or logs contain %q", s)
		}
	}
	for _, ip := range ips {
		parsed := net.ParseIP(ip)
		if parsed == nil {
			t.Fatalf("test address %q does not parse", ip)
		}
		packed := string(parsed.To16())
		if v4 := parsed.To4(); v4 != nil {
			packed = string(v4)
		}
		if strings.Contains(text, ip) || strings.Contains(text, packed) {
			t.Errorf("stored data or logs contain client address %s (text or packed)", ip)
		}
	}
	assertDataDirClean(t, dataDir, visits, 1) // the salt; the spool is empty
}
