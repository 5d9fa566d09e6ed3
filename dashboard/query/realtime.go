package query

import (
	"context"
	"fmt"
	"time"

	"analytics/aggregator/sketch"
)

// RealtimeWindow is how far back "realtime visitors" look.
const RealtimeWindow = 5 * time.Minute

// Realtime returns the unique visitors of site in the RealtimeWindow before
// now (the current, incomplete minute included), from the per-minute
// sketches in stats_minutely: latest version per minute and writer, merged.
func Realtime(ctx context.Context, q Querier, site string, now time.Time) (uint64, error) {
	from := now.UTC().Truncate(time.Minute).Add(-RealtimeWindow + time.Minute)
	rows, err := q.Query(ctx, `
		SELECT argMax(sketch, ver)
		FROM stats_minutely
		WHERE site = ? AND minute >= toDateTime(?, 'UTC')
		GROUP BY minute, writer`, site, from.Unix())
	if err != nil {
		return 0, fmt.Errorf("query stats_minutely: %w", err)
	}
	defer rows.Close()
	all := sketch.New()
	for rows.Next() {
		var b string
		if err := rows.Scan(&b); err != nil {
			return 0, fmt.Errorf("read stats_minutely: %w", err)
		}
		if err := all.MergeBinary([]byte(b)); err != nil {
			return 0, fmt.Errorf("read stats_minutely: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("read stats_minutely: %w", err)
	}
	return all.Estimate(), nil
}
