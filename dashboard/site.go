package dashboard

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"analytics/dashboard/auth"
	"analytics/dashboard/query"
	"analytics/schema"
)

// The site page: top metrics compared with the previous period, a chart of
// visitors, breakdown panels, realtime visitors. Everything is read through
// the Stats API planner (so its coverage rules and k-anonymity fold apply);
// a query it refuses shows its reason instead of a number.

// Periods of the date range picker (?period=).
const (
	periodToday     = "day"
	periodYesterday = "yesterday"
	period7d        = "7d"
	period30d       = "30d"
	periodMonth     = "month"
	periodLastMonth = "lastmonth"
	period12mo      = "12mo"
	periodCustom    = "custom"
)

var periodChoices = []struct{ key, label string }{
	{periodToday, "Today"}, {periodYesterday, "Yesterday"}, {period7d, "Last 7 days"},
	{period30d, "Last 30 days"}, {periodMonth, "Month to date"}, {periodLastMonth, "Last month"},
	{period12mo, "Last 12 months"}, {periodCustom, "Custom range"},
}

// Chart intervals.
const (
	intervalHour  = "hour"
	intervalDay   = "day"
	intervalMonth = "month"
)

// maxDailyBuckets is the longest custom range charted by day; longer ones
// are charted by month.
const maxDailyBuckets = 92

// dateRange is a resolved range of whole site-local days, inclusive.
type dateRange struct {
	period   string
	from, to time.Time // local midnights
	interval string
}

func (d dateRange) apiRange() []string {
	return []string{d.from.Format(time.DateOnly), d.to.Format(time.DateOnly)}
}

func (d dateRange) days() int {
	return int(d.to.Sub(d.from).Hours()/24+0.5) + 1
}

// errBadRange is a custom range that cannot be read.
var errBadRange = &httpError{http.StatusBadRequest, "Choose a custom range as two dates (from, to) with from on or before to."}

// parseRange resolves ?period= (or ?from=&to=) against now in loc.
func parseRange(v url.Values, now time.Time, loc *time.Location) (dateRange, error) {
	today := now.In(loc)
	y, m, d := today.Date()
	day := func(year int, month time.Month, n int) time.Time { return time.Date(year, month, n, 0, 0, 0, 0, loc) }
	period := v.Get("period")
	if period == "" && (v.Get("from") != "" || v.Get("to") != "") {
		period = periodCustom
	}
	r := dateRange{period: period}
	switch period {
	case "", periodToday:
		r.period, r.from, r.to = periodToday, day(y, m, d), day(y, m, d)
	case periodYesterday:
		r.from, r.to = day(y, m, d-1), day(y, m, d-1)
	case period7d:
		r.from, r.to = day(y, m, d-7), day(y, m, d-1)
	case period30d:
		r.from, r.to = day(y, m, d-30), day(y, m, d-1)
	case periodMonth:
		r.from, r.to = day(y, m, 1), day(y, m, d)
	case periodLastMonth:
		r.from, r.to = day(y, m-1, 1), day(y, m, 0)
	case period12mo:
		r.from, r.to = day(y, m-11, 1), day(y, m, d)
	case periodCustom:
		from, err1 := time.ParseInLocation(time.DateOnly, v.Get("from"), loc)
		to, err2 := time.ParseInLocation(time.DateOnly, v.Get("to"), loc)
		if err1 != nil || err2 != nil || to.Before(from) {
			return dateRange{period: periodCustom}, errBadRange
		}
		r.from, r.to = from, to
	default:
		return dateRange{period: periodToday}, &httpError{http.StatusBadRequest, "Unknown period; choose one from the list."}
	}
	switch {
	case r.from.Equal(r.to):
		r.interval = intervalHour
	case r.period == period12mo || r.days() > maxDailyBuckets:
		r.interval = intervalMonth
	default:
		r.interval = intervalDay
	}
	return r, nil
}

// filterDimensions are the dimensions the page may be filtered by (?filter=DIM:VALUE).
var filterDimensions = []string{
	schema.DimPage, schema.DimGoal, schema.DimEntryPage, schema.DimExitPage,
	schema.DimSource, schema.DimChannel, schema.DimUTMSource, schema.DimUTMMedium, schema.DimUTMCampaign,
	schema.DimCountry, schema.DimRegion, schema.DimBrowser, schema.DimBrowserVersion,
	schema.DimOS, schema.DimOSVersion, schema.DimDevice,
}

// pageFilter is the one filter of the page.
type pageFilter struct {
	dim, value string
}

func (f pageFilter) active() bool { return f.dim != "" }

func (f pageFilter) String() string { return f.dim + ":" + f.value }

func (f pageFilter) apply(filters []any) []any {
	if !f.active() {
		return filters
	}
	return append(filters, []any{"is", f.dim, []string{f.value}})
}

// parseFilter reads DIM:VALUE; an unknown dimension is no filter.
func parseFilter(s string) pageFilter {
	for _, d := range filterDimensions {
		if v, ok := strings.CutPrefix(s, d+":"); ok && v != "" {
			return pageFilter{d, v}
		}
	}
	return pageFilter{}
}

// panelDef is one breakdown: a dimension, optionally the properties of one
// goal.
type panelDef struct {
	key, label string
	dim        string
	goal       string // top-level event:goal filter (property panels)
	events     bool   // show the events count too
	clickable  bool   // rows filter the page
}

// panelGroup is one tabbed box of panels; the tab is chosen by the query
// parameter param.
type panelGroup struct {
	param, title string
	panels       []panelDef
}

// panelGroups are the page's panel groups, in order.
var panelGroups = []panelGroup{
	{"src", "Sources", []panelDef{
		{key: "source", label: "Sources", dim: schema.DimSource, clickable: true},
		{key: "channel", label: "Channels", dim: schema.DimChannel, clickable: true},
		{key: "utm_source", label: "UTM source", dim: schema.DimUTMSource, clickable: true},
		{key: "utm_medium", label: "UTM medium", dim: schema.DimUTMMedium, clickable: true},
		{key: "utm_campaign", label: "UTM campaign", dim: schema.DimUTMCampaign, clickable: true},
	}},
	{"pg", "Pages", []panelDef{
		{key: "page", label: "Top pages", dim: schema.DimPage, clickable: true},
		{key: "entry", label: "Entry pages", dim: schema.DimEntryPage, clickable: true},
		{key: "exit", label: "Exit pages", dim: schema.DimExitPage, clickable: true},
	}},
	{"loc", "Locations", []panelDef{
		{key: "country", label: "Countries", dim: schema.DimCountry, clickable: true},
		{key: "region", label: "Regions", dim: schema.DimRegion, clickable: true},
	}},
	{"dev", "Devices", []panelDef{
		{key: "browser", label: "Browsers", dim: schema.DimBrowser, clickable: true},
		{key: "browser_version", label: "Browser versions", dim: schema.DimBrowserVersion, clickable: true},
		{key: "os", label: "OS", dim: schema.DimOS, clickable: true},
		{key: "os_version", label: "OS versions", dim: schema.DimOSVersion, clickable: true},
		{key: "device", label: "Devices", dim: schema.DimDevice, clickable: true},
	}},
	{"gl", "Goals", []panelDef{
		{key: "goal", label: "Goals", dim: schema.DimGoal, events: true, clickable: true},
	}},
	{"ob", "Outbound links", []panelDef{
		{key: "outbound", label: "Outbound links", dim: schema.DimPropsPrefix + "url", goal: "Outbound Link: Click", events: true},
	}},
	{"dl", "Downloads", []panelDef{
		{key: "downloads", label: "File downloads", dim: schema.DimPropsPrefix + "url", goal: "File Download", events: true},
	}},
	{"nf", "Not found", []panelDef{
		{key: "404", label: "404 pages", dim: schema.DimPropsPrefix + "path", goal: "404", events: true},
	}},
}

// panelByKey finds a fixed panel for the CSV export.
func panelByKey(key string) (panelDef, bool) {
	for _, g := range panelGroups {
		for _, p := range g.panels {
			if p.key == key {
				return p, true
			}
		}
	}
	return panelDef{}, false
}

// propsPanel is the property breakdown of one goal.
func propsPanel(goal, key string) panelDef {
	return panelDef{key: "props", label: goal + ": " + key, dim: schema.DimPropsPrefix + key, goal: goal, events: true}
}

// topRows is how many rows a panel shows; exportRows how many a CSV holds.
const (
	topRows    = 10
	exportRows = 1000
)

// dashView is what the site template shows.
type dashView struct {
	Periods       []link
	Period        string
	RangeLabel    string
	From, To      string
	Custom        bool
	Hidden        []hiddenField // the period form's other parameters
	Filter        string
	FilterLabel   string
	ClearFilter   string
	Metrics       []metricView
	Chart         *chart
	Series        []seriesRow
	SeriesExport  string
	Interval      string
	Masked        bool
	MinVisitors   int
	Groups        []groupView
	Realtime      string
	RealtimeTitle string
}

type link struct {
	Key, Label, Href string
	Current          bool
}

type hiddenField struct{ Name, Value string }

type metricView struct {
	Label, Value, Reason, Change, ChangeClass, ChangeTitle string
}

type groupView struct {
	Title  string
	Tabs   []link
	Panel  panelView
	Extras []link // the selected goal's property keys
	Props  *panelView
}

type panelView struct {
	Label, Reason, Export, Column string
	Events                        bool
	Rows                          []panelRow
}

type panelRow struct {
	Name, Visitors, Events, Href string
	// PropsHref selects a goal to show its properties.
	PropsHref string
	Bar       int // percent of the first row
}

type seriesRow struct {
	Label, Visitors string
}

// siteReq is one request to the site page or its export.
type siteReq struct {
	site   Site
	now    time.Time
	base   string     // /example.com or /share/example.com
	params url.Values // the page's query parameters, auth included
	rng    dateRange
	filter pageFilter
}

// href is the page's URL with some parameters changed ("" deletes).
func (q *siteReq) href(path string, set ...string) string {
	v := url.Values{}
	for k, vs := range q.params {
		v[k] = vs
	}
	for i := 0; i+1 < len(set); i += 2 {
		if set[i+1] == "" {
			v.Del(set[i])
		} else {
			v.Set(set[i], set[i+1])
		}
	}
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}

func (s *Server) newSiteReq(r *http.Request, site Site, base string) (*siteReq, error) {
	v := r.URL.Query()
	params := url.Values{}
	for _, k := range []string{"auth", "period", "from", "to", "filter", "src", "pg", "loc", "dev", "goal", "prop", "vitals"} {
		if x := v.Get(k); x != "" {
			params.Set(k, x)
		}
	}
	if params.Get("period") != periodCustom && params.Get("period") != "" {
		params.Del("from")
		params.Del("to")
	}
	q := &siteReq{site: site, now: s.now(), base: base, params: params, filter: parseFilter(v.Get("filter"))}
	if !q.filter.active() {
		params.Del("filter")
	}
	rng, err := parseRange(v, q.now, site.Location)
	q.rng = rng
	return q, err
}

// ask runs one Stats API query for the page. A request the planner refuses
// comes back as reason (its 400 message), not as an error.
func (s *Server) ask(ctx context.Context, q *siteReq, body map[string]any) (resp *query.Response, reason string, err error) {
	body["site_id"] = q.site.Domain
	body["date_range"] = q.rng.apiRange()
	resp, err = s.runQuery(ctx, q.site, q.now, body)
	if qe, ok := errors.AsType[*query.Error](err); ok {
		return nil, qe.Msg, nil
	}
	return resp, "", err
}

// dashMetrics are the top metrics, in order.
var dashMetrics = []struct{ name, label string }{
	{query.MetricVisitors, "Unique visitors"},
	{query.MetricVisits, "Total visits"},
	{query.MetricPageviews, "Pageviews"},
	{query.MetricViewsPerVisit, "Views per visit"},
	{query.MetricBounceRate, "Bounce rate"},
	{query.MetricVisitDuration, "Visit duration"},
}

func (s *Server) renderSite(w http.ResponseWriter, r *http.Request, ss *auth.Session, site Site) {
	base := "/" + site.Domain
	if ss == nil {
		base = "/share/" + site.Domain
	}
	p := &page{
		Title: site.Domain, Session: ss, Domain: site.Domain, Shared: ss == nil,
		Today: s.now().In(site.Location).Format(time.DateOnly), Timezone: site.Location.String(),
	}
	q, err := s.newSiteReq(r, site, base)
	status := http.StatusOK
	if err == nil {
		p.Dash = &dashView{}
		err = s.fillDash(r.Context(), q, p.Dash)
	}
	if err != nil {
		if r.Context().Err() != nil {
			return
		}
		status = http.StatusInternalServerError
		p.QueryError = "The numbers could not be loaded; the dashboard log has the details."
		if he, ok := errors.AsType[*httpError](err); ok {
			status, p.QueryError = he.status, he.msg
		} else {
			s.logger.Error("site page query failed", "route", routeSite, "error", err.Error())
		}
		p.Dash = &dashView{}
	}
	s.fillPicker(q, p.Dash)
	s.render(w, r, status, "site", p)
}

// fillPicker sets the date range links and the custom range form.
func (s *Server) fillPicker(q *siteReq, d *dashView) {
	d.Period = q.rng.period
	for _, c := range periodChoices {
		if c.key == periodCustom {
			continue
		}
		d.Periods = append(d.Periods, link{Key: c.key, Label: c.label, Href: q.href(q.base, "period", c.key, "from", "", "to", ""), Current: c.key == q.rng.period})
	}
	d.Custom = q.rng.period == periodCustom
	if !q.rng.from.IsZero() {
		d.From, d.To = q.rng.from.Format(time.DateOnly), q.rng.to.Format(time.DateOnly)
		d.RangeLabel = rangeLabel(q.rng)
	}
	for _, k := range []string{"auth", "filter", "vitals"} {
		if v := q.params.Get(k); v != "" {
			d.Hidden = append(d.Hidden, hiddenField{k, v})
		}
	}
	d.MinVisitors = q.site.MinVisitors
}

func rangeLabel(r dateRange) string {
	if r.from.Equal(r.to) {
		return r.from.Format("Mon 2 Jan 2006")
	}
	return r.from.Format("2 Jan 2006") + " – " + r.to.Format("2 Jan 2006")
}

func (s *Server) fillDash(ctx context.Context, q *siteReq, d *dashView) error {
	if q.filter.active() {
		d.Filter = q.filter.String()
		d.FilterLabel = filterLabel(q.filter.dim) + " is " + q.filter.value
		d.ClearFilter = q.href(q.base, "filter", "")
	}
	// The parts fill disjoint fields of d and run at once: a page is
	// 10-15 queries, and ClickHouse and the sketch merging overlap.
	var metricsErr, seriesErr error
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); metricsErr = s.fillMetrics(ctx, q, d) }()
	go func() { defer wg.Done(); seriesErr = s.fillSeries(ctx, q, d) }()
	go func() { defer wg.Done(); s.fillRealtime(ctx, q, d) }()
	panelsErr := s.fillPanels(ctx, q, d)
	wg.Wait()
	return errors.Join(metricsErr, seriesErr, panelsErr)
}

func filterLabel(dim string) string {
	for _, g := range panelGroups {
		for _, p := range g.panels {
			if p.dim == dim {
				return singular(p.label)
			}
		}
	}
	return dim
}

// singular names one value of a panel: "Countries" -> "Country".
func singular(label string) string {
	switch label {
	case "Countries":
		return "Country"
	case "Top pages":
		return "Page"
	}
	return strings.TrimSuffix(label, "s")
}

// fillMetrics asks all top metrics at once; when the planner refuses the
// set (a filter whose dimension cannot answer some of them), it asks each
// one alone so that the others still show.
func (s *Server) fillMetrics(ctx context.Context, q *siteReq, d *dashView) error {
	names := make([]string, len(dashMetrics))
	for i, m := range dashMetrics {
		names[i] = m.name
	}
	compare := map[string]any{"comparisons": map[string]string{"mode": "previous_period"}}
	resp, reason, err := s.ask(ctx, q, map[string]any{"metrics": names, "filters": q.filter.apply([]any{}), "include": compare})
	if err != nil {
		return err
	}
	d.Metrics = make([]metricView, len(dashMetrics))
	for i, m := range dashMetrics {
		d.Metrics[i].Label = m.label
		r := resp
		idx := i
		if reason != "" {
			var why string
			if r, why, err = s.ask(ctx, q, map[string]any{"metrics": []string{m.name}, "filters": q.filter.apply([]any{}), "include": compare}); err != nil {
				return err
			}
			idx = 0
			if why != "" {
				d.Metrics[i].Value, d.Metrics[i].Reason = "—", why
				continue
			}
		}
		var v, change any
		if len(r.Results) > 0 && idx < len(r.Results[0].Metrics) {
			v = r.Results[0].Metrics[idx]
			if c := r.Results[0].Comparison; c != nil && idx < len(c.Change) {
				change = c.Change[idx]
			}
		}
		d.Metrics[i].Value = formatMetric(m.name, v)
		d.Metrics[i].Change, d.Metrics[i].ChangeClass = formatChange(m.name, change)
		if d.Metrics[i].Change != "" {
			d.Metrics[i].ChangeTitle = "against the previous " + strconv.Itoa(q.rng.days()) + " days"
		}
	}
	return nil
}

// formatChange renders a comparison change: percent, or points for the
// bounce rate.
func formatChange(metric string, c any) (text, class string) {
	var n float64
	switch c := c.(type) {
	case float64:
		n = c
	case int64:
		n = float64(c)
	case uint64:
		n = float64(c)
	case int:
		n = float64(c)
	default:
		return "", ""
	}
	unit := "%"
	if metric == query.MetricBounceRate {
		unit = " pts"
	}
	switch {
	case n > 0:
		return "↑ " + strconv.FormatFloat(n, 'f', -1, 64) + unit, "up"
	case n < 0:
		return "↓ " + strconv.FormatFloat(-n, 'f', -1, 64) + unit, "down"
	}
	return "0" + unit, "same"
}

// bucket is one point of the visitors series.
type bucket struct {
	label    string // as the API names it: 2026-11-27, 2026-11-27 13:00:00, or 2026-11
	visitors uint64
}

// series reads visitors per bucket: hour, day, or days summed into months
// (the API has no time:month; visitors over several days are counted once
// per day anyway, so the sum is what a month query would answer).
func (s *Server) series(ctx context.Context, q *siteReq) (buckets []bucket, reason string, err error) {
	dim := query.DimTimeDay
	if q.rng.interval == intervalHour {
		dim = query.DimTimeHour
	}
	resp, reason, err := s.ask(ctx, q, map[string]any{
		"metrics": []string{query.MetricVisitors}, "dimensions": []string{dim},
		"filters": q.filter.apply([]any{}), "include": map[string]bool{"time_labels": true},
	})
	if err != nil || reason != "" {
		return nil, reason, err
	}
	byLabel := map[string]uint64{}
	for _, r := range resp.Results {
		if len(r.Dimensions) > 0 && len(r.Metrics) > 0 {
			v, _ := r.Metrics[0].(uint64)
			byLabel[r.Dimensions[0]] = v
		}
	}
	for _, l := range resp.Meta.TimeLabels {
		key := l
		if q.rng.interval == intervalMonth && len(l) >= 7 {
			key = l[:7]
		}
		if n := len(buckets); n > 0 && buckets[n-1].label == key {
			buckets[n-1].visitors += byLabel[l]
			continue
		}
		buckets = append(buckets, bucket{label: key, visitors: byLabel[l]})
	}
	return buckets, "", nil
}

// maskedValue is a bucket's visitors as shown: under k-anonymity when the
// page is filtered to one value, a bucket below the site's threshold shows
// "< k" rather than a small exact number (the value is above the threshold
// over the whole range, but one hour or day of it may single out a person).
func maskedValue(visitors uint64, filtered bool, k int) (text string, masked bool) {
	if filtered && visitors < uint64(k) {
		return "< " + strconv.Itoa(k), true
	}
	return strconv.FormatUint(visitors, 10), false
}

func (s *Server) fillSeries(ctx context.Context, q *siteReq, d *dashView) error {
	buckets, reason, err := s.series(ctx, q)
	if err != nil {
		return err
	}
	d.Interval = q.rng.interval
	d.SeriesExport = q.href(q.base+"/export.csv", "panel", "visitors")
	if reason != "" {
		d.Chart = &chart{Reason: reason}
		return nil
	}
	points := make([]chartPoint, len(buckets))
	for i, b := range buckets {
		text, masked := maskedValue(b.visitors, q.filter.active(), q.site.MinVisitors)
		d.Masked = d.Masked || masked
		label := bucketLabel(b.label, q.rng.interval)
		d.Series = append(d.Series, seriesRow{Label: label, Visitors: text})
		points[i] = chartPoint{Label: label, Short: bucketShort(b.label, q.rng.interval), Text: text, Value: float64(b.visitors), Masked: masked}
		if masked {
			points[i].Value = 0
		}
	}
	d.Chart = renderChart(points)
	return nil
}

// bucketLabel names a bucket for people.
func bucketLabel(l, interval string) string {
	switch interval {
	case intervalHour:
		if t, err := time.Parse(time.DateTime, l); err == nil {
			return t.Format("Mon 2 Jan 15:04")
		}
	case intervalDay:
		if t, err := time.Parse(time.DateOnly, l); err == nil {
			return t.Format("Mon 2 Jan 2006")
		}
	case intervalMonth:
		if t, err := time.Parse("2006-01", l); err == nil {
			return t.Format("January 2006")
		}
	}
	return l
}

// bucketShort is an axis label.
func bucketShort(l, interval string) string {
	switch interval {
	case intervalHour:
		if t, err := time.Parse(time.DateTime, l); err == nil {
			return t.Format("15:04")
		}
	case intervalDay:
		if t, err := time.Parse(time.DateOnly, l); err == nil {
			return t.Format("2 Jan")
		}
	case intervalMonth:
		if t, err := time.Parse("2006-01", l); err == nil {
			return t.Format("Jan 06")
		}
	}
	return l
}

// breakdown reads one panel's rows.
func (s *Server) breakdown(ctx context.Context, q *siteReq, p panelDef, limit int) (rows []panelRow, reason string, err error) {
	metrics := []string{query.MetricVisitors}
	if p.events {
		metrics = append(metrics, query.MetricEvents)
	}
	var filters []any
	if p.goal != "" {
		filters = append(filters, []any{"is", schema.DimGoal, []string{p.goal}})
	}
	filters = q.filter.apply(filters)
	if filters == nil {
		filters = []any{}
	}
	resp, reason, err := s.ask(ctx, q, map[string]any{
		"metrics": metrics, "dimensions": []string{p.dim}, "filters": filters,
		"pagination": map[string]int{"limit": limit},
	})
	if err != nil || reason != "" {
		return nil, reason, err
	}
	var top uint64
	for _, r := range resp.Results {
		if len(r.Dimensions) == 0 || len(r.Metrics) < len(metrics) {
			continue
		}
		v, _ := r.Metrics[0].(uint64)
		top = max(top, v)
		row := panelRow{Name: r.Dimensions[0], Visitors: strconv.FormatUint(v, 10), Bar: int(v)}
		if p.events {
			row.Events = formatMetric(query.MetricEvents, r.Metrics[1])
		}
		if p.clickable && row.Name != query.OtherLabel {
			row.Href = q.href(q.base, "filter", p.dim+":"+row.Name)
		}
		rows = append(rows, row)
	}
	for i := range rows {
		if top > 0 {
			v, _ := strconv.ParseUint(rows[i].Visitors, 10, 64)
			// Rounded up to a multiple of 5: the style sheet has a width
			// for each (no inline styles under the CSP).
			rows[i].Bar = int((v*100/top + 4) / 5 * 5)
		}
	}
	return rows, "", nil
}

func (s *Server) panelView(ctx context.Context, q *siteReq, p panelDef, export string) (panelView, error) {
	rows, reason, err := s.breakdown(ctx, q, p, topRows)
	v := panelView{Label: p.label, Reason: reason, Export: export, Events: p.events, Rows: rows, Column: columnName(p)}
	return v, err
}

func columnName(p panelDef) string {
	switch {
	case p.dim == schema.DimGoal:
		return "Goal"
	case strings.HasPrefix(p.dim, schema.DimPropsPrefix):
		return strings.TrimPrefix(p.dim, schema.DimPropsPrefix)
	}
	return singular(p.label)
}

// pageParallelism bounds the queries one page view runs at once, so that a
// page speeds up without taking every query slot from other users.
const pageParallelism = 4

func (s *Server) fillPanels(ctx context.Context, q *siteReq, d *dashView) error {
	groups := make([]groupView, len(panelGroups))
	errs := make([]error, len(panelGroups))
	sem := make(chan struct{}, pageParallelism)
	var wg sync.WaitGroup
	for i, g := range panelGroups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			groups[i], errs[i] = s.group(ctx, q, g)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	d.Groups = append(d.Groups, groups...)
	return nil
}

// group builds one tabbed panel group: its tabs and the chosen panel.
func (s *Server) group(ctx context.Context, q *siteReq, g panelGroup) (groupView, error) {
	chosen := g.panels[0]
	if i := slices.IndexFunc(g.panels, func(p panelDef) bool { return p.key == q.params.Get(g.param) }); i >= 0 {
		chosen = g.panels[i]
	}
	gv := groupView{Title: g.title}
	if len(g.panels) > 1 {
		for _, p := range g.panels {
			gv.Tabs = append(gv.Tabs, link{Label: p.label, Href: q.href(q.base, g.param, p.key), Current: p.key == chosen.key})
		}
	}
	var err error
	gv.Panel, err = s.panelView(ctx, q, chosen, q.href(q.base+"/export.csv", "panel", chosen.key))
	if err != nil {
		return gv, err
	}
	if chosen.dim == schema.DimGoal {
		for i, r := range gv.Panel.Rows {
			if r.Name != query.OtherLabel {
				gv.Panel.Rows[i].PropsHref = q.href(q.base, "goal", r.Name, "prop", "")
			}
		}
		if err := s.fillGoalProps(ctx, q, &gv); err != nil {
			return gv, err
		}
	}
	return gv, nil
}

// fillGoalProps adds a "properties" link to every goal row and, for the
// selected goal (?goal=), its property keys and the breakdown of one
// (?prop=). Only goals the goal panel shows by name can be selected.
func (s *Server) fillGoalProps(ctx context.Context, q *siteReq, gv *groupView) error {
	goal := q.params.Get("goal")
	shown := false
	for _, r := range gv.Panel.Rows {
		if r.Name == goal && goal != query.OtherLabel {
			shown = true
		}
	}
	if !shown {
		return nil
	}
	loc := q.site.Location
	start := time.Date(q.rng.from.Year(), q.rng.from.Month(), q.rng.from.Day(), 0, 0, 0, 0, loc)
	end := time.Date(q.rng.to.Year(), q.rng.to.Month(), q.rng.to.Day()+1, 0, 0, 0, 0, loc)
	release, err := s.acquire(ctx)
	if err != nil {
		return err
	}
	keys, err := query.PropKeys(ctx, s.db.Conn, q.site.Domain, goal, start, end, 20)
	release()
	if err != nil {
		return err
	}
	if len(keys) == 0 {
		return nil
	}
	prop := q.params.Get("prop")
	if !slices.Contains(keys, prop) {
		prop = keys[0]
	}
	for _, k := range keys {
		gv.Extras = append(gv.Extras, link{Label: k, Href: q.href(q.base, "prop", k), Current: k == prop})
	}
	pv, err := s.panelView(ctx, q, propsPanel(goal, prop), q.href(q.base+"/export.csv", "panel", "props", "prop", prop))
	if err != nil {
		return err
	}
	gv.Props = &pv
	return nil
}

func (s *Server) fillRealtime(ctx context.Context, q *siteReq, d *dashView) {
	release, err := s.acquire(ctx)
	if err != nil {
		return
	}
	defer release()
	n, err := query.Realtime(ctx, s.db.Conn, q.site.Domain, q.now)
	if err != nil {
		if ctx.Err() == nil {
			s.logger.Warn("realtime visitors failed", "route", routeSite, "error", err.Error())
		}
		return
	}
	d.Realtime = strconv.FormatUint(n, 10)
	d.RealtimeTitle = fmt.Sprintf("unique visitors in the last %d minutes", int(query.RealtimeWindow/time.Minute))
}
