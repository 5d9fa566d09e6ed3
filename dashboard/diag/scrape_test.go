package diag

import (
	"testing"
	"time"
)

func TestParseMetrics(t *testing.T) {
	body := `# HELP x y
analytics_events_accepted_total{site="a.com"} 10
analytics_events_accepted_total{site="b.com"} 5
analytics_events_dropped_total{site="a.com",reason="bot"} 3
analytics_events_dropped_total{site="(unknown)",reason="bot"} 2
analytics_events_dropped_total{site="a.com",reason="consent"} 0
analytics_bots_total{class="crawler"} 4
analytics_collector_requests_total{code="202"} 15
analytics_flush_duration_seconds_sum 1.5
analytics_flush_duration_seconds_count 3
analytics_useragent_cache_hits_total 90
analytics_useragent_cache_misses_total 10
analytics_spool_bytes 2048
analytics_geoip_cache_hits_total 3
analytics_geoip_cache_misses_total 1
analytics_memo_hits_total 60
analytics_memo_misses_total 40
process_start_time_seconds 1000
weird{a="x\"y",b="z"} 7
broken{a="x 1
garbage
`
	var c Collector
	parseMetrics(&c, body, time.Unix(1060, 0))
	if c.Accepted != 15 || c.Dropped["bot"] != 5 || len(c.Dropped) != 1 || c.Bots["crawler"] != 4 || c.Requests["202"] != 15 {
		t.Errorf("counters %+v", c)
	}
	if c.FlushSeconds != 0.5 || c.UAHitRate != 90 || c.GeoHitRate != 75 || c.MemoHitRate != 60 || c.SpoolBytes != 2048 || c.Uptime != time.Minute {
		t.Errorf("derived %+v", c)
	}
	name, labels, v, ok := parseLine(`weird{a="x\"y",b="z"} 7`)
	if !ok || name != "weird" || labels["a"] != `x"y` || labels["b"] != "z" || v != 7 {
		t.Errorf("escaped label: %q %v %v %v", name, labels, v, ok)
	}
}

func FuzzParseLine(f *testing.F) {
	f.Add(`analytics_events_dropped_total{site="a.com",reason="bot"} 3`)
	f.Add(`x{a="\\",} 1e3`)
	f.Fuzz(func(t *testing.T, line string) {
		parseLine(line) // must not panic or hang
	})
}
