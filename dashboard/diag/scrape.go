package diag

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Collector is the state of one collector node as its /readyz and /metrics
// tell it: the essentials of the Prometheus metrics for people who do not
// run Prometheus.
type Collector struct {
	URL string
	// Err says why the node could not be read; the other fields are empty.
	Err string
	// Ready is /readyz's answer: "ok", "degraded: ..." or the 503 reason.
	Ready     string
	ReadyCode int

	Accepted      float64
	Dropped       map[string]float64 // by reason, all sites
	Invalid       map[string]float64 // 400s by field
	Bots          map[string]float64 // by class
	Requests      map[string]float64 // by HTTP status
	Panics        float64
	FlushFailures float64
	FlushRows     float64
	// FlushSeconds is the mean flush duration.
	FlushSeconds float64
	SpoolBytes   float64
	SpoolFiles   float64
	Cells        float64
	Sessions     float64
	Folded       float64
	// UAHitRate, GeoHitRate and MemoHitRate are the hit rates in percent
	// of the User-Agent cache, the GeoIP record cache and the memo of
	// decoded beacons, URLs and templated paths (-1: no data).
	UAHitRate   float64
	GeoHitRate  float64
	MemoHitRate float64
	RSSBytes    float64
	CPUSecs     float64
	Uptime      time.Duration
}

// maxScrape bounds what is read of a node's /metrics.
const maxScrape = 4 << 20

// Scrape reads one collector node's /readyz and /metrics under base (e.g.
// http://10.0.0.5:8080). A node that cannot be read is reported in Err.
func Scrape(ctx context.Context, client *http.Client, base string, now time.Time) Collector {
	c := Collector{URL: base}
	base = strings.TrimRight(base, "/")
	code, body, err := get(ctx, client, base+"/readyz", 4<<10)
	if err != nil {
		c.Err = err.Error()
		return c
	}
	c.ReadyCode = code
	c.Ready = strings.TrimSpace(firstLine(body))
	code, body, err = get(ctx, client, base+"/metrics", maxScrape)
	if err != nil {
		c.Err = err.Error()
		return c
	}
	if code != http.StatusOK {
		c.Err = fmt.Sprintf("/metrics answered %d", code)
		return c
	}
	parseMetrics(&c, body, now)
	return c
}

func get(ctx context.Context, client *http.Client, url string, limit int64) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", fmt.Errorf("bad collector URL: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("unreachable: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return 0, "", fmt.Errorf("read %s: %w", url, err)
	}
	return resp.StatusCode, string(b), nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// parseMetrics reads the Prometheus text format: "name{labels} value"
// lines; comments and lines it cannot read are skipped.
func parseMetrics(c *Collector, body string, now time.Time) {
	c.Dropped, c.Invalid, c.Bots, c.Requests = map[string]float64{}, map[string]float64{}, map[string]float64{}, map[string]float64{}
	c.UAHitRate, c.GeoHitRate, c.MemoHitRate = -1, -1, -1
	var uaHits, uaMisses, geoHits, geoMisses, memoHits, memoMisses, flushSum, flushCount, start float64
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, labels, v, ok := parseLine(sc.Text())
		if !ok {
			continue
		}
		switch name {
		case "analytics_events_accepted_total":
			c.Accepted += v
		case "analytics_events_dropped_total":
			c.Dropped[labels["reason"]] += v
		case "analytics_events_invalid_total":
			c.Invalid[labels["field"]] += v
		case "analytics_bots_total":
			c.Bots[labels["class"]] += v
		case "analytics_collector_requests_total":
			c.Requests[labels["code"]] += v
		case "analytics_collector_panics_total":
			c.Panics += v
		case "analytics_flush_failures_total":
			c.FlushFailures = v
		case "analytics_flush_rows_total":
			c.FlushRows = v
		case "analytics_flush_duration_seconds_sum":
			flushSum = v
		case "analytics_flush_duration_seconds_count":
			flushCount = v
		case "analytics_spool_bytes":
			c.SpoolBytes = v
		case "analytics_spool_files":
			c.SpoolFiles = v
		case "analytics_aggregator_cells":
			c.Cells = v
		case "analytics_aggregator_sessions":
			c.Sessions = v
		case "analytics_aggregator_folded_total":
			c.Folded += v
		case "analytics_useragent_cache_hits_total":
			uaHits = v
		case "analytics_useragent_cache_misses_total":
			uaMisses = v
		case "analytics_geoip_cache_hits_total":
			geoHits = v
		case "analytics_geoip_cache_misses_total":
			geoMisses = v
		case "analytics_memo_hits_total":
			memoHits = v
		case "analytics_memo_misses_total":
			memoMisses = v
		case "process_resident_memory_bytes":
			c.RSSBytes = v
		case "process_cpu_seconds_total":
			c.CPUSecs = v
		case "process_start_time_seconds":
			start = v
		}
	}
	for _, m := range []map[string]float64{c.Dropped, c.Invalid, c.Bots, c.Requests} {
		for k, v := range m {
			if v == 0 {
				delete(m, k)
			}
		}
	}
	if uaHits+uaMisses > 0 {
		c.UAHitRate = 100 * uaHits / (uaHits + uaMisses)
	}
	if geoHits+geoMisses > 0 {
		c.GeoHitRate = 100 * geoHits / (geoHits + geoMisses)
	}
	if memoHits+memoMisses > 0 {
		c.MemoHitRate = 100 * memoHits / (memoHits + memoMisses)
	}
	if flushCount > 0 {
		c.FlushSeconds = flushSum / flushCount
	}
	if start > 0 {
		c.Uptime = now.Sub(time.Unix(int64(start), 0)).Round(time.Second)
	}
}

// parseLine splits one sample line; label values may hold escaped quotes.
func parseLine(line string) (name string, labels map[string]string, v float64, ok bool) {
	line = strings.TrimSpace(line)
	if line == "" || line[0] == '#' {
		return "", nil, 0, false
	}
	rest := line
	if i := strings.IndexAny(line, "{ "); i < 0 {
		return "", nil, 0, false
	} else {
		name, rest = line[:i], line[i:]
	}
	if strings.HasPrefix(rest, "{") {
		labels = map[string]string{}
		rest = rest[1:]
		for {
			rest = strings.TrimLeft(rest, ", ")
			if strings.HasPrefix(rest, "}") {
				rest = rest[1:]
				break
			}
			eq := strings.Index(rest, `="`)
			if eq < 0 {
				return "", nil, 0, false
			}
			key := rest[:eq]
			rest = rest[eq+2:]
			var val strings.Builder
			closed := false
			for i := 0; i < len(rest); i++ {
				ch := rest[i]
				if ch == '\\' && i+1 < len(rest) {
					i++
					switch rest[i] {
					case 'n':
						val.WriteByte('\n')
					default:
						val.WriteByte(rest[i])
					}
					continue
				}
				if ch == '"' {
					rest = rest[i+1:]
					closed = true
					break
				}
				val.WriteByte(ch)
			}
			if !closed {
				return "", nil, 0, false
			}
			labels[key] = val.String()
		}
	}
	fields := strings.Fields(rest)
	if len(fields) == 0 {
		return "", nil, 0, false
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return "", nil, 0, false
	}
	return name, labels, v, true
}

// SortedKeys returns m's keys by value, largest first (for display).
func SortedKeys(m map[string]float64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	return keys
}
