package query

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"analytics/aggregator/sketch"
	"analytics/schema"
)

// Querier runs a query with bound arguments; clickhouse-go's driver.Conn
// (schema.DB.Conn) is one.
type Querier interface {
	Query(ctx context.Context, query string, args ...any) (driver.Rows, error)
}

// Response is the Stats API v2 answer.
type Response struct {
	Results []Result `json:"results"`
	Meta    Meta     `json:"meta"`
	// Query echoes the normalised request with the date range resolved.
	Query Echo `json:"query"`
}

// Result is one row: dimension values in the order of the query's
// dimensions, metric values in the order of its metrics. A metric value is
// an integer (uint64), a decimal (float64) or null (nil).
type Result struct {
	Dimensions []string `json:"dimensions"`
	Metrics    []any    `json:"metrics"`
	// Comparison is set when the request includes comparisons.
	Comparison *Comparison `json:"comparison,omitempty"`
}

// Comparison is a result's counterpart in the comparison period: the same
// dimension value (for a time dimension, the bucket at the same position;
// null past the end of a shorter period), its metrics, and the change of
// each metric (see change).
type Comparison struct {
	Dimensions []any `json:"dimensions"`
	Metrics    []any `json:"metrics"`
	Change     []any `json:"change"`
}

// Meta holds what the request's include asked for.
type Meta struct {
	TimeLabels []string `json:"time_labels,omitempty"`
	TotalRows  *int     `json:"total_rows,omitempty"`
	// KAnonymized counts the time buckets of a series narrowed to one
	// dimension's values whose metrics are null because they had fewer
	// visitors than the site's min_visitors.
	KAnonymized *int `json:"k_anonymized_buckets,omitempty"`
}

// counts are the merged counters of one group of rows.
type counts struct {
	pageviews, events                 uint64
	visits, bounces, duration         uint64
	engagements, scrollSum, engagedMS uint64
	sketch                            *sketch.Sketch // nil unless the plan reads sketches
	// estimate caches the sketch's estimate (a dense one costs 16384
	// registers' worth of math); estimated says it is valid.
	estimate  uint64
	estimated bool
}

func (c *counts) add(o *counts) error {
	if o.sketch == nil && o.estimated {
		// A daily row read with its stored estimate: the planner reads
		// those only for buckets that have no other row.
		if c.sketch != nil || c.estimated {
			return fmt.Errorf("internal error: a stored estimate cannot be merged")
		}
		c.estimate, c.estimated = o.estimate, true
	} else {
		c.estimated = false
	}
	c.pageviews += o.pageviews
	c.events += o.events
	c.visits += o.visits
	c.bounces += o.bounces
	c.duration += o.duration
	c.engagements += o.engagements
	c.scrollSum += o.scrollSum
	c.engagedMS += o.engagedMS
	if o.sketch != nil {
		if c.sketch == nil {
			c.sketch = sketch.New()
		}
		return c.sketch.Merge(o.sketch)
	}
	return nil
}

func (c *counts) visitors() uint64 {
	if c.estimated {
		return c.estimate
	}
	if c.sketch == nil {
		return 0
	}
	if !c.estimated {
		c.estimate, c.estimated = c.sketch.Estimate(), true
	}
	return c.estimate
}

// row is one grouped row read from ClickHouse, with its stored value and
// the label a breakdown shows for it.
type row struct {
	hour         time.Time
	value, label string
	counts
}

// group is one result row before shaping.
type group struct {
	label string
	other bool
	counts
	// values are the request's metrics, once computed.
	values []any
}

// outcome is what a plan computed: its groups, and the base of the
// percentage metric.
type outcome struct {
	groups []*group
	total  uint64
}

// Run executes the plan (and its comparison) and shapes the response.
func Run(ctx context.Context, q Querier, p *Plan) (*Response, error) {
	// The comparison period is read at the same time.
	var (
		other    *outcome
		otherErr error
		done     = make(chan struct{})
	)
	if p.comparison != nil {
		go func() {
			defer close(done)
			other, otherErr = p.comparison.compute(ctx, q)
		}()
	} else {
		close(done)
	}
	main, err := p.compute(ctx, q)
	<-done
	if err != nil {
		return nil, err
	}
	if p.comparison != nil {
		if err := otherErr; err != nil {
			return nil, err
		}
		// Every bucket of a compared time series has a row, so that each
		// can show its comparison (as Plausible does).
		if p.gran != noTime {
			main.groups = p.fillBuckets(main.groups)
		}
	}
	p.setValues(main)
	masked := p.maskSmallBuckets(main.groups)
	p.sort(main.groups)

	resp := &Response{Results: []Result{}, Query: p.req.wire(p.echoDateRange())}
	if p.comparison != nil {
		r := p.comparison.echoDateRange()
		resp.Query.ComparisonDateRange = &r
	}
	if masked > 0 {
		resp.Meta.KAnonymized = &masked
	}
	if p.req.Include.TotalRows {
		n := len(main.groups)
		resp.Meta.TotalRows = &n
	}
	if p.req.Include.TimeLabels {
		resp.Meta.TimeLabels = p.timeLabels()
	}
	groups := main.groups
	pg := p.req.Pagination
	if pg.Offset < len(groups) {
		groups = groups[pg.Offset:min(len(groups), pg.Offset+pg.Limit)]
	} else {
		groups = nil
	}
	var pair func(*group) *Comparison
	if other != nil {
		pair = p.pairer(other)
	}
	for _, g := range groups {
		res := Result{Dimensions: []string{}, Metrics: g.values}
		if len(p.req.Dimensions) > 0 {
			res.Dimensions = append(res.Dimensions, g.label)
		}
		if pair != nil {
			res.Comparison = pair(g)
		}
		resp.Results = append(resp.Results, res)
	}
	return resp, nil
}

// compute reads and groups the plan's rows, and the base of percentage.
func (p *Plan) compute(ctx context.Context, q Querier) (*outcome, error) {
	// The base of percentage is read at the same time.
	var (
		totals    *outcome
		totalsErr error
		done      = make(chan struct{})
	)
	if p.totals != nil {
		go func() {
			defer close(done)
			totals, totalsErr = p.totals.compute(ctx, q)
		}()
	} else {
		close(done)
	}
	groups, err := p.groups(ctx, q)
	<-done
	if err != nil {
		return nil, err
	}
	if p.sketches {
		// Every group's estimate is needed (metrics, order, k-anonymity);
		// a dense one costs a pass over 16384 registers.
		_ = parallel(len(groups), func(i int) error {
			groups[i].visitors()
			return nil
		})
	}
	out := &outcome{groups: groups}
	if p.totals != nil {
		if totalsErr != nil {
			return nil, totalsErr
		}
		out.total = totals.groups[0].visitors()
	}
	return out, nil
}

// groups reads the plan's rows and groups them: a long breakdown from its
// top candidates when that settles the page (see fastBreakdown), else from
// every row.
func (p *Plan) groups(ctx context.Context, q Querier) ([]*group, error) {
	var goals []string
	if len(p.goalFilters) > 0 {
		var err error
		if goals, err = p.selectGoals(ctx, q); err != nil {
			return nil, err
		}
		if len(goals) == 0 {
			return p.group(nil)
		}
	}
	if groups, ok, err := p.fastBreakdown(ctx, q, goals); err != nil || ok {
		return groups, err
	}
	rows, err := p.read(ctx, q, goals)
	if err != nil {
		return nil, err
	}
	return p.group(rows)
}

// setValues computes the request's metrics of every group.
func (p *Plan) setValues(o *outcome) {
	for _, g := range o.groups {
		g.values = p.metricValues(&g.counts, o.total)
	}
}

func (p *Plan) metricValues(c *counts, total uint64) []any {
	vs := make([]any, len(p.req.Metrics))
	for i, m := range p.req.Metrics {
		vs[i] = c.value(m, total)
	}
	return vs
}

// fillBuckets adds an empty group for every time bucket without data.
func (p *Plan) fillBuckets(groups []*group) []*group {
	seen := make(map[string]bool, len(groups))
	for _, g := range groups {
		seen[g.label] = true
	}
	for _, l := range p.timeLabels() {
		if !seen[l] {
			groups = append(groups, &group{label: l})
		}
	}
	return groups
}

// pairer returns the function that finds a result's comparison: by its
// dimension value for a breakdown (zero when the comparison period has no
// such row, or shows it folded into "(other)"), by position for a time
// bucket, the one row of an aggregate.
func (p *Plan) pairer(other *outcome) func(*group) *Comparison {
	byLabel := make(map[string]*group, len(other.groups))
	for _, g := range other.groups {
		byLabel[g.label] = g
	}
	var timeLookup map[string]string
	if p.gran != noTime {
		cl := p.comparison.timeLabels()
		timeLookup = map[string]string{}
		for i, l := range p.timeLabels() {
			if i < len(cl) {
				timeLookup[l] = cl[i]
			}
		}
	}
	return func(g *group) *Comparison {
		c := &Comparison{Dimensions: []any{}}
		var match *group
		switch {
		case p.gran != noTime:
			l, ok := timeLookup[g.label]
			if ok {
				c.Dimensions = append(c.Dimensions, l)
				match = byLabel[l]
			} else {
				c.Dimensions = append(c.Dimensions, nil)
			}
		case len(p.req.Dimensions) > 0:
			c.Dimensions = append(c.Dimensions, g.label)
			match = byLabel[g.label]
		default:
			match = other.groups[0]
		}
		if match == nil {
			match = &group{}
		}
		c.Metrics = p.comparison.metricValues(&match.counts, other.total)
		if p.comparison.small(match) {
			clear(c.Metrics)
		}
		c.Change = make([]any, len(c.Metrics))
		for i, m := range p.req.Metrics {
			c.Change[i] = change(m, c.Metrics[i], g.values[i])
		}
		return c
	}
}

// small reports whether g is a time bucket that k-anonymity hides: the
// series is narrowed to one dimension's values (a filter), so a bucket's
// numbers could single out the few visitors behind that value in that hour
// or day. Unfiltered series are site totals and are shown as they are.
func (p *Plan) small(g *group) bool {
	return p.gran != noTime && p.storedDim != "" && (g.sketch == nil || g.visitors() < uint64(p.min))
}

// maskSmallBuckets sets the metrics of the buckets small reports to null and
// returns how many there were.
func (p *Plan) maskSmallBuckets(groups []*group) int {
	n := 0
	for _, g := range groups {
		if p.small(g) {
			clear(g.values)
			n++
		}
	}
	return n
}

// selectGoals returns the stored custom event names that the goal filters
// select, testing them as a breakdown by event:goal over the same range
// shows them: an event name below the k-anonymity threshold cannot be
// selected by name, only as "(other)".
func (p *Plan) selectGoals(ctx context.Context, q Querier) ([]string, error) {
	g := p.goalPlan()
	rows, err := g.read(ctx, q, nil)
	if err != nil {
		return nil, err
	}
	byLabel := map[string]*counts{}
	for i := range rows {
		c := byLabel[rows[i].label]
		if c == nil {
			c = &counts{}
			byLabel[rows[i].label] = c
		}
		if err := c.add(&rows[i].counts); err != nil {
			return nil, err
		}
	}
	goals := []string{}
	for i := range rows {
		l := rows[i].label
		shown := l
		if l == OtherLabel || byLabel[l].visitors() < uint64(p.min) {
			shown = OtherLabel
		}
		if matchAll(g.filters, shown) {
			goals = append(goals, rows[i].value)
		}
	}
	return goals, nil
}

func (p *Plan) read(ctx context.Context, q Querier, goals []string) ([]row, error) {
	if err := p.loadSources(ctx, q); err != nil {
		return nil, err
	}
	query, args := p.SQL(goals)
	rs, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query stats_hourly: %w", err)
	}
	defer rs.Close()
	var (
		out      []row
		sketches [][]string
	)
	estimates := p.srcs != nil && p.srcs.estimates
	for rs.Next() {
		if len(out) == maxRows {
			return nil, errorf("#/date_range: the query reads more than %d rows of %s; narrow the date range or filter by fewer values", maxRows, p.storedDimName())
		}
		var (
			r  row
			sk []string
		)
		dest := []any{&r.value, &r.pageviews, &r.events, &r.visits, &r.bounces, &r.duration,
			&r.engagements, &r.scrollSum, &r.engagedMS, &sk}
		if p.gran != noTime {
			dest = append([]any{&r.hour}, dest...)
		}
		var (
			estimate uint64
			daily    uint8
		)
		if estimates {
			dest = append(dest, &estimate, &daily)
		}
		if err := rs.Scan(dest...); err != nil {
			return nil, fmt.Errorf("read stats_hourly: %w", err)
		}
		if daily == 1 {
			r.estimate, r.estimated, sk = estimate, true, nil
		}
		r.label = label(p.storedDim, r.value)
		out = append(out, r)
		sketches = append(sketches, sk)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("read stats_hourly: %w", err)
	}
	if p.sketches {
		if err := parallel(len(out), func(i int) error {
			if out[i].estimated {
				return nil
			}
			var err error
			if out[i].sketch, err = sketch.UnionBinary(sketches[i]); err != nil {
				return fmt.Errorf("read %s: %w", p.storedDimName(), err)
			}
			if p.storedDim != schema.DimTotal && p.gran == noTime {
				// A value's row is its total over the range: the
				// k-anonymity fold needs its estimate, computed here in
				// parallel and kept.
				out[i].visitors()
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (p *Plan) storedDimName() string {
	if p.storedDim == schema.DimTotal {
		return "site totals"
	}
	return p.storedDim
}

// group merges the rows into result groups: one per displayed value for a
// breakdown, one per time bucket for a time dimension, a single one for an
// aggregate.
//
// When the plan reads a dimension, the k-anonymity fold comes first: every
// value is totalled over the whole range, values with fewer visitors than
// the threshold become "(other)", and the filters test these displayed
// labels. So a filter selects exactly rows that a breakdown shows, and no
// answer reveals a value below the threshold by name.
func (p *Plan) group(rows []row) ([]*group, error) {
	accept := func(string) bool { return true }
	var byLabel map[string]*group
	if p.storedDim != schema.DimTotal {
		byLabel = map[string]*group{}
		for i := range rows {
			r := &rows[i]
			g := byLabel[r.label]
			if g == nil {
				g = &group{label: r.label}
				byLabel[r.label] = g
				if p.breakdown != "" {
					// A breakdown reads its rows once: the group takes
					// the first row's counts (and sketch) over.
					g.counts = r.counts
					continue
				}
			}
			if err := g.add(&r.counts); err != nil {
				return nil, err
			}
		}
		shown := map[string]string{}
		for l, g := range byLabel {
			if l == OtherLabel || g.visitors() < uint64(p.min) {
				shown[l] = OtherLabel
			} else {
				shown[l] = l
			}
		}
		accept = func(l string) bool { return matchAll(p.filters, shown[l]) }
		if p.breakdown != "" {
			return p.fold(byLabel, shown, accept)
		}
	}

	switch {
	case p.gran != noTime:
		buckets := map[string]*group{}
		var out []*group
		for i := range rows {
			r := &rows[i]
			if !accept(r.label) {
				continue
			}
			l := p.bucketLabel(r.hour)
			g := buckets[l]
			if g == nil {
				g = &group{label: l}
				buckets[l] = g
				out = append(out, g)
			}
			if err := g.add(&r.counts); err != nil {
				return nil, err
			}
		}
		return out, nil
	case byLabel != nil:
		// An aggregate filtered by a dimension: the sum of the accepted
		// values, already totalled per value.
		total := &group{}
		for l, g := range byLabel {
			if accept(l) {
				if err := total.add(&g.counts); err != nil {
					return nil, err
				}
			}
		}
		return []*group{total}, nil
	default:
		total := &group{}
		for i := range rows {
			if err := total.add(&rows[i].counts); err != nil {
				return nil, err
			}
		}
		return []*group{total}, nil
	}
}

// fold turns per-value totals into breakdown rows: the accepted values at
// or above the threshold, plus one "(other)" row for the accepted rest.
func (p *Plan) fold(byLabel map[string]*group, shown map[string]string, accept func(string) bool) ([]*group, error) {
	var out []*group
	var other *group
	for l, g := range byLabel {
		if !accept(l) {
			continue
		}
		if shown[l] != OtherLabel {
			out = append(out, g)
			continue
		}
		if other == nil {
			other = &group{label: OtherLabel, other: true}
		}
		if err := other.add(&g.counts); err != nil {
			return nil, err
		}
	}
	if other != nil {
		out = append(out, other)
	}
	return out, nil
}

// sort orders groups by the request's order_by, then by label; "(other)"
// always comes last, since it is not a value of its own. The groups' values
// must be set.
func (p *Plan) sort(groups []*group) {
	dim := p.req.dimension()
	sort.SliceStable(groups, func(i, j int) bool {
		a, b := groups[i], groups[j]
		if a.other != b.other {
			return b.other
		}
		for _, o := range p.req.OrderBy {
			var c int
			if o.Key == dim {
				c = cmp.Compare(a.label, b.label)
			} else {
				k := slices.Index(p.req.Metrics, o.Key)
				c = cmp.Compare(number(a.values[k]), number(b.values[k]))
			}
			if o.Direction == "desc" {
				c = -c
			}
			if c != 0 {
				return c < 0
			}
		}
		return a.label < b.label
	})
}
