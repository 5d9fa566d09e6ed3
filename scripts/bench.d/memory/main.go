// Command memory measures the aggregator's memory under a large open hour:
// it feeds N distinct visitors spread over P distinct paths (plus sources,
// countries, browsers, custom events with props) into a real Aggregator in
// one hour, then reports the process's RSS and Go heap. The store discards
// rows: this measures what the aggregator holds, not ClickHouse.
//
//	go run ./scripts/bench.d/memory -visitors 1000000 -paths 100000
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"analytics/aggregator"
)

type discard struct{}

func (discard) Write(context.Context, []aggregator.Row) error { return nil }

func rssMiB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return -1
}

func main() {
	visitors := flag.Int("visitors", 1_000_000, "distinct visitors in the hour")
	paths := flag.Int("paths", 100_000, "distinct paths in the hour")
	perVisitor := flag.Int("pageviews", 2, "pageviews per visitor")
	maxValues := flag.Int("max-values", 10000, "the aggregator's cap on distinct values per dimension")
	flag.Parse()

	hour := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	now := hour.Add(30 * time.Minute)
	agg, err := aggregator.New(aggregator.Options{Store: discard{}, MaxValues: *maxValues, Now: func() time.Time { return now }})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	r := rand.New(rand.NewPCG(1, 2))
	countries := []string{"US", "DE", "GB", "FR", "IN", "BR", "JP", "NL", "CA", "ES", "IT", "PL"}
	browsers := []string{"Chrome", "Firefox", "Safari", "Edge", "Samsung Internet", "Opera"}
	sources := []string{"", "google.com", "news.ycombinator.com", "bing.com", "duckduckgo.com", "t.co", "reddit.com"}
	pathNames := make([]string, *paths)
	for i := range pathNames {
		pathNames[i] = "/articles/" + strconv.Itoa(i) + "-some-readable-slug"
	}
	start := time.Now()
	var ev aggregator.Event
	events := 0
	for v := 0; v < *visitors; v++ {
		key := r.Uint64()
		for i := 0; i < *perVisitor; i++ {
			ev = aggregator.Event{
				Time: hour.Add(time.Duration(r.IntN(3600)) * time.Second), Site: "bench.example",
				Kind: aggregator.Pageview, Name: "pageview",
				Path:   pathNames[(v*7+i*13)%*paths],
				Source: sources[v%len(sources)], Referrer: sources[v%len(sources)],
				Country: countries[v%len(countries)], Browser: browsers[v%len(browsers)], BrowserVersion: strconv.Itoa(100 + v%30),
				OS: "Windows", OSVersion: "10", Device: "Desktop", Visitor: key, Interactive: true,
			}
			agg.Add(&ev)
			events++
		}
		if v%10 == 0 {
			ev.Kind, ev.Name = aggregator.Custom, "Signup"
			ev.Props = []aggregator.Prop{{Key: "plan", Value: []string{"free", "pro", "team"}[v%3]}}
			agg.Add(&ev)
			events++
			ev.Props = nil
		}
	}
	feed := time.Since(start)
	flushStart := time.Now()
	if err := agg.Flush(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	flush := time.Since(flushStart)
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("visitors=%d paths=%d events=%d max-values=%d\n", *visitors, *paths, events, *maxValues)
	fmt.Printf("feed %.1fs (%.2f us/event), flush %.1fs\n", feed.Seconds(), float64(feed.Microseconds())/float64(events), flush.Seconds())
	fmt.Printf("rss_mib=%.0f heap_inuse_mib=%.0f\n", rssMiB(), float64(ms.HeapInuse)/(1<<20))
	runtime.KeepAlive(agg)
}
