package sqlstore

import (
	"context"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
)

// The authentication trend (the dashboard's share of federated against
// static authentications, by environment) is kept as usage aggregates,
// written with the events in the same transaction: one row per (shard,
// UTC day, federated or static, environment) under the subject keys
// usage:auth:0..3, dimension auth_day, value "2006-01-02|federated|prod".
// Reading a range of days is a range scan of the aggregates' primary key
// per shard (a few rows per day), however many events the log holds. A
// batch adds to one shard, picked from its first event's id, so that
// concurrent writers (PostgreSQL nodes, ingest) seldom wait on each
// other's rows.
const (
	authTrendKey    = "usage:auth:"
	authTrendDim    = "auth_day"
	authTrendShards = 4
	dayLayout       = "2006-01-02"
)

// authTrendSQL reads the trend's rows of the shards in a range of days.
var authTrendSQL = `SELECT value, SUM(count) FROM usage_aggregates WHERE subject_key IN (` + placeholders(authTrendShards) + `)
	AND dimension = ? AND value >= ? AND value < ? GROUP BY value`

const (
	authFederated = "federated"
	authStatic    = "static"
)

// authTrendShard returns the subject key the batch evs adds to.
func authTrendShard(evs []steward.UsageEvent) string {
	h := fnv.New32a()
	if len(evs) > 0 {
		h.Write([]byte(evs[0].ID))
	}
	return authTrendKey + strconv.Itoa(int(h.Sum32()%authTrendShards))
}

// authTrendAgg returns the trend aggregate e counts in, if any: successful
// authentications only.
func authTrendAgg(shard string, e *steward.UsageEvent) (aggKey, bool) {
	if e.Kind != steward.UsageAuth || e.Outcome != "ok" {
		return aggKey{}, false
	}
	class := authStatic
	if steward.AuthFederated(*e) {
		class = authFederated
	}
	return aggKey{shard, authTrendDim, e.Time.UTC().Format(dayLayout) + "|" + class + "|" + e.Environment}, true
}

// AuthTrend returns the successful authentications per UTC day in
// [from, to), by environment, federated against static.
func (s *Store) AuthTrend(ctx context.Context, from, to time.Time) (_ []steward.AuthDay, err error) {
	start := time.Now()
	defer func() { s.track("auth_trend", start, err) }()
	// Whole days: the day of from, up to the day of to, which counts when
	// to is past its start.
	end := to.UTC().Truncate(24 * time.Hour)
	if end.Before(to) {
		end = end.Add(24 * time.Hour)
	}
	lo, hi := from.UTC().Format(dayLayout), end.Format(dayLayout)
	if hi <= lo {
		return []steward.AuthDay{}, nil
	}
	keys := make([]any, authTrendShards)
	for i := range keys {
		keys[i] = authTrendKey + strconv.Itoa(i)
	}
	type dayEnv struct{ day, env string }
	sums := map[dayEnv]*steward.AuthDay{}
	args := append(keys, authTrendDim, lo, hi)
	err = eachRow(ctx, s.readPool(), "auth trend", func(row rowScanner) error {
		var v string
		var n int64
		if err := row.Scan(&v, &n); err != nil {
			return err
		}
		parts := strings.SplitN(v, "|", 3)
		if len(parts) != 3 {
			return nil
		}
		day, err := time.Parse(dayLayout, parts[0])
		if err != nil {
			return nil
		}
		k := dayEnv{parts[0], parts[2]}
		d := sums[k]
		if d == nil {
			d = &steward.AuthDay{Day: day, Environment: parts[2]}
			sums[k] = d
		}
		if parts[1] == authFederated {
			d.Federated += n
		} else {
			d.Static += n
		}
		return nil
	}, authTrendSQL, args...)
	if err != nil {
		return nil, err
	}
	out := make([]steward.AuthDay, 0, len(sums))
	for _, d := range sums {
		out = append(out, *d)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Day.Equal(out[j].Day) {
			return out[i].Day.Before(out[j].Day)
		}
		return out[i].Environment < out[j].Environment
	})
	return out, nil
}
