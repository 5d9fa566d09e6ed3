package query

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"analytics/schema"
)

var fuzzSeeds = []string{
	`{"site_id":"example.com","metrics":["visitors"],"date_range":"7d"}`,
	`{"site_id":"example.com","metrics":["visitors","pageviews","events"],"date_range":"day","dimensions":["time"],"include":{"time_labels":true,"total_rows":true}}`,
	`{"site_id":"example.com","metrics":["events"],"date_range":["2026-01-01","2026-01-31"],"dimensions":["event:goal"],"order_by":[["events","asc"]],"pagination":{"limit":3,"offset":1}}`,
	`{"site_id":"example.com","metrics":["visitors"],"date_range":"month","dimensions":["event:page"],"filters":[["contains","event:page",["/blog"],{"case_sensitive":false}],["not",["is","event:page",["/blog/x"]]]]}`,
	`{"site_id":"example.com","metrics":["pageviews"],"date_range":["2026-01-01T10:30:00+01:00","2026-01-01T18:00:00Z"],"filters":[["or",[["is","visit:country",["DE"]],["is_not","visit:country",["(other)"]]]]]}`,
	`{"site_id":"example.com","metrics":["visitors"],"date_range":"30d","dimensions":["visit:source"],"filters":[["is","visit:source",["Direct / None"]]]}`,
	`{"site_id":"a","metrics":["visitors"],"date_range":"7d","dimensions":["visit:country","visit:browser"]}`,
	`{"site_id":"a","metrics":["bounce_rate"],"date_range":"12mo","unknown":1}`,
	`{"site_id":"a","metrics":["visitors"],"date_range":"7d","filters":[["has_done",["is","event:goal",["Signup"]]]]}`,
	`{"site_id":"a","metrics":["visits","bounce_rate","visit_duration","views_per_visit","percentage"],"date_range":"7d","dimensions":["visit:channel"],"include":{"comparisons":{"mode":"previous_period"}}}`,
	`{"site_id":"a","metrics":["visitors","events","percentage"],"date_range":"30d","dimensions":["event:props:plan"],"filters":[["is","event:goal",["Signup"]],["is_not","event:props:plan",["free"]]]}`,
	`{"site_id":"a","metrics":["events"],"date_range":"day","dimensions":["time"],"filters":[["is","event:props:a b.c:d-e_f",["x"]],["not",["contains","event:goal",["x"]]]],"include":{"comparisons":{"mode":"custom","date_range":["2026-01-01","2026-01-02"]}}}`,
	`{"site_id":"a","metrics":["scroll_depth","time_on_page"],"date_range":"month","dimensions":["time:hour"],"filters":[["is","event:page",["/"]]],"include":{"comparisons":{"mode":"year_over_year"}}}`,
	`{"site_id":"a","metrics":["visitors","visits"],"date_range":"7d","dimensions":["visit:exit_page"],"filters":[["contains","visit:exit_page",["/"]]]}`,
	`{"site_id":"a","metrics":["visits"],"date_range":"7d","dimensions":["event:page"]}`,
	`{"site_id":"a","metrics":["events"],"date_range":"7d","filters":[["or",[["is","event:goal",["A"]],["is","event:props:k",["v"]]]]]}`,
	`[]`, `null`, `{}`, `{"site_id":null}`,
}

// FuzzParse checks that no input panics the parser or the planner, that
// refusals are *Error, and that an accepted request only names allowlisted
// metrics and dimensions, asks only for metrics the rows it reads carry,
// filters on one dimension (or event:props and event:goal), survives a round
// trip through its normalised form, and plans reads of allowlisted
// dimensions with every value bound, including its totals and comparison.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > 64<<10 {
			return
		}
		r, err := Parse(body)
		if err != nil {
			var qe *Error
			if !errors.As(err, &qe) || qe.Msg == "" {
				t.Fatalf("refusal %v (%T) is not an *Error with a message", err, err)
			}
			return
		}
		if len(r.Metrics) == 0 || len(r.Dimensions) > 1 {
			t.Fatalf("accepted %d metrics, %d dimensions", len(r.Metrics), len(r.Dimensions))
		}
		stored := r.readDimension()
		for i, m := range r.Metrics {
			if !slices.Contains(supportedMetrics, m) || slices.Contains(r.Metrics[:i], m) {
				t.Fatalf("accepted metric %q", m)
			}
			// Every metric is one the rows read carry.
			if why := metricUnavailable(m, stored, len(r.Dimensions) > 0); why != "" {
				t.Fatalf("accepted metric %q reading %q: %s", m, stored, why)
			}
			if (m == MetricScrollDepth || m == MetricTimeOnPage) && stored != schema.DimPage {
				t.Fatalf("accepted %q reading %q", m, stored)
			}
			if slices.Contains(visitMetrics, m) && kindOf(stored) != rowTotals && kindOf(stored) != rowVisit && kindOf(stored) != rowEntryExit {
				t.Fatalf("accepted visit metric %q reading %q", m, stored)
			}
		}
		breakdown := ""
		for _, d := range r.Dimensions {
			if !slices.Contains(supportedDimensions, d) && !isPropsDimension(d) {
				t.Fatalf("accepted dimension %q", d)
			}
			if !isTimeDimension(d) {
				breakdown = d
			}
		}
		// Filters test one dimension, or an event:props dimension and
		// event:goal, each top-level filter a single dimension.
		var dims []string
		var walk func(f Filter, entry map[string]bool)
		walk = func(f Filter, entry map[string]bool) {
			switch f.Op {
			case OpAnd, OpOr, OpNot:
				for _, c := range f.Children {
					walk(c, entry)
				}
			case OpIs, OpIsNot, OpContains, OpContainsNot:
				if storedDimension(f.Dimension) == "" {
					t.Fatalf("accepted filter dimension %q", f.Dimension)
				}
				if len(f.Values) == 0 {
					t.Fatalf("accepted a filter without values")
				}
				entry[f.Dimension] = true
				if !slices.Contains(dims, f.Dimension) {
					dims = append(dims, f.Dimension)
				}
			default:
				t.Fatalf("accepted filter operator %q", f.Op)
			}
		}
		for _, f := range r.Filters {
			entry := map[string]bool{}
			walk(f, entry)
			if len(entry) != 1 {
				t.Fatalf("accepted a filter on %d dimensions: %v", len(entry), entry)
			}
		}
		switch {
		case len(dims) > 2:
			t.Fatalf("accepted filters on %q", dims)
		case len(dims) == 2 && !(slices.Contains(dims, schema.DimGoal) && (isPropsDimension(dims[0]) || isPropsDimension(dims[1]))):
			t.Fatalf("accepted filters on %q", dims)
		}
		for _, d := range dims {
			if breakdown != "" && d != breakdown && !(d == schema.DimGoal && isPropsDimension(breakdown)) {
				t.Fatalf("accepted a filter on %q in a breakdown by %q", d, breakdown)
			}
		}
		if c := r.Include.Comparisons; c != nil {
			switch c.Mode {
			case ComparePreviousPeriod, CompareYearOverYear:
				if c.DateRange != nil {
					t.Fatalf("accepted comparisons %+v", c)
				}
			case CompareCustom:
				if len(c.DateRange) != 2 {
					t.Fatalf("accepted comparisons %+v", c)
				}
			default:
				t.Fatalf("accepted comparison mode %q", c.Mode)
			}
		}
		if r.Pagination.Limit < 1 || r.Pagination.Limit > MaxLimit || r.Pagination.Offset < 0 {
			t.Fatalf("accepted pagination %+v", r.Pagination)
		}

		norm, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		r2, err := Parse(norm)
		if err != nil {
			t.Fatalf("normalised form %s refused: %v", norm, err)
		}
		again, _ := json.Marshal(r2)
		if !bytes.Equal(norm, again) {
			t.Fatalf("round trip changed the request:\n%s\n%s", norm, again)
		}

		p, err := r.Resolve(Site{ID: "example.com", Location: berlin}, now)
		if err != nil {
			var qe *Error
			if !errors.As(err, &qe) {
				t.Fatalf("Resolve: %v (%T)", err, err)
			}
			return
		}
		for _, plan := range []*Plan{p, p.totals, p.comparison} {
			if plan == nil {
				continue
			}
			for _, goals := range [][]string{nil, {"x'"}} {
				sql, args := plan.SQL(goals)
				if strings.Count(sql, "?") != len(args) || strings.ContainsAny(sql, `'"`) {
					t.Fatalf("SQL %s with %d args", sql, len(args))
				}
				if dim, _ := args[1].(string); dim != "" && storedDimension(dim) == "" {
					t.Fatalf("plan reads dimension %q", dim)
				}
			}
			if len(plan.goalFilters) > 0 && kindOf(plan.storedDim) != rowProps {
				t.Fatalf("goal filters on a plan reading %q", plan.storedDim)
			}
			if plan.end.Before(plan.start) {
				t.Fatalf("reversed range %v..%v", plan.start, plan.end)
			}
		}
		if p.totals != nil && (p.totals.gran != noTime || p.totals.breakdown != "" || p.totals.totals != nil) {
			t.Fatalf("totals plan with a dimension: %+v", p.totals)
		}
		if c := p.comparison; c != nil {
			if c.gran != p.gran {
				t.Fatalf("comparison granularity %d, main %d", c.gran, p.gran)
			}
			if r.Include.Comparisons.Mode == ComparePreviousPeriod && c.end.After(p.start) {
				t.Fatalf("previous period %v..%v overlaps %v..%v", c.start, c.end, p.start, p.end)
			}
		}
		if !p.end.After(p.start) {
			t.Fatalf("empty range %v..%v", p.start, p.end)
		}
	})
}
