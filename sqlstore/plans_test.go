package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
)

// TestIdentityListsUseAnIndex checks, on both engines, that every list of
// the inventory (each ListIdentities filter alone and each sort, as the
// API, the console, owner pages and posture ask for them) and the
// lookups whose indexes migration 0017 made partial read their table
// through an index rather than by scanning it. The identities table carries fewer indexes than it
// has filters (PostgreSQL migration 0018: each index costs every imported row), so a
// filter without its own index must still find one to walk.
func TestIdentityListsUseAnIndex(t *testing.T) {
	ctx := context.Background()
	engines := map[string]func(t *testing.T) string{
		"sqlite": func(t *testing.T) string { return filepath.Join(t.TempDir(), "plans.db") },
	}
	if testPostgresURL() != "" {
		engines["postgres"] = freshSchema
	}
	until := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	for name, dsn := range engines {
		t.Run(name, func(t *testing.T) {
			s, err := Open(ctx, dsn(t), Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			owners := loadPlanEstate(t, s, 4000)
			// Planner statistics as an import leaves them.
			if err := s.Optimize(ctx); err != nil {
				t.Fatal(err)
			}
			cases := []struct {
				name string
				f    steward.IdentityFilter
			}{
				{"the default list, newest first", steward.IdentityFilter{Sort: "-created_at"}},
				{"sorted by name", steward.IdentityFilter{Sort: "name"}},
				{"sorted by name, descending", steward.IdentityFilter{Sort: "-name"}},
				{"sorted by expiry", steward.IdentityFilter{Sort: "expires_at"}},
				{"sorted by last use", steward.IdentityFilter{Sort: "last_used_at"}},
				{"sorted by last rotation, descending", steward.IdentityFilter{Sort: "-last_rotated_at"}},
				{"an owner's page", steward.IdentityFilter{OwnerID: owners[3]}},
				{"an owner's own list (owner role)", steward.IdentityFilter{OwnedBy: owners[3]}},
				{"unowned", steward.IdentityFilter{OwnerID: "none"}},
				{"a team", steward.IdentityFilter{Team: "team-07"}},
				{"a common kind", steward.IdentityFilter{Kind: steward.KindServiceAccount}},
				{"a rare kind", steward.IdentityFilter{Kind: steward.KindAIAgent}},
				{"a common provider", steward.IdentityFilter{Provider: "aws"}},
				{"a rare provider", steward.IdentityFilter{Provider: "okta"}},
				{"an environment", steward.IdentityFilter{Environment: "dev"}},
				{"active", steward.IdentityFilter{Status: steward.StatusActive}},
				{"revoked", steward.IdentityFilter{Status: steward.StatusRevoked}},
				{"a common tier", steward.IdentityFilter{Sensitivity: steward.SensitivityMedium}},
				{"a rare tier", steward.IdentityFilter{Sensitivity: steward.SensitivityCritical}},
				{"imported", steward.IdentityFilter{Source: steward.SourceImported}},
				{"discovered", steward.IdentityFilter{Source: steward.SourceDiscovered}},
				{"expiring", steward.IdentityFilter{ExpiresBefore: &until}},
				{"active and expired (the expiry sweep)", steward.IdentityFilter{Status: steward.StatusActive, ExpiresBefore: &until, Limit: 200}},
				{"unused since", steward.IdentityFilter{UnusedSince: &until}},
				{"a review scope", steward.IdentityFilter{Team: "team-07", Sensitivity: steward.SensitivityHigh, Environment: "prod"}},
				{"some ids (owner-scoped tokens)", steward.IdentityFilter{IDs: []string{"nhi_plan_000010", "nhi_plan_000020"}}},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					f := c.f
					if f.Limit == 0 {
						f.Limit = steward.DefaultLimit
					}
					if err := f.Validate(); err != nil {
						t.Fatal(err)
					}
					q, args, _, err := identityListSQL(f)
					if err != nil {
						t.Fatal(err)
					}
					_, generic := checkPlan(t, s, q+fmt.Sprintf(" LIMIT %d", f.Limit+1), args)
					// A rare kind is found through its own index even in a
					// generic plan: the kind is a literal of the statement.
					if c.f.Kind == steward.KindAIAgent && s.engine == Postgres && !strings.Contains(generic, "identities_kind") {
						t.Errorf("the generic plan of a rare kind's list does not use identities_kind:\n%s", generic)
					}
				})
			}
			for _, c := range []struct {
				name, q string
				args    []any
			}{
				{"the owners' counts", `SELECT owner_id, COUNT(*) FROM identities WHERE owner_id IN (?, ?) GROUP BY owner_id`, []any{owners[1], owners[2]}},
				{"an import's lookup by reference", `SELECT id FROM identities WHERE provider = ? AND external_ref IN (?, ?)`, []any{"aws", "ref-000001", "ref-000002"}},
				// The partial indexes of migration 0017.
				{"a credential by digest", `SELECT id FROM credentials WHERE digest = ?`, []any{"d1"}},
				{"client secrets by client id", `SELECT id FROM credentials WHERE client_id = ? ORDER BY created_at DESC, id DESC`, []any{"c1"}},
				{"the broker's expiry sweep", `SELECT id FROM credentials WHERE status = 'active' AND digest IS NOT NULL AND ((expires_at IS NOT NULL AND expires_at <= ?) OR (overlap_until IS NOT NULL AND overlap_until <= ?)) ORDER BY expires_at, id LIMIT ?`,
					[]any{until.UnixMicro(), until.UnixMicro(), 500}},
				{"events in a time range", `SELECT seq FROM events WHERE time >= ? AND time < ? ORDER BY seq DESC LIMIT 51`, []any{until.UnixMicro(), until.Add(time.Hour).UnixMicro()}},
			} {
				t.Run(c.name, func(t *testing.T) { checkPlan(t, s, c.q, c.args) })
			}
		})
	}
}

// checkPlan fails t unless the plan of query q reads its table through an
// index. On PostgreSQL it also checks the generic plan, made without the
// parameters' values, which the server may run for a statement that pgx
// prepared and cached once it has run a few times; it returns both plans.
func checkPlan(t *testing.T, s *Store, q string, args []any) (custom, generic string) {
	t.Helper()
	ctx := context.Background()
	conn, err := s.readDB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	explain := func(q string, args ...any) string {
		t.Helper()
		return queryPlan(ctx, t, conn, q, args...)
	}
	if s.engine != Postgres {
		custom = explain(`EXPLAIN QUERY PLAN `+q, args...)
		checkIndexed(t, s.engine, q, "", custom)
		return custom, ""
	}
	custom = explain(`EXPLAIN `+rebind(s.engine, q), args...)
	checkIndexed(t, s.engine, q, "", custom)
	// The generic plan of the same statement: PREPARE it, then EXPLAIN
	// EXECUTE it with the arguments as literals.
	if _, err := conn.ExecContext(ctx, `SET plan_cache_mode = force_generic_plan`); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(ctx, `RESET plan_cache_mode`)
	if _, err := conn.ExecContext(ctx, `PREPARE plan_check AS `+rebind(s.engine, q)); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(ctx, `DEALLOCATE plan_check`)
	call := `plan_check`
	if len(args) > 0 {
		lits := make([]string, len(args))
		for k, a := range args {
			if v, ok := a.(string); ok {
				lits[k] = "'" + strings.ReplaceAll(v, "'", "''") + "'"
			} else {
				lits[k] = fmt.Sprint(a)
			}
		}
		call += `(` + strings.Join(lits, ", ") + `)`
	}
	generic = explain(`EXPLAIN EXECUTE ` + call)
	checkIndexed(t, s.engine, q, "generic ", generic)
	return custom, generic
}

// checkIndexed fails t when plan reads a table without an index.
func checkIndexed(t *testing.T, e Engine, q, which, plan string) {
	t.Helper()
	var scans, indexed bool
	if e == Postgres {
		scans = strings.Contains(plan, "Seq Scan on ")
		indexed = strings.Contains(plan, "Index Scan") || strings.Contains(plan, "Index Only Scan")
	} else {
		for _, l := range strings.Split(plan, "\n") {
			if strings.HasPrefix(l, "SCAN ") && !strings.Contains(l, "INDEX") {
				scans = true
			}
		}
		indexed = strings.Contains(plan, "INDEX") || strings.Contains(plan, "PRIMARY KEY")
	}
	if scans || !indexed {
		t.Errorf("%s\nthe %splan reads its table without an index:\n%s", q, which, plan)
	} else if testing.Verbose() {
		t.Logf("%s%s", which, plan)
	}
}

// loadPlanEstate writes n identities with a skewed spread of values, as a
// real estate has (most imported, active, service accounts on AWS; few
// AI agents, Okta apps, revoked or critical ones), and returns the owners'
// ids.
func loadPlanEstate(t *testing.T, s *Store, n int) []string {
	t.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(weighted ...any) string {
		total := 0
		for k := 1; k < len(weighted); k += 2 {
			total += weighted[k].(int)
		}
		r := rng.IntN(total)
		for k := 0; k < len(weighted); k += 2 {
			if r -= weighted[k+1].(int); r < 0 {
				return fmt.Sprint(weighted[k])
			}
		}
		return fmt.Sprint(weighted[0])
	}
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var owners []string
	err := s.Update(ctx, func(tx steward.Tx) error {
		for k := range 50 {
			o := &steward.Owner{ID: fmt.Sprintf("own_plan_%03d", k), Name: fmt.Sprintf("Owner %d", k), Email: fmt.Sprintf("o%d@example.com", k),
				Kind: steward.OwnerPerson, Status: steward.OwnerActive, CreatedAt: base, UpdatedAt: base, Version: 1}
			if err := tx.CreateOwner(ctx, o); err != nil {
				return err
			}
			owners = append(owners, o.ID)
		}
		is := make([]*steward.Identity, 0, n)
		for k := range n {
			at := func(p int) *time.Time {
				if rng.IntN(100) >= p {
					return nil
				}
				v := base.Add(time.Duration(rng.Int64N(int64(900 * 24 * time.Hour))))
				return &v
			}
			i := &steward.Identity{
				ID: fmt.Sprintf("nhi_plan_%06d", k), Name: fmt.Sprintf("svc-%06d", rng.IntN(1_000_000)),
				Kind:     steward.Kind(pick(steward.KindServiceAccount, 85, steward.KindAPIKey, 10, steward.KindBot, 4, steward.KindAIAgent, 1)),
				Provider: pick("aws", 80, "github", 12, "gcp", 7, "okta", 1), ExternalRef: fmt.Sprintf("ref-%06d", k),
				Team: fmt.Sprintf("team-%02d", rng.IntN(40)), Environment: pick("prod", 60, "staging", 25, "dev", 15),
				Sensitivity: steward.Sensitivity(pick(steward.SensitivityMedium, 60, steward.SensitivityLow, 25, steward.SensitivityHigh, 14, steward.SensitivityCritical, 1)),
				Source:      steward.Source(pick(steward.SourceImported, 90, steward.SourceRegistered, 9, steward.SourceDiscovered, 1)),
				Status:      steward.Status(pick(steward.StatusActive, 94, steward.StatusSuspended, 3, steward.StatusExpired, 2, steward.StatusRevoked, 1)),
				CreatedAt:   base.Add(time.Duration(rng.Int64N(int64(800 * 24 * time.Hour)))), ExpiresAt: at(30), LastUsedAt: at(70), LastRotatedAt: at(50),
				Scopes: []string{}, Labels: map[string]string{}, Version: 1,
			}
			i.UpdatedAt = i.CreatedAt
			if rng.IntN(10) < 7 {
				i.OwnerID = owners[rng.IntN(len(owners))]
			}
			is = append(is, i)
		}
		if err := tx.CreateIdentities(ctx, is); err != nil {
			return err
		}
		// One imported credential (no digest, no client id) and one event
		// per identity.
		cs := make([]*steward.Credential, 0, n)
		es := make([]*steward.Event, 0, n)
		for k, i := range is {
			cs = append(cs, &steward.Credential{ID: fmt.Sprintf("cred_plan_%06d", k), IdentityID: i.ID, Type: "access_key", ExternalRef: "AKIA" + i.ExternalRef,
				Status: steward.CredentialActive, Scopes: []string{}, CreatedAt: i.CreatedAt, Metadata: map[string]string{}})
			es = append(es, &steward.Event{ID: fmt.Sprintf("evt_plan_%06d", k), Time: base.Add(time.Duration(k) * time.Hour), Actor: "import",
				Action: steward.ActionIdentityImport, SubjectType: steward.SubjectIdentity, SubjectID: i.ID, IdentityID: i.ID})
		}
		if err := tx.CreateCredentials(ctx, cs); err != nil {
			return err
		}
		return tx.AppendEvents(ctx, es)
	})
	if err != nil {
		t.Fatal(err)
	}
	// A few credentials Steward issued: a digest, some a client id.
	if _, err := s.writeDB.ExecContext(ctx, `UPDATE credentials SET digest = 'sha256:' || id, client_id = CASE WHEN id < 'cred_plan_000040' THEN 'client-' || id END,
		expires_at = created_at + 86400000000 WHERE id < 'cred_plan_000100'`); err != nil {
		t.Fatal(err)
	}
	return owners
}

// queryPlan runs an EXPLAIN statement q on conn and returns its plan, the
// last column of each row, one row a line.
func queryPlan(ctx context.Context, t *testing.T, conn *sql.Conn, q string, args ...any) string {
	t.Helper()
	rows, err := conn.QueryContext(ctx, q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var plan []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for k := range vals {
			ptrs[k] = &vals[k]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, fmt.Sprint(vals[len(cols)-1]))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(plan, "\n")
}
