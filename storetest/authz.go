package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/ids"
)

// AuthzStore is a store that also keeps the decision point's data and the
// usage log.
type AuthzStore interface {
	steward.Store
	steward.AuthzStore
	steward.UsageStore
}

// RunAuthz runs the suite of the authz and usage store methods.
func RunAuthz[S AuthzStore](t *testing.T, open func(t testing.TB) S) {
	run(t, func(t testing.TB) AuthzStore { return open(t) }, []test[AuthzStore]{
		{"policies keep every version", testPolicyVersions},
		{"entities are replaced or upserted", testAuthzEntities},
		{"the schema and the revision", testSchemaAndRevision},
		{"usage events page newest first", testUsagePages},
		{"usage aggregates count per dimension", testUsageAggregates},
		{"changed identities follow the event chain", testChangedIdentities},
		{"a usage batch with repeated ids writes each once and aggregates as single events do", testUsageBatchDuplicates},
		{"a usage batch with a NUL byte does not poison the next batches", testUsageBatchBadText},
	})
}

func testPolicyVersions(t *testing.T, s AuthzStore) {
	ctx := context.Background()
	put := func(text string, deleted bool) {
		t.Helper()
		if err := s.UpdateAuthz(ctx, func(tx steward.AuthzTx) error {
			v, err := tx.NextPolicyVersion(ctx, "p")
			if err != nil {
				return err
			}
			return tx.PutAuthzPolicy(ctx, &steward.AuthzPolicy{Name: "p", Text: text, Version: v, UpdatedAt: base, UpdatedBy: "token:x", Reason: "r", Deleted: deleted})
		}); err != nil {
			t.Fatal(err)
		}
	}
	put("one", false)
	put("two", false)
	p, err := s.GetAuthzPolicy(ctx, "p")
	if err != nil || p.Text != "two" || p.Version != 2 || p.UpdatedBy != "token:x" || !p.UpdatedAt.Equal(base) {
		t.Fatalf("get: %+v %v", p, err)
	}
	put("two", true)
	if _, err := s.GetAuthzPolicy(ctx, "p"); steward.ErrorCode(err) != steward.ENOTFOUND {
		t.Fatalf("deleted policy: %v", err)
	}
	if list, _ := s.ListAuthzPolicies(ctx); len(list) != 0 {
		t.Fatalf("list after delete: %d", len(list))
	}
	vs, err := s.ListAuthzPolicyVersions(ctx, "p", 10)
	if err != nil || len(vs) != 3 || vs[0].Version != 3 || !vs[0].Deleted || vs[2].Text != "one" {
		t.Fatalf("versions: %+v %v", vs, err)
	}
	// Writing an existing version is a conflict, and rolls back.
	err = s.UpdateAuthz(ctx, func(tx steward.AuthzTx) error {
		return tx.PutAuthzPolicy(ctx, &steward.AuthzPolicy{Name: "p", Text: "x", Version: 1, UpdatedAt: base})
	})
	if steward.ErrorCode(err) != steward.ECONFLICT {
		t.Fatalf("duplicate version: %v", err)
	}
}

func testAuthzEntities(t *testing.T, s AuthzStore) {
	ctx := context.Background()
	ent := func(typ, id, doc string) steward.AuthzEntity {
		return steward.AuthzEntity{Type: typ, ID: id, Doc: []byte(doc)}
	}
	var many []steward.AuthzEntity
	for i := range 700 {
		many = append(many, ent("User", fmt.Sprintf("u%03d", i), `{"uid":{"type":"User","id":"x"}}`))
	}
	if err := s.UpdateAuthz(ctx, func(tx steward.AuthzTx) error { return tx.ReplaceAuthzEntities(ctx, many) }); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateAuthz(ctx, func(tx steward.AuthzTx) error {
		return tx.ReplaceAuthzEntities(ctx, []steward.AuthzEntity{ent("User", "a", `{"a":1}`), ent("Group", "g", `{}`)})
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateAuthz(ctx, func(tx steward.AuthzTx) error {
		return tx.UpsertAuthzEntities(ctx, []steward.AuthzEntity{ent("User", "a", `{"a":2}`), ent("User", "b", `{}`)})
	}); err != nil {
		t.Fatal(err)
	}
	es, err := s.ListAuthzEntities(ctx)
	if err != nil || len(es) != 3 || es[0].Type != "Group" || es[1].ID != "a" || string(es[1].Doc) != `{"a":2}` {
		t.Fatalf("entities: %+v %v", es, err)
	}
}

func testSchemaAndRevision(t *testing.T, s AuthzStore) {
	ctx := context.Background()
	if sc, err := s.GetAuthzSchema(ctx); sc != nil || err != nil {
		t.Fatalf("empty schema: %+v %v", sc, err)
	}
	rev0, _ := s.AuthzRevision(ctx)
	for v := int64(1); v <= 2; v++ {
		if err := s.UpdateAuthz(ctx, func(tx steward.AuthzTx) error {
			if err := tx.PutAuthzSchema(ctx, &steward.AuthzSchema{Text: fmt.Sprint("entity User", v, ";"), Format: "cedar", Version: v, UpdatedAt: base, UpdatedBy: "a"}); err != nil {
				return err
			}
			_, err := tx.BumpAuthzRevision(ctx)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	sc, err := s.GetAuthzSchema(ctx)
	if err != nil || sc.Version != 2 || sc.Text != "entity User2;" {
		t.Fatalf("schema %+v %v", sc, err)
	}
	if rev, _ := s.AuthzRevision(ctx); rev != rev0+2 {
		t.Fatalf("revision %d, want %d", rev, rev0+2)
	}
}

func testUsagePages(t *testing.T, s AuthzStore) {
	ctx := context.Background()
	var evs []steward.UsageEvent
	for i := range 450 {
		at := base.Add(time.Duration(i%150) * time.Second) // ties in time, broken by id
		evs = append(evs, steward.UsageEvent{ID: fmt.Sprintf("use_%04d", i), Time: at, Kind: steward.UsageDecision, Subject: "s",
			Action: "read", Outcome: "allow", PolicyIDs: []string{"p"}, Attributes: map[string]string{"k": "v"}})
	}
	if err := s.AppendUsage(ctx, evs); err != nil {
		t.Fatal(err)
	}
	// Appending the same events again changes nothing (ids are unique).
	if err := s.AppendUsage(ctx, evs[:10]); err != nil {
		t.Fatal(err)
	}
	all, _ := allPages(t, func(cursor string) (*steward.Page[*steward.UsageEvent], error) {
		return s.ListUsage(ctx, steward.UsageFilter{Limit: 100, Cursor: cursor})
	})
	if n := distinctIDs(all, func(e *steward.UsageEvent) string { return e.ID }); len(all) != 450 || n != 450 {
		t.Fatalf("%d events, %d different; want 450", len(all), n)
	}
	for k := 1; k < len(all); k++ {
		if e, prev := all[k], all[k-1]; e.Time.After(prev.Time) || (e.Time.Equal(prev.Time) && e.ID > prev.ID) {
			t.Fatalf("%s after %s is out of order", e.ID, prev.ID)
		}
	}
	one, _ := s.ListUsage(ctx, steward.UsageFilter{Limit: 1})
	if e := one.Items[0]; e.PolicyIDs[0] != "p" || e.Attributes["k"] != "v" || e.Kind != steward.UsageDecision {
		t.Fatalf("round trip %+v", e)
	}
	if _, err := s.ListUsage(ctx, steward.UsageFilter{Cursor: "bogus"}); steward.ErrorField(err) != "cursor" {
		t.Fatalf("bad cursor: %v", err)
	}
}

func testUsageAggregates(t *testing.T, s AuthzStore) {
	ctx := context.Background()
	o := createOwner(t, s, "agg", nil)
	i := newIdentity("agg-svc", func(i *steward.Identity) { i.OwnerID = o.ID })
	if err := s.Update(ctx, func(tx steward.Tx) error { return tx.CreateIdentity(ctx, i) }); err != nil {
		t.Fatal(err)
	}
	mk := func(n int, identity, subject, action string) steward.UsageEvent {
		return steward.UsageEvent{ID: ids.New("use_", base) + fmt.Sprint(n), Time: base.Add(time.Duration(n) * time.Minute), Kind: steward.UsageIngest,
			IdentityID: identity, Subject: subject, Action: action, Source: "10.0.0.1", Outcome: "ok"}
	}
	batch1 := []steward.UsageEvent{mk(2, i.ID, "", "s3:GetObject"), mk(1, i.ID, "", "s3:GetObject"), mk(3, "", "arn:ghost", "s3:PutObject")}
	batch2 := []steward.UsageEvent{mk(5, i.ID, "", "s3:ListBucket"), mk(0, i.ID, "", "s3:GetObject")}
	for _, b := range [][]steward.UsageEvent{batch1, batch2} {
		if err := s.AppendUsage(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	aggs, err := s.UsageAggregates(ctx, i.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]steward.UsageCount{}
	for _, a := range aggs {
		got[a.Dimension+"="+a.Value] = a
	}
	all := got["all="]
	if all.Count != 4 || !all.FirstSeen.Equal(base) || !all.LastSeen.Equal(base.Add(5*time.Minute)) {
		t.Fatalf("totals %+v", all)
	}
	if g := got["action=s3:GetObject"]; g.Count != 3 || !g.LastSeen.Equal(base.Add(2*time.Minute)) {
		t.Fatalf("GetObject %+v", g)
	}
	if got["source=10.0.0.1"].Count != 4 || got["outcome=ok"].Count != 4 {
		t.Fatalf("aggregates %+v", got)
	}
	unknown, err := s.UnknownCallers(ctx, 10)
	if err != nil || len(unknown) != 1 || unknown[0].Key != steward.UnknownKey("arn:ghost") || unknown[0].Count != 1 {
		t.Fatalf("unknown callers %+v %v", unknown, err)
	}
	back, _ := s.GetIdentity(ctx, i.ID)
	if back.LastUsedAt == nil || !back.LastUsedAt.Equal(base.Add(5*time.Minute)) || back.Version != i.Version {
		t.Fatalf("last used %v version %d", back.LastUsedAt, back.Version)
	}
	page, _ := s.ListUsage(ctx, steward.UsageFilter{Unknown: true})
	if len(page.Items) != 1 || page.Items[0].Subject != "arn:ghost" {
		t.Fatalf("unknown events %+v", page.Items)
	}
}

func testChangedIdentities(t *testing.T, s AuthzStore) {
	ctx := context.Background()
	_, head, err := s.ChangedIdentities(ctx, 0, 100)
	if err != nil || head != 0 {
		t.Fatalf("empty chain: %d %v", head, err)
	}
	for n, id := range []string{"nhi_a", "", "nhi_b", "nhi_a"} {
		if err := s.Update(ctx, func(tx steward.Tx) error {
			return tx.AppendEvent(ctx, &steward.Event{ID: fmt.Sprint("evt_", n), Time: base, Actor: "t", Action: "x", IdentityID: id})
		}); err != nil {
			t.Fatal(err)
		}
	}
	got, head, err := s.ChangedIdentities(ctx, 0, 100)
	if err != nil || head != 4 || fmt.Sprint(got) != "[nhi_a nhi_b]" {
		t.Fatalf("changed %v head %d %v", got, head, err)
	}
	got, head, _ = s.ChangedIdentities(ctx, 3, 100)
	if head != 4 || fmt.Sprint(got) != "[nhi_a]" {
		t.Fatalf("after 3: %v %d", got, head)
	}
}
