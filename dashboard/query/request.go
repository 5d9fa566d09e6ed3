// Package query answers the Stats API v2 (POST /api/v2/query) over the
// aggregate table stats_hourly: it parses and validates a request into a
// Request, resolves it for a site and a moment into a Plan, runs the Plan as
// parameterised SQL and shapes the answer like Plausible's.
//
// Storage keeps one dimension per row (site totals, or per page, per source,
// per country, ...), so a query can break down by at most one dimension and
// filter only on that same dimension; the one exception is an event:goal
// filter next to an event:props dimension, since property rows carry their
// event name. Which metrics a query can have depends on the rows it reads:
// visit metrics live on the totals and visit:* rows, engagement on the page
// rows. The package also enforces the k-anonymity rule of the product:
// breakdown rows with fewer visitors than the site's threshold fold into one
// "(other)" row, and filters only ever see the rows such a breakdown shows.
package query

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

// Limits of the request surface.
const (
	// MaxLimit is the largest pagination.limit, and the default.
	MaxLimit = 10000
	// maxOffset bounds pagination.offset; nothing we return has more rows.
	maxOffset = 1 << 30
	// maxSiteID bounds site_id; domains are at most 253 bytes.
	maxSiteID = 255
	// maxFilterValues and maxFilterValueLen bound one filter's clauses.
	maxFilterValues   = 1000
	maxFilterValueLen = 2000
	// maxFilterDepth bounds the nesting of and/or/not.
	maxFilterDepth = 8
	// maxFilterNodes bounds the number of filter expressions in a request.
	maxFilterNodes = 100
)

// Error is a request the API refuses: the handler answers it with 400 and
// {"error": Msg}. Msg names the offending field as a JSON pointer
// ("#/metrics/0") and quotes the bad value.
type Error struct {
	Msg string
}

func (e *Error) Error() string { return e.Msg }

func errorf(format string, args ...any) *Error {
	return &Error{Msg: fmt.Sprintf(format, args...)}
}

// quoteValue quotes a request value for an error message, cut to a length
// that keeps the message readable.
func quoteValue(s string) string {
	const max = 80
	if len(s) > max {
		// Cut on a rune boundary so the quoted text stays valid UTF-8.
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return fmt.Sprintf("%q...", s[:cut])
	}
	return fmt.Sprintf("%q", s)
}

// rawText renders a JSON value for an error message.
func rawText(raw json.RawMessage) string {
	return quoteValue(string(bytes.TrimSpace(raw)))
}

// Request is a Stats API v2 query as validated by Parse. Its JSON form (see
// MarshalJSON) is the normalised query: defaults filled in, so that parsing
// it again gives the same Request.
type Request struct {
	SiteID string
	// Metrics are names from supportedMetrics, without duplicates.
	Metrics   []string
	DateRange DateRange
	// Dimensions is empty or holds one supported dimension name.
	Dimensions []string
	// Filters are ANDed; every leaf filters the same dimension, except that
	// top-level filters on event:goal may accompany an event:props
	// dimension (breakdown or filter).
	Filters    []Filter
	OrderBy    []Order
	Pagination Pagination
	Include    Include
}

// Order is one order_by entry: a queried metric or dimension and a
// direction, "asc" or "desc".
type Order struct {
	Key       string
	Direction string
}

// MarshalJSON writes ["key", "direction"].
func (o Order) MarshalJSON() ([]byte, error) {
	return json.Marshal([2]string{o.Key, o.Direction})
}

// Pagination selects a window of the ordered results.
type Pagination struct {
	Limit  int `json:"limit"`
	Offset int `json:"offset"`
}

// Include asks for extra information in meta.
type Include struct {
	// Imports is accepted for compatibility and ignored: there are no
	// imported stats here.
	Imports bool `json:"imports"`
	// TimeLabels adds meta.time_labels, every bucket of the range, to a query
	// with a time dimension.
	TimeLabels bool `json:"time_labels"`
	// TotalRows adds meta.total_rows, the number of rows before pagination.
	TotalRows bool `json:"total_rows"`
	// Comparisons adds to every result the same query over another period.
	Comparisons *Comparisons `json:"comparisons,omitempty"`
}

// Echo is the normalised wire form of a Request: what MarshalJSON writes,
// and, with the resolved date range, the "query" of a Response.
type Echo struct {
	SiteID  string   `json:"site_id"`
	Metrics []string `json:"metrics"`
	// DateRange is a period ("7d") or two bounds: as given in a Request,
	// resolved to site-local times in a Response.
	DateRange  any        `json:"date_range"`
	Dimensions []string   `json:"dimensions"`
	Filters    []Filter   `json:"filters"`
	OrderBy    []Order    `json:"order_by"`
	Pagination Pagination `json:"pagination"`
	Include    Include    `json:"include"`
	// ComparisonDateRange is the resolved period of include.comparisons,
	// in a Response only.
	ComparisonDateRange *[2]string `json:"comparison_date_range,omitempty"`
}

// MarshalJSON writes the normalised request.
func (r *Request) MarshalJSON() ([]byte, error) {
	return json.Marshal(r.wire(r.DateRange.input()))
}

func (r *Request) wire(dateRange any) Echo {
	w := Echo{
		SiteID:     r.SiteID,
		Metrics:    r.Metrics,
		DateRange:  dateRange,
		Dimensions: r.Dimensions,
		Filters:    r.Filters,
		OrderBy:    r.OrderBy,
		Pagination: r.Pagination,
		Include:    r.Include,
	}
	// Arrays, never null, like Plausible.
	if w.Dimensions == nil {
		w.Dimensions = []string{}
	}
	if w.Filters == nil {
		w.Filters = []Filter{}
	}
	if w.OrderBy == nil {
		w.OrderBy = []Order{}
	}
	return w
}

var topLevelKeys = []string{"site_id", "metrics", "date_range", "dimensions", "filters", "order_by", "pagination", "include"}

// Parse decodes and validates a Stats API v2 request body. Every refusal is
// an *Error whose message names the field and the value. Parse does not know
// the sites: the caller checks SiteID, then resolves the request with
// Request.Resolve.
func Parse(body []byte) (*Request, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil || top == nil {
		return nil, errorf("#: request body must be a JSON object")
	}
	var unknown []string
	for k := range top {
		if !slices.Contains(topLevelKeys, k) {
			unknown = append(unknown, quoteValue(k))
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, errorf("#: unknown field %s; allowed fields: %s", strings.Join(unknown, ", "), strings.Join(topLevelKeys, ", "))
	}

	r := &Request{}
	if err := r.parseSiteID(top["site_id"]); err != nil {
		return nil, err
	}
	if err := r.parseMetrics(top["metrics"]); err != nil {
		return nil, err
	}
	raw, ok := top["date_range"]
	if !ok {
		return nil, errorf("#/date_range: required; for example \"7d\" or [\"2026-01-01\", \"2026-01-31\"]")
	}
	dr, err := parseDateRange(raw)
	if err != nil {
		return nil, err
	}
	r.DateRange = dr
	if err := r.parseDimensions(top["dimensions"]); err != nil {
		return nil, err
	}
	if err := r.parseFilters(top["filters"]); err != nil {
		return nil, err
	}
	if err := r.parseOrderBy(top["order_by"]); err != nil {
		return nil, err
	}
	if err := r.parsePagination(top["pagination"]); err != nil {
		return nil, err
	}
	if err := r.parseInclude(top["include"]); err != nil {
		return nil, err
	}
	if err := r.checkMetrics(); err != nil {
		return nil, err
	}
	return r, nil
}

func isNull(raw json.RawMessage) bool {
	return bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

// decodeArray decodes a JSON array into its elements; nil raw (absent) is an
// empty array.
func decodeArray(path string, raw json.RawMessage) ([]json.RawMessage, error) {
	if raw == nil {
		return nil, nil
	}
	var elems []json.RawMessage
	if isNull(raw) || json.Unmarshal(raw, &elems) != nil {
		return nil, errorf("%s: must be an array, got %s", path, rawText(raw))
	}
	return elems, nil
}

func decodeString(path string, raw json.RawMessage) (string, error) {
	var s string
	if isNull(raw) || json.Unmarshal(raw, &s) != nil {
		return "", errorf("%s: must be a string, got %s", path, rawText(raw))
	}
	return s, nil
}

func (r *Request) parseSiteID(raw json.RawMessage) error {
	if raw == nil {
		return errorf("#/site_id: required")
	}
	s, err := decodeString("#/site_id", raw)
	if err != nil {
		return err
	}
	if s == "" || len(s) > maxSiteID {
		return errorf("#/site_id: must be a site's domain, got %s", quoteValue(s))
	}
	r.SiteID = s
	return nil
}

func (r *Request) parseMetrics(raw json.RawMessage) error {
	if raw == nil {
		return errorf("#/metrics: required; supported metrics: %s", strings.Join(supportedMetrics, ", "))
	}
	elems, err := decodeArray("#/metrics", raw)
	if err != nil {
		return err
	}
	if len(elems) == 0 {
		return errorf("#/metrics: at least one metric is required; supported metrics: %s", strings.Join(supportedMetrics, ", "))
	}
	for i, e := range elems {
		path := fmt.Sprintf("#/metrics/%d", i)
		m, err := decodeString(path, e)
		if err != nil {
			return err
		}
		switch {
		case slices.Contains(supportedMetrics, m):
		case slices.Contains(knownMetrics, m):
			return errorf("%s: metric %s is not supported yet; supported metrics: %s", path, quoteValue(m), strings.Join(supportedMetrics, ", "))
		default:
			return errorf("%s: invalid metric %s; supported metrics: %s", path, quoteValue(m), strings.Join(supportedMetrics, ", "))
		}
		if slices.Contains(r.Metrics, m) {
			return errorf("%s: metric %s is queried more than once", path, quoteValue(m))
		}
		r.Metrics = append(r.Metrics, m)
	}
	return nil
}

func (r *Request) parseDimensions(raw json.RawMessage) error {
	elems, err := decodeArray("#/dimensions", raw)
	if err != nil {
		return err
	}
	for i, e := range elems {
		path := fmt.Sprintf("#/dimensions/%d", i)
		d, err := decodeString(path, e)
		if err != nil {
			return err
		}
		if err := checkDimension(path, d); err != nil {
			return err
		}
		if i > 0 {
			return errorf("%s: only one dimension per query is supported, got %s after %s: aggregate storage keeps one dimension per row, so dimensions cannot be combined",
				path, quoteValue(d), quoteValue(r.Dimensions[0]))
		}
		r.Dimensions = append(r.Dimensions, d)
	}
	return nil
}

func (r *Request) dimension() string {
	if len(r.Dimensions) == 0 {
		return ""
	}
	return r.Dimensions[0]
}

// readDimension is the stats_hourly.dimension a query reads: its non-time
// dimension, else the dimension its filters test (the event:props one when
// an event:goal filter accompanies it), else "" for the site totals.
func (r *Request) readDimension() string {
	if d := r.dimension(); d != "" && !isTimeDimension(d) {
		return storedDimension(d)
	}
	return storedDimension(primaryFilterDimension(r.Filters))
}

// checkMetrics refuses metrics that the rows the query reads do not carry.
func (r *Request) checkMetrics() error {
	stored := r.readDimension()
	where := "the site totals"
	if stored != "" {
		where = quoteValue(stored)
	}
	for i, m := range r.Metrics {
		why := metricUnavailable(m, stored, len(r.Dimensions) > 0)
		switch {
		case why == "":
		case m == MetricPercentage && len(r.Dimensions) == 0:
			return errorf("#/metrics/%d: metric %s %s", i, quoteValue(m), why)
		default:
			return errorf("#/metrics/%d: metric %s cannot be queried for %s: %s", i, quoteValue(m), where, why)
		}
	}
	return nil
}

func (r *Request) parseOrderBy(raw json.RawMessage) error {
	elems, err := decodeArray("#/order_by", raw)
	if err != nil {
		return err
	}
	for i, e := range elems {
		path := fmt.Sprintf("#/order_by/%d", i)
		var pair []string
		if isNull(e) || json.Unmarshal(e, &pair) != nil || len(pair) != 2 {
			return errorf("%s: must be [metric or dimension, \"asc\" or \"desc\"], got %s", path, rawText(e))
		}
		key, dir := pair[0], pair[1]
		if !slices.Contains(r.Metrics, key) && key != r.dimension() {
			return errorf("%s: %s is not a queried metric or dimension", path, quoteValue(key))
		}
		if dir != "asc" && dir != "desc" {
			return errorf("%s: direction must be \"asc\" or \"desc\", got %s", path, quoteValue(dir))
		}
		r.OrderBy = append(r.OrderBy, Order{Key: key, Direction: dir})
	}
	if len(r.OrderBy) == 0 {
		r.OrderBy = r.defaultOrder()
	}
	return nil
}

// defaultOrder is time ascending for a time dimension, else visitors (or the
// first metric) descending.
func (r *Request) defaultOrder() []Order {
	if d := r.dimension(); isTimeDimension(d) {
		return []Order{{Key: d, Direction: "asc"}}
	}
	key := r.Metrics[0]
	if slices.Contains(r.Metrics, MetricVisitors) {
		key = MetricVisitors
	}
	return []Order{{Key: key, Direction: "desc"}}
}

// decodeObject decodes a JSON object whose keys must come from allowed.
func decodeObject(path string, raw json.RawMessage, allowed ...string) (map[string]json.RawMessage, error) {
	var obj map[string]json.RawMessage
	if isNull(raw) || json.Unmarshal(raw, &obj) != nil || obj == nil {
		return nil, errorf("%s: must be an object, got %s", path, rawText(raw))
	}
	var unknown []string
	for k := range obj {
		if !slices.Contains(allowed, k) {
			unknown = append(unknown, quoteValue(k))
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, errorf("%s: unknown field %s; allowed fields: %s", path, strings.Join(unknown, ", "), strings.Join(allowed, ", "))
	}
	return obj, nil
}

func decodeInt(path string, raw json.RawMessage, min, max int) (int, error) {
	var n int
	if isNull(raw) || json.Unmarshal(raw, &n) != nil || n < min || n > max {
		return 0, errorf("%s: must be an integer from %d to %d, got %s", path, min, max, rawText(raw))
	}
	return n, nil
}

func decodeBool(path string, raw json.RawMessage) (bool, error) {
	var b bool
	if isNull(raw) || json.Unmarshal(raw, &b) != nil {
		return false, errorf("%s: must be true or false, got %s", path, rawText(raw))
	}
	return b, nil
}

func (r *Request) parsePagination(raw json.RawMessage) error {
	r.Pagination = Pagination{Limit: MaxLimit}
	if raw == nil {
		return nil
	}
	obj, err := decodeObject("#/pagination", raw, "limit", "offset")
	if err != nil {
		return err
	}
	if v, ok := obj["limit"]; ok {
		if r.Pagination.Limit, err = decodeInt("#/pagination/limit", v, 1, MaxLimit); err != nil {
			return err
		}
	}
	if v, ok := obj["offset"]; ok {
		if r.Pagination.Offset, err = decodeInt("#/pagination/offset", v, 0, maxOffset); err != nil {
			return err
		}
	}
	return nil
}

func (r *Request) parseInclude(raw json.RawMessage) error {
	if raw == nil {
		return nil
	}
	obj, err := decodeObject("#/include", raw, "imports", "time_labels", "total_rows", "comparisons")
	if err != nil {
		return err
	}
	if v, ok := obj["comparisons"]; ok && !isNull(v) {
		if r.Include.Comparisons, err = parseComparisons(v); err != nil {
			return err
		}
	}
	for _, f := range []struct {
		key string
		dst *bool
	}{
		{"imports", &r.Include.Imports},
		{"time_labels", &r.Include.TimeLabels},
		{"total_rows", &r.Include.TotalRows},
	} {
		if v, ok := obj[f.key]; ok {
			if *f.dst, err = decodeBool("#/include/"+f.key, v); err != nil {
				return err
			}
		}
	}
	if r.Include.TimeLabels && !isTimeDimension(r.dimension()) {
		return errorf("#/include/time_labels: requires a time dimension (time, time:hour or time:day)")
	}
	return nil
}
