package query

import (
	"testing"
	"time"
)

// TestChooseSources checks which days a plan reads from stats_daily: whole
// rolled UTC days of the range; for daily series only days that are one
// bucket, with stored estimates only when each is a bucket of its own.
func TestChooseSources(t *testing.T) {
	london := mustLoad(t, "Europe/London")
	berlin := mustLoad(t, "Europe/Berlin")
	day := func(s string) time.Time {
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	rolledFrom := func(from string, n int) map[time.Time]uint64 {
		m := map[time.Time]uint64{}
		for i := range n {
			m[day(from).AddDate(0, 0, i)] = uint64(i + 1)
		}
		return m
	}
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		body       string
		loc        *time.Location
		rolled     map[time.Time]uint64
		days       int
		hourSpans  int
		estimates  bool
		firstDaily string
	}{
		{"UTC totals", `"metrics":["visitors"],"date_range":"7d"`, time.UTC, rolledFrom("2026-11-01", 26), 7, 0, false, "2026-11-20"},
		{"UTC daily series uses stored estimates", `"metrics":["visitors"],"date_range":"7d","dimensions":["time:day"]`, time.UTC, rolledFrom("2026-11-01", 26), 7, 0, true, "2026-11-20"},
		{"a day not rolled yet is read hourly", `"metrics":["visitors"],"date_range":"7d"`, time.UTC, rolledFrom("2026-11-01", 24), 5, 1, false, "2026-11-20"},
		{"month includes today, hourly", `"metrics":["visitors"],"date_range":"month"`, time.UTC, rolledFrom("2026-11-01", 26), 26, 1, false, "2026-11-01"},
		{"Berlin totals: edges hourly", `"metrics":["visitors"],"date_range":"7d"`, berlin, rolledFrom("2026-11-01", 26), 6, 2, false, "2026-11-20"},
		{"Berlin daily series: no daily rows", `"metrics":["visitors"],"date_range":"7d","dimensions":["time:day"]`, berlin, rolledFrom("2026-11-01", 26), 0, 1, false, ""},
		{"hourly series: no daily rows", `"metrics":["visitors"],"date_range":"7d","dimensions":["time:hour"]`, time.UTC, rolledFrom("2026-11-01", 26), 0, 1, false, ""},
		// 2026-10-25 is 25 hours in London: the UTC day and the hour
		// before it are one bucket, so no stored estimates.
		{"London fall-back day: sketches", `"metrics":["visitors"],"date_range":["2026-10-20","2026-10-30"],"dimensions":["time:day"]`, london,
			rolledFrom("2026-10-01", 40), 6, 1, false, "2026-10-25"},
		{"a whole month with its roll", `"metrics":["visitors"],"date_range":["2026-09-20","2026-11-05"]`, time.UTC,
			rolledFrom("2026-09-01", 80), 11 + 5, 0, false, "2026-09-20"},
		{"filtered series: sketches", `"metrics":["visitors"],"date_range":"7d","dimensions":["time:day"],"filters":[["is","visit:country",["DE"]]]`, time.UTC,
			rolledFrom("2026-11-01", 26), 7, 0, false, "2026-11-20"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := mustParse(t, `{"site_id":"a",`+tt.body+`}`).Resolve(Site{ID: "a", Location: tt.loc}, now)
			if err != nil {
				t.Fatal(err)
			}
			first := p.start.Truncate(24 * time.Hour)
			if first.Before(p.start) {
				first = first.Add(24 * time.Hour)
			}
			r := &rolled{days: tt.rolled, months: map[time.Time][3]uint64{}}
			// Month rolls of 2026-09 (stale: it read other day rolls) and
			// of 2026-10 (in force).
			for _, m := range []string{"2026-09-01", "2026-10-01"} {
				var fp, n uint64
				for d := day(m); d.Before(day(m).AddDate(0, 1, 0)); d = d.Add(24 * time.Hour) {
					fp += tt.rolled[d]
					n++
				}
				if m == "2026-09-01" {
					fp++
				}
				r.months[day(m)] = [3]uint64{99, fp, n}
			}
			s := p.chooseSources(first, p.end.Truncate(24*time.Hour), r)
			if p.gran == byHour {
				s = p.hourlySources()
			}
			if len(s.days) != tt.days || len(s.hours) != tt.hourSpans || s.estimates != tt.estimates {
				t.Fatalf("%d days, %d hourly spans, estimates %v; want %d, %d, %v (%+v)", len(s.days), len(s.hours), s.estimates,
					tt.days, tt.hourSpans, tt.estimates, s)
			}
			if tt.days > 0 && s.days[0].Format(time.DateOnly) != tt.firstDaily {
				t.Errorf("first daily day %s, want %s", s.days[0].Format(time.DateOnly), tt.firstDaily)
			}
			// The spans and days cover the range exactly, in order.
			covered := time.Duration(0)
			for _, h := range s.hours {
				covered += h[1].Sub(h[0])
			}
			covered += time.Duration(len(s.days)) * 24 * time.Hour
			for _, m := range s.months {
				covered += m.AddDate(0, 1, 0).Sub(m)
			}
			if tt.name == "a whole month with its roll" && (len(s.months) != 1 || s.months[0] != day("2026-10-01")) {
				t.Errorf("months %v, want 2026-10 only", s.months)
			}
			if covered != p.end.Sub(p.start) {
				t.Errorf("sources cover %s of a %s range", covered, p.end.Sub(p.start))
			}
		})
	}
}
