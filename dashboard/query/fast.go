package query

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"analytics/aggregator/sketch"
)

// The top of a long breakdown (pages, entry pages, property values: tens of
// thousands of values over a month) is found without merging the sketches
// of every value. Counters give each value an upper bound of the order
// metric: pageviews, events and visits are their own bounds, and visitors
// are at most events + visits (the aggregator inserts a visitor into a
// row's sketch only while counting an event or starting a visit there). So
// ClickHouse ranks the values by that bound and returns, with their
// sketches, only the first candidates; Go merges those, and the answer
// stands when the last row of the page beats the bound of every value left
// out. Otherwise the candidates grow, and past maxCandidates the plan reads
// everything as usual. The answer is the one the full read gives.
const (
	// minCandidates is the first number of candidates beyond the page.
	minCandidates = 50
	// maxCandidates bounds the candidates before falling back to the full read.
	maxCandidates = 20000
)

// fastOrder returns the SQL sum ranking the values by an upper bound of the
// first order_by metric, or "" when the plan does not qualify: a breakdown
// (no time dimension) without total_rows or comparisons, ordered first by
// visitors, pageviews, events or visits descending, without percentage
// among the order keys.
func (p *Plan) fastOrder() string {
	if p.breakdown == "" || p.gran != noTime || p.comparison != nil || p.req.Include.TotalRows || len(p.req.OrderBy) == 0 {
		return ""
	}
	for _, o := range p.req.OrderBy {
		if o.Key == MetricPercentage {
			return ""
		}
	}
	o := p.req.OrderBy[0]
	if o.Direction != "desc" {
		return ""
	}
	switch o.Key {
	case MetricVisitors:
		return "sum(ev) + sum(vi)"
	case MetricPageviews:
		return "sum(pv)"
	case MetricEvents:
		return "sum(ev)"
	case MetricVisits:
		return "sum(vi)"
	}
	return ""
}

// bound is the upper bound of the first order metric of a label with
// counters c.
func (p *Plan) bound(c *counts) uint64 {
	switch p.req.OrderBy[0].Key {
	case MetricPageviews:
		return c.pageviews
	case MetricEvents:
		return c.events
	case MetricVisits:
		return c.visits
	}
	return c.events + c.visits
}

// limitOf is the largest value a label whose bound is b can show for the
// first order metric. For visitors: below 2048 distinct visitors every
// sketch involved stays sparse, whose estimate never exceeds the number of
// distinct keys; above, the estimate of a dense sketch has a standard error
// of 0.8%, and the bound allows 10% (12 standard errors).
func (p *Plan) limitOf(b uint64) uint64 {
	if p.req.OrderBy[0].Key == MetricVisitors && b >= 2048 {
		return b + b/10 + 1
	}
	return b
}

// fastSQL returns the query of the top n+1 labels by the bound, with their
// counters and sketches, one row per label. Labels are the displayed values
// (the empty value shows as "(not set)" or "Direct / None").
func (p *Plan) fastSQL(order string, n int, goals []string) (string, []any) {
	s := p.srcs
	empty := emptyLabel(p.storedDim)
	withSketch, a1 := p.inner(s, true, goals)
	counters, a2 := p.inner(s, false, goals)
	var b strings.Builder
	b.WriteString("SELECT if(value = '', ?, value) AS label, " + counterTotals + ", groupArray(sk) FROM (")
	b.WriteString(withSketch)
	b.WriteString(") WHERE if(value = '', ?, value) IN (SELECT l FROM (SELECT if(value = '', ?, value) AS l, ")
	b.WriteString(order)
	b.WriteString(" AS b FROM (")
	b.WriteString(counters)
	b.WriteString(") GROUP BY l ORDER BY b DESC, l LIMIT ?)) GROUP BY label")
	args := []any{empty}
	args = append(args, a1...)
	args = append(args, empty, empty)
	args = append(args, a2...)
	args = append(args, uint64(n+1))
	return b.String(), args
}

// fastBreakdown computes the breakdown's groups from the top candidates. It
// reports false when the plan does not qualify or the candidates could not
// settle the page; then the caller reads everything.
func (p *Plan) fastBreakdown(ctx context.Context, q Querier, goals []string) ([]*group, bool, error) {
	order := p.fastOrder()
	if order == "" {
		return nil, false, nil
	}
	if err := p.loadSources(ctx, q); err != nil {
		return nil, false, err
	}
	need := p.req.Pagination.Offset + p.req.Pagination.Limit
	if need < 1 {
		return nil, false, nil
	}
	for n := need + max(need, minCandidates); n <= maxCandidates; n *= 4 {
		rows, err := p.readLabels(ctx, q, order, n, goals)
		if err != nil {
			return nil, false, err
		}
		if len(rows) <= n {
			// Every label is here: fold them as a full read would.
			groups, err := p.group(rows)
			return groups, true, err
		}
		if groups, ok := p.settle(rows, need); ok {
			return groups, true, nil
		}
	}
	return nil, false, nil
}

// readLabels runs fastSQL and merges each label's sketches.
func (p *Plan) readLabels(ctx context.Context, q Querier, order string, n int, goals []string) ([]row, error) {
	query, args := p.fastSQL(order, n, goals)
	rs, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", p.storedDimName(), err)
	}
	defer rs.Close()
	var out []row
	for rs.Next() {
		var (
			r        row
			sketches []string
		)
		if err := rs.Scan(&r.label, &r.pageviews, &r.events, &r.visits, &r.bounces, &r.duration,
			&r.engagements, &r.scrollSum, &r.engagedMS, &sketches); err != nil {
			return nil, fmt.Errorf("read %s: %w", p.storedDimName(), err)
		}
		r.value = r.label
		r.sketch = sketch.New()
		for _, s := range sketches {
			if err := r.sketch.MergeBinary([]byte(s)); err != nil {
				return nil, fmt.Errorf("read %s: %w", p.storedDimName(), err)
			}
		}
		out = append(out, r)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", p.storedDimName(), err)
	}
	return out, nil
}

// settle decides the page from the n+1 labels with the highest bounds: the
// first n are candidates, the last one's bound caps every label not read.
// It reports false unless at least need candidates are shown (at or above
// the threshold, passing the filters) and the need-th of them, in the
// request's order, beats that cap on the first order metric.
func (p *Plan) settle(rows []row, need int) ([]*group, bool) {
	sort.Slice(rows, func(i, j int) bool {
		bi, bj := p.bound(&rows[i].counts), p.bound(&rows[j].counts)
		if bi != bj {
			return bi > bj
		}
		return rows[i].label < rows[j].label
	})
	limit := p.limitOf(p.bound(&rows[len(rows)-1].counts))
	var shown []*group
	for i := range rows[:len(rows)-1] {
		r := &rows[i]
		if r.label == OtherLabel || r.visitors() < uint64(p.min) || !matchAll(p.filters, r.label) {
			continue
		}
		g := &group{label: r.label, counts: r.counts}
		g.values = p.metricValues(&g.counts, 0)
		shown = append(shown, g)
	}
	if len(shown) < need {
		return nil, false
	}
	p.sort(shown)
	k := slices.Index(p.req.Metrics, p.req.OrderBy[0].Key)
	if last := number(shown[need-1].values[k]); last <= float64(limit) {
		return nil, false
	}
	return shown, true
}
