package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"analytics/schema"
	"analytics/schema/chtest"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds the real analytics binary once per test run.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "analytics-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "analytics")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// proc is a running analytics process.
type proc struct {
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func start(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	p := &proc{cmd: cmd, logs: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("logs of %v:\n%s", args, p.logs.String())
		}
	})
	return p
}

// stop sends SIGTERM and waits for a clean exit.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, p.logs.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("no exit 60s after SIGTERM\n%s", p.logs.String())
	}
}

func waitHTTP(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not answer within 30s", url)
}

var browserUAs = map[string]string{
	"Chrome":  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	"Firefox": "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
	"Safari":  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
	"Edge":    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
}

// knownIPs are public addresses with a stable country in GeoLite2.
var knownIPs = []struct{ ip, country string }{
	{"8.8.8.8", "US"}, {"81.2.69.142", "GB"}, {"193.0.6.139", "NL"}, {"133.11.0.1", "JP"},
}

const googlebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"

type queryResult struct {
	Results []struct {
		Dimensions []any     `json:"dimensions"`
		Metrics    []float64 `json:"metrics"`
	} `json:"results"`
}

func query(t *testing.T, base, key, body string) (int, queryResult, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/api/v2/query", strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var qr queryResult
	if resp.StatusCode == 200 {
		if err := json.Unmarshal(raw, &qr); err != nil {
			t.Fatalf("decode %s: %v", raw, err)
		}
	}
	return resp.StatusCode, qr, string(raw)
}

// breakdown returns dimension value -> metrics.
func breakdown(t *testing.T, base, key, site, dim string) map[string][]float64 {
	t.Helper()
	code, qr, raw := query(t, base, key, fmt.Sprintf(
		`{"site_id":%q,"metrics":["visitors","pageviews","events"],"date_range":"day","dimensions":[%q]}`, site, dim))
	if code != 200 {
		t.Fatalf("breakdown %s: %d %s", dim, code, raw)
	}
	out := map[string][]float64{}
	for _, r := range qr.Results {
		out[fmt.Sprint(r.Dimensions[0])] = r.Metrics
	}
	return out
}

// TestEndToEnd drives the real binary: beacons over HTTP from many distinct
// visitors into `analytics serve`, a clean stop, then the Stats API of a
// fresh `analytics dashboard` process over what reached ClickHouse.
func TestEndToEnd(t *testing.T) {
	chURL := chtest.NewURL(t)
	dir := t.TempDir()
	const site, key = "shop.example", "e2e-test-key-0123456789"
	sum := sha256.Sum256([]byte(key))
	config := filepath.Join(dir, "analytics.toml")
	os.WriteFile(config, []byte(fmt.Sprintf(`
[[site]]
domain = %q
hosts = ["shop.example", "www.shop.example"]
min_visitors = 1

[[api_key]]
name = "e2e"
sha256 = %q
sites = ["*"]
`, site, hex.EncodeToString(sum[:]))), 0o600)
	collectorAddr, dashboardAddr := freeAddr(t), freeAddr(t)
	env := []string{
		"ANALYTICS_CONFIG=" + config,
		"ANALYTICS_CLICKHOUSE_URL=" + chURL,
		"ANALYTICS_COLLECTOR_ADDR=" + collectorAddr,
		"ANALYTICS_DASHBOARD_ADDR=" + dashboardAddr,
		"ANALYTICS_DATA_DIR=" + filepath.Join(dir, "data"),
		"ANALYTICS_TRUSTED_PROXIES=127.0.0.1",
		"ANALYTICS_FLUSH_INTERVAL=300ms",
		"ANALYTICS_GEOIP_DB=" + os.Getenv("ANALYTICS_GEOIP_DB"),
	}
	srv := start(t, env, "serve")
	collector := "http://" + collectorAddr
	waitHTTP(t, collector+"/healthz")

	// 1200 visitors (distinct IP and UA pairs), each with 2 or 3 pageviews,
	// every fourth with a custom event; plus bots, unknown sites and
	// malformed bodies that must not count.
	const visitors = 1200
	browsers := []string{"Chrome", "Firefox", "Safari", "Edge"}
	pages := []string{"/", "/pricing", "/blog/hello"}
	type beacon struct {
		ip, ua, body string
		wantCode     int
		dropped      string
	}
	// Each visitor's beacons go in order over one connection, as a browser
	// sends them; visitors run concurrently.
	var groups [][]beacon
	var beacons []beacon
	wantPV := map[string]int{}
	wantBrowserPV := map[string]int{}
	wantSourcePV := map[string]int{}
	wantCountryPV := map[string]int{}
	totalPV, totalEvents, signups := 0, 0, 0
	ips := make([]string, visitors)
	for v := 0; v < visitors; v++ {
		beacons = nil
		// 198.18.0.0/15 (RFC 2544) is public unicast but in no GeoIP database.
		ip := fmt.Sprintf("198.%d.%d.%d", 18+v%2, v/250, v%250+1)
		br := browsers[v%len(browsers)]
		ua := browserUAs[br]
		country := ""
		if v < 60 {
			// Addresses whose country the real GeoLite2 database knows;
			// several visitors share one, told apart by their User-Agent.
			k := knownIPs[v%len(knownIPs)]
			ip, country = k.ip, k.country
			ua += fmt.Sprintf(" Build/%d", v)
		}
		ips[v] = ip
		n := 2 + v%2
		for i := 0; i < n; i++ {
			page := pages[(v+i)%len(pages)]
			u := "https://shop.example" + page + "?session=secret" + fmt.Sprint(v)
			src := ""
			ref := "https://www.google.com/search?q=private+words"
			switch v % 3 {
			case 0:
				u += "&utm_source=newsletter"
				src = "newsletter"
			case 1:
				src = "google.com"
			case 2:
				ref = ""
			}
			body := fmt.Sprintf(`{"n":"pageview","u":%q,"d":%q,"r":%q}`, u, site, ref)
			beacons = append(beacons, beacon{ip: ip, ua: ua, body: body, wantCode: 202})
			if country != "" {
				wantCountryPV[country]++
			}
			wantPV[page]++
			wantBrowserPV[br]++
			wantSourcePV[src]++
			totalPV++
			totalEvents++
		}
		if v%4 == 0 {
			body := fmt.Sprintf(`{"n":"Signup","u":"https://www.shop.example/pricing","d":%q,"p":{"plan":"pro"}}`, site)
			beacons = append(beacons, beacon{ip: ip, ua: ua, body: body, wantCode: 202})
			totalEvents++
			signups++
		}
		groups = append(groups, beacons)
	}
	beacons = nil
	for i := 0; i < 50; i++ {
		beacons = append(beacons, beacon{ip: "66.249.66.1", ua: googlebot, wantCode: 202, dropped: "1",
			body: fmt.Sprintf(`{"n":"pageview","u":"https://shop.example/","d":%q}`, site)})
		beacons = append(beacons, beacon{ip: "9.9.9.9", ua: browserUAs["Chrome"], wantCode: 202, dropped: "1",
			body: `{"n":"pageview","u":"https://other.example/","d":"other.example"}`})
		beacons = append(beacons, beacon{ip: "9.9.9.9", ua: browserUAs["Chrome"], wantCode: 202, dropped: "1",
			body: fmt.Sprintf(`{"n":"pageview","u":"https://evil.example/","d":%q}`, site)})
		beacons = append(beacons, beacon{ip: "9.9.9.9", ua: browserUAs["Chrome"], wantCode: 400,
			body: `{"n":"pageview","d":"shop.example"`})
	}
	for _, b := range beacons {
		groups = append(groups, []beacon{b})
	}

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	var wg sync.WaitGroup
	work := make(chan []beacon)
	errs := make(chan error, 16)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for group := range work {
				for _, b := range group {
					req, _ := http.NewRequest("POST", collector+"/api/event", strings.NewReader(b.body))
					req.Header.Set("Content-Type", "text/plain")
					req.Header.Set("User-Agent", b.ua)
					req.Header.Set("X-Forwarded-For", b.ip)
					resp, err := client.Do(req)
					if err != nil {
						errs <- err
						continue
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != b.wantCode || resp.Header.Get("X-Plausible-Dropped") != b.dropped {
						errs <- fmt.Errorf("%s from %s: got %d dropped=%q, want %d dropped=%q",
							b.body, b.ua, resp.StatusCode, resp.Header.Get("X-Plausible-Dropped"), b.wantCode, b.dropped)
					}
				}
			}
		}()
	}
	for _, g := range groups {
		work <- g
	}
	close(work)
	wg.Wait()
	close(errs)
	nerr := 0
	for err := range errs {
		if nerr++; nerr <= 5 {
			t.Error(err)
		}
	}
	if nerr > 0 {
		t.Fatalf("%d beacons answered wrongly", nerr)
	}

	// The metrics count what was accepted and dropped, by reason.
	resp, err := http.Get(collector + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metricsText, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		fmt.Sprintf(`analytics_events_accepted_total{site="shop.example"} %d`, totalEvents),
		`analytics_events_dropped_total{site="shop.example",reason="bot"} 50`,
		`analytics_events_dropped_total{site="shop.example",reason="host_not_allowed"} 50`,
		`analytics_events_dropped_total{site="(unknown)",reason="unknown_site"} 50`,
		`analytics_events_dropped_total{site="(unknown)",reason="malformed"} 50`,
	} {
		if !strings.Contains(string(metricsText), want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}

	srv.stop(t) // SIGTERM: the final flush must write everything.

	// Drops are stored per site, minute and reason too.
	drops := map[string]uint64{}
	func() {
		ctx := context.Background()
		db, err := schema.Open(ctx, chURL)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		rows, err := db.Conn.Query(ctx, `SELECT site, reason, sum(d) FROM (
			SELECT site, reason, argMax(dropped, ver) AS d FROM drops_minutely GROUP BY site, minute, reason, writer)
			GROUP BY site, reason`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var site, reason string
			var n uint64
			if err := rows.Scan(&site, &reason, &n); err != nil {
				t.Fatal(err)
			}
			drops[site+"/"+reason] = n
		}
	}()
	wantDrops := map[string]uint64{"shop.example/bot:crawler": 50, "shop.example/host_not_allowed": 50, "(unknown)/unknown_site": 50, "(unknown)/malformed": 50}
	if fmt.Sprint(drops) != fmt.Sprint(wantDrops) {
		t.Errorf("stored drops %v, want %v", drops, wantDrops)
	}

	dash := start(t, env, "dashboard")
	base := "http://" + dashboardAddr
	waitHTTP(t, base+"/healthz")

	if code, _, _ := query(t, base, "", `{"site_id":"shop.example","metrics":["pageviews"],"date_range":"day"}`); code != 401 {
		t.Errorf("query without key: %d, want 401", code)
	}
	if code, _, raw := query(t, base, key, `{"site_id":"shop.example","metrics":["nonsense"],"date_range":"day"}`); code != 400 {
		t.Errorf("bad metric: %d %s, want 400", code, raw)
	}

	code, qr, raw := query(t, base, key, `{"site_id":"shop.example","metrics":["visitors","pageviews","events"],"date_range":"day"}`)
	if code != 200 || len(qr.Results) != 1 {
		t.Fatalf("totals: %d %s", code, raw)
	}
	m := qr.Results[0].Metrics
	if int(m[1]) != totalPV || int(m[2]) != totalEvents {
		t.Errorf("pageviews %v events %v, want exactly %d and %d", m[1], m[2], totalPV, totalEvents)
	}
	if rel := math.Abs(m[0]-visitors) / visitors; rel > 0.02 {
		t.Errorf("visitors %v, want %d within 2%% (HyperLogLog)", m[0], visitors)
	}
	t.Logf("totals: visitors %v (true %d), pageviews %v, events %v", m[0], visitors, m[1], m[2])

	for page, want := range wantPV {
		if got := breakdown(t, base, key, site, "event:page")[page]; got == nil || int(got[1]) != want {
			t.Errorf("page %s: %v, want %d pageviews", page, got, want)
		}
	}
	byBrowser := breakdown(t, base, key, site, "visit:browser")
	for br, want := range wantBrowserPV {
		if got := byBrowser[br]; got == nil || int(got[1]) != want {
			t.Errorf("browser %s: %v, want %d pageviews (all: %v)", br, got, want, byBrowser)
		}
	}
	bySource := breakdown(t, base, key, site, "visit:source")
	if got := bySource["newsletter"]; got == nil || int(got[1]) != wantSourcePV["newsletter"] {
		t.Errorf("source newsletter: %v, want %d pageviews (all: %v)", got, wantSourcePV["newsletter"], bySource)
	}
	if got := bySource["google.com"]; got == nil || int(got[1]) != wantSourcePV["google.com"] {
		t.Errorf("source google.com: %v, want %d pageviews (all: %v)", got, wantSourcePV["google.com"], bySource)
	}
	if os.Getenv("ANALYTICS_GEOIP_DB") != "" {
		byCountry := breakdown(t, base, key, site, "visit:country")
		known := 0
		for _, n := range wantCountryPV {
			known += n
		}
		wantCountryPV["(not set)"] = totalPV - known
		for c, want := range wantCountryPV {
			if got := byCountry[c]; got == nil || int(got[1]) != want {
				t.Errorf("country %s: %v, want %d pageviews (all: %v)", c, got, want, byCountry)
			}
		}
	} else {
		t.Log("ANALYTICS_GEOIP_DB unset: countries not checked (scripts/test sets it)")
	}
	if got := breakdown(t, base, key, site, "event:goal")["Signup"]; got == nil || int(got[2]) != signups {
		t.Errorf("goal Signup: %v, want %d events", got, signups)
	}
	dash.stop(t)

	// Privacy: nothing identifying reached ClickHouse or the logs.
	assertNothingIdentifying(t, chURL, ips, []string{srv.logs.String(), dash.logs.String()})
}

// assertNothingIdentifying dumps every table of the test database as text
// and checks that no client IP, User-Agent, query string or referrer path
// appears in it or in the process logs.
func assertNothingIdentifying(t *testing.T, chURL string, ips []string, logs []string) {
	t.Helper()
	text := dumpTables(t, chURL)
	if !strings.Contains(text, "shop.example") {
		t.Fatal("the dump holds no data: the scan would prove nothing")
	}
	sources := append([]string{text}, logs...)
	needles := []string{"session=", "secret", "private+words", "/search", "Mozilla/5.0", "Googlebot", "AppleWebKit"}
	for i := 0; i < len(ips); i += 37 {
		needles = append(needles, ips[i])
	}
	for _, src := range sources {
		for _, n := range needles {
			if strings.Contains(src, n) {
				t.Errorf("persisted data or logs contain %q", n)
			}
		}
	}
}

// dumpTables returns every row of every table of the database as text;
// String columns keep their raw bytes (sketches included).
func dumpTables(t *testing.T, chURL string) string {
	t.Helper()
	ctx := context.Background()
	db, err := schema.Open(ctx, chURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Conn.Query(ctx, "SELECT name FROM system.tables WHERE database = ?", db.Name)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	var dump strings.Builder
	for _, table := range tables {
		r, err := db.Conn.Query(ctx, "SELECT * FROM "+table)
		if err != nil {
			t.Fatal(err)
		}
		cols := r.ColumnTypes()
		for r.Next() {
			vals := make([]any, len(cols))
			for i, c := range cols {
				vals[i] = newScanTarget(c.ScanType())
			}
			if err := r.Scan(vals...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				fmt.Fprintf(&dump, "%v\t", deref(v))
			}
			dump.WriteByte('\n')
		}
		r.Close()
	}
	return dump.String()
}

func newScanTarget(t reflect.Type) any { return reflect.New(t).Interface() }

func deref(v any) any { return reflect.ValueOf(v).Elem().Interface() }
