package query

import (
	"slices"
	"strings"
	"time"

	"analytics/schema"
)

// DefaultMinVisitors is the k-anonymity threshold of a Site that sets none.
const DefaultMinVisitors = 5

// Site is what a query needs to know about the site it reads.
type Site struct {
	// ID is the site's domain, stats_hourly.site.
	ID string
	// Location gives the day boundaries of date ranges and the labels of
	// time buckets. Nil means UTC.
	Location *time.Location
	// MinVisitors is the k-anonymity threshold: breakdown rows with fewer
	// visitors fold into "(other)". Zero or less means DefaultMinVisitors;
	// 1 shows every row.
	MinVisitors int
}

// granularity of a time dimension.
type granularity int

const (
	noTime granularity = iota
	byHour
	byDay
)

// maxRows bounds the grouped rows one query reads from ClickHouse (distinct
// values times hours for a filtered time series); beyond it the request is
// refused rather than held in memory.
const maxRows = 500_000

// Plan is a Request resolved for a site and a moment: UTC bounds, the stored
// dimension to read and how to group it. Build it with Request.Resolve and
// run it with Run.
type Plan struct {
	req  *Request
	site Site
	loc  *time.Location
	min  int

	// start and end bound the hours read, UTC, end exclusive.
	start, end time.Time
	// storedDim is the stats_hourly.dimension read: the breakdown
	// dimension, else the filtered one, else "" (site totals).
	storedDim string
	// breakdown is the non-time dimension of the results, or "".
	breakdown string
	gran      granularity
	// filters test the values of storedDim; goalFilters, for event:props
	// rows only, select the custom events whose rows are read.
	filters, goalFilters []Filter
	// values restricts the stored values read (a pushed-down "is").
	values []string
	// sketches says whether visitor sketches are needed: for the visitors
	// and percentage metrics, and for the k-anonymity fold of any dimension.
	sketches bool
	// totals is the same query without its dimension, for the base of the
	// percentage metric; nil when percentage is not asked for.
	totals *Plan
	// comparison is the same query over the period of include.comparisons,
	// or nil.
	comparison *Plan
	// srcs are the tables and spans read, set by loadSources.
	srcs *sources
	// hourlyOnly makes the plan read stats_hourly only (see HourlyOnly).
	hourlyOnly bool
	// rolls is shared by the plans of one request.
	rolls *rollCache
	// paired is set on a comparison plan: the main plan's rows look up
	// theirs by label, so it must compute every label, not a top.
	paired bool
	// topReads counts the rankings read from stats_daily_top, topRereads
	// the candidates read again from the usual sources (for tests).
	topReads, topRereads int
}

// HourlyOnly makes the plan, and the plans it runs with it, read
// stats_hourly only and ignore the daily rollups: the reference that
// answers from stats_daily are tested against.
func (p *Plan) HourlyOnly() {
	p.hourlyOnly = true
	for _, o := range []*Plan{p.totals, p.comparison} {
		if o != nil {
			o.HourlyOnly()
		}
	}
}

// Resolve fixes the request's date range for the site's time zone at the
// moment now and chooses what to read.
func (r *Request) Resolve(site Site, now time.Time) (*Plan, error) {
	loc := site.Location
	if loc == nil {
		loc = time.UTC
	}
	start, end := r.DateRange.bounds(loc, now)
	if !end.After(start) {
		// A range of dates always covers at least one hour, but a 30-minute
		// time zone can cut an explicit range to nothing.
		return nil, errorf("#/date_range: the range covers no whole hour")
	}
	gran := noTime
	switch r.dimension() {
	case DimTimeHour:
		gran = byHour
	case DimTimeDay:
		gran = byDay
	case DimTime:
		gran = byDay
		if sameDay(start.In(loc), end.Add(-time.Second).In(loc)) {
			gran = byHour
		}
	}
	rolls := &rollCache{}
	p := r.plan(site, loc, start, end, gran, rolls)
	if c := r.Include.Comparisons; c != nil {
		cs, ce := c.bounds(r.DateRange, loc, now, start, end)
		// The same buckets as the main period, so that they pair up.
		p.comparison = r.plan(site, loc, cs, ce, gran, rolls)
		p.comparison.paired = true
	}
	return p, nil
}

// plan resolves the request for the UTC hours start..end.
func (r *Request) plan(site Site, loc *time.Location, start, end time.Time, gran granularity, rolls *rollCache) *Plan {
	p := &Plan{req: r, site: site, loc: loc, min: site.MinVisitors, start: start, end: end, gran: gran, rolls: rolls}
	if p.min <= 0 {
		p.min = DefaultMinVisitors
	}
	if d := r.dimension(); d != "" && gran == noTime {
		p.breakdown = storedDimension(d)
	}
	p.storedDim = r.readDimension()
	p.filters, p.goalFilters = splitFilters(r.Filters, p.storedDim)
	p.values = pushdown(p.filters)
	p.sketches = p.storedDim != "" || slices.Contains(r.Metrics, MetricVisitors) || slices.Contains(r.Metrics, MetricPercentage)
	if slices.Contains(r.Metrics, MetricPercentage) {
		// Plausible's base: the visitors of the same query without its
		// dimension, with the same filters.
		t := &Request{
			SiteID:    r.SiteID,
			Metrics:   []string{MetricVisitors},
			DateRange: r.DateRange,
			Filters:   r.Filters,
			OrderBy:   []Order{{Key: MetricVisitors, Direction: "desc"}},
		}
		p.totals = t.plan(site, loc, start, end, noTime, rolls)
	}
	return p
}

func sameDay(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return ay == by && am == bm && ad == bd
}

// SQL returns the query and its arguments; goals, if not nil, restricts the
// event:props rows read to these custom events. Every value is a bound
// argument; the text varies only between fixed fragments.
//
// The inner query takes the rows of the plan's sources (see sources): the
// latest version of every (hour, goal, value, writer) key of stats_hourly,
// as its cumulative rows require, and the daily rows of the rolls in force;
// the outer one sums counters across writers, goals and days (and hours,
// unless grouping by time) and collects the sketches, which only Go can
// merge. Before loadSources, or with hourly sources, it reads stats_hourly
// only.
func (p *Plan) SQL(goals []string) (string, []any) {
	s := p.srcs
	if s == nil {
		s = p.hourlySources()
	}
	var b strings.Builder
	b.WriteString("SELECT ")
	if p.gran != noTime {
		b.WriteString("hour, ")
	}
	b.WriteString("value, " + counterTotals + ", ")
	if p.sketches {
		b.WriteString("groupArray(sk)")
	} else {
		b.WriteString("emptyArrayString()")
	}
	if s.estimates {
		b.WriteString(", sum(vs), max(d)")
	}
	inner, args := p.inner(s, p.sketches, goals, false)
	b.WriteString(" FROM (" + inner + ") GROUP BY ")
	if p.gran != noTime {
		b.WriteString("hour, ")
	}
	b.WriteString("value LIMIT ?")
	args = append(args, maxRows+1)
	return b.String(), args
}

// goalPlan reads the event:goal rows of the plan's range, to decide which
// custom events the goal filters select.
func (p *Plan) goalPlan() *Plan {
	g := &Plan{
		req: p.req, site: p.site, loc: p.loc, min: p.min, start: p.start, end: p.end,
		storedDim: schema.DimGoal, filters: p.goalFilters, sketches: true, hourlyOnly: p.hourlyOnly, rolls: p.rolls,
	}
	g.values = pushdown(g.filters)
	return g
}

// bucketLabel is the time dimension value of an hour: its site-local start,
// as Plausible writes it.
func (p *Plan) bucketLabel(hour time.Time) string {
	local := hour.In(p.loc)
	switch p.gran {
	case byHour:
		return local.Format("2006-01-02 15:04:05")
	case byDay:
		return local.Format(dateLayout)
	}
	return ""
}

// timeLabels lists every bucket of the range in order.
func (p *Plan) timeLabels() []string {
	labels := []string{}
	first := p.start.Truncate(time.Hour)
	if first.Before(p.start) {
		first = first.Add(time.Hour)
	}
	for h := first; h.Before(p.end); h = h.Add(time.Hour) {
		l := p.bucketLabel(h)
		// Hours of one day are adjacent; so are the repeated hour labels of
		// the night a clock goes back.
		if len(labels) == 0 || labels[len(labels)-1] != l {
			labels = append(labels, l)
		}
	}
	return labels
}

// echoDateRange is the resolved range in the site's time zone, inclusive.
func (p *Plan) echoDateRange() [2]string {
	return [2]string{
		p.start.In(p.loc).Format(echoLayout),
		p.end.Add(-time.Second).In(p.loc).Format(echoLayout),
	}
}
