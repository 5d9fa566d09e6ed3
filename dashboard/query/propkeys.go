package query

import (
	"context"
	"fmt"
	"strings"
	"time"

	"analytics/schema"
)

// PropKeys lists the custom property keys stored for the custom event goal
// of site in the hours [start, end), sorted, at most limit of them, only
// those the Stats API can query (see propKeyRe). Keys are chosen by the
// site's own tracking code, not by visitors' data; their values are read
// through the Stats API, with its k-anonymity fold.
func PropKeys(ctx context.Context, q Querier, site, goal string, start, end time.Time, limit int) ([]string, error) {
	rs, err := q.Query(ctx, `SELECT DISTINCT dimension FROM stats_hourly
WHERE site = ? AND goal = ? AND hour >= ? AND hour < ? AND startsWith(dimension, ?)
ORDER BY dimension LIMIT ?`, site, goal, start.UTC(), end.UTC(), schema.DimPropsPrefix, uint64(limit))
	if err != nil {
		return nil, fmt.Errorf("query property keys: %w", err)
	}
	defer rs.Close()
	var keys []string
	for rs.Next() {
		var d string
		if err := rs.Scan(&d); err != nil {
			return nil, fmt.Errorf("scan property key: %w", err)
		}
		if isPropsDimension(d) {
			keys = append(keys, strings.TrimPrefix(d, schema.DimPropsPrefix))
		}
	}
	return keys, rs.Err()
}
