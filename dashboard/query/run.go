package query

import (
	"cmp"
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"analytics/aggregator/sketch"
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
// dimensions, metric values in the order of its metrics.
type Result struct {
	Dimensions []string `json:"dimensions"`
	Metrics    []uint64 `json:"metrics"`
}

// Meta holds what the request's include asked for.
type Meta struct {
	TimeLabels []string `json:"time_labels,omitempty"`
	TotalRows  *int     `json:"total_rows,omitempty"`
}

// counts are the merged metrics of one group of rows.
type counts struct {
	pageviews, events uint64
	sketch            *sketch.Sketch // nil unless the plan reads sketches
}

func (c *counts) add(o *counts) error {
	c.pageviews += o.pageviews
	c.events += o.events
	if o.sketch != nil {
		if c.sketch == nil {
			c.sketch = sketch.New()
		}
		return c.sketch.Merge(o.sketch)
	}
	return nil
}

func (c *counts) visitors() uint64 {
	if c.sketch == nil {
		return 0
	}
	return c.sketch.Estimate()
}

func (c *counts) metric(name string) uint64 {
	switch name {
	case MetricVisitors:
		return c.visitors()
	case MetricPageviews:
		return c.pageviews
	case MetricEvents:
		return c.events
	}
	return 0
}

// row is one grouped row read from ClickHouse, with the value already
// turned into its displayed label.
type row struct {
	hour  time.Time
	label string
	counts
}

// Run executes the plan and shapes the response.
func Run(ctx context.Context, q Querier, p *Plan) (*Response, error) {
	rows, err := p.fetch(ctx, q)
	if err != nil {
		return nil, err
	}
	groups, err := p.group(rows)
	if err != nil {
		return nil, err
	}
	p.sort(groups)

	resp := &Response{Results: []Result{}, Query: p.req.wire(p.echoDateRange())}
	if p.req.Include.TotalRows {
		n := len(groups)
		resp.Meta.TotalRows = &n
	}
	if p.req.Include.TimeLabels {
		resp.Meta.TimeLabels = p.timeLabels()
	}
	pg := p.req.Pagination
	if pg.Offset < len(groups) {
		groups = groups[pg.Offset:min(len(groups), pg.Offset+pg.Limit)]
	} else {
		groups = nil
	}
	for _, g := range groups {
		res := Result{Dimensions: []string{}, Metrics: make([]uint64, len(p.req.Metrics))}
		if len(p.req.Dimensions) > 0 {
			res.Dimensions = append(res.Dimensions, g.label)
		}
		for i, m := range p.req.Metrics {
			res.Metrics[i] = g.metric(m)
		}
		resp.Results = append(resp.Results, res)
	}
	return resp, nil
}

func (p *Plan) fetch(ctx context.Context, q Querier) ([]row, error) {
	query, args := p.SQL()
	rs, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query stats_hourly: %w", err)
	}
	defer rs.Close()
	var out []row
	for rs.Next() {
		if len(out) == maxRows {
			return nil, errorf("#/date_range: the query reads more than %d rows of %s; narrow the date range or filter by fewer values", maxRows, p.storedDimName())
		}
		var (
			r        row
			value    string
			sketches []string
			err      error
		)
		if p.gran != noTime {
			err = rs.Scan(&r.hour, &value, &r.pageviews, &r.events, &sketches)
		} else {
			err = rs.Scan(&value, &r.pageviews, &r.events, &sketches)
		}
		if err != nil {
			return nil, fmt.Errorf("read stats_hourly: %w", err)
		}
		r.label = label(p.storedDim, value)
		if p.sketches {
			r.sketch = sketch.New()
			for _, s := range sketches {
				if err := r.sketch.MergeBinary([]byte(s)); err != nil {
					return nil, fmt.Errorf("read stats_hourly %s: %w", p.storedDimName(), err)
				}
			}
		}
		out = append(out, r)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("read stats_hourly: %w", err)
	}
	return out, nil
}

func (p *Plan) storedDimName() string {
	if p.storedDim == "" {
		return "site totals"
	}
	return p.storedDim
}

// group is one result row before shaping.
type group struct {
	label string
	other bool
	counts
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
	if p.storedDim != "" {
		byLabel = map[string]*group{}
		for i := range rows {
			r := &rows[i]
			g := byLabel[r.label]
			if g == nil {
				g = &group{label: r.label}
				byLabel[r.label] = g
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
		accept = func(l string) bool { return matchAll(p.req.Filters, shown[l]) }
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
// always comes last, since it is not a value of its own.
func (p *Plan) sort(groups []*group) {
	// Estimates are computed once, not in every comparison.
	visitors := make(map[*group]uint64, len(groups))
	for _, g := range groups {
		visitors[g] = g.visitors()
	}
	value := func(g *group, key string) uint64 {
		if key == MetricVisitors {
			return visitors[g]
		}
		return g.metric(key)
	}
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
				c = cmp.Compare(value(a, o.Key), value(b, o.Key))
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
