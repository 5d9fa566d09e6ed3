package query

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"analytics/schema/chtest"
)

// metricRows: site example.com in Europe/Berlin with a threshold of 3,
// queried at 2026-11-27 10:00 UTC, so "7d" is 2026-11-20..26 and its
// previous period 2026-11-13..19. Visitor key ranges are chosen so that
// every count is exact.
var metricRows = []StatsRow{
	// Totals: 10 visitors, 12 visits, 5 bounces, 1234 s. Writer a's older
	// version must be ignored in every column.
	{Hour: "2026-11-25T10:00:00Z", Writer: "a", Ver: 1, Pageviews: 99, Events: 99, Visits: 99, Bounces: 99, Duration: 99, From: 0, To: 3},
	{Hour: "2026-11-25T10:00:00Z", Writer: "a", Ver: 2, Pageviews: 20, Events: 24, Visits: 8, Bounces: 3, Duration: 1000, From: 0, To: 7},
	{Hour: "2026-11-25T10:00:00Z", Writer: "b", Ver: 1, Pageviews: 10, Events: 12, Visits: 4, Bounces: 2, Duration: 234, From: 5, To: 10},
	// The previous period: 5 visitors on 2026-11-18.
	{Hour: "2026-11-18T10:00:00Z", Pageviews: 15, Events: 18, Visits: 6, Bounces: 3, Duration: 600, From: 100, To: 105},

	// Pages with engagement: "/" over two hours, "/docs" without
	// engagement data, "/rare" below the threshold.
	{Dimension: "event:page", Value: "/", Hour: "2026-11-25T10:00:00Z", Pageviews: 5, Events: 5, Engagements: 4, ScrollSum: 255, EngagedMS: 23456, From: 0, To: 5},
	{Dimension: "event:page", Value: "/", Hour: "2026-11-25T11:00:00Z", Writer: "a", Ver: 1, Pageviews: 1, Engagements: 1, ScrollSum: 1, EngagedMS: 1, From: 5, To: 6},
	{Dimension: "event:page", Value: "/", Hour: "2026-11-25T11:00:00Z", Writer: "a", Ver: 2, Pageviews: 7, Events: 7, Engagements: 6, ScrollSum: 400, EngagedMS: 100000, From: 4, To: 8},
	{Dimension: "event:page", Value: "/docs", Hour: "2026-11-25T10:00:00Z", Pageviews: 6, Events: 6, From: 10, To: 14},
	{Dimension: "event:page", Value: "/rare", Hour: "2026-11-25T10:00:00Z", Pageviews: 2, Events: 2, Engagements: 2, ScrollSum: 200, EngagedMS: 2000, From: 20, To: 22},

	// A visit dimension: events and visits under the visit's country.
	{Dimension: "visit:country", Value: "DE", Hour: "2026-11-25T10:00:00Z", Pageviews: 20, Events: 24, Visits: 8, Bounces: 2, Duration: 800, From: 0, To: 7},
	{Dimension: "visit:country", Value: "FR", Hour: "2026-11-25T10:00:00Z", Pageviews: 8, Events: 10, Visits: 3, Bounces: 3, Duration: 0, From: 7, To: 10},
	{Dimension: "visit:country", Value: "IT", Hour: "2026-11-25T10:00:00Z", Pageviews: 2, Events: 2, Visits: 1, Bounces: 0, Duration: 434, From: 10, To: 11},
	{Dimension: "visit:country", Value: "DE", Hour: "2026-11-18T10:00:00Z", Pageviews: 10, Events: 12, Visits: 4, Bounces: 2, Duration: 400, From: 100, To: 105},
	{Dimension: "visit:region", Value: "DE-BY", Hour: "2026-11-25T10:00:00Z", Pageviews: 20, Events: 24, Visits: 8, Bounces: 2, Duration: 800, From: 0, To: 7},
	{Dimension: "visit:os_version", Value: "Windows 10", Hour: "2026-11-25T10:00:00Z", Pageviews: 3, Events: 3, Visits: 3, Bounces: 1, Duration: 30, From: 0, To: 3},

	// Entry and exit pages: visit metrics and visitors only.
	{Dimension: "visit:entry_page", Value: "/", Hour: "2026-11-25T10:00:00Z", Visits: 9, Bounces: 3, Duration: 900, From: 0, To: 9},
	{Dimension: "visit:entry_page", Value: "/docs", Hour: "2026-11-25T10:00:00Z", Visits: 2, Bounces: 2, Duration: 10, From: 9, To: 11},
	{Dimension: "visit:exit_page", Value: "/docs", Hour: "2026-11-25T10:00:00Z", Visits: 7, Bounces: 1, Duration: 700, From: 0, To: 7},
	{Dimension: "visit:exit_page", Value: "/", Hour: "2026-11-25T10:00:00Z", Visits: 5, Bounces: 4, Duration: 100, From: 7, To: 12},

	// Goals: "Upgrade" has 3 visitors, "Rare" 2 (below the threshold).
	{Dimension: "event:goal", Value: "Signup", Hour: "2026-11-25T10:00:00Z", Events: 6, From: 0, To: 5},
	{Dimension: "event:goal", Value: "Upgrade", Hour: "2026-11-25T10:00:00Z", Events: 3, From: 2, To: 4},
	{Dimension: "event:goal", Value: "Upgrade", Hour: "2026-11-25T10:00:00Z", Writer: "b", From: 10, To: 11},
	{Dimension: "event:goal", Value: "Rare", Hour: "2026-11-25T10:00:00Z", Events: 2, From: 5, To: 7},

	// Property "plan" per goal. "pro": Signup 0..3, Upgrade 2..4, Rare 5.
	{Dimension: "event:props:plan", Goal: "Signup", Value: "pro", Hour: "2026-11-25T10:00:00Z", Events: 3, From: 0, To: 3},
	{Dimension: "event:props:plan", Goal: "Signup", Value: "free", Hour: "2026-11-25T10:00:00Z", Events: 2, From: 3, To: 5},
	{Dimension: "event:props:plan", Goal: "Upgrade", Value: "pro", Hour: "2026-11-25T10:00:00Z", Writer: "a", Ver: 1, Events: 50, From: 2, To: 3},
	{Dimension: "event:props:plan", Goal: "Upgrade", Value: "pro", Hour: "2026-11-25T10:00:00Z", Writer: "a", Ver: 2, Events: 2, From: 2, To: 4},
	{Dimension: "event:props:plan", Goal: "Upgrade", Value: "team", Hour: "2026-11-25T10:00:00Z", Events: 1, From: 10, To: 11},
	{Dimension: "event:props:plan", Goal: "Rare", Value: "pro", Hour: "2026-11-25T10:00:00Z", Events: 1, From: 5, To: 6},
	// Another key of the same goal is another dimension.
	{Dimension: "event:props:size", Goal: "Signup", Value: "L", Hour: "2026-11-25T10:00:00Z", Events: 40, From: 0, To: 40},
}

func TestRunMetrics(t *testing.T) {
	db := chtest.NewDB(t)
	insertRows(t, db, metricRows)
	site := Site{ID: "example.com", Location: mustLoad(t, "Europe/Berlin"), MinVisitors: 3}
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

	tests := []struct {
		name string
		body string // without site_id
		// results is the JSON of the results.
		results string
		// query holds substrings of the JSON of the echoed query.
		query []string
		// meta is the JSON of meta, if set.
		meta string
	}{
		{name: "visit metrics of the site",
			body:    `"metrics":["visitors","visits","pageviews","views_per_visit","bounce_rate","visit_duration","events"],"date_range":"7d"`,
			results: `[{"dimensions":[],"metrics":[10,12,30,2.5,42,103,36]}]`},
		{name: "visit metrics over time",
			body:    `"metrics":["visits","bounce_rate","visit_duration"],"date_range":"7d","dimensions":["time:day"]`,
			results: `[{"dimensions":["2026-11-25"],"metrics":[12,42,103]}]`},
		{name: "percentage of a time series",
			body:    `"metrics":["visitors","percentage"],"date_range":["2026-11-18","2026-11-25"],"dimensions":["time:day"]`,
			results: `[{"dimensions":["2026-11-18"],"metrics":[5,33.3]},{"dimensions":["2026-11-25"],"metrics":[10,66.7]}]`},
		{name: "country breakdown with visit metrics and percentage",
			body: `"metrics":["visitors","visits","views_per_visit","bounce_rate","visit_duration","percentage"],"date_range":"7d","dimensions":["visit:country"]`,
			results: `[{"dimensions":["DE"],"metrics":[7,8,2.5,25,100,70]},` +
				`{"dimensions":["FR"],"metrics":[3,3,2.67,100,0,30]},` +
				`{"dimensions":["(other)"],"metrics":[1,1,2,0,434,10]}]`},
		{name: "percentage of a filtered breakdown is of the filtered visitors",
			body:    `"metrics":["visitors","percentage"],"date_range":"7d","dimensions":["visit:country"],"filters":[["is_not","visit:country",["DE"]]]`,
			results: `[{"dimensions":["FR"],"metrics":[3,75]},{"dimensions":["(other)"],"metrics":[1,25]}]`},
		{name: "aggregate filtered by a country",
			body:    `"metrics":["visits","bounce_rate"],"date_range":"7d","filters":[["is","visit:country",["FR"]]]`,
			results: `[{"dimensions":[],"metrics":[3,100]}]`},
		{name: "regions and OS versions",
			body:    `"metrics":["visitors","bounce_rate"],"date_range":"7d","dimensions":["visit:region"]`,
			results: `[{"dimensions":["DE-BY"],"metrics":[7,25]}]`},
		{name: "OS versions",
			body:    `"metrics":["visits"],"date_range":"7d","dimensions":["visit:os_version"]`,
			results: `[{"dimensions":["Windows 10"],"metrics":[3]}]`},
		{name: "page engagement",
			body: `"metrics":["visitors","pageviews","scroll_depth","time_on_page","percentage"],"date_range":"7d","dimensions":["event:page"]`,
			results: `[{"dimensions":["/"],"metrics":[8,12,66,12,80]},` +
				`{"dimensions":["/docs"],"metrics":[4,6,null,null,40]},` +
				`{"dimensions":["(other)"],"metrics":[2,2,100,1,20]}]`},
		{name: "page engagement ordered by scroll depth, nulls lowest",
			body:    `"metrics":["scroll_depth"],"date_range":"7d","dimensions":["event:page"],"order_by":[["scroll_depth","asc"]]`,
			results: `[{"dimensions":["/docs"],"metrics":[null]},{"dimensions":["/"],"metrics":[66]},{"dimensions":["(other)"],"metrics":[100]}]`},
		{name: "engagement of one page over time",
			body:    `"metrics":["scroll_depth","time_on_page"],"date_range":["2026-11-25","2026-11-25"],"dimensions":["time:hour"],"filters":[["is","event:page",["/"]]]`,
			results: `[{"dimensions":["2026-11-25 11:00:00"],"metrics":[64,6]},{"dimensions":["2026-11-25 12:00:00"],"metrics":[67,17]}]`},
		{name: "engagement of a hidden page is null",
			body:    `"metrics":["pageviews","scroll_depth"],"date_range":"7d","filters":[["is","event:page",["/rare"]]]`,
			results: `[{"dimensions":[],"metrics":[0,null]}]`},
		{name: "entry pages fold by the visitors who entered",
			body:    `"metrics":["visitors","visits","bounce_rate","visit_duration","percentage"],"date_range":"7d","dimensions":["visit:entry_page"]`,
			results: `[{"dimensions":["/"],"metrics":[9,9,33,100,90]},{"dimensions":["(other)"],"metrics":[2,2,100,5,20]}]`},
		{name: "exit pages",
			body:    `"metrics":["visitors","visits","bounce_rate","visit_duration"],"date_range":"7d","dimensions":["visit:exit_page"]`,
			results: `[{"dimensions":["/docs"],"metrics":[7,7,14,100]},{"dimensions":["/"],"metrics":[5,5,80,20]}]`},
		{name: "aggregate filtered by an exit page",
			body:    `"metrics":["visits"],"date_range":"7d","filters":[["is","visit:exit_page",["/"]]]`,
			results: `[{"dimensions":[],"metrics":[5]}]`},
		{name: "props across goals",
			body:    `"metrics":["visitors","events","percentage"],"date_range":"7d","dimensions":["event:props:plan"]`,
			results: `[{"dimensions":["pro"],"metrics":[5,6,50]},{"dimensions":["(other)"],"metrics":[3,3,30]}]`},
		{name: "props of one goal",
			body:    `"metrics":["visitors","events","percentage"],"date_range":"7d","dimensions":["event:props:plan"],"filters":[["is","event:goal",["Signup"]]]`,
			results: `[{"dimensions":["pro"],"metrics":[3,3,60]},{"dimensions":["(other)"],"metrics":[2,2,40]}]`},
		{name: "props of a goal whose values are all below the threshold",
			body:    `"metrics":["visitors","events"],"date_range":"7d","dimensions":["event:props:plan"],"filters":[["is","event:goal",["Upgrade"]]]`,
			results: `[{"dimensions":["(other)"],"metrics":[3,3]}]`},
		{name: "props of two goals",
			body:    `"metrics":["visitors","events"],"date_range":"7d","dimensions":["event:props:plan"],"filters":[["is","event:goal",["Signup","Upgrade"]]]`,
			results: `[{"dimensions":["pro"],"metrics":[4,5]},{"dimensions":["(other)"],"metrics":[3,3]}]`},
		{name: "props of a goal below the threshold are hidden",
			body:    `"metrics":["visitors","events"],"date_range":"7d","dimensions":["event:props:plan"],"filters":[["is","event:goal",["Rare"]]]`,
			results: `[]`},
		{name: "props of the goals folded into (other)",
			body:    `"metrics":["visitors","events"],"date_range":"7d","dimensions":["event:props:plan"],"filters":[["is","event:goal",["(other)"]]]`,
			results: `[{"dimensions":["(other)"],"metrics":[1,1]}]`},
		{name: "props of goals by contains",
			body:    `"metrics":["events"],"date_range":"7d","dimensions":["event:props:plan"],"filters":[["contains","event:goal",["up"],{"case_sensitive":false}]]`,
			results: `[{"dimensions":["pro"],"metrics":[5]},{"dimensions":["(other)"],"metrics":[3]}]`},
		{name: "props filtered by value and goal",
			body:    `"metrics":["visitors","events"],"date_range":"7d","filters":[["is","event:goal",["Signup"]],["is","event:props:plan",["pro"]]]`,
			results: `[{"dimensions":[],"metrics":[3,3]}]`},
		{name: "props filtered by a hidden value",
			body:    `"metrics":["visitors","events"],"date_range":"7d","filters":[["is","event:props:plan",["free"]]]`,
			results: `[{"dimensions":[],"metrics":[0,0]}]`},
		{name: "a props time series of one goal",
			body:    `"metrics":["events"],"date_range":"7d","dimensions":["time:day"],"filters":[["is","event:props:plan",["pro"]],["is","event:goal",["Upgrade"]]]`,
			results: `[]`},
		{name: "a props time series",
			body:    `"metrics":["events"],"date_range":"7d","dimensions":["time:day"],"filters":[["is","event:props:plan",["pro"]]]`,
			results: `[{"dimensions":["2026-11-25"],"metrics":[6]}]`},
		{name: "aggregate compared with the previous period",
			body:    `"metrics":["visitors","pageviews","bounce_rate","views_per_visit"],"date_range":"7d","include":{"comparisons":{"mode":"previous_period"}}`,
			results: `[{"dimensions":[],"metrics":[10,30,42,2.5],"comparison":{"dimensions":[],"metrics":[5,15,50,2.5],"change":[100,100,-8,0]}}]`,
			query:   []string{`"comparison_date_range":["2026-11-13T00:00:00+01:00","2026-11-19T23:59:59+01:00"]`, `"include":{"imports":false,"time_labels":false,"total_rows":false,"comparisons":{"mode":"previous_period"}}`}},
		{name: "breakdown compared with the previous period",
			body: `"metrics":["visitors","pageviews","percentage"],"date_range":"7d","dimensions":["visit:country"],"include":{"comparisons":{"mode":"previous_period"}}`,
			results: `[{"dimensions":["DE"],"metrics":[7,20,70],"comparison":{"dimensions":["DE"],"metrics":[5,10,100],"change":[40,100,-30]}},` +
				`{"dimensions":["FR"],"metrics":[3,8,30],"comparison":{"dimensions":["FR"],"metrics":[0,0,0],"change":[100,100,100]}},` +
				`{"dimensions":["(other)"],"metrics":[1,2,10],"comparison":{"dimensions":["(other)"],"metrics":[0,0,0],"change":[100,100,100]}}]`},
		{name: "time series compared: every bucket, paired by position",
			body: `"metrics":["visitors"],"date_range":"7d","dimensions":["time:day"],"include":{"comparisons":{"mode":"previous_period"},"total_rows":true},"pagination":{"limit":2,"offset":4}`,
			results: `[{"dimensions":["2026-11-24"],"metrics":[0],"comparison":{"dimensions":["2026-11-17"],"metrics":[0],"change":[0]}},` +
				`{"dimensions":["2026-11-25"],"metrics":[10],"comparison":{"dimensions":["2026-11-18"],"metrics":[5],"change":[100]}}]`,
			meta: `{"total_rows":7}`},
		{name: "time series compared with a shorter period",
			body: `"metrics":["visitors"],"date_range":["2026-11-24","2026-11-25"],"dimensions":["time:day"],"include":{"comparisons":{"mode":"custom","date_range":["2026-11-18","2026-11-18"]}}`,
			results: `[{"dimensions":["2026-11-24"],"metrics":[0],"comparison":{"dimensions":["2026-11-18"],"metrics":[5],"change":[-100]}},` +
				`{"dimensions":["2026-11-25"],"metrics":[10],"comparison":{"dimensions":[null],"metrics":[0],"change":[100]}}]`,
			query: []string{`"comparison_date_range":["2026-11-18T00:00:00+01:00","2026-11-18T23:59:59+01:00"]`}},
		{name: "bounce rate change is null from zero",
			body:    `"metrics":["bounce_rate"],"date_range":"7d","include":{"comparisons":{"mode":"year_over_year"}}`,
			results: `[{"dimensions":[],"metrics":[42],"comparison":{"dimensions":[],"metrics":[0],"change":[null]}}]`,
			query:   []string{`"comparison_date_range":["2025-11-20T00:00:00+01:00","2025-11-26T23:59:59+01:00"]`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustParse(t, `{"site_id":"example.com",`+tt.body+`}`)
			p, err := r.Resolve(site, now)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := Run(context.Background(), db.Conn, p)
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.Marshal(resp.Results)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.results {
				t.Errorf("results\n got %s\nwant %s", got, tt.results)
			}
			if tt.meta != "" {
				if m, _ := json.Marshal(resp.Meta); string(m) != tt.meta {
					t.Errorf("meta %s, want %s", m, tt.meta)
				}
			}
			q, _ := json.Marshal(resp.Query)
			for _, w := range tt.query {
				if !strings.Contains(string(q), w) {
					t.Errorf("query %s lacks %s", q, w)
				}
			}
		})
	}
}
