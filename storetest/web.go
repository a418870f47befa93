package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/ids"
)

// WebStore is a store that also keeps the console's sessions and computes
// its dashboard.
type WebStore interface {
	steward.Store
	steward.WebSessionStore
	steward.DashboardStore
	steward.UsageStore
}

// RunWeb runs the suite of the console's store: sessions, daily snapshots
// and dashboard aggregates.
func RunWeb[S WebStore](t *testing.T, open func(t testing.TB) S) {
	run(t, func(t testing.TB) WebStore { return open(t) }, []test[WebStore]{
		{"a session lives until it, or its token, ends", testWebSessions},
		{"expired sessions are swept", testExpiredWebSessions},
		{"daily stats keep one snapshot a day", testDailyStats},
		{"owners' identities are counted", testOwnerIdentityCounts},
		{"dashboard counts follow the tier policy", testDashboardCounts},
		{"the authentication trend counts federated and static by day and environment", testAuthTrend},
	})
}

func createToken(t *testing.T, s steward.Store, role steward.Role, ownerID string) *steward.OperatorToken {
	t.Helper()
	tok := &steward.OperatorToken{ID: ids.New("tok_", base), Name: "console", Role: role, OwnerID: ownerID, Digest: ids.New("dig_", base),
		CreatedAt: base, CreatedBy: "test"}
	mustUpdate(t, s, func(tx steward.Tx) error { return tx.CreateToken(context.Background(), tok) })
	return tok
}

func testWebSessions(t *testing.T, s WebStore) {
	ctx := context.Background()
	o := createOwner(t, s, "kim", nil)
	tok := createToken(t, s, steward.RoleOwner, o.ID)
	ws := &steward.WebSession{Digest: "d1", TokenID: tok.ID, CSRF: "csrf", CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
	if err := s.CreateWebSession(ctx, ws); err != nil {
		t.Fatal(err)
	}
	got, err := s.WebSession(ctx, "d1", base.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	want := *ws
	want.Role, want.OwnerID = steward.RoleOwner, o.ID
	if fmt.Sprintf("%+v", *got) != fmt.Sprintf("%+v", want) {
		t.Fatalf("session\n got %+v\nwant %+v", *got, want)
	}
	_, err = s.WebSession(ctx, "d1", base.Add(time.Hour))
	wantCode(t, err, steward.ENOTFOUND)
	_, err = s.WebSession(ctx, "unknown", base)
	wantCode(t, err, steward.ENOTFOUND)
	err = s.CreateWebSession(ctx, &steward.WebSession{Digest: "d2", TokenID: "tok_missing", CreatedAt: base, ExpiresAt: base.Add(time.Hour)})
	if steward.ErrorField(err) != "token_id" {
		t.Fatalf("a session of a missing token: %v", err)
	}
	// Revoking the token ends the session at once.
	tok.RevokedAt = tptr(base.Add(2 * time.Minute))
	mustUpdate(t, s, func(tx steward.Tx) error { return tx.UpdateToken(ctx, tok) })
	_, err = s.WebSession(ctx, "d1", base.Add(3*time.Minute))
	wantCode(t, err, steward.ENOTFOUND)
	// An expired token too.
	other := createToken(t, s, steward.RoleAdmin, "")
	other.ExpiresAt = tptr(base.Add(time.Minute))
	mustUpdate(t, s, func(tx steward.Tx) error { return tx.UpdateToken(ctx, other) })
	if err := s.CreateWebSession(ctx, &steward.WebSession{Digest: "d3", TokenID: other.ID, CreatedAt: base, ExpiresAt: base.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WebSession(ctx, "d3", base); err != nil {
		t.Fatalf("before the token expires: %v", err)
	}
	_, err = s.WebSession(ctx, "d3", base.Add(2*time.Minute))
	wantCode(t, err, steward.ENOTFOUND)
	// Signing out deletes the session; twice is not an error.
	for range 2 {
		if err := s.DeleteWebSession(ctx, "d3"); err != nil {
			t.Fatal(err)
		}
	}
	_, err = s.WebSession(ctx, "d3", base)
	wantCode(t, err, steward.ENOTFOUND)
}

func testExpiredWebSessions(t *testing.T, s WebStore) {
	ctx := context.Background()
	tok := createToken(t, s, steward.RoleAdmin, "")
	for n := range 5 {
		if err := s.CreateWebSession(ctx, &steward.WebSession{Digest: fmt.Sprint("d", n), TokenID: tok.ID, CSRF: "c", CreatedAt: base,
			ExpiresAt: base.Add(time.Duration(n) * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.DeleteExpiredWebSessions(ctx, base.Add(2*time.Hour))
	if err != nil || n != 3 {
		t.Fatalf("swept %d (%v), want the 3 that ended by then", n, err)
	}
	if _, err := s.WebSession(ctx, "d3", base.Add(2*time.Hour)); err != nil {
		t.Fatalf("a live session was swept: %v", err)
	}
}

func testDailyStats(t *testing.T, s WebStore) {
	ctx := context.Background()
	day := base.Truncate(24 * time.Hour)
	for k, d := range []steward.DailyStats{
		{Day: day.Add(-24*time.Hour + 5*time.Hour), Identities: 9, Live: 8, Unowned: 2, OpenFindings: -1, SevereFindings: -1},
		{Day: day.Add(time.Hour), Identities: 10, Live: 9, Unowned: 1, Orphaned: 1, Expired: 1, OpenFindings: 4, SevereFindings: 2},
		// A later snapshot of the same day replaces the first.
		{Day: day.Add(20 * time.Hour), Identities: 11, Live: 10, Unowned: 1, Orphaned: 1, Expired: 1, OpenFindings: 3, SevereFindings: 1},
	} {
		if err := s.RecordDailyStats(ctx, d); err != nil {
			t.Fatalf("snapshot %d: %v", k, err)
		}
	}
	got, err := s.ListDailyStats(ctx, day.Add(-48*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := []steward.DailyStats{
		{Day: day.Add(-24 * time.Hour), Identities: 9, Live: 8, Unowned: 2, OpenFindings: -1, SevereFindings: -1},
		{Day: day, Identities: 11, Live: 10, Unowned: 1, Orphaned: 1, Expired: 1, OpenFindings: 3, SevereFindings: 1},
	}
	if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
		t.Fatalf("daily stats\n got %+v\nwant %+v", got, want)
	}
	if got, _ := s.ListDailyStats(ctx, day); len(got) != 1 || !got[0].Day.Equal(day) {
		t.Fatalf("since today: %+v", got)
	}
}

func testOwnerIdentityCounts(t *testing.T, s WebStore) {
	ctx := context.Background()
	a, b, c := createOwner(t, s, "ana", nil), createOwner(t, s, "bo", nil), createOwner(t, s, "cy", nil)
	var is []*steward.Identity
	for n := range 5 {
		owner := a.ID
		if n == 4 {
			owner = b.ID
		}
		is = append(is, newIdentity(fmt.Sprint("svc-", n), func(i *steward.Identity) { i.OwnerID, i.ExternalRef = owner, fmt.Sprint("ref-", n) }))
	}
	createIdentities(t, s, is...)
	got, err := s.OwnerIdentityCounts(ctx, []string{a.ID, b.ID, c.ID})
	if err != nil || len(got) != 2 || got[a.ID] != 4 || got[b.ID] != 1 {
		t.Fatalf("counts %v %v, want 4 for ana, 1 for bo, none for cy", got, err)
	}
	if got, err := s.OwnerIdentityCounts(ctx, nil); err != nil || len(got) != 0 {
		t.Fatalf("no owners: %v %v", got, err)
	}
}

func testDashboardCounts(t *testing.T, s WebStore) {
	ctx := context.Background()
	now := base.Add(400 * 24 * time.Hour)
	days := func(n int) *time.Time { return tptr(now.Add(time.Duration(n) * 24 * time.Hour)) }
	// Medium tier: rotate every 180 days, dormant after 90.
	fresh := newIdentity("fresh", func(i *steward.Identity) {
		i.ExternalRef, i.CreatedAt, i.ExpiresAt, i.LastUsedAt, i.LastRotatedAt = "r1", *days(-10), days(3), days(-1), days(-1)
	})
	stale := newIdentity("stale", func(i *steward.Identity) { i.ExternalRef, i.CreatedAt, i.ExpiresAt = "r2", *days(-200), days(20) })
	idle := newIdentity("idle", func(i *steward.Identity) {
		i.ExternalRef, i.CreatedAt, i.LastRotatedAt, i.LastUsedAt = "r3", *days(-100), days(-50), days(-100)
	})
	off := newIdentity("off", func(i *steward.Identity) {
		i.ExternalRef, i.CreatedAt, i.Status = "r4", *days(-300), steward.StatusSuspended
	})
	createIdentities(t, s, fresh, stale, idle, off)
	mustUpdate(t, s, func(tx steward.Tx) error {
		for k, st := range []steward.CredentialStatus{steward.CredentialActive, steward.CredentialRevoked} {
			if err := tx.CreateCredential(ctx, &steward.Credential{ID: fmt.Sprint("crd_dash", k), IdentityID: fresh.ID, Type: "api_key",
				Status: st, Scopes: []string{}, CreatedAt: *days(-40), Metadata: map[string]string{}}); err != nil {
				return err
			}
		}
		revoke := event(steward.IdentityAction(steward.TransitionRevoke), stale.ID)
		revoke.Time = *days(-1)
		return tx.AppendEvent(ctx, revoke)
	})
	got, err := s.DashboardCounts(ctx, now, steward.DefaultPolicy(), 4)
	if err != nil {
		t.Fatal(err)
	}
	if got.Expiring7 != 1 || got.Expiring30 != 2 {
		t.Errorf("expiring in 7 d: %d, in 30 d: %d; want 1 and 2", got.Expiring7, got.Expiring30)
	}
	if m := steward.SensitivityMedium; got.RotationOverdue[m] != 1 || got.Dormant[m] != 2 {
		t.Errorf("rotation overdue %v, dormant %v; want 1 and 2 in the medium tier", got.RotationOverdue, got.Dormant)
	}
	var ages []int64
	for _, b := range got.CredentialAge {
		ages = append(ages, b.Count)
	}
	if fmt.Sprint(ages) != "[0 1 0 0 0 0]" {
		t.Errorf("credential ages %v, want the one active credential at 30–90 d", got.CredentialAge)
	}
	weekly := func(ps []steward.TimePoint) string {
		var vs []int64
		for _, p := range ps {
			vs = append(vs, p.Value)
		}
		return fmt.Sprint(vs)
	}
	if w := weekly(got.CreatedPerWeek); w != "[0 0 1 0]" {
		t.Errorf("created per week %s, want [0 0 1 0]", w)
	}
	if w := weekly(got.ChangesPerWeek) + weekly(got.RevocationsPerWeek); w != "[0 0 0 1][0 0 0 1]" {
		t.Errorf("changes and revocations per week %s, want the revocation in the last week", w)
	}
	if len(got.CreatedPerWeek) == 4 && !got.CreatedPerWeek[0].Time.Equal(now.Add(-4*7*24*time.Hour)) {
		t.Errorf("the first week starts at %s", got.CreatedPerWeek[0].Time)
	}
}

func testAuthTrend(t *testing.T, s WebStore) {
	ctx := context.Background()
	day0 := base.Truncate(24 * time.Hour).Add(30 * 24 * time.Hour)
	at := func(d int, h time.Duration) time.Time { return day0.Add(time.Duration(d)*24*time.Hour + h) }
	n := 0
	ev := func(when time.Time, kind, outcome, env string, attrs map[string]string) steward.UsageEvent {
		n++
		return steward.UsageEvent{ID: fmt.Sprintf("use_trend%05d", n), Time: when, Kind: kind, IdentityID: "nhi_trend", Environment: env,
			Action: "authenticate", Outcome: outcome, Attributes: attrs}
	}
	fed := map[string]string{"federated_iss": "https://k8s.example.com", "federated_sub": "system:serviceaccount:prod:billing"}
	act := map[string]string{"act_sub": "nhi_agent"}
	var batches [][]steward.UsageEvent
	// Day 1, prod: 3 static, 2 federated, 1 delegated; a refused
	// authentication, a decision and an ingested call do not count.
	batches = append(batches, []steward.UsageEvent{
		ev(at(1, time.Hour), steward.UsageAuth, "ok", "prod", nil), ev(at(1, 2*time.Hour), steward.UsageAuth, "ok", "prod", nil),
		ev(at(1, 3*time.Hour), steward.UsageAuth, "ok", "prod", map[string]string{"jti": "x"}),
		ev(at(1, 4*time.Hour), steward.UsageAuth, "ok", "prod", fed), ev(at(1, 5*time.Hour), steward.UsageAuth, "ok", "prod", fed),
		ev(at(1, 6*time.Hour), steward.UsageAuth, "ok", "prod", act),
		ev(at(1, 7*time.Hour), steward.UsageAuth, "revoked", "prod", nil),
		ev(at(1, 8*time.Hour), steward.UsageDecision, "allow", "prod", nil),
		ev(at(1, 9*time.Hour), steward.UsageIngest, "ok", "prod", nil),
	})
	// Day 2: staging and an identity without environment, then a batch
	// large enough for PostgreSQL's COPY path (100 federated in dev),
	// then the same day split over many small batches (every shard).
	batches = append(batches, []steward.UsageEvent{ev(at(2, time.Hour), steward.UsageAuth, "ok", "staging", nil), ev(at(2, time.Hour), steward.UsageAuth, "ok", "", nil)})
	var big []steward.UsageEvent
	for i := range 100 {
		big = append(big, ev(at(2, time.Duration(i)*time.Minute), steward.UsageAuth, "ok", "dev", fed))
	}
	batches = append(batches, big)
	for range 12 {
		batches = append(batches, []steward.UsageEvent{ev(at(2, 23*time.Hour), steward.UsageAuth, "ok", "staging", act)})
	}
	// Outside the range asked for: the day before and the day after.
	batches = append(batches, []steward.UsageEvent{ev(at(0, 23*time.Hour), steward.UsageAuth, "ok", "prod", nil), ev(at(3, 0), steward.UsageAuth, "ok", "prod", fed)})
	for _, b := range batches {
		if err := s.AppendUsage(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.AuthTrend(ctx, at(1, 5*time.Hour), at(2, 12*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := []steward.AuthDay{
		{Day: at(1, 0), Environment: "prod", Federated: 3, Static: 3},
		{Day: at(2, 0), Environment: "", Static: 1},
		{Day: at(2, 0), Environment: "dev", Federated: 100},
		{Day: at(2, 0), Environment: "staging", Federated: 12, Static: 1},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("trend\n got %v\nwant %v", got, want)
	}
	// A range that ends at a day's start leaves that day out; an empty
	// range has nothing.
	if got, err := s.AuthTrend(ctx, at(0, 0), at(1, 0)); err != nil || len(got) != 1 || got[0].Static != 1 || !got[0].Day.Equal(at(0, 0)) {
		t.Fatalf("day 0 alone: %v %v", got, err)
	}
	if got, err := s.AuthTrend(ctx, at(2, 0), at(2, 0)); err != nil || len(got) != 0 {
		t.Fatalf("empty range: %v %v", got, err)
	}

	// Concurrent writers (several nodes' recorders on one PostgreSQL) add
	// to the same days without losing a count or deadlocking.
	const writers, each = 6, 15
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range each {
				b := []steward.UsageEvent{
					{ID: fmt.Sprintf("use_conc%d_%03d_a", w, k), Time: at(5, time.Duration(k)*time.Minute), Kind: steward.UsageAuth, Environment: "prod", Outcome: "ok", Attributes: fed},
					{ID: fmt.Sprintf("use_conc%d_%03d_b", w, k), Time: at(5, time.Duration(k)*time.Minute), Kind: steward.UsageAuth, Environment: "prod", Outcome: "ok"},
					{ID: fmt.Sprintf("use_conc%d_%03d_c", w, k), Time: at(5, time.Duration(k)*time.Minute), Kind: steward.UsageAuth, Environment: "dev", Outcome: "ok"},
				}
				if err := s.AppendUsage(ctx, b); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got, err = s.AuthTrend(ctx, at(5, 0), at(6, 0))
	want = []steward.AuthDay{{Day: at(5, 0), Environment: "dev", Static: writers * each}, {Day: at(5, 0), Environment: "prod", Federated: writers * each, Static: writers * each}}
	if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after concurrent writes\n got %v %v\nwant %v", got, err, want)
	}
}
