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
			name: "props breakdown of one goal, visit metrics, comparisons",
			body: `{"site_id":"example.com","metrics":["visitors","events","percentage"],"date_range":"7d","dimensions":["event:props:plan"],"filters":[["is","event:goal",["Signup"]],["is_not","event:props:plan",["free"]]],"include":{"comparisons":{"mode":"previous_period","match_day_of_week":false}}}`,
			want: `{"site_id":"example.com","metrics":["visitors","events","percentage"],"date_range":"7d","dimensions":["event:props:plan"],"filters":[["is","event:goal",["Signup"]],["is_not","event:props:plan",["free"]]],"order_by":[["visitors","desc"]],"pagination":{"limit":10000,"offset":0},"include":{"imports":false,"time_labels":false,"total_rows":false,"comparisons":{"mode":"previous_period"}}}`,
		},
		{
			name: "aggregate of a property of one goal, custom comparison",
			body: `{"site_id":"example.com","metrics":["events"],"date_range":"day","filters":[["is","event:goal",["Signup"]],["contains","event:props:utm.x: y-1",["a"]]],"include":{"comparisons":{"mode":"custom","date_range":["2026-01-01","2026-01-07"]}}}`,
			want: `{"site_id":"example.com","metrics":["events"],"date_range":"day","dimensions":[],"filters":[["is","event:goal",["Signup"]],["contains","event:props:utm.x: y-1",["a"]]],"order_by":[["events","desc"]],"pagination":{"limit":10000,"offset":0},"include":{"imports":false,"time_labels":false,"total_rows":false,"comparisons":{"mode":"custom","date_range":["2026-01-01","2026-01-07"]}}}`,
		},
		{
			name: "visit metrics by entry page",
			body: `{"site_id":"example.com","metrics":["visits","bounce_rate","visit_duration","visitors","percentage"],"date_range":"7d","dimensions":["visit:entry_page"]}`,
			want: `{"site_id":"example.com","metrics":["visits","bounce_rate","visit_duration","visitors","percentage"],"date_range":"7d","dimensions":["visit:entry_page"],"filters":[],"order_by":[["visitors","desc"]],"pagination":{"limit":10000,"offset":0},"include":{"imports":false,"time_labels":false,"total_rows":false}}`,
		},
		{
			name: "engagement of a page over time",
			body: `{"site_id":"example.com","metrics":["scroll_depth","time_on_page"],"date_range":"7d","dimensions":["time:day"],"filters":[["is","event:page",["/"]]],"include":{"comparisons":{"mode":"year_over_year"}}}`,
			want: `{"site_id":"example.com","metrics":["scroll_depth","time_on_page"],"date_range":"7d","dimensions":["time:day"],"filters":[["is","event:page",["/"]]],"order_by":[["time:day","asc"]],"pagination":{"limit":10000,"offset":0},"include":{"imports":false,"time_labels":false,"total_rows":false,"comparisons":{"mode":"year_over_year"}}}`,
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
		{"invalid metric", `{"site_id":"a","metrics":["visitors","foo"],"date_range":"7d"}`, []string{`#/metrics/1: invalid metric "foo"`, "supported metrics: visitors, visits, pageviews, views_per_visit, bounce_rate, visit_duration, events, scroll_depth, time_on_page, percentage"}},
		{"unsupported metric", `{"site_id":"a","metrics":["conversion_rate"],"date_range":"7d"}`, []string{`#/metrics/0: metric "conversion_rate" is not supported yet`}},
		{"visits by page", `{` + base + `,"metrics":["visitors","visits"],"dimensions":["event:page"]}`, []string{`#/metrics/1: metric "visits" cannot be queried for "event:page"`, "not per page", "visit:entry_page"}},
		{"bounce rate filtered by page", `{` + base + `,"metrics":["bounce_rate"],"filters":[["is","event:page",["/"]]]}`, []string{`#/metrics/0: metric "bounce_rate" cannot be queried for "event:page"`}},
		{"visit duration by goal", `{` + base + `,"metrics":["visit_duration"],"dimensions":["event:goal"]}`, []string{`metric "visit_duration" cannot be queried for "event:goal"`, "not per custom event"}},
		{"views per visit by property", `{` + base + `,"metrics":["views_per_visit"],"dimensions":["event:props:plan"]}`, []string{`metric "views_per_visit" cannot be queried for "event:props:plan"`, "not per custom property"}},
		{"pageviews by entry page", `{` + base + `,"metrics":["pageviews"],"dimensions":["visit:entry_page"]}`, []string{`#/metrics/0: metric "pageviews" cannot be queried for "visit:entry_page"`, "use event:page"}},
		{"events filtered by exit page", `{` + base + `,"metrics":["visits","events"],"filters":[["is","visit:exit_page",["/"]]]}`, []string{`#/metrics/1: metric "events" cannot be queried for "visit:exit_page"`}},
		{"views per visit by exit page", `{` + base + `,"metrics":["views_per_visit"],"dimensions":["visit:exit_page"]}`, []string{`metric "views_per_visit" cannot be queried for "visit:exit_page"`}},
		{"scroll depth by country", `{` + base + `,"metrics":["scroll_depth"],"dimensions":["visit:country"]}`, []string{`#/metrics/0: metric "scroll_depth" cannot be queried for "visit:country"`, "needs an event:page dimension or filter", "per page only"}},
		{"time on page of the site", `{` + base + `,"metrics":["time_on_page"]}`, []string{`#/metrics/0: metric "time_on_page" cannot be queried for the site totals`}},
		{"time on page over time", `{` + base + `,"metrics":["time_on_page"],"dimensions":["time"]}`, []string{`metric "time_on_page" cannot be queried for the site totals`}},
		{"percentage without dimension", `{` + base + `,"metrics":["visitors","percentage"],"filters":[["is","event:page",["/"]]]}`, []string{`#/metrics/1: metric "percentage" needs a dimension`}},
		{"props key with a slash", `{` + base + `,"dimensions":["event:props:a/b"]}`, []string{`#/dimensions/0: invalid custom property dimension "event:props:a/b"`}},
		{"props without key", `{` + base + `,"filters":[["is","event:props:",["x"]]]}`, []string{`#/filters/0/1: invalid custom property dimension`}},
		{"props key too long", `{` + base + `,"dimensions":["event:props:` + strings.Repeat("k", 301) + `"]}`, []string{`invalid custom property dimension`}},
		{"goal filter in a page breakdown", `{` + base + `,"dimensions":["event:page"],"filters":[["is","event:goal",["Signup"]]]}`, []string{`#/filters/0/1: cannot filter by "event:goal" in a breakdown by "event:page"`, "event:goal filters next to an event:props dimension"}},
		{"goal and property in one or", `{` + base + `,"dimensions":["event:props:plan"],"filters":[["or",[["is","event:goal",["Signup"]],["is","event:props:plan",["pro"]]]]]}`, []string{`#/filters/0/1/1/1: cannot combine "event:props:plan" with "event:goal" in one filter expression`, "top-level filters of their own"}},
		{"goal, property and a third dimension", `{` + base + `,"filters":[["is","event:goal",["Signup"]],["is","event:props:plan",["pro"]],["is","visit:os",["Mac"]]]}`, []string{`#/filters/2/1: cannot filter by "visit:os" together with "event:props:plan"`}},
		{"goal and two properties", `{` + base + `,"filters":[["is","event:props:a",["1"]],["is","event:goal",["Signup"]],["is","event:props:b",["2"]]]}`, []string{`#/filters/2/1: cannot filter by "event:props:b" together with "event:props:a"`}},
		{"goal with a page filter", `{` + base + `,"filters":[["is","event:goal",["Signup"]],["is","event:page",["/"]]]}`, []string{`#/filters/1/1: cannot filter by "event:page" together with "event:goal"`}},
		{"property in a goal breakdown", `{` + base + `,"dimensions":["event:goal"],"filters":[["is","event:props:plan",["pro"]]]}`, []string{`cannot filter by "event:props:plan" in a breakdown by "event:goal"`}},
		{"comparisons without mode", `{` + base + `,"include":{"comparisons":{}}}`, []string{`#/include/comparisons/mode: required`}},
		{"comparisons invalid mode", `{` + base + `,"include":{"comparisons":{"mode":"last_week"}}}`, []string{`#/include/comparisons/mode: invalid comparison mode "last_week"`}},
		{"comparisons unknown field", `{` + base + `,"include":{"comparisons":{"mode":"previous_period","period":"7d"}}}`, []string{`#/include/comparisons: unknown field "period"`}},
		{"comparisons custom without range", `{` + base + `,"include":{"comparisons":{"mode":"custom"}}}`, []string{`#/include/comparisons/date_range: required with mode "custom"`}},
		{"comparisons custom bad date", `{` + base + `,"include":{"comparisons":{"mode":"custom","date_range":["2026-01-01","2026-13-01"]}}}`, []string{`#/include/comparisons/date_range/1: "2026-13-01" is not a date`}},
		{"comparisons custom reversed", `{` + base + `,"include":{"comparisons":{"mode":"custom","date_range":["2026-02-01","2026-01-01"]}}}`, []string{`#/include/comparisons/date_range: the end`}},
		{"comparisons range without custom", `{` + base + `,"include":{"comparisons":{"mode":"previous_period","date_range":["2026-01-01","2026-01-02"]}}}`, []string{`only mode "custom" takes a date_range`}},
		{"comparisons matching day of week", `{` + base + `,"include":{"comparisons":{"mode":"previous_period","match_day_of_week":true}}}`, []string{`#/include/comparisons/match_day_of_week: true is not supported yet`}},
		{"comparisons not an object", `{` + base + `,"include":{"comparisons":"previous_period"}}`, []string{`#/include/comparisons: must be an object`}},
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
		{"include unknown key", `{` + base + `,"include":{"compare":{}}}`, []string{`#/include: unknown field "compare"`}},
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
