package query

import (
	"regexp"
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

// storedDimensions maps the Stats API name of every fixed dimension we can
// break down or filter by to the stats_hourly.dimension value that holds it.
// The SQL only ever receives a value from this table or a custom property
// dimension that matches propKeyRe, always as a bound argument.
var storedDimensions = map[string]string{}

// supportedDimensions lists the fixed dimension names in the order the docs
// give; event:props:KEY comes on top.
var supportedDimensions = []string{
	schema.DimPage, schema.DimGoal,
	schema.DimEntryPage, schema.DimExitPage,
	schema.DimSource, schema.DimChannel,
	schema.DimUTMSource, schema.DimUTMMedium, schema.DimUTMCampaign, schema.DimUTMContent, schema.DimUTMTerm,
	schema.DimCountry, schema.DimRegion,
	schema.DimBrowser, schema.DimBrowserVersion, schema.DimOS, schema.DimOSVersion, schema.DimDevice,
	DimTime, DimTimeHour, DimTimeDay,
}

func init() {
	for _, d := range supportedDimensions {
		if !isTimeDimension(d) {
			storedDimensions[d] = d
		}
	}
}

// propsDimensionHelp names the custom property dimension in the lists of
// supported dimensions.
const propsDimensionHelp = "event:props:KEY"

// propKeyRe is the allowlist of custom property keys the API reads: letters,
// digits, "_", ".", ":", "-" and space, at most 300 bytes (the longest key
// the collector accepts). Keys with other characters are stored but cannot
// be queried.
var propKeyRe = regexp.MustCompile(`^[A-Za-z0-9_.: -]{1,300}$`)

// isPropsDimension reports whether d is event:props:KEY with an allowed KEY.
func isPropsDimension(d string) bool {
	key, ok := strings.CutPrefix(d, schema.DimPropsPrefix)
	return ok && propKeyRe.MatchString(key)
}

// knownDimensions are Plausible dimensions that aggregate storage does not
// hold (yet); they get "not supported" rather than "invalid".
var knownDimensions = []string{
	"time:week", "time:month", "event:hostname",
	"visit:entry_page_hostname", "visit:exit_page_hostname",
	"visit:referrer", "visit:city", "visit:country_name",
	"visit:region_name", "visit:city_name",
}

func isTimeDimension(d string) bool {
	return d == DimTime || d == DimTimeHour || d == DimTimeDay
}

// storedDimension returns the stats_hourly.dimension value of a supported
// non-time dimension, "" for anything else.
func storedDimension(d string) string {
	if s, ok := storedDimensions[d]; ok {
		return s
	}
	if isPropsDimension(d) {
		return d
	}
	return ""
}

func dimensionList() string {
	return strings.Join(supportedDimensions, ", ") + ", " + propsDimensionHelp
}

// checkDimension accepts a supported dimension name.
func checkDimension(path, d string) error {
	if storedDimension(d) != "" || isTimeDimension(d) {
		return nil
	}
	if strings.HasPrefix(d, schema.DimPropsPrefix) {
		return errorf("%s: invalid custom property dimension %s: the key must be 1 to 300 letters, digits, spaces or _ . : -", path, quoteValue(d))
	}
	if isKnownDimension(d) {
		return errorf("%s: dimension %s is not supported yet; supported dimensions: %s", path, quoteValue(d), dimensionList())
	}
	return errorf("%s: invalid dimension %s; supported dimensions: %s", path, quoteValue(d), dimensionList())
}

func isKnownDimension(d string) bool {
	for _, k := range knownDimensions {
		if k == d {
			return true
		}
	}
	return false
}

// rowKind says which metrics the rows of a stored dimension carry; see the
// comment of schema/migrations/0002_stats_hourly.sql.
type rowKind int

const (
	// rowTotals: the site totals, event and visit metrics.
	rowTotals rowKind = iota
	// rowPage: event metrics and engagement per page.
	rowPage
	// rowGoal: event metrics per custom event name.
	rowGoal
	// rowProps: event metrics per custom property value (and event name).
	rowProps
	// rowVisit: visit metrics, and the events of the visits, per value the
	// visit started with.
	rowVisit
	// rowEntryExit: visit metrics and visitors per entry or exit page.
	rowEntryExit
)

func kindOf(stored string) rowKind {
	switch {
	case stored == schema.DimTotal:
		return rowTotals
	case stored == schema.DimPage:
		return rowPage
	case stored == schema.DimGoal:
		return rowGoal
	case strings.HasPrefix(stored, schema.DimPropsPrefix):
		return rowProps
	case stored == schema.DimEntryPage || stored == schema.DimExitPage:
		return rowEntryExit
	}
	return rowVisit
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
