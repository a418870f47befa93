package sqlstore

import (
	"context"
	"fmt"
	"slices"

	"github.com/steward-nhi/steward"
)

// UsageFor reads the usage aggregates (table usage_aggregates) of these
// identities as posture summaries. Dimensions it does not know are
// ignored; "all" gives the totals. A long sorted list is read as one key
// range.
func (s *Store) UsageFor(ctx context.Context, ids []string) (map[string]*steward.UsageSummary, error) {
	out := map[string]*steward.UsageSummary{}
	if len(ids) == 0 {
		return out, nil
	}
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	scan := func(q string, args ...any) error {
		rows, err := s.readDB.QueryContext(ctx, rebind(s.engine, q), args...)
		if err != nil {
			return fmt.Errorf("usage summaries: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var key, dim, val string
			var st steward.UsageStat
			var first, last int64
			if err := rows.Scan(&key, &dim, &val, &st.Count, &first, &last); err != nil {
				return fmt.Errorf("usage summaries: %w", err)
			}
			if !want[key] {
				continue
			}
			st.FirstSeen, st.LastSeen = fromMicros(first), fromMicros(last)
			u := out[key]
			if u == nil {
				u = &steward.UsageSummary{}
				out[key] = u
			}
			addUsage(u, dim, val, st)
		}
		return rows.Err()
	}
	const sel = `SELECT subject_key, dimension, value, count, first_seen, last_seen FROM usage_aggregates`
	if len(ids) > 64 && slices.IsSorted(ids) {
		return out, scan(sel+` WHERE subject_key >= ? AND subject_key <= ?`, ids[0], ids[len(ids)-1])
	}
	err := inChunks(ids, 500, func(c []string) error {
		return scan(sel+` WHERE subject_key IN (`+placeholders(len(c))+`)`, anySlice(c)...)
	})
	return out, err
}

func addUsage(u *steward.UsageSummary, dim, val string, st steward.UsageStat) {
	put := func(m *map[string]steward.UsageStat) {
		if *m == nil {
			*m = map[string]steward.UsageStat{}
		}
		(*m)[val] = st
	}
	switch dim {
	case steward.DimAll:
		u.Total += st.Count
		if u.LastSeen == nil || st.LastSeen.After(*u.LastSeen) {
			t := st.LastSeen
			u.LastSeen = &t
		}
	case steward.DimAction:
		put(&u.Actions)
	case steward.DimResource:
		put(&u.Resources)
	case steward.DimSource:
		put(&u.Sources)
	case "environment":
		put(&u.Environments)
	case "user_agent":
		put(&u.UserAgents)
	case "workload":
		put(&u.Workloads)
	}
}
