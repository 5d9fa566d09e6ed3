package query

import (
	"strings"
	"testing"
	"time"
)

func mustLoad(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func mustParse(t testing.TB, body string) *Request {
	t.Helper()
	r, err := Parse([]byte(body))
	if err != nil {
		t.Fatalf("Parse(%s): %v", body, err)
	}
	return r
}

func TestResolveDateRange(t *testing.T) {
	berlin := mustLoad(t, "Europe/Berlin")
	kolkata := mustLoad(t, "Asia/Kolkata")
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		dateRange  string
		loc        *time.Location
		now        time.Time
		start, end string // UTC, end exclusive
		echo       [2]string
	}{
		{"day", `"day"`, berlin, now, "2026-11-26T23:00:00Z", "2026-11-27T23:00:00Z",
			[2]string{"2026-11-27T00:00:00+01:00", "2026-11-27T23:59:59+01:00"}},
		{"day is local", `"day"`, berlin, time.Date(2026, 11, 27, 23, 30, 0, 0, time.UTC), "2026-11-27T23:00:00Z", "2026-11-28T23:00:00Z",
			[2]string{"2026-11-28T00:00:00+01:00", "2026-11-28T23:59:59+01:00"}},
		{"7d ends yesterday", `"7d"`, berlin, now, "2026-11-19T23:00:00Z", "2026-11-26T23:00:00Z",
			[2]string{"2026-11-20T00:00:00+01:00", "2026-11-26T23:59:59+01:00"}},
		{"30d ends yesterday", `"30d"`, time.UTC, now, "2026-10-28T00:00:00Z", "2026-11-27T00:00:00Z",
			[2]string{"2026-10-28T00:00:00+00:00", "2026-11-26T23:59:59+00:00"}},
		{"month", `"month"`, berlin, now, "2026-10-31T23:00:00Z", "2026-11-30T23:00:00Z",
			[2]string{"2026-11-01T00:00:00+01:00", "2026-11-30T23:59:59+01:00"}},
		{"month of december", `"month"`, time.UTC, time.Date(2026, 12, 31, 23, 0, 0, 0, time.UTC), "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z",
			[2]string{"2026-12-01T00:00:00+00:00", "2026-12-31T23:59:59+00:00"}},
		{"dates across daylight saving", `["2026-03-28","2026-03-29"]`, berlin, now, "2026-03-27T23:00:00Z", "2026-03-29T22:00:00Z",
			[2]string{"2026-03-28T00:00:00+01:00", "2026-03-29T23:59:59+02:00"}},
		{"times widen to whole hours", `["2026-01-01T10:30:00+01:00","2026-01-01T18:00:00Z"]`, berlin, now, "2026-01-01T09:00:00Z", "2026-01-01T19:00:00Z",
			[2]string{"2026-01-01T10:00:00+01:00", "2026-01-01T19:59:59+01:00"}},
		{"half-hour time zone", `"day"`, kolkata, now, "2026-11-26T18:30:00Z", "2026-11-27T18:30:00Z",
			[2]string{"2026-11-27T00:00:00+05:30", "2026-11-27T23:59:59+05:30"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustParse(t, `{"site_id":"a","metrics":["visitors"],"date_range":`+tt.dateRange+`}`)
			p, err := r.Resolve(Site{ID: "a", Location: tt.loc}, tt.now)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.start.Format(time.RFC3339); got != tt.start {
				t.Errorf("start %s, want %s", got, tt.start)
			}
			if got := p.end.Format(time.RFC3339); got != tt.end {
				t.Errorf("end %s, want %s", got, tt.end)
			}
			if got := p.echoDateRange(); got != tt.echo {
				t.Errorf("echo %q, want %q", got, tt.echo)
			}
		})
	}
}

func TestTimeDimension(t *testing.T) {
	berlin := mustLoad(t, "Europe/Berlin")
	kolkata := mustLoad(t, "Asia/Kolkata")
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		dateRange string
		dimension string
		loc       *time.Location
		gran      granularity
		labels    []string // first, last
		count     int
	}{
		{"time over a day is hourly", `"day"`, "time", berlin, byHour, []string{"2026-11-27 00:00:00", "2026-11-27 23:00:00"}, 24},
		{"time over 7d is daily", `"7d"`, "time", berlin, byDay, []string{"2026-11-20", "2026-11-26"}, 7},
		{"time over a few hours is hourly", `["2026-11-27T08:00:00Z","2026-11-27T09:59:59Z"]`, "time", berlin, byHour, []string{"2026-11-27 09:00:00", "2026-11-27 10:00:00"}, 2},
		{"time:hour over 2 days", `["2026-11-26","2026-11-27"]`, "time:hour", time.UTC, byHour, []string{"2026-11-26 00:00:00", "2026-11-27 23:00:00"}, 48},
		{"time:day", `"day"`, "time:day", berlin, byDay, []string{"2026-11-27", "2026-11-27"}, 1},
		{"hour labels in a half-hour zone", `"day"`, "time:hour", kolkata, byHour, []string{"2026-11-27 00:30:00", "2026-11-27 23:30:00"}, 24},
		{"spring forward has 23 hours", `["2026-03-29","2026-03-29"]`, "time", berlin, byHour, []string{"2026-03-29 00:00:00", "2026-03-29 23:00:00"}, 23},
		{"fall back has a repeated hour", `["2026-10-25","2026-10-25"]`, "time", berlin, byHour, []string{"2026-10-25 00:00:00", "2026-10-25 23:00:00"}, 24},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustParse(t, `{"site_id":"a","metrics":["visitors"],"date_range":`+tt.dateRange+`,"dimensions":["`+tt.dimension+`"]}`)
			p, err := r.Resolve(Site{ID: "a", Location: tt.loc}, now)
			if err != nil {
				t.Fatal(err)
			}
			if p.gran != tt.gran {
				t.Errorf("granularity %d, want %d", p.gran, tt.gran)
			}
			labels := p.timeLabels()
			if len(labels) != tt.count || labels[0] != tt.labels[0] || labels[len(labels)-1] != tt.labels[1] {
				t.Errorf("time labels %q (%d), want %d from %q to %q", labels, len(labels), tt.count, tt.labels[0], tt.labels[1])
			}
		})
	}
}

func TestSQLBindsEveryValue(t *testing.T) {
	const evil = `x' OR 1=1 --`
	tests := []struct {
		name string
		body string
		// fragments the SQL must contain
		want     []string
		dim      string
		nargs    int
		sketches bool
	}{
		{"totals without visitors", `{"site_id":"` + evil + `","metrics":["pageviews"],"date_range":"7d"}`,
			[]string{"SELECT value, sum(pv), sum(ev), sum(vi), sum(bo), sum(du), sum(en), sum(sc), sum(em), emptyArrayString() FROM", "GROUP BY value LIMIT ?"}, "", 5, false},
		{"time series", `{"site_id":"a","metrics":["visitors"],"date_range":"7d","dimensions":["time"]}`,
			[]string{"SELECT hour, value,", "groupArray(sk)", "argMax(sketch, ver) AS sk", "GROUP BY hour, value LIMIT ?"}, "", 5, true},
		{"breakdown with pushed-down is", `{"site_id":"a","metrics":["events"],"date_range":"7d","dimensions":["event:page"],"filters":[["is","event:page",["` + evil + `"]]]}`,
			[]string{"AND has(?, value)", "groupArray(sk)"}, "event:page", 6, true},
		{"aggregate filtered by country", `{"site_id":"a","metrics":["events"],"date_range":"7d","filters":[["contains","visit:country",["` + evil + `"]]]}`,
			[]string{"dimension = ?"}, "visit:country", 5, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := mustParse(t, tt.body).Resolve(Site{ID: "a"}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			sql, args := p.SQL(nil)
			if strings.Contains(sql, evil) || strings.Contains(sql, "'") {
				t.Errorf("request text in SQL: %s", sql)
			}
			for _, w := range tt.want {
				if !strings.Contains(sql, w) {
					t.Errorf("SQL lacks %q: %s", w, sql)
				}
			}
			if len(args) != tt.nargs || strings.Count(sql, "?") != tt.nargs {
				t.Errorf("%d args for %d placeholders, want %d: %s", len(args), strings.Count(sql, "?"), tt.nargs, sql)
			}
			if args[1] != tt.dim {
				t.Errorf("dimension arg %q, want %q", args[1], tt.dim)
			}
			if p.sketches != tt.sketches {
				t.Errorf("sketches %v, want %v", p.sketches, tt.sketches)
			}
		})
	}
}

func TestComparisonBounds(t *testing.T) {
	berlin := mustLoad(t, "Europe/Berlin")
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name        string
		dateRange   string
		comparisons string
		loc         *time.Location
		echo        [2]string
	}{
		{"7d previous", `"7d"`, `{"mode":"previous_period"}`, berlin,
			[2]string{"2026-11-13T00:00:00+01:00", "2026-11-19T23:59:59+01:00"}},
		{"day previous is yesterday", `"day"`, `{"mode":"previous_period"}`, berlin,
			[2]string{"2026-11-26T00:00:00+01:00", "2026-11-26T23:59:59+01:00"}},
		{"month previous counts the days up to today", `"month"`, `{"mode":"previous_period"}`, berlin,
			[2]string{"2026-10-05T00:00:00+02:00", "2026-10-31T23:59:59+01:00"}},
		{"dates previous", `["2026-03-01","2026-03-31"]`, `{"mode":"previous_period"}`, time.UTC,
			[2]string{"2026-01-29T00:00:00+00:00", "2026-02-28T23:59:59+00:00"}},
		{"7d year over year", `"7d"`, `{"mode":"year_over_year"}`, berlin,
			[2]string{"2025-11-20T00:00:00+01:00", "2025-11-26T23:59:59+01:00"}},
		{"custom", `"7d"`, `{"mode":"custom","date_range":["2026-01-01","2026-01-03"]}`, berlin,
			[2]string{"2026-01-01T00:00:00+01:00", "2026-01-03T23:59:59+01:00"}},
		{"times previous shift by their length", `["2026-01-01T10:30:00Z","2026-01-01T11:10:00Z"]`, `{"mode":"previous_period"}`, time.UTC,
			[2]string{"2026-01-01T08:00:00+00:00", "2026-01-01T09:59:59+00:00"}},
		{"times year over year", `["2026-01-01T10:30:00Z","2026-01-01T11:10:00Z"]`, `{"mode":"year_over_year"}`, time.UTC,
			[2]string{"2025-01-01T10:00:00+00:00", "2025-01-01T11:59:59+00:00"}},
		{"before 1970 is empty", `["1970-01-01","1970-01-02"]`, `{"mode":"previous_period"}`, time.UTC,
			[2]string{"1970-01-01T00:00:00+00:00", "1969-12-31T23:59:59+00:00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustParse(t, `{"site_id":"a","metrics":["visitors"],"date_range":`+tt.dateRange+`,"include":{"comparisons":`+tt.comparisons+`}}`)
			p, err := r.Resolve(Site{ID: "a", Location: tt.loc}, now)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.comparison.echoDateRange(); got != tt.echo {
				t.Errorf("comparison %q, want %q", got, tt.echo)
			}
		})
	}
}

func TestSQLReadsPropsOfGoals(t *testing.T) {
	r := mustParse(t, `{"site_id":"a","metrics":["visitors","percentage"],"date_range":"7d","dimensions":["event:props:plan"],`+
		`"filters":[["is","event:goal",["Signup"]],["is","event:props:plan",["pro"]]]}`)
	p, err := r.Resolve(Site{ID: "a"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if p.storedDim != "event:props:plan" || len(p.filters) != 1 || len(p.goalFilters) != 1 || strings.Join(p.values, ",") != "pro" {
		t.Fatalf("plan reads %q, filters %v, goal filters %v, values %q", p.storedDim, p.filters, p.goalFilters, p.values)
	}
	sql, args := p.SQL([]string{"Signup"})
	for _, w := range []string{"AND has(?, value) AND has(?, goal)", "GROUP BY hour, goal, value, writer) GROUP BY value"} {
		if !strings.Contains(sql, w) {
			t.Errorf("SQL lacks %q: %s", w, sql)
		}
	}
	if len(args) != 7 || strings.Count(sql, "?") != 7 {
		t.Errorf("%d args for %d placeholders: %s", len(args), strings.Count(sql, "?"), sql)
	}
	// The percentage base: the same filters without the dimension.
	if tp := p.totals; tp == nil || tp.storedDim != "event:props:plan" || tp.breakdown != "" || len(tp.goalFilters) != 1 {
		t.Errorf("totals plan %+v", tp)
	}
	// Props rows of the goals: the goal filters, tested as an event:goal
	// breakdown shows the goals.
	if g := p.goalPlan(); g.storedDim != "event:goal" || strings.Join(g.values, ",") != "Signup" || !g.sketches {
		t.Errorf("goal plan %+v", g)
	}
}
