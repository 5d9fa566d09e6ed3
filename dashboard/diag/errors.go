package diag

import (
	"context"
	"fmt"
	"sort"
	"time"

	"analytics/aggregator/sketch"
	"analytics/dashboard/query"
	"analytics/schema"
)

// Count is one value with its events and unique visitors.
type Count struct {
	Value    string
	Events   uint64
	Visitors uint64
}

// ErrorGroup is one fingerprint's errors over a range.
type ErrorGroup struct {
	Fingerprint string
	// Message is the most frequent normalised message of the fingerprint
	// (one in practice: the message is part of the fingerprint).
	Message  string
	Events   uint64
	Visitors uint64
	// Sources, Pages and Browsers break the fingerprint down, most events
	// first; rows under k visitors fold into "(other)".
	Sources, Pages, Browsers []Count
	// Trend is the events per bucket of the series, aligned with the
	// buckets passed to Errors.
	Trend []uint64
}

// cellRows reads the newest version per (goal, value, hour, writer) of the
// stats_hourly rows of dim, with their events and sketches, restricted to
// the given goals when there are some.
func cellRows(ctx context.Context, q query.Querier, site, dim string, goals []string, r Range,
	each func(goal, value string, hour time.Time, events uint64, sk []byte) error) error {
	where := "site = ? AND dimension = ? AND hour >= toDateTime(?, 'UTC') AND hour < toDateTime(?, 'UTC')"
	args := []any{site, dim, r.From.Unix(), r.To.Unix()}
	if len(goals) > 0 {
		where += " AND has(?, goal)"
		args = append(args, goals)
	}
	rows, err := q.Query(ctx, `
		SELECT goal, value, hour, argMax(events, ver), argMax(sketch, ver)
		FROM stats_hourly
		WHERE `+where+`
		GROUP BY goal, value, hour, writer`, args...)
	if err != nil {
		return fmt.Errorf("query %s rows: %w", dim, err)
	}
	defer rows.Close()
	for rows.Next() {
		var goal, value, sk string
		var hour time.Time
		var events uint64
		if err := rows.Scan(&goal, &value, &hour, &events, &sk); err != nil {
			return fmt.Errorf("read %s rows: %w", dim, err)
		}
		if err := each(goal, value, hour, events, []byte(sk)); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read %s rows: %w", dim, err)
	}
	return nil
}

type tally struct {
	events uint64
	sk     *sketch.Sketch
}

func (t *tally) add(events uint64, sk []byte) error {
	t.events += events
	if t.sk == nil {
		t.sk = sketch.New()
	}
	if len(sk) == 0 {
		return nil
	}
	return t.sk.MergeBinary(sk)
}

func (t *tally) visitors() uint64 {
	if t.sk == nil {
		return 0
	}
	return t.sk.Estimate()
}

// Errors returns the site's top JavaScript errors over r, most events first:
// at most limit fingerprints with at least k visitors each; the others are
// summed into one "(other)" group. buckets are the starts of the trend's
// buckets (ascending); bucket maps an hour to its bucket start.
func Errors(ctx context.Context, q query.Querier, site string, r Range, k, limit int, buckets []time.Time, bucket func(time.Time) time.Time) ([]ErrorGroup, error) {
	k = max(k, 1)
	slot := make(map[time.Time]int, len(buckets))
	for i, b := range buckets {
		slot[b] = i
	}
	type fp struct {
		tally
		trend []uint64
	}
	fps := map[string]*fp{}
	err := cellRows(ctx, q, site, schema.DimError, nil, r, func(_, value string, hour time.Time, events uint64, sk []byte) error {
		f := fps[value]
		if f == nil {
			f = &fp{trend: make([]uint64, len(buckets))}
			fps[value] = f
		}
		if i, ok := slot[bucket(hour)]; ok {
			f.trend[i] += events
		}
		return f.add(events, sk)
	})
	if err != nil {
		return nil, err
	}
	var groups []ErrorGroup
	other := ErrorGroup{Fingerprint: schema.OtherValue, Message: "(other errors)", Trend: make([]uint64, len(buckets))}
	otherSketch := sketch.New()
	for name, f := range fps {
		if name != schema.OtherValue && f.visitors() >= uint64(k) {
			groups = append(groups, ErrorGroup{Fingerprint: name, Events: f.events, Visitors: f.visitors(), Trend: f.trend})
			continue
		}
		other.Events += f.events
		for i, n := range f.trend {
			other.Trend[i] += n
		}
		if err := otherSketch.Merge(f.sk); err != nil {
			return nil, err
		}
	}
	sort.Slice(groups, func(i, j int) bool {
		if groups[i].Events != groups[j].Events {
			return groups[i].Events > groups[j].Events
		}
		return groups[i].Fingerprint < groups[j].Fingerprint
	})
	if limit > 0 && len(groups) > limit {
		for _, g := range groups[limit:] {
			other.Events += g.Events
			for i, n := range g.Trend {
				other.Trend[i] += n
			}
			if err := otherSketch.Merge(fps[g.Fingerprint].sk); err != nil {
				return nil, err
			}
		}
		groups = groups[:limit]
	}
	if len(groups) > 0 {
		names := make([]string, len(groups))
		index := map[string]int{}
		for i, g := range groups {
			names[i] = g.Fingerprint
			index[g.Fingerprint] = i
		}
		for _, part := range []struct {
			dim  string
			dest func(g *ErrorGroup) *[]Count
		}{
			{schema.DimErrorMessage, nil},
			{schema.DimErrorSource, func(g *ErrorGroup) *[]Count { return &g.Sources }},
			{schema.DimErrorPage, func(g *ErrorGroup) *[]Count { return &g.Pages }},
			{schema.DimErrorBrowser, func(g *ErrorGroup) *[]Count { return &g.Browsers }},
		} {
			per := map[string]map[string]*tally{}
			err := cellRows(ctx, q, site, part.dim, names, r, func(goal, value string, _ time.Time, events uint64, sk []byte) error {
				if per[goal] == nil {
					per[goal] = map[string]*tally{}
				}
				t := per[goal][value]
				if t == nil {
					t = &tally{}
					per[goal][value] = t
				}
				return t.add(events, sk)
			})
			if err != nil {
				return nil, err
			}
			for goal, values := range per {
				g := &groups[index[goal]]
				counts, err := fold(values, k)
				if err != nil {
					return nil, err
				}
				if part.dest == nil {
					// The message: the most frequent one, shown only when it
					// passes k on its own like any breakdown value.
					if len(counts) > 0 && counts[0].Value != schema.OtherValue {
						g.Message = counts[0].Value
					}
					continue
				}
				*part.dest(g) = counts
			}
		}
		for i := range groups {
			if groups[i].Message == "" {
				groups[i].Message = "(message seen by fewer visitors than the threshold)"
			}
		}
	}
	if other.Events > 0 {
		other.Visitors = otherSketch.Estimate()
		groups = append(groups, other)
	}
	return groups, nil
}

// fold turns per-value tallies into counts, most events first, with values
// under k visitors summed into "(other)".
func fold(values map[string]*tally, k int) ([]Count, error) {
	var out []Count
	var other tally
	for v, t := range values {
		if v != schema.OtherValue && t.visitors() >= uint64(k) {
			out = append(out, Count{Value: v, Events: t.events, Visitors: t.visitors()})
			continue
		}
		other.events += t.events
		if other.sk == nil {
			other.sk = sketch.New()
		}
		if err := other.sk.Merge(t.sk); err != nil {
			return nil, err
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Events != out[j].Events {
			return out[i].Events > out[j].Events
		}
		return out[i].Value < out[j].Value
	})
	if other.events > 0 {
		out = append(out, Count{Value: schema.OtherValue, Events: other.events, Visitors: other.visitors()})
	}
	return out, nil
}
