package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"analytics/schema"
	"analytics/schema/chtest"
)

// privateClickHouse runs a ClickHouse of the test's own (scripts/clickhouse
// with a temporary directory), which the test may stop and start again.
type privateClickHouse struct {
	dir  string
	port int
}

func newPrivateClickHouse(t *testing.T) *privateClickHouse {
	t.Helper()
	chtest.ServerURL(t) // the same skip-or-fail rule as every ClickHouse test
	// scripts/clickhouse takes the native port and the next one (HTTP).
	port := 0
	for try := 0; try < 50 && port == 0; try++ {
		p := 20000 + rand.IntN(20000)
		a, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		b, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+1))
		a.Close()
		if err != nil {
			continue
		}
		b.Close()
		port = p
	}
	if port == 0 {
		t.Fatal("no two free consecutive ports")
	}
	ch := &privateClickHouse{dir: t.TempDir(), port: port}
	ch.start(t)
	t.Cleanup(func() { ch.stop(t) })
	return ch
}

func (ch *privateClickHouse) script(t *testing.T, verb string) {
	t.Helper()
	out, err := exec.Command("scripts/clickhouse", verb, "--dir", ch.dir, "--port", fmt.Sprint(ch.port)).CombinedOutput()
	if err != nil {
		t.Fatalf("scripts/clickhouse %s: %v\n%s", verb, err, out)
	}
}

func (ch *privateClickHouse) start(t *testing.T) { ch.script(t, "start") }
func (ch *privateClickHouse) stop(t *testing.T)  { t.Helper(); ch.script(t, "stop") }
func (ch *privateClickHouse) url() string {
	return fmt.Sprintf("clickhouse://127.0.0.1:%d/analytics", ch.port)
}

// kill ends the process with SIGKILL, as a crash would.
func (p *proc) kill(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// node is one collector process under test.
type node struct {
	env       []string
	collector string
	dataDir   string
}

func newNode(t *testing.T, chURL, config string) *node {
	addr := freeAddr(t)
	n := &node{collector: "http://" + addr, dataDir: filepath.Join(t.TempDir(), "data")}
	n.env = []string{
		"ANALYTICS_CONFIG=" + config,
		"ANALYTICS_CLICKHOUSE_URL=" + chURL,
		"ANALYTICS_COLLECTOR_ADDR=" + addr,
		"ANALYTICS_DATA_DIR=" + n.dataDir,
		"ANALYTICS_TRUSTED_PROXIES=127.0.0.1",
		"ANALYTICS_FLUSH_INTERVAL=200ms",
		"ANALYTICS_SHUTDOWN_TIMEOUT=20s",
	}
	return n
}

func (n *node) start(t *testing.T) *proc {
	t.Helper()
	p := start(t, n.env, "collect")
	waitHTTP(t, n.collector+"/healthz")
	return p
}

const resilienceSite = "shop.example"

func writeSiteConfig(t *testing.T) string {
	t.Helper()
	sum := sha256.Sum256([]byte("resilience-key"))
	p := filepath.Join(t.TempDir(), "analytics.toml")
	os.WriteFile(p, []byte(fmt.Sprintf("[[site]]\ndomain = %q\nmin_visitors = 1\n\n[[api_key]]\nname = \"t\"\nsha256 = %q\nsites = [\"*\"]\n",
		resilienceSite, hex.EncodeToString(sum[:]))), 0o600)
	return p
}

// visit is one visitor's beacons, sent in order.
type visit struct {
	ip, ua string
	bodies []string
}

// traffic makes n visitors with from 1 to 4 pageviews, some custom events
// with props and engagement events.
func traffic(first, n int) (visits []visit, pageviews, events int) {
	for v := first; v < first+n; v++ {
		vis := visit{ip: fmt.Sprintf("198.%d.%d.%d", 18+v%2, (v/250)%250, v%250+1), ua: browserUAs[[]string{"Chrome", "Firefox", "Safari", "Edge"}[v%4]] + fmt.Sprintf(" Run/%d", v/100000)}
		ref := []string{"https://www.google.com/", "https://news.ycombinator.com/item", ""}[v%3]
		for i := 0; i < 1+v%4; i++ {
			vis.bodies = append(vis.bodies, fmt.Sprintf(`{"n":"pageview","u":"https://shop.example/p/%d?utm_medium=%s","d":"shop.example","r":%q}`, (v+i)%37, []string{"cpc", "email", ""}[v%3], ref))
			pageviews++
			events++
			if i == 0 && v%2 == 0 {
				vis.bodies = append(vis.bodies, fmt.Sprintf(`{"n":"engagement","u":"https://shop.example/p/%d","d":"shop.example","sd":%d,"e":%d}`, v%37, 10+v%90, 1000+v))
			}
		}
		if v%5 == 0 {
			vis.bodies = append(vis.bodies, fmt.Sprintf(`{"n":"Signup","u":"https://shop.example/join","d":"shop.example","p":{"plan":"%s"}}`, []string{"free", "pro"}[v%2]))
			events++
		}
		visits = append(visits, vis)
	}
	return visits, pageviews, events
}

// send delivers visits with 8 concurrent clients; route picks the node of
// each visit (by client IP, as a load balancer with IP affinity would).
func send(t *testing.T, visits []visit, route func(v visit) string) {
	t.Helper()
	var wg sync.WaitGroup
	work := make(chan visit)
	errs := make(chan error, 8)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for v := range work {
				for _, body := range v.bodies {
					req, _ := http.NewRequest("POST", route(v)+"/api/event", strings.NewReader(body))
					req.Header.Set("User-Agent", v.ua)
					req.Header.Set("X-Forwarded-For", v.ip)
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						select {
						case errs <- err:
						default:
						}
						continue
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 202 || resp.Header.Get("X-Plausible-Dropped") != "" {
						select {
						case errs <- fmt.Errorf("%s: %d dropped=%q", body, resp.StatusCode, resp.Header.Get("X-Plausible-Dropped")):
						default:
						}
					}
				}
			}
		}()
	}
	for _, v := range visits {
		work <- v
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// totals is what the store holds for one dimension: the latest version of
// every row, summed over hours and writers.
type totals map[string][8]uint64

func readTotals(t *testing.T, chURL string) totals {
	t.Helper()
	ctx := context.Background()
	db, err := schema.Open(ctx, chURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Conn.Query(ctx, `
		SELECT dimension, goal, value, sum(pv), sum(ev), sum(vi), sum(bo), sum(du), sum(en), sum(sc), sum(ms)
		FROM (
			SELECT dimension, goal, value, argMax(pageviews, ver) AS pv, argMax(events, ver) AS ev,
				argMax(visits, ver) AS vi, argMax(bounces, ver) AS bo, argMax(duration, ver) AS du,
				argMax(engagements, ver) AS en, argMax(scroll_sum, ver) AS sc, argMax(engaged_ms, ver) AS ms
			FROM stats_hourly WHERE site = ?
			GROUP BY dimension, goal, hour, value, writer)
		GROUP BY dimension, goal, value`, resilienceSite)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := totals{}
	for rows.Next() {
		var dim, goal, value string
		var m [8]uint64
		if err := rows.Scan(&dim, &goal, &value, &m[0], &m[1], &m[2], &m[3], &m[4], &m[5], &m[6], &m[7]); err != nil {
			t.Fatal(err)
		}
		out[dim+"|"+goal+"|"+value] = m
	}
	return out
}

func waitReady(t *testing.T, n *node, want string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		resp, err := http.Get(n.collector + "/readyz")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			last = fmt.Sprintf("%d %s", resp.StatusCode, b)
			if strings.HasPrefix(string(b), want) {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("readyz never started with %q; last: %s", want, last)
}

func spoolFiles(t *testing.T, n *node) int {
	es, _ := os.ReadDir(filepath.Join(n.dataDir, "spool"))
	c := 0
	for _, e := range es {
		if strings.HasSuffix(e.Name(), ".spool") {
			c++
		}
	}
	return c
}

// TestStoreOutageAndCrash stops ClickHouse while traffic flows, crashes the
// collector (SIGKILL) during the outage, restarts it, brings ClickHouse
// back, and checks that the store ends with exactly what was sent.
func TestStoreOutageAndCrash(t *testing.T) {
	ch := newPrivateClickHouse(t)
	config := writeSiteConfig(t)
	n := newNode(t, ch.url(), config)
	p := n.start(t)
	route := func(visit) string { return n.collector }

	a, pvA, evA := traffic(0, 300)
	send(t, a, route)
	time.Sleep(600 * time.Millisecond) // flushed to ClickHouse

	ch.stop(t)
	b, pvB, evB := traffic(300, 300)
	send(t, b, route)
	waitReady(t, n, "degraded: store unreachable")
	time.Sleep(800 * time.Millisecond) // at least two flush intervals: all spooled
	if spoolFiles(t, n) == 0 {
		t.Fatal("nothing spooled during the outage")
	}
	p.kill(t)                                            // a crash in the middle of the outage
	assertDataDirClean(t, n.dataDir, append(a, b...), 2) // salt and spool

	// The restarted node comes up with ClickHouse still down, counts and
	// spools; the earlier run's spool files wait for the store too.
	p = n.start(t)
	c, pvC, evC := traffic(600, 300)
	send(t, c, route)
	waitReady(t, n, "degraded: store unreachable")

	ch.start(t)
	waitReady(t, n, "ok")
	deadline := time.Now().Add(30 * time.Second)
	for spoolFiles(t, n) > 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if k := spoolFiles(t, n); k > 0 {
		t.Fatalf("%d spool files left after ClickHouse came back", k)
	}
	p.stop(t)

	got := readTotals(t, ch.url())[""+"|"+"|"]
	wantPV, wantEv := uint64(pvA+pvB+pvC), uint64(evA+evB+evC)
	if got[0] != wantPV || got[1] != wantEv || got[2] != 900 {
		t.Fatalf("after outage, crash and replay: pageviews %d events %d visits %d; want exactly %d, %d, 900",
			got[0], got[1], got[2], wantPV, wantEv)
	}
	t.Logf("after outage, crash and replay: pageviews %d, events %d, visits %d: exact", got[0], got[1], got[2])
}

// TestCrashLosesAtMostOneFlushInterval kills the collector (SIGKILL) once
// its events had one flush interval to reach ClickHouse: nothing is lost,
// and the restarted process adds to the same hour instead of overwriting it.
func TestCrashLosesAtMostOneFlushInterval(t *testing.T) {
	chURL := chtest.NewURL(t)
	n := newNode(t, chURL, writeSiteConfig(t))
	route := func(visit) string { return n.collector }
	p := n.start(t)
	a, pvA, _ := traffic(0, 200)
	send(t, a, route)
	time.Sleep(500 * time.Millisecond) // > 2 flush intervals of 200ms
	p.kill(t)
	p = n.start(t)
	b, pvB, _ := traffic(200, 200)
	send(t, b, route)
	p.stop(t)
	got := readTotals(t, chURL)["||"]
	if got[0] != uint64(pvA+pvB) || got[2] != 400 {
		t.Fatalf("pageviews %d visits %d, want %d and 400", got[0], got[2], pvA+pvB)
	}
}

// TestTwoNodesEqualOne sends the same traffic to one collector and, split
// by client IP, to two: every stored aggregate must be the same.
func TestTwoNodesEqualOne(t *testing.T) {
	config := writeSiteConfig(t)
	visits, _, _ := traffic(0, 600)

	oneURL := chtest.NewURL(t)
	one := newNode(t, oneURL, config)
	p := one.start(t)
	send(t, visits, func(visit) string { return one.collector })
	p.stop(t)

	twoURL := chtest.NewURL(t)
	a, b := newNode(t, twoURL, config), newNode(t, twoURL, config)
	pa, pb := a.start(t), b.start(t)
	send(t, visits, func(v visit) string {
		if sum := sha256.Sum256([]byte(v.ip)); sum[0]%2 == 0 {
			return a.collector
		}
		return b.collector
	})
	pa.stop(t)
	pb.stop(t)

	single, split := readTotals(t, oneURL), readTotals(t, twoURL)
	if len(single) < 50 || len(single) != len(split) {
		t.Fatalf("%d rows from one node, %d from two", len(single), len(split))
	}
	for key, m1 := range single {
		m2, ok := split[key]
		if !ok {
			t.Errorf("%s: missing from the two-node store", key)
			continue
		}
		for i, name := range []string{"pageviews", "events", "visits", "bounces", "duration", "engagements", "scroll_sum", "engaged_ms"} {
			diff := int64(m1[i]) - int64(m2[i])
			// Visit durations are whole seconds of server time: the two runs
			// may round a visit's span differently by a second.
			if diff != 0 && (name != "duration" || diff > int64(m1[2]) || -diff > int64(m1[2])) {
				t.Errorf("%s %s: one node %d, two nodes %d", key, name, m1[i], m2[i])
			}
		}
	}
}

// assertDataDirClean reads every file the collector wrote (spool, salts) and
// checks that no client IP, in text or packed binary form, and no
// User-Agent appears in any of them.
func assertDataDirClean(t *testing.T, dir string, visits []visit, minFiles int) {
	t.Helper()
	var blobs [][]byte
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			blobs = append(blobs, b)
		}
		return nil
	})
	if len(blobs) < minFiles {
		t.Fatalf("only %d files in the data dir: the scan would prove little", len(blobs))
	}
	for _, v := range visits {
		if net.ParseIP(v.ip) == nil {
			t.Fatalf("test address %q does not parse", v.ip)
		}
		ip := net.ParseIP(v.ip).To16()
		if v4 := net.ParseIP(v.ip).To4(); v4 != nil {
			ip = v4
		}
		for _, b := range blobs {
			if bytes.Contains(b, []byte(v.ip)) || bytes.Contains(b, ip) || bytes.Contains(b, []byte("Mozilla/5.0")) || bytes.Contains(b, []byte("AppleWebKit")) {
				t.Fatalf("a data dir file holds client data of %s", v.ip)
			}
		}
	}
}
