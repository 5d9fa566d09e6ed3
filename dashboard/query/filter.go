package query

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"analytics/schema"
)

// Filter operators.
const (
	OpIs          = "is"
	OpIsNot       = "is_not"
	OpContains    = "contains"
	OpContainsNot = "contains_not"
	OpAnd         = "and"
	OpOr          = "or"
	OpNot         = "not"
)

const oneDimensionHelp = "aggregate-only storage keeps one dimension per row, so a query can filter on one dimension only, " +
	"and only on the dimension it breaks down by when it has one (the one exception: event:goal filters next to an event:props dimension)"

// Filter is one expression of a request's filters: a condition on one
// dimension (Op is, is_not, contains or contains_not, with Dimension and
// Values), or a combination (and, or: Children; not: one child).
//
// A condition tests the dimension values that a breakdown by that dimension
// would show: "(not set)" and "Direct / None" for empty values, and "(other)"
// for the rows folded by the k-anonymity threshold. Values below the
// threshold therefore cannot be selected by name.
type Filter struct {
	Op        string
	Dimension string
	Values    []string
	// CaseInsensitive is Plausible's {"case_sensitive": false} modifier.
	CaseInsensitive bool
	Children        []Filter
}

// MarshalJSON writes the filter in the Stats API form.
func (f Filter) MarshalJSON() ([]byte, error) {
	switch f.Op {
	case OpAnd, OpOr:
		children := f.Children
		if children == nil {
			children = []Filter{}
		}
		return json.Marshal([]any{f.Op, children})
	case OpNot:
		if len(f.Children) != 1 {
			return nil, fmt.Errorf("filter %q needs one child, has %d", f.Op, len(f.Children))
		}
		return json.Marshal([]any{f.Op, f.Children[0]})
	}
	values := f.Values
	if values == nil {
		values = []string{}
	}
	if f.CaseInsensitive {
		return json.Marshal([]any{f.Op, f.Dimension, values, map[string]bool{"case_sensitive": false}})
	}
	return json.Marshal([]any{f.Op, f.Dimension, values})
}

// match reports whether a displayed dimension value passes the filter.
func (f *Filter) match(label string) bool {
	switch f.Op {
	case OpAnd:
		for i := range f.Children {
			if !f.Children[i].match(label) {
				return false
			}
		}
		return true
	case OpOr:
		for i := range f.Children {
			if f.Children[i].match(label) {
				return true
			}
		}
		return false
	case OpNot:
		return !f.Children[0].match(label)
	case OpIs:
		return f.anyValue(label, f.equal)
	case OpIsNot:
		return !f.anyValue(label, f.equal)
	case OpContains:
		return f.anyValue(label, f.contains)
	case OpContainsNot:
		return !f.anyValue(label, f.contains)
	}
	return false
}

func (f *Filter) anyValue(label string, pred func(label, v string) bool) bool {
	for _, v := range f.Values {
		if pred(label, v) {
			return true
		}
	}
	return false
}

func (f *Filter) equal(label, v string) bool {
	if f.CaseInsensitive {
		return strings.EqualFold(label, v)
	}
	return label == v
}

func (f *Filter) contains(label, v string) bool {
	if f.CaseInsensitive {
		return strings.Contains(strings.ToLower(label), strings.ToLower(v))
	}
	return strings.Contains(label, v)
}

// matchAll reports whether a label passes every filter (they are ANDed).
func matchAll(filters []Filter, label string) bool {
	for i := range filters {
		if !filters[i].match(label) {
			return false
		}
	}
	return true
}

// pushdown returns stored values that a row must have to pass the filters,
// from a top-level case-sensitive "is", or nil when the filters do not
// restrict the values that way. It lets the SQL skip rows early; the filters
// still run on the results.
func pushdown(filters []Filter) []string {
	for _, f := range filters {
		if f.Op != OpIs || f.CaseInsensitive || slices.Contains(f.Values, OtherLabel) {
			continue
		}
		var stored []string
		for _, v := range f.Values {
			stored = append(stored, v)
			if v == emptyLabel(f.Dimension) {
				stored = append(stored, "")
			}
		}
		return stored
	}
	return nil
}

// primaryFilterDimension is the dimension whose rows the filters select:
// the event:props dimension when event:goal filters accompany one, else the
// one dimension the filters test, "" without filters.
func primaryFilterDimension(filters []Filter) string {
	first := ""
	for i := range filters {
		d := filters[i].dimension()
		if strings.HasPrefix(d, schema.DimPropsPrefix) {
			return d
		}
		if first == "" {
			first = d
		}
	}
	return first
}

// splitFilters separates, for a query that reads the stored dimension
// stored, the top-level event:goal filters that select the custom events of
// event:props rows (goal) from the filters on the values read (primary).
func splitFilters(filters []Filter, stored string) (primary, goal []Filter) {
	if kindOf(stored) != rowProps {
		return filters, nil
	}
	for _, f := range filters {
		if f.dimension() == schema.DimGoal {
			goal = append(goal, f)
		} else {
			primary = append(primary, f)
		}
	}
	return primary, goal
}

func (f *Filter) dimension() string {
	if f.Dimension != "" {
		return f.Dimension
	}
	for i := range f.Children {
		if d := f.Children[i].dimension(); d != "" {
			return d
		}
	}
	return ""
}

func (r *Request) parseFilters(raw json.RawMessage) error {
	elems, err := decodeArray("#/filters", raw)
	if err != nil {
		return err
	}
	p := filterParser{breakdown: r.dimension()}
	if isTimeDimension(p.breakdown) {
		p.breakdown = ""
	}
	for i, e := range elems {
		p.entryDims = p.entryDims[:0]
		f, err := p.parse(fmt.Sprintf("#/filters/%d", i), e, 1)
		if err != nil {
			return err
		}
		r.Filters = append(r.Filters, f)
	}
	return nil
}

// filterParser parses filter expressions and checks that all of them test
// the same dimension, or an event:props dimension and event:goal, with the
// event:goal conditions in top-level filters of their own.
type filterParser struct {
	// breakdown is the non-time dimension of the query, if any.
	breakdown string
	// dims are the distinct dimensions the conditions test, in order.
	dims []string
	// entryDims are the dimensions tested by the current top-level filter.
	entryDims []string
	nodes     int
}

// admit checks that a condition on dim may join the conditions seen so far.
func (p *filterParser) admit(path, dim string) error {
	goalWithProps := func(a, b string) bool {
		return (a == schema.DimGoal && isPropsDimension(b)) || (isPropsDimension(a) && b == schema.DimGoal)
	}
	switch {
	case p.breakdown != "":
		// A breakdown by event:props may be narrowed to custom events; a
		// breakdown by event:goal reads no property rows.
		if dim != p.breakdown && (dim != schema.DimGoal || !isPropsDimension(p.breakdown)) {
			return errorf("%s: cannot filter by %s in a breakdown by %s: %s", path, quoteValue(dim), quoteValue(p.breakdown), oneDimensionHelp)
		}
	case len(p.dims) == 0 || slices.Contains(p.dims, dim):
	case len(p.dims) == 1 && goalWithProps(p.dims[0], dim):
	default:
		other := p.dims[0]
		for _, d := range p.dims {
			if d != schema.DimGoal {
				other = d
				break
			}
		}
		return errorf("%s: cannot filter by %s together with %s: %s", path, quoteValue(dim), quoteValue(other), oneDimensionHelp)
	}
	if !slices.Contains(p.dims, dim) {
		p.dims = append(p.dims, dim)
	}
	if !slices.Contains(p.entryDims, dim) {
		if len(p.entryDims) > 0 {
			return errorf("%s: cannot combine %s with %s in one filter expression: the event:goal conditions select the custom events whose property rows are read, so give them as top-level filters of their own",
				path, quoteValue(dim), quoteValue(p.entryDims[0]))
		}
		p.entryDims = append(p.entryDims, dim)
	}
	return nil
}

func (p *filterParser) parse(path string, raw json.RawMessage, depth int) (Filter, error) {
	p.nodes++
	if p.nodes > maxFilterNodes {
		return Filter{}, errorf("%s: more than %d filter expressions", path, maxFilterNodes)
	}
	if depth > maxFilterDepth {
		return Filter{}, errorf("%s: filters nest deeper than %d levels", path, maxFilterDepth)
	}
	var elems []json.RawMessage
	if isNull(raw) || json.Unmarshal(raw, &elems) != nil || len(elems) == 0 {
		return Filter{}, errorf("%s: a filter must be an array like [\"is\", \"visit:browser\", [\"Firefox\"]], got %s", path, rawText(raw))
	}
	op, err := decodeString(path+"/0", elems[0])
	if err != nil {
		return Filter{}, err
	}
	switch op {
	case OpIs, OpIsNot, OpContains, OpContainsNot:
		return p.parseCondition(path, op, elems)
	case OpAnd, OpOr:
		if len(elems) != 2 {
			return Filter{}, errorf("%s: %s takes one array of filters, like [%q, [filter, ...]]", path, quoteValue(op), op)
		}
		children, err := decodeArray(path+"/1", elems[1])
		if err != nil {
			return Filter{}, err
		}
		if len(children) == 0 {
			return Filter{}, errorf("%s/1: %s needs at least one filter", path, quoteValue(op))
		}
		f := Filter{Op: op}
		for i, c := range children {
			child, err := p.parse(fmt.Sprintf("%s/1/%d", path, i), c, depth+1)
			if err != nil {
				return Filter{}, err
			}
			f.Children = append(f.Children, child)
		}
		return f, nil
	case OpNot:
		if len(elems) != 2 {
			return Filter{}, errorf("%s: \"not\" takes one filter, like [\"not\", filter]", path)
		}
		child, err := p.parse(path+"/1", elems[1], depth+1)
		if err != nil {
			return Filter{}, err
		}
		return Filter{Op: op, Children: []Filter{child}}, nil
	case "matches", "matches_not", "matches_wildcard", "matches_wildcard_not":
		return Filter{}, errorf("%s/0: filter operator %s is not supported yet; supported: is, is_not, contains, contains_not, and, or, not", path, quoteValue(op))
	case "has_done", "has_not_done":
		return Filter{}, errorf("%s/0: behavioural filter %s is not supported: aggregate-only storage keeps no per-visitor history", path, quoteValue(op))
	}
	return Filter{}, errorf("%s/0: invalid filter operator %s; supported: is, is_not, contains, contains_not, and, or, not", path, quoteValue(op))
}

func (p *filterParser) parseCondition(path, op string, elems []json.RawMessage) (Filter, error) {
	if len(elems) != 3 && len(elems) != 4 {
		return Filter{}, errorf("%s: a %s filter is [%q, dimension, [values...]] with an optional {\"case_sensitive\": false}", path, quoteValue(op), op)
	}
	dim, err := decodeString(path+"/1", elems[1])
	if err != nil {
		return Filter{}, err
	}
	if strings.HasPrefix(dim, "segment") {
		return Filter{}, errorf("%s/1: segment filters are not supported", path)
	}
	if isTimeDimension(dim) {
		return Filter{}, errorf("%s/1: cannot filter by %s; use date_range", path, quoteValue(dim))
	}
	if err := checkDimension(path+"/1", dim); err != nil {
		return Filter{}, err
	}
	if err := p.admit(path+"/1", dim); err != nil {
		return Filter{}, err
	}
	values, err := decodeArray(path+"/2", elems[2])
	if err != nil {
		return Filter{}, err
	}
	if len(values) == 0 || len(values) > maxFilterValues {
		return Filter{}, errorf("%s/2: needs 1 to %d values, got %d", path, maxFilterValues, len(values))
	}
	f := Filter{Op: op, Dimension: dim}
	for i, raw := range values {
		vpath := fmt.Sprintf("%s/2/%d", path, i)
		v, err := decodeString(vpath, raw)
		if err != nil {
			return Filter{}, err
		}
		if len(v) > maxFilterValueLen {
			return Filter{}, errorf("%s: longer than %d bytes", vpath, maxFilterValueLen)
		}
		f.Values = append(f.Values, v)
	}
	if len(elems) == 4 {
		obj, err := decodeObject(path+"/3", elems[3], "case_sensitive")
		if err != nil {
			return Filter{}, err
		}
		if v, ok := obj["case_sensitive"]; ok {
			sensitive, err := decodeBool(path+"/3/case_sensitive", v)
			if err != nil {
				return Filter{}, err
			}
			f.CaseInsensitive = !sensitive
		}
	}
	return f, nil
}
