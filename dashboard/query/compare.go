package query

import (
	"encoding/json"
	"time"
)

// Comparison modes of include.comparisons.
const (
	ComparePreviousPeriod = "previous_period"
	CompareYearOverYear   = "year_over_year"
	CompareCustom         = "custom"
)

// Comparisons is include.comparisons: run the query over another period too
// and add its values to every result, as Plausible does.
type Comparisons struct {
	// Mode is previous_period (as many days right before the range, the
	// range cut at today), year_over_year (365 days earlier) or custom.
	Mode string `json:"mode"`
	// DateRange is the period of mode custom: two dates, inclusive.
	DateRange []string `json:"date_range,omitempty"`
}

const comparisonsHelp = `{"mode": "previous_period"}, {"mode": "year_over_year"} or {"mode": "custom", "date_range": ["YYYY-MM-DD", "YYYY-MM-DD"]}`

func parseComparisons(raw json.RawMessage) (*Comparisons, error) {
	const path = "#/include/comparisons"
	obj, err := decodeObject(path, raw, "mode", "date_range", "match_day_of_week")
	if err != nil {
		return nil, err
	}
	if v, ok := obj["match_day_of_week"]; ok {
		match, err := decodeBool(path+"/match_day_of_week", v)
		if err != nil {
			return nil, err
		}
		if match {
			return nil, errorf("%s/match_day_of_week: true is not supported yet; comparisons shift by whole days", path)
		}
	}
	v, ok := obj["mode"]
	if !ok {
		return nil, errorf("%s/mode: required; supported: %s", path, comparisonsHelp)
	}
	mode, err := decodeString(path+"/mode", v)
	if err != nil {
		return nil, err
	}
	c := &Comparisons{Mode: mode}
	rawRange, hasRange := obj["date_range"]
	switch mode {
	case ComparePreviousPeriod, CompareYearOverYear:
		if hasRange {
			return nil, errorf("%s/date_range: only mode \"custom\" takes a date_range", path)
		}
	case CompareCustom:
		if !hasRange {
			return nil, errorf("%s/date_range: required with mode \"custom\", like [\"2026-01-01\", \"2026-01-31\"]", path)
		}
		var pair []string
		if isNull(rawRange) || json.Unmarshal(rawRange, &pair) != nil || len(pair) != 2 {
			return nil, errorf("%s/date_range: must be two dates like [\"2026-01-01\", \"2026-01-31\"], got %s", path, rawText(rawRange))
		}
		var dates [2]time.Time
		for i, s := range pair {
			if dates[i], err = time.Parse(dateLayout, s); err != nil {
				return nil, errorf("%s/date_range/%d: %s is not a date like %q", path, i, quoteValue(s), dateLayout)
			}
		}
		if err := checkSpan(path+"/date_range", dates[0], dates[1]); err != nil {
			return nil, err
		}
		c.DateRange = []string{dates[0].Format(dateLayout), dates[1].Format(dateLayout)}
	default:
		return nil, errorf("%s/mode: invalid comparison mode %s; supported: %s", path, quoteValue(mode), comparisonsHelp)
	}
	return c, nil
}

// bounds resolves the comparison period of a query whose range d resolved
// to start..end (UTC, end exclusive) in loc at the moment now. Ranges of
// whole days shift by whole local days, like Plausible: previous_period
// takes as many days as the range has up to today, right before it;
// year_over_year goes 365 days back. Ranges of RFC 3339 times shift by
// their length or by 365 days of 24 hours.
func (c *Comparisons) bounds(d DateRange, loc *time.Location, now, start, end time.Time) (time.Time, time.Time) {
	midnight := func(t time.Time) time.Time {
		y, m, dd := t.Date()
		return time.Date(y, m, dd, 0, 0, 0, 0, loc)
	}
	var from, to time.Time
	switch {
	case c.Mode == CompareCustom:
		a, _ := time.Parse(dateLayout, c.DateRange[0])
		b, _ := time.Parse(dateLayout, c.DateRange[1])
		from, to = midnight(a), midnight(b).AddDate(0, 0, 1)
	case !d.wholeDays():
		if c.Mode == CompareYearOverYear {
			from, to = start.AddDate(0, 0, -365), end.AddDate(0, 0, -365)
		} else {
			from, to = start.Add(-end.Sub(start)), start
		}
	default:
		first := midnight(start.In(loc))
		last := midnight(end.Add(-time.Second).In(loc))
		if today := midnight(now.In(loc)); last.After(today) {
			last = today
		}
		if last.Before(first) {
			last = first
		}
		shift := -365
		if c.Mode == ComparePreviousPeriod {
			shift = -daysBetween(first, last) - 1
		}
		from, to = first.AddDate(0, 0, shift), last.AddDate(0, 0, shift+1)
	}
	// Storage starts in 1970; an earlier comparison period is empty.
	epoch := time.Unix(0, 0)
	if from.Before(epoch) {
		from = epoch
	}
	if to.Before(from) {
		to = from
	}
	return from.UTC(), to.UTC()
}

// daysBetween counts the calendar days from a to b (local midnights).
func daysBetween(a, b time.Time) int {
	ua := time.Date(a.Year(), a.Month(), a.Day(), 0, 0, 0, 0, time.UTC)
	ub := time.Date(b.Year(), b.Month(), b.Day(), 0, 0, 0, 0, time.UTC)
	return int(ub.Sub(ua) / (24 * time.Hour))
}
