package dashboard

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"analytics/aggregator/vitals"
	"analytics/dashboard/auth"
	"analytics/dashboard/diag"
	"analytics/dashboard/query"
	"analytics/schema"
)

// The technical view for ops, /{domain}/technical: web vitals (p50/p75/p95
// and the good / needs-improvement / poor shares, over time and per page,
// browser and device), the top JavaScript errors with their trend and the
// browsers they hit, the events dropped by reason, and collector health
// (the writers' flushes from ClickHouse, and each configured collector
// node's /readyz and /metrics essentials). Signed-in users with access to
// the site only: shared links show the product dashboard, not this.

const routeTechnical = "technical"

// techView is what the technical template sees.
type techView struct {
	Back         string
	Vitals       []vitalCard
	Pages        vitalTable
	Browsers     vitalTable
	Devices      vitalTable
	Errors       []errorRow
	ErrorBuckets string // what a trend bucket is: "hour" or "day"
	Drops        []countRow
	DropTotal    string
	Accepted     string
	Writers      []writerRow
	PerMinute    *chart
	Collectors   []collectorView
	// Versions are the browser and OS version breakdowns (visitors).
	Versions     []panelView
	NoCollectors bool
	MinVisitors  int
	Interval     string
	Problems     []string // parts that could not be loaded
	VitalsEmpty  bool
	// VitalsFor names the page, browser or device the vitals charts are
	// narrowed to ("" for the whole site); ClearVitals undoes it.
	VitalsFor   string
	ClearVitals string
}

type vitalCard struct {
	Label, Name       string
	P50, P75, P95     string
	Rating            string // good, ni, poor: of the p75
	Samples           string
	Good, NI, Poor    string // percent
	GoodW, NIW, PoorW float64
	NIX, PoorX        float64
	Chart             *chart
}

type vitalTable struct {
	Title   string
	Headers []string
	Rows    []vitalTableRow
}

type vitalTableRow struct {
	Name    string
	Href    string // narrows the charts to this value
	Samples string
	Cells   []vitalCell
}

type vitalCell struct {
	Text, Rating string
}

type errorRow struct {
	Message, Sources, Browsers, Pages string
	Events, Visitors                  string
	Trend                             string // SVG polyline points
	TrendTitle                        string
	Other                             bool
}

type countRow struct {
	Name, Value, Share string
}

type writerRow struct {
	ID, LastWrite, Events string
	Stale                 bool
}

type collectorView struct {
	URL, Err, Ready string
	ReadyClass      string
	Facts           []countRow
	Lists           []factList
}

type factList struct {
	Title string
	Items []countRow
}

func (s *Server) renderTechnical(w http.ResponseWriter, r *http.Request, ss *auth.Session, site Site) {
	base := "/" + site.Domain + "/technical"
	p := &page{
		Title: site.Domain + " · technical", Session: ss, Domain: site.Domain,
		Today: s.now().In(site.Location).Format(time.DateOnly), Timezone: site.Location.String(),
	}
	q, err := s.newSiteReq(r, site, base)
	status := http.StatusOK
	p.Dash = &dashView{}
	p.Tech = &techView{Back: q.href("/"+site.Domain, "filter", ""), MinVisitors: site.MinVisitors}
	if err == nil {
		s.fillTechnical(r.Context(), q, p.Tech)
	} else if he, ok := errors.AsType[*httpError](err); ok {
		status, p.QueryError = he.status, he.msg
	}
	if r.Context().Err() != nil {
		return
	}
	s.fillPicker(q, p.Dash)
	s.render(w, r, status, "technical", p)
}

// techRange turns the page's local days into UTC hours, and says how the
// charts bucket them: by local hour for one day, else by local day.
func techRange(q *siteReq) (diag.Range, string, []time.Time, func(time.Time) time.Time) {
	loc := q.site.Location
	from := q.rng.from
	to := q.rng.to.AddDate(0, 0, 1)
	r := diag.Range{From: from.UTC(), To: to.UTC()}
	var starts []time.Time
	if q.rng.from.Equal(q.rng.to) {
		for t := from; t.Before(to); t = t.Add(time.Hour) {
			starts = append(starts, t.UTC())
		}
		return r, intervalHour, starts, func(h time.Time) time.Time { return h.UTC().Truncate(time.Hour) }
	}
	for t := from; t.Before(to); t = t.AddDate(0, 0, 1) {
		starts = append(starts, t.UTC())
	}
	return r, intervalDay, starts, func(h time.Time) time.Time {
		l := h.In(loc)
		return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc).UTC()
	}
}

func (s *Server) fillTechnical(ctx context.Context, q *siteReq, v *techView) {
	rng, interval, starts, bucket := techRange(q)
	v.Interval, v.ErrorBuckets = interval, interval
	k := q.site.MinVisitors
	domain := q.site.Domain
	// ?vitals=vitals:page:/pricing narrows the vitals charts to one value.
	vdim, vvalue := vitalsFilter(q.params.Get("vitals"))
	if vdim != "" {
		v.VitalsFor = vitalsDimLabel[vdim] + " " + vvalue
		v.ClearVitals = q.href(q.base, "vitals", "")
	}
	var mu sync.Mutex
	problem := func(part string, err error) {
		if err == nil || ctx.Err() != nil {
			return
		}
		s.logger.Error("technical view query failed", "route", routeTechnical, "part", part, "error", err.Error())
		mu.Lock()
		v.Problems = append(v.Problems, part+" could not be loaded; the dashboard log has the details.")
		mu.Unlock()
	}
	run := func(part string, f func(ctx context.Context) error) func() {
		return func() {
			release, err := s.acquire(ctx)
			if err != nil {
				problem(part, err)
				return
			}
			defer release()
			qctx, cancel := context.WithTimeout(ctx, queryTimeout)
			defer cancel()
			problem(part, f(qctx))
		}
	}
	conn := s.db.Conn
	var totals diag.Metrics
	var drops []diag.Count
	var accepted uint64
	var series []diag.VitalsPoint
	parts := []func(){
		run("Web vitals", func(ctx context.Context) (err error) {
			totals, err = diag.VitalsTotals(ctx, conn, domain, rng)
			return err
		}),
		run("Web vitals over time", func(ctx context.Context) (err error) {
			series, err = diag.VitalsSeries(ctx, conn, domain, vdim, vvalue, rng, bucket)
			return err
		}),
		run("Web vitals by page", func(ctx context.Context) error {
			rows, err := diag.VitalsBreakdown(ctx, conn, domain, schema.DimVitalsPage, rng, k, 20)
			v.Pages = vitalRows("By page", rows, func(value string) string { return q.href(q.base, "vitals", schema.DimVitalsPage+":"+value) })
			return err
		}),
		run("Web vitals by browser", func(ctx context.Context) error {
			rows, err := diag.VitalsBreakdown(ctx, conn, domain, schema.DimVitalsBrowser, rng, k, 10)
			v.Browsers = vitalRows("By browser", rows, func(value string) string { return q.href(q.base, "vitals", schema.DimVitalsBrowser+":"+value) })
			return err
		}),
		run("Web vitals by device", func(ctx context.Context) error {
			rows, err := diag.VitalsBreakdown(ctx, conn, domain, schema.DimVitalsDevice, rng, k, 5)
			v.Devices = vitalRows("By device", rows, func(value string) string { return q.href(q.base, "vitals", schema.DimVitalsDevice+":"+value) })
			return err
		}),
		run("JavaScript errors", func(ctx context.Context) error {
			groups, err := diag.Errors(ctx, conn, domain, rng, k, 20, starts, bucket)
			v.Errors = errorRows(groups, starts, interval, q.site.Location)
			return err
		}),
		run("Drops", func(ctx context.Context) (err error) {
			drops, err = diag.Drops(ctx, conn, domain, rng)
			return err
		}),
		run("Collector activity", func(ctx context.Context) error {
			act, err := diag.RecentActivity(ctx, conn, domain, q.now)
			if err != nil {
				return err
			}
			v.Writers, v.PerMinute = activityView(act, q.now)
			return nil
		}),
	}
	var wg sync.WaitGroup
	for _, f := range parts {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}
	// Browser and OS versions through the Stats API planner (which takes
	// its own query slots), so its k-anonymity fold applies.
	versionPanels := []panelDef{
		{key: "browser_version", label: "Browser versions", dim: schema.DimBrowserVersion},
		{key: "os_version", label: "OS versions", dim: schema.DimOSVersion},
	}
	v.Versions = make([]panelView, len(versionPanels))
	for i, pd := range versionPanels {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rows, reason, err := s.breakdown(ctx, q, pd, 15)
			problem(pd.label, err)
			v.Versions[i] = panelView{Label: pd.label, Reason: reason, Rows: rows, Column: columnName(pd)}
		}()
	}
	// The events counted, to put the drops in proportion: the site's
	// total through the planner (which takes its own query slot).
	wg.Add(1)
	go func() {
		defer wg.Done()
		resp, _, err := s.ask(ctx, q, map[string]any{"metrics": []string{query.MetricEvents}})
		problem("Drops", err)
		if resp != nil && len(resp.Results) > 0 && len(resp.Results[0].Metrics) > 0 {
			accepted, _ = resp.Results[0].Metrics[0].(uint64)
		}
	}()
	// Collector nodes are read over HTTP, outside the query slots.
	if len(s.collectors) == 0 {
		v.NoCollectors = true
	}
	v.Collectors = make([]collectorView, len(s.collectors))
	for i, u := range s.collectors {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			defer cancel()
			v.Collectors[i] = collectorFacts(diag.Scrape(cctx, s.scrapeClient, u, q.now))
		}()
	}
	wg.Wait()
	if vdim != "" {
		// Narrowed to one value, the cards show that value's numbers,
		// read from the series, and hours or days with fewer than k
		// samples are left out of the charts (k-anonymity).
		totals = diag.Metrics{}
		for i := range series {
			for m := range series[i].Metrics {
				d := &series[i].Metrics[m]
				totals[m].Samples += d.Samples
				totals[m].Good += d.Good
				totals[m].Poor += d.Poor
				totals[m].Hist.Merge(d.Hist)
				if d.Samples < uint64(max(k, 1)) {
					*d = diag.Dist{}
				}
			}
		}
		for m := range totals {
			if totals[m].Samples < uint64(max(k, 1)) {
				totals[m] = diag.Dist{}
			}
		}
	}
	v.Drops, v.DropTotal, v.Accepted = dropRows(drops, accepted)
	v.Vitals = vitalCards(totals, series, starts, interval, q.site.Location)
	v.VitalsEmpty = true
	for _, c := range totals {
		if c.Samples > 0 {
			v.VitalsEmpty = false
		}
	}
}

// vitalsDimLabel names the vitals breakdowns for the narrowing notice.
var vitalsDimLabel = map[string]string{
	schema.DimVitalsPage: "page", schema.DimVitalsBrowser: "browser", schema.DimVitalsDevice: "device",
}

// vitalsFilter reads ?vitals=DIM:VALUE; anything else means no narrowing.
func vitalsFilter(p string) (dim, value string) {
	for d := range vitalsDimLabel {
		if v, ok := strings.CutPrefix(p, d+":"); ok && v != "" && v != schema.OtherValue {
			return d, v
		}
	}
	return "", ""
}

// formatVital renders a metric value: milliseconds under 10 s as "1234 ms",
// longer as seconds; CLS with three decimals.
func formatVital(m vitals.Metric, v float64) string {
	if vitals.Defs[m].Unit == "" {
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
	if v >= 10000 {
		return strconv.FormatFloat(v/1000, 'f', 1, 64) + " s"
	}
	return strconv.FormatFloat(v, 'f', 0, 64) + " ms"
}

func ratingClass(m vitals.Metric, v float64) string {
	switch vitals.Defs[m].Rate(v) {
	case vitals.Good:
		return "good"
	case vitals.Poor:
		return "poor"
	}
	return "ni"
}

func pct(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) + "%" }

// shareBarWidth is the width of the good / NI / poor bar, in viewBox units.
const shareBarWidth = 200

func vitalCards(totals diag.Metrics, series []diag.VitalsPoint, starts []time.Time, interval string, loc *time.Location) []vitalCard {
	var cards []vitalCard
	for m := range vitals.NumMetrics {
		d := &totals[m]
		c := vitalCard{Label: vitals.Defs[m].Label, Name: vitals.Defs[m].Name, Samples: strconv.FormatUint(d.Samples, 10)}
		if d.Samples > 0 {
			p75 := d.Quantile(m, 0.75)
			c.P50, c.P75, c.P95 = formatVital(m, d.Quantile(m, 0.5)), formatVital(m, p75), formatVital(m, d.Quantile(m, 0.95))
			c.Rating = ratingClass(m, p75)
			g, ni, p := d.Shares()
			c.Good, c.NI, c.Poor = pct(g), pct(ni), pct(p)
			c.GoodW, c.NIW, c.PoorW = shareBarWidth*g/100, shareBarWidth*ni/100, shareBarWidth*p/100
			c.NIX, c.PoorX = c.GoodW, c.GoodW+c.NIW
		}
		byStart := map[time.Time]*diag.Dist{}
		for i := range series {
			byStart[series[i].Start] = &series[i].Metrics[m]
		}
		points := make([]chartPoint, 0, len(starts))
		for _, st := range starts {
			pt := chartPoint{Label: bucketLabel(st.In(loc).Format(labelLayout(interval)), interval), Short: bucketShort(st.In(loc).Format(labelLayout(interval)), interval), Text: "no samples"}
			if dd := byStart[st]; dd != nil && dd.Samples > 0 {
				pt.Value = dd.Quantile(m, 0.75)
				pt.Text = "p75 " + formatVital(m, pt.Value) + " (" + strconv.FormatUint(dd.Samples, 10) + " samples)"
			}
			points = append(points, pt)
		}
		c.Chart = renderChartUnit(points, "")
		cards = append(cards, c)
	}
	return cards
}

// labelLayout is the bucket label format bucketLabel and bucketShort read.
func labelLayout(interval string) string {
	if interval == intervalHour {
		return "2006-01-02 15:04:05"
	}
	return time.DateOnly
}

func vitalRows(title string, rows []diag.VitalsRow, href func(value string) string) vitalTable {
	t := vitalTable{Title: title}
	for m := range vitals.NumMetrics {
		t.Headers = append(t.Headers, vitals.Defs[m].Label)
	}
	for _, r := range rows {
		row := vitalTableRow{Name: r.Value, Samples: strconv.FormatUint(r.Samples(), 10)}
		if r.Value != schema.OtherValue {
			row.Href = href(r.Value)
		}
		if row.Name == "" {
			row.Name = "(unknown)"
		}
		for m := range vitals.NumMetrics {
			d := &r.Metrics[m]
			if d.Samples == 0 {
				row.Cells = append(row.Cells, vitalCell{Text: "–"})
				continue
			}
			p75 := d.Quantile(m, 0.75)
			row.Cells = append(row.Cells, vitalCell{Text: formatVital(m, p75), Rating: ratingClass(m, p75)})
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// trendWidth and trendHeight are the error sparkline's viewBox.
const trendWidth, trendHeight = 120, 24

func errorRows(groups []diag.ErrorGroup, starts []time.Time, interval string, loc *time.Location) []errorRow {
	var out []errorRow
	for _, g := range groups {
		row := errorRow{
			Message: g.Message, Events: strconv.FormatUint(g.Events, 10), Visitors: strconv.FormatUint(g.Visitors, 10),
			Other: g.Fingerprint == schema.OtherValue,
		}
		row.Sources = joinCounts(g.Sources, 3)
		row.Pages = joinCounts(g.Pages, 3)
		row.Browsers = joinCounts(g.Browsers, 4)
		var top uint64
		for _, n := range g.Trend {
			top = max(top, n)
		}
		var pts strings.Builder
		for i, n := range g.Trend {
			x := float64(trendWidth) * (float64(i) + 0.5) / float64(max(len(g.Trend), 1))
			y := float64(trendHeight - 2)
			if top > 0 {
				y = float64(trendHeight-2) - float64(trendHeight-4)*float64(n)/float64(top)
			}
			if i > 0 {
				pts.WriteByte(' ')
			}
			pts.WriteString(fmtCoord(x) + "," + fmtCoord(y))
		}
		row.Trend = pts.String()
		if len(starts) > 0 {
			row.TrendTitle = fmt.Sprintf("events per %s, %s to %s; peak %d", interval,
				starts[0].In(loc).Format("2 Jan 15:04"), starts[len(starts)-1].In(loc).Format("2 Jan 15:04"), top)
		}
		out = append(out, row)
	}
	return out
}

func joinCounts(cs []diag.Count, n int) string {
	var parts []string
	for i, c := range cs {
		if i == n {
			parts = append(parts, fmt.Sprintf("+%d more", len(cs)-n))
			break
		}
		parts = append(parts, fmt.Sprintf("%s (%d)", c.Value, c.Events))
	}
	return strings.Join(parts, ", ")
}

func dropRows(drops []diag.Count, accepted uint64) (rows []countRow, total, acc string) {
	var sum uint64
	for _, d := range drops {
		sum += d.Events
	}
	all := sum + accepted
	for _, d := range drops {
		share := "–"
		if all > 0 {
			share = strconv.FormatFloat(100*float64(d.Events)/float64(all), 'f', 1, 64) + "%"
		}
		rows = append(rows, countRow{Name: d.Value, Value: strconv.FormatUint(d.Events, 10), Share: share})
	}
	return rows, strconv.FormatUint(sum, 10), strconv.FormatUint(accepted, 10)
}

// staleAfter marks a writer whose last flush is older than a few flush
// intervals: stopped, or failing to write.
const staleAfter = 2 * time.Minute

func activityView(act *diag.Activity, now time.Time) ([]writerRow, *chart) {
	var rows []writerRow
	for _, w := range act.Writers {
		ago := now.Sub(w.LastWrite).Round(time.Second)
		rows = append(rows, writerRow{ID: w.ID, LastWrite: ago.String() + " ago", Events: strconv.FormatUint(w.Events, 10), Stale: ago > staleAfter})
	}
	end := now.UTC().Truncate(time.Minute)
	points := make([]chartPoint, len(act.PerMinute))
	for i, n := range act.PerMinute {
		t := end.Add(time.Duration(i-len(act.PerMinute)+1) * time.Minute)
		points[i] = chartPoint{Label: t.Format("15:04 UTC"), Short: t.Format("15:04"), Value: float64(n), Text: strconv.FormatUint(n, 10)}
	}
	return rows, renderChartUnit(points, " events")
}

func collectorFacts(c diag.Collector) collectorView {
	v := collectorView{URL: c.URL, Err: c.Err, Ready: c.Ready}
	switch {
	case c.Err != "":
		v.ReadyClass = "poor"
		return v
	case c.ReadyCode == http.StatusOK && c.Ready == "ok":
		v.ReadyClass = "good"
	case c.ReadyCode == http.StatusOK:
		v.ReadyClass = "ni"
	default:
		v.ReadyClass = "poor"
	}
	num := func(f float64) string { return strconv.FormatFloat(f, 'f', 0, 64) }
	mib := func(f float64) string { return strconv.FormatFloat(f/(1<<20), 'f', 1, 64) + " MiB" }
	v.Facts = []countRow{
		{Name: "Events accepted", Value: num(c.Accepted)},
		{Name: "Flush failures", Value: num(c.FlushFailures)},
		{Name: "Mean flush duration", Value: strconv.FormatFloat(c.FlushSeconds*1000, 'f', 1, 64) + " ms"},
		{Name: "Rows flushed", Value: num(c.FlushRows)},
		{Name: "Spool", Value: mib(c.SpoolBytes) + " in " + num(c.SpoolFiles) + " files"},
		{Name: "Aggregator cells", Value: num(c.Cells)},
		{Name: "Visits in progress", Value: num(c.Sessions)},
		{Name: "Values folded into (other)", Value: num(c.Folded)},
		{Name: "Handler panics", Value: num(c.Panics)},
		{Name: "Resident memory", Value: mib(c.RSSBytes)},
		{Name: "CPU time", Value: strconv.FormatFloat(c.CPUSecs, 'f', 1, 64) + " s"},
		{Name: "Uptime", Value: c.Uptime.String()},
	}
	if c.UAHitRate >= 0 {
		v.Facts = append(v.Facts, countRow{Name: "User-Agent cache hit rate", Value: strconv.FormatFloat(c.UAHitRate, 'f', 1, 64) + "%"})
	}
	if c.GeoHitRate >= 0 {
		v.Facts = append(v.Facts, countRow{Name: "GeoIP record cache hit rate", Value: strconv.FormatFloat(c.GeoHitRate, 'f', 1, 64) + "%"})
	}
	if c.MemoHitRate >= 0 {
		v.Facts = append(v.Facts, countRow{Name: "Beacon and path memo hit rate", Value: strconv.FormatFloat(c.MemoHitRate, 'f', 1, 64) + "%"})
	}
	for _, l := range []struct {
		title string
		m     map[string]float64
	}{
		{"Dropped by reason", c.Dropped}, {"Bots by class", c.Bots}, {"Refused (400) by field", c.Invalid}, {"Requests by status", c.Requests},
	} {
		fl := factList{Title: l.title}
		for _, k := range diag.SortedKeys(l.m) {
			fl.Items = append(fl.Items, countRow{Name: k, Value: num(l.m[k])})
		}
		if len(fl.Items) > 0 {
			v.Lists = append(v.Lists, fl)
		}
	}
	return v
}
