package query

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"
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
	`[]`, `null`, `{}`, `{"site_id":null}`,
}

// FuzzParse checks that no input panics the parser or the planner, that
// refusals are *Error, and that an accepted request only names allowlisted
// metrics and dimensions, plans a read of an allowlisted dimension, and
// survives a round trip through its normalised form.
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
		for _, m := range r.Metrics {
			if !slices.Contains(supportedMetrics, m) {
				t.Fatalf("accepted metric %q", m)
			}
		}
		if len(r.Metrics) == 0 || len(r.Dimensions) > 1 {
			t.Fatalf("accepted %d metrics, %d dimensions", len(r.Metrics), len(r.Dimensions))
		}
		for _, d := range r.Dimensions {
			if !slices.Contains(supportedDimensions, d) {
				t.Fatalf("accepted dimension %q", d)
			}
		}
		var walk func(f Filter)
		walk = func(f Filter) {
			switch f.Op {
			case OpAnd, OpOr, OpNot:
				for _, c := range f.Children {
					walk(c)
				}
			case OpIs, OpIsNot, OpContains, OpContainsNot:
				if _, ok := storedDimensions[f.Dimension]; !ok {
					t.Fatalf("accepted filter dimension %q", f.Dimension)
				}
			default:
				t.Fatalf("accepted filter operator %q", f.Op)
			}
		}
		for _, f := range r.Filters {
			walk(f)
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
		_, args := p.SQL()
		dim, _ := args[1].(string)
		if _, ok := storedDimensions[dim]; dim != "" && !ok {
			t.Fatalf("plan reads dimension %q", dim)
		}
		if !p.end.After(p.start) {
			t.Fatalf("empty range %v..%v", p.start, p.end)
		}
	})
}
