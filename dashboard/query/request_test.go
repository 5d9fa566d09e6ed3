package query

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestParseValid(t *testing.T) {
	tests := []struct {
		name string
		body string
		// want is the normalised request, MarshalJSON's output.
		want string
	}{
		{
			name: "minimal aggregate gets defaults",
			body: `{"site_id":"example.com","metrics":["visitors"],"date_range":"7d"}`,
			want: `{"site_id":"example.com","metrics":["visitors"],"date_range":"7d","dimensions":[],"filters":[],"order_by":[["visitors","desc"]],"pagination":{"limit":10000,"offset":0},"include":{"imports":false,"time_labels":false,"total_rows":false}}`,
		},
		{
			name: "breakdown without visitors orders by first metric",
			body: `{"site_id":"example.com","metrics":["events","pageviews"],"date_range":"day","dimensions":["event:goal"]}`,
			want: `{"site_id":"example.com","metrics":["events","pageviews"],"date_range":"day","dimensions":["event:goal"],"filters":[],"order_by":[["events","desc"]],"pagination":{"limit":10000,"offset":0},"include":{"imports":false,"time_labels":false,"total_rows":false}}`,
		},
		{
			name: "time dimension orders by time",
			body: `{"site_id":"example.com","metrics":["visitors","pageviews"],"date_range":"month","dimensions":["time:day"],"include":{"time_labels":true,"total_rows":true,"imports":true}}`,
			want: `{"site_id":"example.com","metrics":["visitors","pageviews"],"date_range":"month","dimensions":["time:day"],"filters":[],"order_by":[["time:day","asc"]],"pagination":{"limit":10000,"offset":0},"include":{"imports":true,"time_labels":true,"total_rows":true}}`,
		},
		{
			name: "explicit dates, filters, order and pagination",
			body: `{"site_id":"example.com","metrics":["visitors"],"date_range":["2026-01-01","2026-01-31"],"dimensions":["event:page"],
				"filters":[["contains","event:page",["/blog"],{"case_sensitive":false}],["not",["is","event:page",["/blog/draft"]]]],
				"order_by":[["event:page","asc"],["visitors","desc"]],"pagination":{"limit":5,"offset":10}}`,
			want: `{"site_id":"example.com","metrics":["visitors"],"date_range":["2026-01-01","2026-01-31"],"dimensions":["event:page"],"filters":[["contains","event:page",["/blog"],{"case_sensitive":false}],["not",["is","event:page",["/blog/draft"]]]],"order_by":[["event:page","asc"],["visitors","desc"]],"pagination":{"limit":5,"offset":10},"include":{"imports":false,"time_labels":false,"total_rows":false}}`,
		},
		{
			name: "filter without breakdown, or of conditions",
			body: `{"site_id":"example.com","metrics":["pageviews"],"date_range":"30d","filters":[["or",[["is","visit:country",["DE"]],["is_not","visit:country",["FR","(other)"],{"case_sensitive":true}]]]]}`,
			want: `{"site_id":"example.com","metrics":["pageviews"],"date_range":"30d","dimensions":[],"filters":[["or",[["is","visit:country",["DE"]],["is_not","visit:country",["FR","(other)"]]]]],"order_by":[["pageviews","desc"]],"pagination":{"limit":10000,"offset":0},"include":{"imports":false,"time_labels":false,"total_rows":false}}`,
		},
		{
			name: "time series filtered by a dimension",
			body: `{"site_id":"example.com","metrics":["visitors"],"date_range":["2026-01-01T10:30:00+01:00","2026-01-01T18:00:00Z"],"dimensions":["time"],"filters":[["is","visit:source",["Direct / None"]]]}`,
			want: `{"site_id":"example.com","metrics":["visitors"],"date_range":["2026-01-01T10:30:00+01:00","2026-01-01T18:00:00Z"],"dimensions":["time"],"filters":[["is","visit:source",["Direct / None"]]],"order_by":[["time","asc"]],"pagination":{"limit":10000,"offset":0},"include":{"imports":false,"time_labels":false,"total_rows":false}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Parse([]byte(tt.body))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("normalised:\n got %s\nwant %s", got, tt.want)
			}
			// The normalised form parses to the same request.
			r2, err := Parse(got)
			if err != nil {
				t.Fatalf("Parse(normalised): %v", err)
			}
			again, _ := json.Marshal(r2)
			if string(again) != string(got) {
				t.Errorf("round trip:\n got %s\nwant %s", again, got)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	const base = `"site_id":"example.com","metrics":["visitors"],"date_range":"7d"`
	tests := []struct {
		name string
		body string
		// want are substrings of the error message.
		want []string
	}{
		{"not json", `{"site_id":`, []string{"#: request body must be a JSON object"}},
		{"array body", `[]`, []string{"must be a JSON object"}},
		{"null body", `null`, []string{"must be a JSON object"}},
		{"unknown top-level key", `{` + base + `,"period":"7d","zzz":1}`, []string{`unknown field "period", "zzz"`, "allowed fields: site_id"}},
		{"missing site_id", `{"metrics":["visitors"],"date_range":"7d"}`, []string{"#/site_id: required"}},
		{"site_id not string", `{"site_id":5,"metrics":["visitors"],"date_range":"7d"}`, []string{"#/site_id: must be a string, got \"5\""}},
		{"empty site_id", `{"site_id":"","metrics":["visitors"],"date_range":"7d"}`, []string{"#/site_id"}},
		{"missing metrics", `{"site_id":"a","date_range":"7d"}`, []string{"#/metrics: required"}},
		{"empty metrics", `{"site_id":"a","metrics":[],"date_range":"7d"}`, []string{"#/metrics: at least one metric"}},
		{"null metrics", `{"site_id":"a","metrics":null,"date_range":"7d"}`, []string{"#/metrics: must be an array"}},
		{"invalid metric", `{"site_id":"a","metrics":["visitors","foo"],"date_range":"7d"}`, []string{`#/metrics/1: invalid metric "foo"`, "supported metrics: visitors, pageviews, events"}},
		{"unsupported metric", `{"site_id":"a","metrics":["bounce_rate"],"date_range":"7d"}`, []string{`#/metrics/0: metric "bounce_rate" is not supported yet`}},
		{"duplicate metric", `{"site_id":"a","metrics":["events","events"],"date_range":"7d"}`, []string{`#/metrics/1: metric "events" is queried more than once`}},
		{"missing date_range", `{"site_id":"a","metrics":["visitors"]}`, []string{"#/date_range: required"}},
		{"invalid period", `{"site_id":"a","metrics":["visitors"],"date_range":"8d"}`, []string{`#/date_range: invalid date range "8d"`}},
		{"unsupported period", `{"site_id":"a","metrics":["visitors"],"date_range":"12mo"}`, []string{`"12mo" is not supported yet`}},
		{"date range not pair", `{"site_id":"a","metrics":["visitors"],"date_range":["2026-01-01"]}`, []string{"#/date_range: invalid date range"}},
		{"bad date", `{"site_id":"a","metrics":["visitors"],"date_range":["2026-02-30","2026-03-01"]}`, []string{`#/date_range/0: "2026-02-30" is neither a date`}},
		{"mixed date kinds", `{"site_id":"a","metrics":["visitors"],"date_range":["2026-02-01","2026-03-01T00:00:00Z"]}`, []string{`#/date_range/1: "2026-03-01T00:00:00Z" is not a date`}},
		{"reversed dates", `{"site_id":"a","metrics":["visitors"],"date_range":["2026-03-01","2026-02-01"]}`, []string{"#/date_range: the end"}},
		{"range too long", `{"site_id":"a","metrics":["visitors"],"date_range":["2020-01-01","2026-02-01"]}`, []string{"longer than 731 days"}},
		{"year out of bounds", `{"site_id":"a","metrics":["visitors"],"date_range":["1969-12-30","1969-12-31"]}`, []string{"outside the years 1970 to 2099"}},
		{"invalid dimension", `{` + base + `,"dimensions":["visit:foo"]}`, []string{`#/dimensions/0: invalid dimension "visit:foo"`}},
		{"unsupported dimension", `{` + base + `,"dimensions":["visit:city"]}`, []string{`#/dimensions/0: dimension "visit:city" is not supported yet`}},
		{"props dimension", `{` + base + `,"dimensions":["event:props:plan"]}`, []string{`"event:props:plan" is not supported yet`}},
		{"two dimensions", `{` + base + `,"dimensions":["visit:country","visit:browser"]}`, []string{`#/dimensions/1: only one dimension per query`, "one dimension per row"}},
		{"time plus dimension", `{` + base + `,"dimensions":["time:day","visit:browser"]}`, []string{`#/dimensions/1: only one dimension`}},
		{"filter on other dimension than breakdown", `{` + base + `,"dimensions":["event:page"],"filters":[["is","visit:browser",["Firefox"]]]}`, []string{`#/filters/0/1: cannot filter by "visit:browser" in a breakdown by "event:page"`, "one dimension per row"}},
		{"filters on two dimensions", `{` + base + `,"filters":[["is","visit:browser",["Firefox"]],["is","visit:os",["Mac"]]]}`, []string{`#/filters/1/1: cannot filter by "visit:os" together with "visit:browser"`}},
		{"two dimensions inside or", `{` + base + `,"filters":[["or",[["is","visit:browser",["Firefox"]],["is","visit:os",["Mac"]]]]]}`, []string{`#/filters/0/1/1/1: cannot filter by "visit:os"`}},
		{"behavioural filter", `{` + base + `,"filters":[["has_done",["is","event:goal",["Signup"]]]]}`, []string{`#/filters/0/0: behavioural filter "has_done" is not supported`}},
		{"matches filter", `{` + base + `,"filters":[["matches","event:page",["^/a"]]]}`, []string{`#/filters/0/0: filter operator "matches" is not supported yet`}},
		{"invalid operator", `{` + base + `,"filters":[["equals","event:page",["/"]]]}`, []string{`invalid filter operator "equals"`}},
		{"filter on time", `{` + base + `,"filters":[["is","time:day",["2026-01-01"]]]}`, []string{`cannot filter by "time:day"; use date_range`}},
		{"filter on segment", `{` + base + `,"filters":[["is","segment",[1]]]}`, []string{`segment filters are not supported`}},
		{"filter without values", `{` + base + `,"filters":[["is","event:page",[]]]}`, []string{`#/filters/0/2: needs 1 to 1000 values, got 0`}},
		{"filter value not string", `{` + base + `,"filters":[["is","event:page",[1]]]}`, []string{`#/filters/0/2/0: must be a string`}},
		{"filter not array", `{` + base + `,"filters":[{"op":"is"}]}`, []string{`#/filters/0: a filter must be an array`}},
		{"filters not array", `{` + base + `,"filters":{}}`, []string{`#/filters: must be an array`}},
		{"unknown modifier", `{` + base + `,"filters":[["is","event:page",["/"],{"case":false}]]}`, []string{`#/filters/0/3: unknown field "case"`}},
		{"empty and", `{` + base + `,"filters":[["and",[]]]}`, []string{`#/filters/0/1: "and" needs at least one filter`}},
		{"deep nesting", `{` + base + `,"filters":[["not",["not",["not",["not",["not",["not",["not",["not",["is","event:page",["/"]]]]]]]]]]]}`, []string{"nest deeper than 8"}},
		{"order by unknown", `{` + base + `,"order_by":[["pageviews","desc"]]}`, []string{`#/order_by/0: "pageviews" is not a queried metric or dimension`}},
		{"order by bad direction", `{` + base + `,"order_by":[["visitors","down"]]}`, []string{`#/order_by/0: direction must be "asc" or "desc", got "down"`}},
		{"order by not pair", `{` + base + `,"order_by":[["visitors"]]}`, []string{`#/order_by/0: must be [metric or dimension`}},
		{"limit zero", `{` + base + `,"pagination":{"limit":0}}`, []string{`#/pagination/limit: must be an integer from 1 to 10000, got "0"`}},
		{"limit too big", `{` + base + `,"pagination":{"limit":10001}}`, []string{`#/pagination/limit`}},
		{"limit fraction", `{` + base + `,"pagination":{"limit":1.5}}`, []string{`#/pagination/limit`}},
		{"negative offset", `{` + base + `,"pagination":{"offset":-1}}`, []string{`#/pagination/offset`}},
		{"pagination unknown key", `{` + base + `,"pagination":{"page":2}}`, []string{`#/pagination: unknown field "page"`}},
		{"include unknown key", `{` + base + `,"include":{"comparisons":{}}}`, []string{`#/include: unknown field "comparisons"`}},
		{"include not bool", `{` + base + `,"include":{"total_rows":"yes"}}`, []string{`#/include/total_rows: must be true or false`}},
		{"time labels without time", `{` + base + `,"include":{"time_labels":true}}`, []string{`#/include/time_labels: requires a time dimension`}},
		{"long value is cut in message", `{"site_id":"a","metrics":["` + strings.Repeat("x", 500) + `"],"date_range":"7d"}`, []string{`invalid metric "xxxxxxxx`, `"...;`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Parse([]byte(tt.body))
			if err == nil {
				got, _ := json.Marshal(r)
				t.Fatalf("Parse accepted %s", got)
			}
			var qe *Error
			if !errors.As(err, &qe) {
				t.Fatalf("error %v is %T, want *Error", err, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(qe.Msg, w) {
					t.Errorf("error %q does not contain %q", qe.Msg, w)
				}
			}
			if len(qe.Msg) > 600 {
				t.Errorf("error message is %d bytes long", len(qe.Msg))
			}
		})
	}
}

func TestFilterMatch(t *testing.T) {
	parse := func(filters string) []Filter {
		t.Helper()
		r, err := Parse([]byte(`{"site_id":"a","metrics":["visitors"],"date_range":"7d","filters":` + filters + `}`))
		if err != nil {
			t.Fatal(err)
		}
		return r.Filters
	}
	tests := []struct {
		filters string
		label   string
		want    bool
	}{
		{`[["is","event:page",["/a","/b"]]]`, "/b", true},
		{`[["is","event:page",["/a","/b"]]]`, "/B", false},
		{`[["is","event:page",["/a","/b"],{"case_sensitive":false}]]`, "/B", true},
		{`[["is_not","event:page",["/a"]]]`, "/a", false},
		{`[["is_not","event:page",["/a"]]]`, OtherLabel, true},
		{`[["contains","event:page",["blog"]]]`, "/blog/x", true},
		{`[["contains","event:page",["blog"]]]`, "/BLOG/x", false},
		{`[["contains","event:page",["blog"]]]`, OtherLabel, false},
		{`[["contains","event:page",["blog"],{"case_sensitive":false}]]`, "/BLOG/x", true},
		{`[["contains_not","event:page",["blog","news"]]]`, "/news/1", false},
		{`[["contains_not","event:page",["blog","news"]]]`, "/about", true},
		{`[["contains","event:page",["/"]],["is_not","event:page",["/"]]]`, "/", false},
		{`[["or",[["is","event:page",["/a"]],["contains","event:page",["x"]]]]]`, "/x", true},
		{`[["and",[["is","event:page",["/a"]],["contains","event:page",["x"]]]]]`, "/a", false},
		{`[["not",["is","event:page",["/a"]]]]`, "/a", false},
	}
	for _, tt := range tests {
		if got := matchAll(parse(tt.filters), tt.label); got != tt.want {
			t.Errorf("%s on %q: %v, want %v", tt.filters, tt.label, got, tt.want)
		}
	}
}

func TestPushdown(t *testing.T) {
	tests := []struct {
		filters string
		want    []string
	}{
		{`[]`, nil},
		{`[["is","visit:source",["Direct / None","google.com"]]]`, []string{"Direct / None", "", "google.com"}},
		{`[["is","visit:browser",["(not set)"]]]`, []string{"(not set)", ""}},
		{`[["is","visit:browser",["Firefox","(other)"]]]`, nil},
		{`[["is","visit:browser",["Firefox"],{"case_sensitive":false}]]`, nil},
		{`[["is_not","visit:browser",["Firefox"]]]`, nil},
		{`[["contains","visit:browser",["F"]],["is","visit:browser",["Firefox"]]]`, []string{"Firefox"}},
	}
	for _, tt := range tests {
		r, err := Parse([]byte(`{"site_id":"a","metrics":["visitors"],"date_range":"7d","filters":` + tt.filters + `}`))
		if err != nil {
			t.Fatal(err)
		}
		got := pushdown(r.Filters)
		if strings.Join(got, "|") != strings.Join(tt.want, "|") || (got == nil) != (tt.want == nil) {
			t.Errorf("pushdown(%s) = %q, want %q", tt.filters, got, tt.want)
		}
	}
}
