package diag

import (
	"context"
	"fmt"
	"sort"
	"time"

	"analytics/dashboard/query"
)

// Drops returns the site's dropped events over r per reason, most first,
// from drops_minutely (newest version per minute, reason and writer).
func Drops(ctx context.Context, q query.Querier, site string, r Range) ([]Count, error) {
	rows, err := q.Query(ctx, `
		SELECT reason, sum(n) FROM (
			SELECT reason, argMax(dropped, ver) AS n
			FROM drops_minutely
			WHERE site = ? AND minute >= toDateTime(?, 'UTC') AND minute < toDateTime(?, 'UTC')
			GROUP BY minute, reason, writer
		)
		GROUP BY reason`, site, r.From.Unix(), r.To.Unix())
	if err != nil {
		return nil, fmt.Errorf("query drops_minutely: %w", err)
	}
	defer rows.Close()
	var out []Count
	for rows.Next() {
		var c Count
		if err := rows.Scan(&c.Value, &c.Events); err != nil {
			return nil, fmt.Errorf("read drops_minutely: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read drops_minutely: %w", err)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Events != out[j].Events {
			return out[i].Events > out[j].Events
		}
		return out[i].Value < out[j].Value
	})
	return out, nil
}

// Writer is one collector process seen writing the site's rows.
type Writer struct {
	ID string
	// LastWrite is when it last flushed rows of the site (the version of
	// its newest per-minute row: the flush time).
	LastWrite time.Time
	// Events are the events it counted for the site in the window.
	Events uint64
}

// Activity is the site's collector activity over the last hour before now.
type Activity struct {
	Writers []Writer
	// PerMinute are the events (all writers) of each of the last 60
	// minutes, oldest first; the current minute is the last.
	PerMinute [60]uint64
}

// RecentActivity reads stats_minutely: which collector processes wrote rows
// of the site in the hour before now, when each last did, and the events
// per minute. A writer that stopped flushing shows an old LastWrite; a site
// that gets no events shows zeros.
func RecentActivity(ctx context.Context, q query.Querier, site string, now time.Time) (*Activity, error) {
	end := now.UTC().Truncate(time.Minute)
	from := end.Add(-59 * time.Minute)
	rows, err := q.Query(ctx, `
		SELECT minute, writer, max(ver), argMax(events, ver)
		FROM stats_minutely
		WHERE site = ? AND minute >= toDateTime(?, 'UTC')
		GROUP BY minute, writer`, site, from.Unix())
	if err != nil {
		return nil, fmt.Errorf("query stats_minutely: %w", err)
	}
	defer rows.Close()
	act := &Activity{}
	writers := map[string]*Writer{}
	for rows.Next() {
		var minute time.Time
		var writer string
		var ver, events uint64
		if err := rows.Scan(&minute, &writer, &ver, &events); err != nil {
			return nil, fmt.Errorf("read stats_minutely: %w", err)
		}
		w := writers[writer]
		if w == nil {
			w = &Writer{ID: writer}
			writers[writer] = w
		}
		// ver is the flush's time in Unix nanoseconds (aggregator.Flush).
		if t := time.Unix(0, int64(ver)).UTC(); t.After(w.LastWrite) {
			w.LastWrite = t
		}
		w.Events += events
		if i := int(minute.Sub(from) / time.Minute); i >= 0 && i < len(act.PerMinute) {
			act.PerMinute[i] += events
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read stats_minutely: %w", err)
	}
	for _, w := range writers {
		act.Writers = append(act.Writers, *w)
	}
	sort.Slice(act.Writers, func(i, j int) bool { return act.Writers[i].LastWrite.After(act.Writers[j].LastWrite) })
	return act, nil
}
