package query

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"analytics/aggregator"
	"analytics/aggregator/chstore"
	"analytics/schema"
	"analytics/schema/chtest"
	"analytics/schema/rollup"
)

// rollupNow is the moment the rollup tests query at: days up to
// 2026-11-26 are closed and rolled up, today is read hourly.
var rollupNow = time.Date(2026, 11, 27, 10, 30, 0, 0, time.UTC)

// genTraffic writes hours [from, to) of traffic for site rollup.example
// through the real write path: two aggregators (two writers) over chstore,
// flushed every hour. Visitors come back within a day, pages follow a long
// tail (most below any threshold), one writer folds values past a small cap
// into "(other)", and one hour has a burst of visitors large enough to turn
// sketches dense.
func genTraffic(t *testing.T, db *schema.DB, seed uint64, from, to time.Time, light bool) {
	t.Helper()
	ctx := context.Background()
	clock := from
	now := func() time.Time { return clock }
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	var aggs []*aggregator.Aggregator
	for i, maxValues := range []int{0, 60} {
		a, err := aggregator.New(aggregator.Options{Store: chstore.New(db), Writer: fmt.Sprintf("w%d-%d", i, seed),
			Logger: logger, Now: now, MaxValues: maxValues})
		if err != nil {
			t.Fatal(err)
		}
		aggs = append(aggs, a)
	}
	r := rand.New(rand.NewPCG(seed, 99))
	zipf := func(n int) int { return min(r.IntN(n), r.IntN(n), r.IntN(n)) }
	sources := []string{"", "google.com", "bing.com", "news.ycombinator.com", "t.co", "duckduckgo.com"}
	countries := []string{"DE", "US", "FR", "", "IN", "BR", "JP", "NL", "SE", "PL", "IT", "ES"}
	browsers := []string{"Chrome", "Firefox", "Safari", "Edge", "Opera", "Samsung Internet"}
	goals := []string{"Signup", "Outbound Link: Click", "Purchase"}
	for h := from; h.Before(to); h = h.Add(time.Hour) {
		day := h.Unix() / 86400
		visits := 40 + r.IntN(40)
		switch {
		case light:
			visits = 3 + r.IntN(5)
		case h.Hour() == 14 && day%3 == 0:
			visits = 2600 // a burst: dense sketches for the day's totals, sources, countries
		}
		var evs []aggregator.Event
		for range visits {
			base := aggregator.Event{
				Site:    "rollup.example",
				Visitor: visitorKey(uint64(day)<<32 | uint64(r.IntN(3000))), // returning visitors within the day
				Source:  sources[zipf(len(sources))], Country: countries[zipf(len(countries))],
				Browser: browsers[zipf(len(browsers))], Device: "Desktop", OS: "Linux",
			}
			base.Referrer = base.Source
			start := h.Add(time.Duration(r.IntN(3500)) * time.Second)
			n := 1 + zipf(5)
			for i := range n {
				e := base
				e.Time = start.Add(time.Duration(i*20) * time.Second)
				e.Kind, e.Name, e.Interactive = aggregator.Pageview, "pageview", true
				e.Path = fmt.Sprintf("/p/%d", zipf(400))
				evs = append(evs, e)
				if r.IntN(3) == 0 {
					g := e
					g.Time = e.Time.Add(5 * time.Second)
					g.Kind, g.Name, g.Interactive = aggregator.Engagement, "engagement", false
					g.ScrollDepth, g.EngagedMS = r.IntN(101), int64(1000+r.IntN(30000))
					evs = append(evs, g)
				}
				if r.IntN(8) == 0 {
					c := e
					c.Time = e.Time.Add(7 * time.Second)
					c.Kind, c.Name = aggregator.Custom, goals[zipf(len(goals))]
					c.Props = []aggregator.Prop{{Key: "plan", Value: fmt.Sprintf("plan-%d", zipf(30))},
						{Key: "url", Value: fmt.Sprintf("https://x.example/%d", zipf(200))}}
					evs = append(evs, c)
				}
			}
		}
		sort.SliceStable(evs, func(i, j int) bool { return evs[i].Time.Before(evs[j].Time) })
		for i := range evs {
			// A visitor stays with one writer, as behind a load balancer
			// with client-IP affinity.
			aggs[evs[i].Visitor%2].Add(&evs[i])
		}
		clock = h.Add(time.Hour + 61*time.Second)
		for _, a := range aggs {
			if err := a.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	clock = to.Add(3 * time.Hour)
	for _, a := range aggs {
		if err := a.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// rollupRequests are the requests whose answers must not depend on the
// daily rollups: totals over every kind of range, comparisons, time series,
// breakdowns long and short with the k-anonymity fold, pagination, order,
// filters, percentage, goals and properties.
var rollupRequests = []string{
	`"metrics":["visitors","visits","pageviews","views_per_visit","bounce_rate","visit_duration"],"date_range":"7d"`,
	`"metrics":["visitors","visits","pageviews","bounce_rate"],"date_range":"30d"`,
	`"metrics":["visitors","pageviews"],"date_range":"month"`,
	`"metrics":["visitors","pageviews"],"date_range":"day"`,
	`"metrics":["visitors","pageviews","events"],"date_range":["2026-11-22","2026-11-25"]`,
	`"metrics":["visitors","pageviews"],"date_range":["2026-11-22T05:00:00Z","2026-11-25T17:00:00Z"]`,
	`"metrics":["visitors","visits","pageviews","bounce_rate"],"date_range":"7d","include":{"comparisons":{"mode":"previous_period"}}`,
	`"metrics":["visitors","pageviews"],"date_range":["2026-11-24","2026-11-26"],"include":{"comparisons":{"mode":"custom","date_range":["2026-11-21","2026-11-23"]}}`,
	`"metrics":["visitors","pageviews"],"date_range":"7d","dimensions":["time:day"],"include":{"time_labels":true}`,
	`"metrics":["visitors","pageviews"],"date_range":"7d","dimensions":["time"]`,
	`"metrics":["visitors"],"date_range":["2026-11-25","2026-11-26"],"dimensions":["time:hour"]`,
	`"metrics":["visitors","pageviews"],"date_range":"7d","dimensions":["time:day"],"filters":[["is","visit:country",["SE"]]],"include":{"comparisons":{"mode":"previous_period"}}`,
	`"metrics":["visitors","pageviews"],"date_range":"7d","dimensions":["time:day"],"filters":[["is","event:page",["/p/40"]]]`,
	`"metrics":["visitors","pageviews","events","scroll_depth","time_on_page"],"date_range":"7d","dimensions":["event:page"],"pagination":{"limit":5}`,
	`"metrics":["visitors","pageviews"],"date_range":"7d","dimensions":["event:page"],"pagination":{"limit":10,"offset":3}`,
	`"metrics":["visitors","pageviews"],"date_range":"30d","dimensions":["event:page"],"pagination":{"limit":100}`,
	`"metrics":["visitors","pageviews"],"date_range":"7d","dimensions":["event:page"],"include":{"total_rows":true}`,
	`"metrics":["pageviews","visitors"],"date_range":"7d","dimensions":["event:page"],"pagination":{"limit":8}`,
	`"metrics":["visitors","pageviews"],"date_range":"7d","dimensions":["event:page"],"order_by":[["visitors","asc"]],"pagination":{"limit":8}`,
	`"metrics":["visitors","percentage"],"date_range":"7d","dimensions":["event:page"],"pagination":{"limit":8}`,
	`"metrics":["visitors","events"],"date_range":"7d","dimensions":["event:page"],"filters":[["contains","event:page",["/p/1"]]],"pagination":{"limit":6}`,
	`"metrics":["visitors","events"],"date_range":"7d","dimensions":["event:page"],"filters":[["is_not","event:page",["/p/0","/p/1"]]],"pagination":{"limit":500}`,
	`"metrics":["visitors","pageviews"],"date_range":"7d","dimensions":["event:page"],"include":{"comparisons":{"mode":"previous_period"}},"pagination":{"limit":10}`,
	`"metrics":["visitors","visits","bounce_rate","visit_duration"],"date_range":"7d","dimensions":["visit:source"]`,
	`"metrics":["visitors","percentage"],"date_range":"30d","dimensions":["visit:country"]`,
	`"metrics":["visitors","percentage"],"date_range":"7d","dimensions":["visit:browser"],"pagination":{"limit":2}`,
	`"metrics":["visitors","visits","bounce_rate"],"date_range":"7d","dimensions":["visit:entry_page"],"pagination":{"limit":10}`,
	`"metrics":["visitors","visits"],"date_range":"7d","dimensions":["visit:exit_page"],"pagination":{"limit":10}`,
	// Regions: every value is empty ("(not set)"), whose two stored forms
	// stats_daily_top cannot vouch for.
	`"metrics":["visitors"],"date_range":"30d","dimensions":["visit:region"]`,
	`"metrics":["visitors","events"],"date_range":"7d","dimensions":["event:goal"]`,
	`"metrics":["visitors","events","percentage"],"date_range":"7d","dimensions":["event:props:url"],"filters":[["is","event:goal",["Outbound Link: Click"]]],"pagination":{"limit":10}`,
	`"metrics":["visitors","events"],"date_range":"7d","dimensions":["event:props:plan"],"pagination":{"limit":5}`,
	`"metrics":["visitors","pageviews"],"date_range":"7d","filters":[["is","event:page",["/p/3"]]]`,
	`"metrics":["visitors","pageviews"],"date_range":"7d","filters":[["is","event:page",["(other)"]]]`,
	// Ranges with the whole of October: read from stats_monthly.
	`"metrics":["visitors","visits","pageviews","bounce_rate","visit_duration"],"date_range":["2026-09-29","2026-11-26"]`,
	`"metrics":["visitors","pageviews"],"date_range":["2026-10-01","2026-10-31"],"dimensions":["event:page"],"pagination":{"limit":20}`,
	`"metrics":["visitors","percentage"],"date_range":["2026-09-30","2026-11-02"],"dimensions":["visit:country"]`,
	`"metrics":["visitors","pageviews"],"date_range":["2026-09-29","2026-11-26"],"dimensions":["time:day"]`,
	`"metrics":["visitors","events"],"date_range":["2026-09-29","2026-11-20"],"dimensions":["event:props:plan"],"filters":[["is","event:goal",["Signup"]]],"pagination":{"limit":5}`,
}

// topCounts sums what the planned reads of answers did with
// stats_daily_top: rankings read from it, candidates read again.
var topCounts struct{ reads, rereads int }

// answers runs every request for site at rollupNow, once as planned and
// once from stats_hourly only, and returns both as JSON.
func answers(t *testing.T, db *schema.DB, site Site) (planned, hourly []string, daily int) {
	t.Helper()
	ctx := context.Background()
	for _, body := range rollupRequests {
		for _, hourlyOnly := range []bool{false, true} {
			p, err := mustParse(t, `{"site_id":"rollup.example",`+body+`}`).Resolve(site, rollupNow)
			if err != nil {
				t.Fatalf("%s: %v", body, err)
			}
			if hourlyOnly {
				p.HourlyOnly()
			}
			resp, err := Run(ctx, db.Conn, p)
			if err != nil {
				t.Fatalf("%s: %v", body, err)
			}
			b, err := json.Marshal(resp)
			if err != nil {
				t.Fatal(err)
			}
			if hourlyOnly {
				hourly = append(hourly, string(b))
			} else {
				planned = append(planned, string(b))
				if p.srcs != nil {
					daily += len(p.srcs.days) + 100*len(p.srcs.months)
				}
				topCounts.reads += p.topReads
				topCounts.rereads += p.topRereads
			}
		}
	}
	return planned, hourly, daily
}

func TestRollupAnswersEqualHourly(t *testing.T) {
	db := chtest.NewDB(t)
	ctx := context.Background()
	// A light October, so that a whole month is rolled up too, then busy
	// days up to now.
	genTraffic(t, db, 3, time.Date(2026, 9, 29, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 18, 0, 0, 0, 0, time.UTC), true)
	genTraffic(t, db, 1, time.Date(2026, 11, 18, 0, 0, 0, 0, time.UTC), rollupNow.Truncate(time.Hour).Add(time.Hour), false)
	job := rollup.New(rollup.Options{DB: db, Now: func() time.Time { return rollupNow }})
	p, err := job.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p.Rolled != 59 || p.Months != 1 { // 2026-09-29 .. 2026-11-26; October
		t.Fatalf("rolled %d days and %d months, want 59 and 1", p.Rolled, p.Months)
	}
	// stats_daily_top holds exactly the rows of stats_daily that rank, and
	// a marker (zeros) per roll.
	dims := []string{schema.DimPage, schema.DimEntryPage, schema.DimExitPage, schema.DimRegion}
	const fingerprint = "count(), sum(cityHash64(site, day, dimension, goal, value, ver, pageviews, events, visits, bounces, duration, engagements, scroll_sum, engaged_ms, visitors, sketch))"
	var want, got [2]uint64
	if err := db.Conn.QueryRow(ctx, "SELECT "+fingerprint+" FROM stats_daily WHERE has(?, dimension) AND goal = '' AND (pageviews >= ? OR events + visits >= ?)",
		dims, uint64(schema.TopMin), uint64(schema.TopMin)).Scan(&want[0], &want[1]); err != nil {
		t.Fatal(err)
	}
	if err := db.Conn.QueryRow(ctx, "SELECT "+fingerprint+" FROM stats_daily_top WHERE dimension != ''").Scan(&got[0], &got[1]); err != nil {
		t.Fatal(err)
	}
	if got != want || want[0] < 1000 {
		t.Errorf("stats_daily_top: %d rows (fingerprint %x), stats_daily has %d that rank (%x)", got[0], got[1], want[0], want[1])
	}
	var markers, nonzero uint64
	if err := db.Conn.QueryRow(ctx, "SELECT count(), countIf(pageviews + events + visits + visitors + length(sketch) > 0) FROM stats_daily_top WHERE dimension = ''").Scan(&markers, &nonzero); err != nil {
		t.Fatal(err)
	}
	if markers != 59 || nonzero != 0 {
		t.Errorf("stats_daily_top: %d markers, %d not zero; want one of zeros per roll (59)", markers, nonzero)
	}
	for _, d := range dims {
		if !schema.TopDimension(d) {
			t.Errorf("%s is not ranked by stats_daily_top", d)
		}
	}

	kolkata := mustLoad(t, "Asia/Kolkata")
	sites := []Site{
		{ID: "rollup.example", MinVisitors: 3},
		{ID: "rollup.example", MinVisitors: 20, Location: mustLoad(t, "Europe/Berlin")},
		{ID: "rollup.example", MinVisitors: 1, Location: kolkata},
	}
	topCounts.reads, topCounts.rereads = 0, 0
	for _, site := range sites {
		t.Run(fmt.Sprintf("%v k=%d", site.Location, site.MinVisitors), func(t *testing.T) {
			planned, hourly, daily := answers(t, db, site)
			if daily < 100 {
				t.Fatalf("stats_daily and stats_monthly read for %d days and %d months", daily%100, daily/100)
			}
			for i := range planned {
				if planned[i] != hourly[i] {
					t.Errorf("%s\n daily: %s\nhourly: %s", rollupRequests[i], planned[i], hourly[i])
				}
			}
		})
	}

	// The page lists of a week or more ranked by stats_daily_top, and some
	// of their candidates (a day below schema.TopMin) were read again.
	if topCounts.reads < 10 || topCounts.rereads == 0 {
		t.Errorf("stats_daily_top: %d rankings, %d candidates read again; want both", topCounts.reads, topCounts.rereads)
	}

	// The long breakdowns were settled by their top candidates, not by
	// reading every value.
	for _, body := range []string{rollupRequests[13], rollupRequests[14], rollupRequests[17]} {
		pl, err := mustParse(t, `{"site_id":"rollup.example",`+body+`}`).Resolve(sites[0], rollupNow)
		if err != nil {
			t.Fatal(err)
		}
		if err := pl.loadSources(ctx, db.Conn); err != nil {
			t.Fatal(err)
		}
		need := pl.req.Pagination.Offset + pl.req.Pagination.Limit
		n := need + max(need, 50)
		rows, partial, err := pl.readLabels(ctx, db.Conn, pl.fastOrder(), n, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != n+1 {
			t.Fatalf("%s: %d candidate rows, want %d", body, len(rows), n+1)
		}
		if _, ok, _ := pl.settle(rows[:n], need, pl.limitOf(partial[n])); !ok {
			t.Errorf("%s: the top %d candidates did not settle the page", body, n)
		}
	}

	// Rolls without stats_daily_top rows (as an older analytics wrote
	// them): readers rank by stats_daily, and the first pass of a job rolls
	// the recent days again.
	if err := db.Conn.Exec(ctx, "ALTER TABLE stats_daily_top DROP PARTITION 202611"); err != nil {
		t.Fatal(err)
	}
	topCounts.reads = 0
	planned, hourly, _ := answers(t, db, sites[0])
	for i := range planned {
		if planned[i] != hourly[i] {
			t.Errorf("without stats_daily_top: %s\n daily: %s\nhourly: %s", rollupRequests[i], planned[i], hourly[i])
		}
	}
	if topCounts.reads != 0 {
		t.Errorf("%d rankings read stats_daily_top without its rows", topCounts.reads)
	}
	if p, err := rollup.New(rollup.Options{DB: db, Now: func() time.Time { return rollupNow }}).Run(ctx); err != nil || p.Rolled != 26 {
		t.Fatalf("first pass without stats_daily_top: %d days rolled, %v; want November's 26", p.Rolled, err)
	}
	again, _, _ := answers(t, db, sites[0])
	if strings.Join(again, "\n") != strings.Join(planned, "\n") {
		t.Error("rolling the days again for stats_daily_top changed answers")
	}
	if topCounts.reads == 0 {
		t.Error("no ranking read stats_daily_top after the days were rolled again")
	}

	// Late rows for closed days, as a spool replay after an outage writes
	// them: a writer of its own, and newer versions of existing keys.
	genTraffic(t, db, 2, time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC), time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC), false)
	insertRows(t, db, []StatsRow{{Site: "rollup.example", Dimension: "", Hour: "2026-11-23T10:00:00Z", Writer: "w0-1",
		Ver: 1 << 62, Pageviews: 5000, Events: 5000, Visits: 4000, From: 1 << 40, To: 1<<40 + 3000}})
	planned, hourly, _ = answers(t, db, sites[0])
	stale := 0
	for i := range planned {
		if planned[i] != hourly[i] {
			stale++
		}
	}
	if stale == 0 {
		t.Fatal("late rows changed no answer: the test does not test re-rolls")
	}
	p, err = job.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p.Rolled != 2 || p.Months != 0 || p.Checked == 0 {
		t.Fatalf("after late rows: rolled %d, checked %d; want 2 days rolled again", p.Rolled, p.Checked)
	}
	planned, hourly, _ = answers(t, db, sites[0])
	for i := range planned {
		if planned[i] != hourly[i] {
			t.Errorf("after the re-roll: %s\n daily: %s\nhourly: %s", rollupRequests[i], planned[i], hourly[i])
		}
	}
	// A second job (another process) with nothing new rolls nothing, and
	// rolling a day again leaves the answers as they are.
	other := rollup.New(rollup.Options{DB: db, Now: func() time.Time { return rollupNow }})
	if p, err := other.Run(ctx); err != nil || p.Rolled != 0 {
		t.Fatalf("second job: rolled %d, %v", p.Rolled, err)
	}
	rolls, err := rollup.Rolls(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	d := rollup.SiteDay{Site: "rollup.example", Day: time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)}
	if _, err := rollup.RollDay(ctx, db, d.Site, d.Day, rolls[d].Ver); err != nil {
		t.Fatal(err)
	}
	again, _, _ = answers(t, db, sites[0])
	if strings.Join(again, "\n") != strings.Join(planned, "\n") {
		t.Error("rolling a day again changed answers")
	}
	// A day of October rolled again (late rows found by analytics rollup
	// --all): readers leave the month's roll, which read the old day roll,
	// and the next pass rolls the month again.
	oct := rollup.SiteDay{Site: "rollup.example", Day: time.Date(2026, 10, 15, 0, 0, 0, 0, time.UTC)}
	insertRows(t, db, []StatsRow{{Site: "rollup.example", Dimension: "", Hour: "2026-10-15T10:00:00Z", Writer: "late",
		Ver: 1, Pageviews: 70, Events: 70, Visits: 50, From: 1 << 41, To: 1<<41 + 50}})
	if _, err := rollup.RollDay(ctx, db, oct.Site, oct.Day, rolls[oct].Ver); err != nil {
		t.Fatal(err)
	}
	planned, hourly, _ = answers(t, db, sites[0])
	for i := range planned {
		if planned[i] != hourly[i] {
			t.Errorf("with a stale month: %s\n daily: %s\nhourly: %s", rollupRequests[i], planned[i], hourly[i])
		}
	}
	if p, err := job.Run(ctx); err != nil || p.Months != 1 {
		t.Fatalf("after a day of October rolled again: %d months rolled, %v; want 1", p.Months, err)
	}
	again, _, _ = answers(t, db, sites[0])
	if strings.Join(again, "\n") != strings.Join(planned, "\n") {
		t.Error("rolling the month again changed answers")
	}
}
