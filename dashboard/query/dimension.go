package query

import (
	"strings"

	"analytics/schema"
)

// OtherLabel is the dimension value of the row that breakdown rows below the
// site's k-anonymity threshold fold into.
const OtherLabel = "(other)"

// Labels shown for the empty stored value.
const (
	notSetLabel = "(not set)"
	directLabel = "Direct / None"
)

// Time dimension names.
const (
	DimTime     = "time"
	DimTimeHour = "time:hour"
	DimTimeDay  = "time:day"
)

// storedDimensions maps the Stats API name of every dimension we can break
// down or filter by to the stats_hourly.dimension value that holds it. The
// SQL only ever receives a value from this table, never request text.
var storedDimensions = map[string]string{
	schema.DimPage:           schema.DimPage,
	schema.DimGoal:           schema.DimGoal,
	schema.DimSource:         schema.DimSource,
	schema.DimCountry:        schema.DimCountry,
	schema.DimBrowser:        schema.DimBrowser,
	schema.DimBrowserVersion: schema.DimBrowserVersion,
	schema.DimOS:             schema.DimOS,
	schema.DimDevice:         schema.DimDevice,
}

// supportedDimensions lists the dimension names in the order the docs give.
var supportedDimensions = []string{
	schema.DimPage, schema.DimGoal, schema.DimSource, schema.DimCountry,
	schema.DimBrowser, schema.DimBrowserVersion, schema.DimOS, schema.DimDevice,
	DimTime, DimTimeHour, DimTimeDay,
}

// knownDimensions are Plausible dimensions that aggregate storage does not
// hold (yet); they get "not supported" rather than "invalid".
var knownDimensions = []string{
	"time:week", "time:month", "event:hostname", "visit:entry_page",
	"visit:exit_page", "visit:entry_page_hostname", "visit:exit_page_hostname",
	"visit:referrer", "visit:channel", "visit:utm_medium", "visit:utm_source",
	"visit:utm_campaign", "visit:utm_content", "visit:utm_term",
	"visit:os_version", "visit:region", "visit:city", "visit:country_name",
	"visit:region_name", "visit:city_name",
}

func isTimeDimension(d string) bool {
	return d == DimTime || d == DimTimeHour || d == DimTimeDay
}

// checkDimension accepts a supported dimension name.
func checkDimension(path, d string) error {
	if _, ok := storedDimensions[d]; ok || isTimeDimension(d) {
		return nil
	}
	if isKnownDimension(d) {
		return errorf("%s: dimension %s is not supported yet; supported dimensions: %s", path, quoteValue(d), strings.Join(supportedDimensions, ", "))
	}
	return errorf("%s: invalid dimension %s; supported dimensions: %s", path, quoteValue(d), strings.Join(supportedDimensions, ", "))
}

func isKnownDimension(d string) bool {
	if strings.HasPrefix(d, "event:props:") {
		return true
	}
	for _, k := range knownDimensions {
		if k == d {
			return true
		}
	}
	return false
}

// emptyLabel is how a dimension shows its empty stored value: no referrer is
// Plausible's "Direct / None"; anything else unknown is "(not set)".
func emptyLabel(dim string) string {
	if dim == schema.DimSource {
		return directLabel
	}
	return notSetLabel
}

// label is the displayed value of a stored dimension value.
func label(dim, value string) string {
	if value == "" {
		return emptyLabel(dim)
	}
	return value
}
