// Command dashgen is the data side of `scripts/bench dashboard`.
//
//	dashgen gen   -clickhouse-url URL -site S [-days 365] [-visits-per-hour 1400] ...
//	dashgen query -url http://127.0.0.1:PORT/api/v2/query -key KEY -site S [-runs 20]
//	dashgen roll -clickhouse-url URL -site S
//	dashgen merge -clickhouse-url URL -site S
//
// gen writes a year of hourly aggregates for one site THROUGH THE REAL WRITE
// PATH: synthetic coarsened events go into aggregator.Aggregator (its Store is
// chstore over the given database, its clock is simulated), which is flushed
// once per simulated hour. The event count is scaled down (a real site with
// 10M pageviews a month sends ~14k pageviews an hour, which cannot be replayed
// for a year in minutes), but the dimension cardinalities per hour — which set
// the number of stored rows, and so the read cost — follow real traffic of
// that size: ~2,000 distinct paths an hour (Zipf), 50 sources, 100 countries,
// 20 browsers with versions, ~300 property values, visits of 1-8 pageviews.
//
// roll runs the product's daily rollup job (schema/rollup) over the data and
// times it: one day, a month of days, a full pass, an idle pass.
//
// query times Stats API requests against a running `analytics dashboard`
// (the real HTTP path: auth, parse, resolve, SQL, sketch merge, JSON) and
// prints p50/p95 per query and overall.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"analytics/aggregator"
	"analytics/aggregator/chstore"
	"analytics/aggregator/sketch"

	"analytics/schema"
	"analytics/schema/rollup"
	"github.com/axiomhq/hyperloglog"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: dashgen gen|query [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "gen":
		err = gen(os.Args[2:])
	case "query":
		err = queryBench(os.Args[2:])
	case "roll":
		err = rollBench(os.Args[2:])
	case "merge":
		err = mergeProbe(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q (gen, query, roll or merge)", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "dashgen:", err)
		os.Exit(1)
	}
}

// ---------------------------------------------------------------------------
// Generation

// zipf draws indexes 0..n-1 with probability ~ 1/(i+1)^s.
type zipf struct{ cdf []float64 }

func newZipf(n int, s float64) *zipf {
	z := &zipf{cdf: make([]float64, n)}
	sum := 0.0
	for i := range n {
		sum += 1 / math.Pow(float64(i+1), s)
		z.cdf[i] = sum
	}
	for i := range z.cdf {
		z.cdf[i] /= sum
	}
	return z
}

func (z *zipf) draw(r *rand.Rand) int {
	return sort.SearchFloat64s(z.cdf, r.Float64())
}

// names returns n distinct strings made by f(i).
func names(n int, f func(i int) string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

type browserDef struct {
	name     string
	versions []string
}

type world struct {
	paths, sources, countries, goals []string
	regions                          map[string][]string
	browsers                         []browserDef
	oses                             []browserDef
	devices                          []string
	campaigns, mediums, utmSources   []string
	propValues                       []string
	plans                            []string

	pathZ, sourceZ, countryZ, browserZ, osZ, propZ, campaignZ *zipf
}

func newWorld(nPaths int) *world {
	w := &world{}
	sections := []string{"blog", "docs", "products", "help", "news", "category", "guides", "api", "careers", "events"}
	w.paths = names(nPaths, func(i int) string {
		switch i {
		case 0:
			return "/"
		case 1:
			return "/pricing"
		case 2:
			return "/signup"
		case 3:
			return "/login"
		}
		return fmt.Sprintf("/%s/%s-%d", sections[i%len(sections)], strings.Repeat("x", i%7+3), i)
	})
	srcs := []string{"google.com", "bing.com", "duckduckgo.com", "facebook.com", "t.co", "linkedin.com",
		"reddit.com", "news.ycombinator.com", "youtube.com", "instagram.com", "github.com", "yahoo.com",
		"ecosia.org", "baidu.com", "yandex.ru", "pinterest.com", "mail.google.com", "outlook.live.com", "Newsletter", "chatgpt.com"}
	w.sources = names(50, func(i int) string {
		if i == 0 {
			return "" // direct
		}
		if i-1 < len(srcs) {
			return srcs[i-1]
		}
		return fmt.Sprintf("blog%d.example.org", i)
	})
	cc := []string{"US", "DE", "GB", "FR", "IN", "CA", "NL", "BR", "ES", "IT", "PL", "AU", "SE", "JP", "CH", "AT", "BE", "MX", "TR", "RU"}
	w.countries = names(100, func(i int) string {
		if i < len(cc) {
			return cc[i]
		}
		return string(rune('A'+i/26%26)) + string(rune('A'+i%26))
	})
	w.regions = map[string][]string{}
	for i, c := range w.countries {
		n := 1
		switch {
		case i < 5:
			n = 16
		case i < 20:
			n = 6
		case i < 50:
			n = 2
		}
		w.regions[c] = names(n, func(j int) string { return fmt.Sprintf("%s-R%d", c, j) })
	}
	bn := []string{"Chrome", "Safari", "Firefox", "Microsoft Edge", "Samsung Browser", "Opera", "Brave",
		"Chrome Webview", "Safari Webview", "Yandex Browser", "UC Browser", "Vivaldi", "DuckDuckGo Privacy Browser",
		"Ecosia", "Whale", "Arc", "Huawei Browser", "Mi Browser", "Seamonkey", "Pale Moon"}
	for i, b := range bn {
		nv := 6 - min(i/4, 4)
		w.browsers = append(w.browsers, browserDef{b, names(nv, func(j int) string { return fmt.Sprint(131 - j) })})
	}
	on := []string{"Windows", "Mac", "iOS", "Android", "GNU/Linux", "Chrome OS", "FreeBSD", "KaiOS"}
	for i, o := range on {
		nv := 5 - min(i, 4)
		w.oses = append(w.oses, browserDef{o, names(nv, func(j int) string { return fmt.Sprint(15 - j) })})
	}
	w.devices = []string{"Desktop", "Mobile", "Tablet"}
	w.campaigns = names(30, func(i int) string { return fmt.Sprintf("campaign-%d", i) })
	w.mediums = []string{"email", "cpc", "social", "newsletter", "affiliate"}
	w.utmSources = []string{"newsletter", "google", "facebook", "twitter", "partner"}
	w.goals = []string{"Signup", "Outbound Link: Click", "File Download", "404", "Purchase", "Contact"}
	w.propValues = names(300, func(i int) string { return fmt.Sprintf("https://partner%d.example.net/landing", i) })
	w.plans = []string{"free", "starter", "pro", "business", "enterprise"}
	w.pathZ = newZipf(len(w.paths), 0.9)
	w.sourceZ = newZipf(len(w.sources), 1.1)
	w.countryZ = newZipf(len(w.countries), 1.2)
	w.browserZ = newZipf(len(w.browsers), 1.3)
	w.osZ = newZipf(len(w.oses), 1.0)
	w.propZ = newZipf(len(w.propValues), 0.8)
	w.campaignZ = newZipf(len(w.campaigns), 1.0)
	return w
}

// diurnal is the relative traffic of an UTC hour (peaks in the afternoon)
// and of a weekday (weekends ~70%).
func diurnal(t time.Time) float64 {
	h := float64(t.Hour())
	f := 1 + 0.6*math.Sin((h-9)/24*2*math.Pi)
	if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
		f *= 0.7
	}
	return f
}

// visit returns the events of one visit starting at start, in time order.
func (w *world) visit(r *rand.Rand, site string, start time.Time) []aggregator.Event {
	base := aggregator.Event{Site: site, Visitor: r.Uint64(), Interactive: true}
	si := w.sourceZ.draw(r)
	base.Source = w.sources[si]
	base.Referrer = base.Source
	if r.IntN(10) == 0 { // 10% tagged campaigns
		base.UTMSource = w.utmSources[r.IntN(len(w.utmSources))]
		base.UTMMedium = w.mediums[r.IntN(len(w.mediums))]
		base.UTMCampaign = w.campaigns[w.campaignZ.draw(r)]
		if r.IntN(3) == 0 {
			base.UTMContent = fmt.Sprintf("variant-%d", r.IntN(4))
		}
		if base.UTMMedium == "cpc" {
			base.ClickID = "gclid"
			base.UTMTerm = fmt.Sprintf("term %d", r.IntN(20))
		}
		base.Source = base.UTMSource
	}
	base.Country = w.countries[w.countryZ.draw(r)]
	rs := w.regions[base.Country]
	base.Region = rs[r.IntN(len(rs))]
	b := w.browsers[w.browserZ.draw(r)]
	base.Browser = b.name
	base.BrowserVersion = b.versions[min(r.IntN(len(b.versions)), r.IntN(len(b.versions)))]
	o := w.oses[w.osZ.draw(r)]
	base.OS = o.name
	base.OSVersion = o.versions[min(r.IntN(len(o.versions)), r.IntN(len(o.versions)))]
	base.Device = w.devices[min(r.IntN(3), r.IntN(3))]

	// 1-8 pageviews, mean ~2.5; 45% single-page visits.
	n := 1
	if r.Float64() > 0.45 {
		n = 2 + min(int(r.ExpFloat64()*1.6), 6)
	}
	var evs []aggregator.Event
	t := start
	path := w.paths[w.pathZ.draw(r)]
	for i := range n {
		if i > 0 {
			t = t.Add(time.Duration(15+r.IntN(240)) * time.Second)
			path = w.paths[w.pathZ.draw(r)]
		}
		e := base
		e.Time, e.Kind, e.Name, e.Path = t, aggregator.Pageview, "pageview", path
		evs = append(evs, e)
		if r.IntN(3) == 0 { // a third of pageviews send an engagement
			g := base
			g.Time = t.Add(time.Duration(5+r.IntN(60)) * time.Second)
			g.Kind, g.Name, g.Path = aggregator.Engagement, "engagement", path
			g.ScrollDepth, g.EngagedMS, g.Interactive = r.IntN(101), int64(2000+r.IntN(60000)), false
			evs = append(evs, g)
			t = g.Time
		}
		if r.IntN(12) == 0 { // custom events: goals with properties
			c := base
			c.Time = t.Add(time.Duration(1+r.IntN(30)) * time.Second)
			c.Kind, c.Path = aggregator.Custom, path
			gi := min(r.IntN(len(w.goals)), r.IntN(len(w.goals)))
			c.Name = w.goals[gi]
			switch c.Name {
			case "Outbound Link: Click", "File Download":
				c.Props = []aggregator.Prop{{Key: "url", Value: w.propValues[w.propZ.draw(r)]}}
			case "Signup", "Purchase":
				c.Props = []aggregator.Prop{{Key: "plan", Value: w.plans[r.IntN(len(w.plans))]},
					{Key: "variant", Value: fmt.Sprintf("v%d", r.IntN(10))}}
			case "404":
				c.Props = []aggregator.Prop{{Key: "path", Value: fmt.Sprintf("/missing/%d", r.IntN(2000))}}
			}
			evs = append(evs, c)
			t = c.Time
		}
	}
	return evs
}

func gen(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ExitOnError)
	url := fs.String("clickhouse-url", "clickhouse://127.0.0.1:19400/analytics_dashbench", "ClickHouse URL (127.0.0.1 only)")
	site := fs.String("site", "dash.example", "site domain")
	days := fs.Int("days", 365, "days of data, ending with the current hour")
	vph := fs.Int("visits-per-hour", 1400, "mean simulated visits per hour (scaled down from real ~5,600)")
	nPaths := fs.Int("paths", 30000, "distinct paths of the site (Zipf s=0.9)")
	seed := fs.Uint64("seed", 1, "random seed")
	fs.Parse(args)

	ctx := context.Background()
	db, err := schema.Open(ctx, *url)
	if err != nil {
		return err
	}
	defer db.Close()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := schema.Migrate(ctx, db, logger); err != nil {
		return err
	}

	end := time.Now().UTC().Truncate(time.Hour).Add(time.Hour) // through the current hour
	start := end.Truncate(24*time.Hour).AddDate(0, 0, -*days)
	var clockMu sync.Mutex
	clock := start
	now := func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return clock }
	agg, err := aggregator.New(aggregator.Options{
		Store: chstore.New(db), Writer: "dashgen", Logger: logger, Now: now,
	})
	if err != nil {
		return err
	}

	w := newWorld(*nPaths)
	r := rand.New(rand.NewPCG(*seed, 42))
	t0 := time.Now()
	var (
		pending                      []aggregator.Event // events of visits that ran into the next hour
		nEvents, nPageviews, nVisits int64
		distinctPaths, distinctHours int64
		flushErr                     error
		flushWG                      sync.WaitGroup
		lastReport                   = time.Now()
	)
	for h := start; h.Before(end); h = h.Add(time.Hour) {
		next := h.Add(time.Hour)
		evs := pending
		pending = nil
		nv := int(float64(*vph) * diurnal(h) * (0.9 + 0.2*r.Float64()) / 1.05)
		for range nv {
			for _, e := range w.visit(r, *site, h.Add(time.Duration(r.Int64N(int64(time.Hour))))) {
				if e.Time.Before(next) {
					evs = append(evs, e)
				} else {
					pending = append(pending, e)
				}
			}
		}
		nVisits += int64(nv)
		sort.SliceStable(evs, func(i, j int) bool { return evs[i].Time.Before(evs[j].Time) })
		paths := map[string]struct{}{}
		// The previous hour's flush may still be writing; Add only takes
		// the aggregator's lock briefly, as in the collector.
		for i := range evs {
			e := &evs[i]
			agg.Add(e)
			nEvents++
			if e.Kind == aggregator.Pageview {
				nPageviews++
				paths[e.Path] = struct{}{}
			}
		}
		distinctPaths += int64(len(paths))
		distinctHours++
		flushWG.Wait()
		if flushErr != nil {
			return flushErr
		}
		clockMu.Lock()
		clock = next.Add(61 * time.Second) // the hour is over (plus grace): flush it
		clockMu.Unlock()
		flushWG.Add(1)
		go func() {
			defer flushWG.Done()
			if err := agg.Flush(ctx); err != nil {
				flushErr = err
			}
		}()
		if time.Since(lastReport) > 10*time.Second {
			lastReport = time.Now()
			fmt.Fprintf(os.Stderr, "dashgen: %s done (%d events, %.0fs)\n", h.Format("2006-01-02 15h"), nEvents, time.Since(t0).Seconds())
		}
	}
	flushWG.Wait()
	if flushErr != nil {
		return flushErr
	}
	// End the visits still open and write them.
	clockMu.Lock()
	clock = end.Add(2 * time.Hour)
	clockMu.Unlock()
	if err := agg.Flush(ctx); err != nil {
		return err
	}
	elapsed := time.Since(t0)
	fmt.Printf("generated %s .. %s (%d hours) for site %s in %s\n", start.Format(time.RFC3339), end.Format(time.RFC3339),
		distinctHours, *site, elapsed.Round(time.Second))
	fmt.Printf("simulated events %d (pageviews %d, visits %d): %.0f pageviews/hour, %.0f distinct paths/hour\n",
		nEvents, nPageviews, nVisits, float64(nPageviews)/float64(distinctHours), float64(distinctPaths)/float64(distinctHours))
	return nil
}

// ---------------------------------------------------------------------------
// Query timing

type namedQuery struct {
	name, body string
}

func queries(site string, today time.Time) []namedQuery {
	from := today.AddDate(-1, 0, 1).Format("2006-01-02")
	to := today.Format("2006-01-02")
	year := fmt.Sprintf(`["%s", "%s"]`, from, to)
	totals := `"metrics": ["visitors", "visits", "pageviews", "bounce_rate", "visit_duration"]`
	q := func(s string) string { return `{"site_id": "` + site + `", ` + s + `}` }
	return []namedQuery{
		{"totals day", q(totals + `, "date_range": "day"`)},
		{"totals 7d", q(totals + `, "date_range": "7d"`)},
		{"totals 30d", q(totals + `, "date_range": "30d"`)},
		{"totals month", q(totals + `, "date_range": "month"`)},
		{"totals 12 months", q(totals + `, "date_range": ` + year)},
		{"time:day 30d", q(`"metrics": ["visitors", "pageviews"], "dimensions": ["time:day"], "date_range": "30d"`)},
		{"time:day 12 months", q(`"metrics": ["visitors", "pageviews"], "dimensions": ["time:day"], "date_range": ` + year)},
		{"event:page 30d", q(`"metrics": ["visitors", "pageviews"], "dimensions": ["event:page"], "date_range": "30d", "pagination": {"limit": 100}`)},
		{"event:page 30d top 10", q(`"metrics": ["visitors"], "dimensions": ["event:page"], "date_range": "30d", "pagination": {"limit": 10}`)},
		{"event:page month", q(`"metrics": ["visitors", "pageviews"], "dimensions": ["event:page"], "date_range": "month", "pagination": {"limit": 100}`)},
		{"visit:source 30d", q(`"metrics": ["visitors", "visits", "bounce_rate", "visit_duration"], "dimensions": ["visit:source"], "date_range": "30d", "pagination": {"limit": 100}`)},
		{"visit:country 30d", q(`"metrics": ["visitors", "percentage"], "dimensions": ["visit:country"], "date_range": "30d", "pagination": {"limit": 100}`)},
		{"visit:browser 30d", q(`"metrics": ["visitors", "percentage"], "dimensions": ["visit:browser"], "date_range": "30d", "pagination": {"limit": 100}`)},
		{"visit:entry_page 30d", q(`"metrics": ["visitors", "visits", "bounce_rate"], "dimensions": ["visit:entry_page"], "date_range": "30d", "pagination": {"limit": 100}`)},
		{"event:props:url goal 30d", q(`"metrics": ["visitors", "events", "percentage"], "dimensions": ["event:props:url"], "filters": [["is", "event:goal", ["Outbound Link: Click"]]], "date_range": "30d", "pagination": {"limit": 100}`)},
		{"totals 30d vs previous", q(totals + `, "date_range": "30d", "include": {"comparisons": {"mode": "previous_period"}}`)},
	}
}

func pct(ds []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(i, 0)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }

func queryBench(args []string) error {
	fs := flag.NewFlagSet("query", flag.ExitOnError)
	url := fs.String("url", "http://127.0.0.1:18181/api/v2/query", "Stats API endpoint")
	key := fs.String("key", "", "API key")
	site := fs.String("site", "dash.example", "site domain")
	runs := fs.Int("runs", 20, "timed runs per query (after one warm-up)")
	slow := fs.Duration("slow", 8*time.Second, "a query whose warm-up takes longer gets -slow-runs runs only")
	slowRuns := fs.Int("slow-runs", 5, "runs of a slow query")
	target := fs.Duration("target", 100*time.Millisecond, "p95 target")
	fs.Parse(args)

	client := &http.Client{Timeout: 60 * time.Second}
	do := func(body string) (time.Duration, []byte, error) {
		req, _ := http.NewRequest(http.MethodPost, *url, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+*key)
		req.Header.Set("Content-Type", "application/json")
		t := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		out, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		d := time.Since(t)
		if err != nil {
			return 0, nil, err
		}
		if resp.StatusCode != http.StatusOK {
			return 0, nil, fmt.Errorf("status %d: %s", resp.StatusCode, bytes.TrimSpace(out))
		}
		return d, out, nil
	}

	var all []time.Duration
	miss := 0
	fmt.Printf("%-28s %5s %10s %10s %10s %8s %s\n", "query", "runs", "p50 ms", "p95 ms", "max ms", "target", "results")
	for _, q := range queries(*site, time.Now().UTC()) {
		warm, body, err := do(q.body)
		if err != nil {
			return fmt.Errorf("%s: %w", q.name, err)
		}
		n := *runs
		if warm > *slow {
			n = *slowRuns
		}
		var ds []time.Duration
		for range n {
			d, _, err := do(q.body)
			if err != nil {
				return fmt.Errorf("%s: %w", q.name, err)
			}
			ds = append(ds, d)
		}
		all = append(all, ds...)
		p95 := pct(ds, 95)
		verdict := "PASS"
		if p95 > *target {
			verdict = "MISS"
			miss++
		}
		var parsed struct {
			Results []json.RawMessage `json:"results"`
		}
		if err := json.Unmarshal(body, &parsed); err != nil {
			return fmt.Errorf("%s: %w", q.name, err)
		}
		results := len(parsed.Results)
		fmt.Printf("%-28s %5d %10s %10s %10s %8s %d rows, %d B\n", q.name, n, ms(pct(ds, 50)), ms(p95), ms(pct(ds, 100)), verdict, results, len(body))
	}
	fmt.Printf("%-28s %5d %10s %10s %10s\n", "ALL", len(all), ms(pct(all, 50)), ms(pct(all, 95)), ms(pct(all, 100)))
	fmt.Printf("queries missing the p95 < %s target: %d\n", *target, miss)
	return nil
}

// ---------------------------------------------------------------------------
// Daily rollup job (schema/rollup), timed

// rollBench migrates the database (stats_daily, stats_monthly and their
// rolls) and runs the product's rollup job over it: first one closed day
// and the 30 days before it rolled one by one (the cost of a day and of a
// month of days), then a full pass (days without a roll, then the months
// whose day rolls changed), then a second pass (what every run of the job
// costs once everything is rolled: the fingerprint check of the recheck
// window).
func rollBench(args []string) error {
	fs := flag.NewFlagSet("roll", flag.ExitOnError)
	url := fs.String("clickhouse-url", "clickhouse://127.0.0.1:19400/analytics_dashbench", "ClickHouse URL (127.0.0.1 only)")
	site := fs.String("site", "dash.example", "site domain")
	fs.Parse(args)
	ctx := context.Background()
	db, err := schema.Open(ctx, *url)
	if err != nil {
		return err
	}
	defer db.Close()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := schema.Migrate(ctx, db, logger); err != nil {
		return err
	}
	rolls, err := rollup.Rolls(ctx, db)
	if err != nil {
		return err
	}
	yesterday := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -1)
	var days []time.Duration
	rows := 0
	for d := yesterday; !d.Before(yesterday.AddDate(0, 0, -30)); d = d.AddDate(0, 0, -1) {
		t := time.Now()
		n, err := rollup.RollDay(ctx, db, *site, d, rolls[rollup.SiteDay{Site: *site, Day: d}].Ver)
		if err != nil {
			return err
		}
		days = append(days, time.Since(t))
		rows += n
	}
	var month time.Duration
	for _, d := range days {
		month += d
	}
	fmt.Printf("roll one day (RollDay, %s): %s ms for %d rows; p50 of 31 days %s ms, p95 %s ms; 31 days one by one: %.1f s (%d rows)\n",
		yesterday.Format(time.DateOnly), ms(days[0]), rows/len(days), ms(pct(days, 50)), ms(pct(days, 95)), month.Seconds(), rows)
	job := rollup.New(rollup.Options{DB: db, Logger: logger})
	p, err := job.Run(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("first pass of the job (every day without a roll, fingerprints of the last %d days, then the months): %d days and %d months rolled, %d rows, %d checked, %.1f s\n",
		rollup.DefaultRecheckDays, p.Rolled, p.Months, p.Rows, p.Checked, p.Duration.Seconds())
	p, err = job.Run(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("next pass (nothing new: fingerprint check only): %d days and %d months rolled, %d checked, %s ms\n", p.Rolled, p.Months, p.Checked, ms(p.Duration))
	return nil
}

// ---------------------------------------------------------------------------
// Sketch merge probe (Go side of a read)

// mergeProbe reads stored hourly sketches once, then times merging them per
// group in Go two ways: as dashboard/query does today (every accumulator is
// sketch.New(), which stays sparse however much is merged into it), and with
// accumulators that turn dense once they hold >= 2048 visitors, as the
// aggregator's sketches do on Add.
func mergeProbe(args []string) error {
	fs := flag.NewFlagSet("merge", flag.ExitOnError)
	url := fs.String("clickhouse-url", "clickhouse://127.0.0.1:19400/analytics_dashbench", "ClickHouse URL (127.0.0.1 only)")
	site := fs.String("site", "dash.example", "site domain")
	fs.Parse(args)
	ctx := context.Background()
	db, err := schema.Open(ctx, *url)
	if err != nil {
		return err
	}
	defer db.Close()
	today := time.Now().UTC().Truncate(24 * time.Hour)
	type probe struct {
		name  string
		dim   string
		start time.Time
		byDay bool // group by day of the hour, else by value
	}
	probes := []probe{
		{"time:day 12 months", "", today.AddDate(-1, 0, 1), true},
		{"time:day 30d", "", today.AddDate(0, 0, -30), true},
		{"visit:source 30d", "visit:source", today.AddDate(0, 0, -30), false},
		{"visit:country 30d", "visit:country", today.AddDate(0, 0, -30), false},
		{"event:page 30d", "event:page", today.AddDate(0, 0, -30), false},
	}
	fmt.Printf("%-22s %9s %22s %22s\n", "Go merge only", "sketches", "sparse accumulators ms", "dense at 2048 ms")
	for _, p := range probes {
		rs, err := db.Conn.Query(ctx, `SELECT hour, value, argMax(sketch, ver) FROM stats_hourly
			WHERE site = ? AND dimension = ? AND hour >= ? AND hour < ? GROUP BY hour, goal, value, writer`,
			*site, p.dim, p.start, today)
		if err != nil {
			return err
		}
		type rec struct {
			group string
			sk    []byte
		}
		var recs []rec
		for rs.Next() {
			var h time.Time
			var v, sk string
			if err := rs.Scan(&h, &v, &sk); err != nil {
				rs.Close()
				return err
			}
			g := v
			if p.byDay {
				g = h.Format("2006-01-02")
			}
			recs = append(recs, rec{g, []byte(sk)})
		}
		rs.Close()
		// Today's pattern.
		t := time.Now()
		acc := map[string]*sketch.Sketch{}
		for _, r := range recs {
			s := sketch.New()
			if err := s.MergeBinary(r.sk); err != nil {
				return err
			}
			a := acc[r.group]
			if a == nil {
				a = sketch.New()
				acc[r.group] = a
			}
			if err := a.Merge(s); err != nil {
				return err
			}
		}
		for _, a := range acc {
			_ = a.Estimate()
		}
		sparse := time.Since(t)
		// Accumulators that switch to dense.
		t = time.Now()
		type hyb struct {
			h     *hyperloglog.Sketch
			dense bool
			n     int
		}
		acc2 := map[string]*hyb{}
		for _, r := range recs {
			s := hyperloglog.New14()
			if err := s.UnmarshalBinary(r.sk); err != nil {
				return err
			}
			a := acc2[r.group]
			if a == nil {
				acc2[r.group] = &hyb{h: s}
				continue
			}
			if err := a.h.Merge(s); err != nil {
				return err
			}
			if a.n++; !a.dense && a.n%4 == 0 && a.h.Estimate() >= 2048 {
				d := hyperloglog.NewNoSparse()
				if err := d.Merge(a.h); err != nil {
					return err
				}
				a.h, a.dense = d, true
			}
		}
		for _, a := range acc2 {
			_ = a.h.Estimate()
		}
		dense := time.Since(t)
		fmt.Printf("%-22s %9d %22s %22s\n", p.name, len(recs), ms(sparse), ms(dense))
	}
	return nil
}
