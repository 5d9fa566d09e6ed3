package query

import (
	"fmt"
	"math"
	"slices"
)

// Metric names.
const (
	MetricVisitors      = "visitors"
	MetricVisits        = "visits"
	MetricPageviews     = "pageviews"
	MetricViewsPerVisit = "views_per_visit"
	MetricBounceRate    = "bounce_rate"
	MetricVisitDuration = "visit_duration"
	MetricEvents        = "events"
	MetricScrollDepth   = "scroll_depth"
	MetricTimeOnPage    = "time_on_page"
	MetricPercentage    = "percentage"
)

// supportedMetrics lists the metrics we answer, in the order the docs give.
var supportedMetrics = []string{
	MetricVisitors, MetricVisits, MetricPageviews, MetricViewsPerVisit, MetricBounceRate,
	MetricVisitDuration, MetricEvents, MetricScrollDepth, MetricTimeOnPage, MetricPercentage,
}

// knownMetrics are Plausible metrics we do not answer (yet): they get a
// "not supported" message instead of "invalid".
var knownMetrics = []string{
	"exit_rate", "conversion_rate", "group_conversion_rate", "average_revenue", "total_revenue",
}

// visitMetrics are computed from the visit columns (visits, bounces,
// duration), which only the site totals and the visit:* rows carry.
var visitMetrics = []string{MetricVisits, MetricViewsPerVisit, MetricBounceRate, MetricVisitDuration}

// Why a metric cannot be answered, by the kind of rows a query reads.
const (
	whyVisitMetric = "aggregate-only storage keeps visit metrics (visits, views_per_visit, bounce_rate, visit_duration) " +
		"for the site totals and per visit dimension (visit:*), not per %s; " +
		"query them without dimension, or by a visit:* dimension such as visit:entry_page"
	whyEntryExit = "aggregate-only storage counts entry and exit pages per visit (visitors, visits, bounce_rate, " +
		"visit_duration), not the events of those visits; use event:page for pageviews and events"
	whyEngagement = "needs an event:page dimension or filter: aggregate-only storage keeps engagement (scroll depth, time on page) per page only"
)

// metricUnavailable explains why metric m cannot be answered by a query that
// reads the stored dimension stored and has dimensions (hasDimension), or
// returns "".
func metricUnavailable(m, stored string, hasDimension bool) string {
	kind := kindOf(stored)
	switch {
	case m == MetricPercentage && !hasDimension:
		return "needs a dimension: it is each row's share of the visitors of the query without its dimension"
	case m == MetricScrollDepth || m == MetricTimeOnPage:
		if kind != rowPage {
			return whyEngagement
		}
	case slices.Contains(visitMetrics, m):
		switch kind {
		case rowPage:
			return fmt.Sprintf(whyVisitMetric, "page (event:page)")
		case rowGoal:
			return fmt.Sprintf(whyVisitMetric, "custom event (event:goal)")
		case rowProps:
			return fmt.Sprintf(whyVisitMetric, "custom property (event:props)")
		case rowEntryExit:
			if m == MetricViewsPerVisit {
				return whyEntryExit
			}
		}
	case m == MetricPageviews || m == MetricEvents:
		if kind == rowEntryExit {
			return whyEntryExit
		}
	}
	return ""
}

// value is the value of metric m over c, as the API shows it: an integer
// (uint64), a decimal (float64) or null (nil). total is the visitors of the
// query without its dimension, the base of percentage.
func (c *counts) value(m string, total uint64) any {
	switch m {
	case MetricVisitors:
		return c.visitors()
	case MetricVisits:
		return c.visits
	case MetricPageviews:
		return c.pageviews
	case MetricEvents:
		return c.events
	case MetricViewsPerVisit:
		if c.visits == 0 {
			return 0.0
		}
		return math.Round(float64(c.pageviews)/float64(c.visits)*100) / 100
	case MetricBounceRate:
		if c.visits == 0 {
			return uint64(0)
		}
		return roundRatio(c.bounces*100, c.visits)
	case MetricVisitDuration:
		if c.visits == 0 {
			return uint64(0)
		}
		return roundRatio(c.duration, c.visits)
	case MetricScrollDepth:
		if c.engagements == 0 {
			return nil
		}
		return roundRatio(c.scrollSum, c.engagements)
	case MetricTimeOnPage:
		if c.engagements == 0 {
			return nil
		}
		return roundRatio(c.engagedMS, c.engagements*1000)
	case MetricPercentage:
		if total == 0 {
			return nil
		}
		return math.Round(float64(c.visitors())/float64(total)*1000) / 10
	}
	return nil
}

// roundRatio is a/b rounded to the nearest integer, halves up; b > 0.
func roundRatio(a, b uint64) uint64 {
	return uint64(math.Round(float64(a) / float64(b)))
}

// number orders metric values: null below every number.
func number(v any) float64 {
	switch x := v.(type) {
	case uint64:
		return float64(x)
	case float64:
		return x
	}
	return -1
}

// change is Plausible's comparison change of a metric from old to new: the
// difference in points for bounce_rate (null when the old rate is 0), else
// the relative change in percent, rounded (100 from 0 to more, 0 from 0 to
// 0). Null when either side is null.
func change(m string, old, new any) any {
	if old == nil || new == nil {
		return nil
	}
	o, n := number(old), number(new)
	if m == MetricBounceRate {
		if o == 0 {
			return nil
		}
		return int64(math.Round(n - o))
	}
	switch {
	case o == 0 && n > 0:
		return int64(100)
	case o == 0:
		return int64(0)
	}
	return int64(math.Round((n - o) / o * 100))
}
