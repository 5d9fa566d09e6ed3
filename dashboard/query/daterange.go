package query

import (
	"encoding/json"
	"time"
)

// Date range periods. Days are calendar days in the site's time zone; "7d"
// and "30d" are whole days ending yesterday, as in Plausible (today is still
// incomplete), "day" is today and "month" the current calendar month.
const (
	PeriodDay   = "day"
	Period7d    = "7d"
	Period30d   = "30d"
	PeriodMonth = "month"
)

// knownPeriods are Plausible periods we do not offer (yet).
var knownPeriods = []string{"24h", "28d", "91d", "6mo", "12mo", "year", "all", "realtime"}

const (
	// maxRangeDays bounds an explicit range: two years, about the retention.
	maxRangeDays = 731
	dateLayout   = "2006-01-02"
	// echoLayout is how resolved bounds are reported: site-local time with
	// its offset.
	echoLayout = "2006-01-02T15:04:05-07:00"
	minYear    = 1970
	maxYear    = 2100
)

const dateRangeHelp = `supported: "day", "7d", "30d", "month", ["YYYY-MM-DD", "YYYY-MM-DD"] or two RFC 3339 times`

// DateRange is the date_range of a request: a relative Period, or an
// explicit inclusive range From..To of two dates (YYYY-MM-DD, whole days in
// the site's time zone) or two RFC 3339 times (whole hours: storage is
// hourly, so the range widens to the hours that contain its ends).
type DateRange struct {
	Period   string
	From, To string
}

// wholeDays reports whether the range is made of whole days: a period or
// two dates rather than two RFC 3339 times.
func (d DateRange) wholeDays() bool {
	if d.Period != "" {
		return true
	}
	_, err := time.Parse(dateLayout, d.From)
	return err == nil
}

// input is the value echoed for the request as given.
func (d DateRange) input() any {
	if d.Period != "" {
		return d.Period
	}
	return [2]string{d.From, d.To}
}

func parseDateRange(raw json.RawMessage) (DateRange, error) {
	const path = "#/date_range"
	var period string
	if json.Unmarshal(raw, &period) == nil && !isNull(raw) {
		switch period {
		case PeriodDay, Period7d, Period30d, PeriodMonth:
			return DateRange{Period: period}, nil
		}
		for _, k := range knownPeriods {
			if k == period {
				return DateRange{}, errorf("%s: %s is not supported yet; %s", path, quoteValue(period), dateRangeHelp)
			}
		}
		return DateRange{}, errorf("%s: invalid date range %s; %s", path, quoteValue(period), dateRangeHelp)
	}
	var pair []string
	if isNull(raw) || json.Unmarshal(raw, &pair) != nil || len(pair) != 2 {
		return DateRange{}, errorf("%s: invalid date range %s; %s", path, rawText(raw), dateRangeHelp)
	}
	if from, err := time.Parse(dateLayout, pair[0]); err == nil {
		to, err := time.Parse(dateLayout, pair[1])
		if err != nil {
			return DateRange{}, errorf("%s/1: %s is not a date like %q, as %s/0 is", path, quoteValue(pair[1]), dateLayout, path)
		}
		if err := checkSpan(path, from, to); err != nil {
			return DateRange{}, err
		}
		return DateRange{From: from.Format(dateLayout), To: to.Format(dateLayout)}, nil
	}
	from, err := time.Parse(time.RFC3339, pair[0])
	if err != nil {
		return DateRange{}, errorf("%s/0: %s is neither a date (YYYY-MM-DD) nor an RFC 3339 time", path, quoteValue(pair[0]))
	}
	to, err := time.Parse(time.RFC3339, pair[1])
	if err != nil {
		return DateRange{}, errorf("%s/1: %s is not an RFC 3339 time like %s/0", path, quoteValue(pair[1]), path)
	}
	if err := checkSpan(path, from, to); err != nil {
		return DateRange{}, err
	}
	return DateRange{From: from.Format(time.RFC3339), To: to.Format(time.RFC3339)}, nil
}

func checkSpan(path string, from, to time.Time) error {
	for i, t := range []time.Time{from, to} {
		if y := t.UTC().Year(); y < minYear || y >= maxYear {
			return errorf("%s/%d: %s is outside the years %d to %d", path, i, quoteValue(t.Format(time.RFC3339)), minYear, maxYear-1)
		}
	}
	if to.Before(from) {
		return errorf("%s: the end %s is before the start %s", path, quoteValue(to.Format(time.RFC3339)), quoteValue(from.Format(time.RFC3339)))
	}
	if to.Sub(from) >= maxRangeDays*24*time.Hour {
		return errorf("%s: the range is longer than %d days", path, maxRangeDays)
	}
	return nil
}

// bounds resolves the range for a site's time zone at the moment now. It
// returns UTC times: start inclusive, end exclusive. Hours are stored by
// their UTC start, so an hour belongs to the range when its start does.
func (d DateRange) bounds(loc *time.Location, now time.Time) (start, end time.Time) {
	today := now.In(loc)
	y, m, dd := today.Date()
	// day(n) is local midnight n days after today.
	day := func(year int, month time.Month, n int) time.Time {
		return time.Date(year, month, n, 0, 0, 0, 0, loc)
	}
	switch d.Period {
	case PeriodDay:
		return day(y, m, dd).UTC(), day(y, m, dd+1).UTC()
	case Period7d:
		return day(y, m, dd-7).UTC(), day(y, m, dd).UTC()
	case Period30d:
		return day(y, m, dd-30).UTC(), day(y, m, dd).UTC()
	case PeriodMonth:
		return day(y, m, 1).UTC(), day(y, m+1, 1).UTC()
	}
	if from, err := time.Parse(dateLayout, d.From); err == nil {
		to, _ := time.Parse(dateLayout, d.To)
		return day(from.Year(), from.Month(), from.Day()).UTC(), day(to.Year(), to.Month(), to.Day()+1).UTC()
	}
	from, _ := time.Parse(time.RFC3339, d.From)
	to, _ := time.Parse(time.RFC3339, d.To)
	return from.UTC().Truncate(time.Hour), to.UTC().Truncate(time.Hour).Add(time.Hour)
}
