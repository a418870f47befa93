package sqlstore

import (
	"context"
	"database/sql"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
)

// TestUpgradeKeepsUsageAndSnapshots builds a database at migration 8 with
// usage events, aggregates and a daily snapshot, opens it with this
// binary (migrations 9–11 rebuild the aggregates table and add snapshot
// columns) and checks that nothing was lost and the queries still work.
func TestUpgradeKeepsUsageAndSnapshots(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if err := migrateTo(ctx, db, SQLite, 8); err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	for _, q := range []string{
		`INSERT INTO usage_events (id, time, kind, identity_id, subject, action, outcome) VALUES
			('use_1', 1000, 'ingest', 'nhi_a', '', 's3:GetObject', 'ok'),
			('use_2', 2000, 'decision', '', 'User:alice', 'read', 'allow')`,
		`INSERT INTO usage_aggregates (subject_key, dimension, value, count, first_seen, last_seen) VALUES
			('nhi_a', 'all', '', 7, 1000, 5000), ('nhi_a', 'action', 's3:GetObject', 7, 1000, 5000),
			('unknown:AKIAOLD', 'all', '', 3, 100, 900)`,
		`INSERT INTO web_daily_stats (day, identities, live, unowned, orphaned, expired, recorded_at) VALUES (` + strconv.FormatInt(micros(day), 10) + `, 10, 9, 1, 0, 0, 1)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	defer s.Close()
	aggs, err := s.UsageAggregates(ctx, "nhi_a")
	if err != nil || len(aggs) != 2 || aggs[0].Count != 7 {
		t.Fatalf("aggregates after the upgrade: %+v %v", aggs, err)
	}
	unknown, err := s.UnknownCallers(ctx, 10)
	if err != nil || len(unknown) != 1 || unknown[0].Key != "unknown:AKIAOLD" || unknown[0].Count != 3 {
		t.Fatalf("unknown callers after the upgrade: %+v %v", unknown, err)
	}
	mine, err := s.ListUsage(ctx, steward.UsageFilter{IdentityID: "nhi_a"})
	if err != nil || len(mine.Items) != 1 || mine.Items[0].ID != "use_1" {
		t.Fatalf("usage of nhi_a after the upgrade: %+v %v", mine, err)
	}
	alice, err := s.ListUsage(ctx, steward.UsageFilter{Subject: "User:alice"})
	if err != nil || len(alice.Items) != 1 {
		t.Fatalf("usage of User:alice after the upgrade: %+v %v", alice, err)
	}
	snaps, err := s.ListDailyStats(ctx, day.Add(-time.Hour))
	if err != nil || len(snaps) != 1 || snaps[0].Live != 9 || snaps[0].OpenFindings != -1 || snaps[0].SevereFindings != -1 {
		t.Fatalf("daily snapshots after the upgrade: %+v %v", snaps, err)
	}
	// New writes go to the rebuilt aggregates table.
	if err := s.AppendUsage(ctx, []steward.UsageEvent{{ID: "use_3", Time: fromMicros(6000), Kind: steward.UsageIngest, IdentityID: "nhi_a", Action: "s3:GetObject", Outcome: "ok"}}); err != nil {
		t.Fatal(err)
	}
	if aggs, _ = s.UsageAggregates(ctx, "nhi_a"); aggs[0].Count != 8 {
		t.Fatalf("aggregates after a new event: %+v", aggs)
	}
}
