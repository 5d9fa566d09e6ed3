package query

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"analytics/aggregator/sketch"
	"analytics/schema"
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
// everything as usual. The answer is the one the full read gives (see
// limitOf for the one probabilistic step: a dense estimate within 10%).
//
// Over a month the ranking itself is most of the work: hundreds of
// thousands of daily rows, nearly all of the long tail. So over a week or
// more it ranks by the daily and monthly rows with a bound of at least
// prefilterMin only (hourly rows always count; not for event:props, whose
// values have a row per custom event): a value left out then has
// at most its partial sum plus prefilterMin-1 per such row, and the cap
// grows by that much. When that cannot settle the page, it ranks by every
// row.
//
// Those daily rows are a tenth of the dimension's, and the rollup job keeps
// a copy of them in stats_daily_top (schema.TopRow). When every day of the
// range has its copy (and no month is read), the ranking reads that table
// instead, and so do the candidates' rows: a candidate's daily rows are all
// there when it has one for every day, as a value has at most one row a day
// (its goal is empty). The rows of the other candidates (pages new within
// the range, a day below the bound) are read again from the usual sources.
//
// This holds for rows the aggregator wrote; rows loaded from elsewhere with
// more visitors than events and visits would break the bound.
const (
	// minCandidates is the least number of candidates beyond the page; the
	// first try takes a quarter of the page more, or this many (half the
	// page more measured 5-10 ms slower for 100 pages over 30 days).
	minCandidates = 20
	// maxCandidates bounds the candidates before falling back to the full read.
	maxCandidates = 20000
	// prefilterMin is the smallest daily bound the first ranking counts,
	// over ranges of prefilterDays daily rows or more: the rows that
	// stats_daily_top holds.
	prefilterMin  = schema.TopMin
	prefilterDays = 7
)

// fastOrder returns the SQL expression of one row's upper bound of the
// first order_by metric, or "" when the plan does not qualify: a breakdown
// (no time dimension) without total_rows or comparisons, not itself the
// comparison period of one (whose every label may be looked up), ordered
// first by visitors, pageviews, events or visits descending, without
// percentage among the order keys.
func (p *Plan) fastOrder() string {
	if p.breakdown == "" || p.gran != noTime || p.comparison != nil || p.paired || p.req.Include.TotalRows || len(p.req.OrderBy) == 0 {
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
		return "(ev + vi)"
	case MetricPageviews:
		return "pv"
	case MetricEvents:
		return "ev"
	case MetricVisits:
		return "vi"
	}
	return ""
}

// limitOf is the largest value a label whose bound (see fastOrder) is b
// can show for the first order metric. For visitors: below 2048 distinct visitors every
// sketch involved stays sparse, whose estimate never exceeds the number of
// distinct keys; above, the estimate of a dense sketch has a standard error
// of 0.8%, and the bound allows 10% (12 standard errors).
func (p *Plan) limitOf(b uint64) uint64 {
	if p.req.OrderBy[0].Key == MetricVisitors && b >= 2048 {
		return b + b/10 + 1
	}
	return b
}

// longTail reports whether a dimension has thousands of values a month,
// mostly seen a few times a day: pages, entry and exit pages, property
// values, regions. Only those are ranked before their sketches are read.
func longTail(dim string) bool {
	switch kindOf(dim) {
	case rowPage, rowEntryExit, rowProps:
		return true
	}
	return dim == schema.DimRegion
}

// fastSQL returns the query of the top n+1 labels by the partial bound,
// with their counters, sketches and partial bounds, one row per label.
// Labels are the displayed values (the empty value shows as "(not set)" or
// "Direct / None"). The partial bound sums the row bounds order of the
// hourly rows and of the daily rows whose bound is at least min. When s
// reads stats_daily_top, two more columns count each label's daily rows of
// the empty stored value and of the others.
func (p *Plan) fastSQL(s *sources, order string, n int, min uint64, goals []string) (string, []any) {
	empty := emptyLabel(p.storedDim)
	withSketch, a1 := p.inner(s, true, goals, true)
	counters, a2 := p.inner(s, false, goals, true)
	counted := "d = 0 OR " + order + " >= ?"
	var b strings.Builder
	b.WriteString("SELECT if(value = '', ?, value) AS label, " + counterTotals + ", groupArray(sk), sum(if(" + counted + ", " + order + ", 0))")
	if s.top {
		b.WriteString(", countIf(d = 1 AND value = ''), countIf(d = 1 AND value != '')")
	}
	b.WriteString(" FROM (")
	b.WriteString(withSketch)
	b.WriteString(") WHERE if(value = '', ?, value) IN (SELECT l FROM (SELECT if(value = '', ?, value) AS l, sum(")
	b.WriteString(order)
	b.WriteString(") AS b FROM (")
	b.WriteString(counters)
	b.WriteString(") WHERE " + counted + " GROUP BY l ORDER BY b DESC, l LIMIT ?)) GROUP BY label")
	args := []any{empty, min}
	args = append(args, a1...)
	args = append(args, empty, empty)
	args = append(args, a2...)
	args = append(args, min, uint64(n+1))
	return b.String(), args
}

// fastBreakdown computes the breakdown's groups from the top candidates. It
// reports false when the plan does not qualify or the candidates could not
// settle the page; then the caller reads everything.
func (p *Plan) fastBreakdown(ctx context.Context, q Querier, goals []string) ([]*group, bool, error) {
	order := p.fastOrder()
	if order == "" || !longTail(p.storedDim) {
		// A short breakdown is read whole in one pass: ranking first
		// would only add a second one.
		return nil, false, nil
	}
	if err := p.loadSources(ctx, q); err != nil {
		return nil, false, err
	}
	need := p.req.Pagination.Offset + p.req.Pagination.Limit
	if need < 1 {
		return nil, false, nil
	}
	// The prefilter's cap counts one daily or monthly row per value and
	// day or month: true but for event:props rows, one per custom event.
	rollupRows := uint64(len(p.srcs.days) + len(p.srcs.months))
	min := uint64(0)
	if len(p.srcs.days)+31*len(p.srcs.months) >= prefilterDays && kindOf(p.storedDim) != rowProps {
		min = prefilterMin
	}
	for n := need + max(need/4, minCandidates); n <= maxCandidates; {
		rows, partial, err := p.readLabels(ctx, q, order, n, min, goals)
		if err != nil {
			return nil, false, err
		}
		if min == 0 && len(rows) <= n {
			// Every label is here: fold them as a full read would.
			groups, err := p.group(rows)
			return groups, true, err
		}
		// The labels not read have at most the partial bound of the
		// first one left out, plus what the prefilter left out.
		var cap uint64
		if len(rows) > n {
			cap = partial[n]
			rows = rows[:n]
		}
		var slack uint64
		if min > 0 {
			slack = (min - 1) * rollupRows
		}
		groups, ok, last := p.settle(rows, need, p.limitOf(cap+slack))
		if ok {
			return groups, true, nil
		}
		switch {
		case min > 0 && last > 2*float64(p.limitOf(slack)):
			n *= 2 // more candidates can still beat what the prefilter leaves out
		case min > 0:
			min = 0 // rank by every row, same n
		default:
			n *= 4
		}
	}
	return nil, false, nil
}

// readLabels runs fastSQL and merges each label's sketches. It returns the
// rows in ranking order (partial bound descending, then label) and their
// partial bounds.
func (p *Plan) readLabels(ctx context.Context, q Querier, order string, n int, min uint64, goals []string) ([]row, []uint64, error) {
	s := p.srcs
	if min == schema.TopMin && s.topReady && len(s.months) == 0 && schema.TopDimension(p.storedDim) {
		top := *s
		top.top = true
		s = &top
	}
	query, args := p.fastSQL(s, order, n, min, goals)
	rs, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("query %s: %w", p.storedDimName(), err)
	}
	defer rs.Close()
	var out []ranked
	var incomplete []string
	empty := emptyLabel(p.storedDim)
	for rs.Next() {
		var x ranked
		r := &x.r
		dest := []any{&r.label, &r.pageviews, &r.events, &r.visits, &r.bounces, &r.duration,
			&r.engagements, &r.scrollSum, &r.engagedMS, &x.sketches, &x.partial}
		var emptyDays, otherDays uint64
		if s.top {
			dest = append(dest, &emptyDays, &otherDays)
		}
		if err := rs.Scan(dest...); err != nil {
			return nil, nil, fmt.Errorf("read %s: %w", p.storedDimName(), err)
		}
		r.value = r.label
		// Complete when every stored value the label shows (the empty one
		// too for the empty label) has a row on every day.
		days := uint64(len(s.days))
		if s.top && (otherDays != days || (r.label == empty && emptyDays != days)) {
			incomplete = append(incomplete, r.label)
		}
		out = append(out, x)
	}
	if err := rs.Err(); err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", p.storedDimName(), err)
	}
	if len(incomplete) > 0 {
		p.topRereads += len(incomplete)
		if err := p.rereadLabels(ctx, q, out, incomplete, goals); err != nil {
			return nil, nil, err
		}
	}
	if s.top {
		p.topReads++
	}
	if err := parallel(len(out), func(i int) error {
		var err error
		if out[i].r.sketch, err = sketch.UnionBinary(out[i].sketches); err != nil {
			return fmt.Errorf("read %s: %w", p.storedDimName(), err)
		}
		out[i].sketches = nil
		out[i].r.visitors() // estimated here, in parallel, and kept
		return nil
	}); err != nil {
		return nil, nil, err
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].partial != out[j].partial {
			return out[i].partial > out[j].partial
		}
		return out[i].r.label < out[j].r.label
	})
	rows := make([]row, len(out))
	partial := make([]uint64, len(out))
	for i := range out {
		rows[i], partial[i] = out[i].r, out[i].partial
	}
	return rows, partial, nil
}

// ranked is a candidate label as fastSQL reads it.
type ranked struct {
	r        row
	partial  uint64
	sketches []string
}

// rereadLabels replaces the counters and sketches of the candidates out
// whose labels are in labels with all their rows from the plan's sources.
func (p *Plan) rereadLabels(ctx context.Context, q Querier, out []ranked, labels []string, goals []string) error {
	empty := emptyLabel(p.storedDim)
	var values []string
	for _, l := range labels {
		values = append(values, l)
		if l == empty {
			values = append(values, "")
		}
	}
	inner, args := p.innerOf(p.srcs, true, goals, false, values)
	query := "SELECT if(value = '', ?, value) AS label, " + counterTotals + ", groupArray(sk) FROM (" + inner + ") GROUP BY label"
	rs, err := q.Query(ctx, query, append([]any{empty}, args...)...)
	if err != nil {
		return fmt.Errorf("query %s: %w", p.storedDimName(), err)
	}
	defer rs.Close()
	byLabel := map[string]*ranked{}
	for i := range out {
		byLabel[out[i].r.label] = &out[i]
	}
	read := 0
	for rs.Next() {
		var x ranked
		r := &x.r
		if err := rs.Scan(&r.label, &r.pageviews, &r.events, &r.visits, &r.bounces, &r.duration,
			&r.engagements, &r.scrollSum, &r.engagedMS, &x.sketches); err != nil {
			return fmt.Errorf("read %s: %w", p.storedDimName(), err)
		}
		o, ok := byLabel[r.label]
		if !ok || !slices.Contains(labels, r.label) {
			return fmt.Errorf("read %s: internal error: label %q read again unasked", p.storedDimName(), r.label)
		}
		r.value = r.label
		o.r, o.sketches = x.r, x.sketches
		read++
	}
	if err := rs.Err(); err != nil {
		return fmt.Errorf("read %s: %w", p.storedDimName(), err)
	}
	if read != len(labels) {
		return fmt.Errorf("read %s: internal error: %d of %d labels read again", p.storedDimName(), read, len(labels))
	}
	return nil
}

// settle decides the page from candidate labels, given limit, the largest
// value of the first order metric any other label can have. It reports
// false unless at least need candidates are shown (at or above the
// threshold, passing the filters) and the need-th of them, in the request's
// order, beats limit; last is that need-th value (0 with too few shown).
func (p *Plan) settle(rows []row, need int, limit uint64) (groups []*group, ok bool, last float64) {
	var shown []*group
	for i := range rows {
		r := &rows[i]
		if r.label == OtherLabel || r.visitors() < uint64(p.min) || !matchAll(p.filters, r.label) {
			continue
		}
		g := &group{label: r.label, counts: r.counts}
		g.values = p.metricValues(&g.counts, 0)
		shown = append(shown, g)
	}
	if len(shown) < need {
		return nil, false, 0
	}
	p.sort(shown)
	k := slices.Index(p.req.Metrics, p.req.OrderBy[0].Key)
	if last = number(shown[need-1].values[k]); last <= float64(limit) {
		return nil, false, last
	}
	return shown, true, last
}

// parallel runs f(0..n-1) on up to GOMAXPROCS goroutines and returns the
// first error: the sketch unions and estimates of a query's rows are
// independent, and most of its Go time.
func parallel(n int, f func(i int) error) error {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for i := range n {
			if err := f(i); err != nil {
				return err
			}
		}
		return nil
	}
	var (
		next  atomic.Int64
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}
