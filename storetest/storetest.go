// Package storetest is the conformance suite that every steward.Store
// implementation must pass. sqlstore runs it on SQLite always and on
// PostgreSQL when STEWARD_TEST_POSTGRES_URL is set.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/ids"
)

// test is one named conformance test over a store of type S.
type test[S any] struct {
	name string
	fn   func(t *testing.T, s S)
}

// run runs each test as a subtest on a new, empty store.
func run[S any](t *testing.T, open func(t testing.TB) S, tests []test[S]) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

// Run runs the inventory suite; open returns a new, empty store.
func Run[S steward.Store](t *testing.T, open func(t testing.TB) S) {
	run(t, func(t testing.TB) steward.Store { return open(t) }, []test[steward.Store]{
		{"identities round-trip every field", testIdentityRoundTrip},
		{"an unknown identity is not found", testIdentityNotFound},
		{"provider and external ref are unique", testUniqueRef},
		{"an identity needs an existing owner", testOwnerForeignKey},
		{"a stale version is a conflict", testVersionConflict},
		{"list filters select the right identities", testListFilters},
		{"cursor pagination visits every identity once", testPagination},
		{"sorting by a nullable time keeps nulls last", testSortNullable},
		{"a failed transaction writes neither change nor event", testAtomicity},
		{"events form a hash chain", testEventChain},
		{"event filters and pagination", testEventFilters},
		{"owners round-trip and list", testOwners},
		{"credentials round-trip and cascade", testCredentials},
		{"operator tokens are found by digest", testTokens},
		{"inventory stats count by dimension", testStats},
		{"bulk writes match one-by-one writes", testBulkWrites},
	})
}

var base = time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)

func tptr(t time.Time) *time.Time { return &t }

func newIdentity(name string, mod func(i *steward.Identity)) *steward.Identity {
	i := &steward.Identity{
		ID: ids.New(ids.Identity, base), Name: name, Kind: steward.KindServiceAccount, Provider: "aws",
		Sensitivity: steward.SensitivityMedium, Source: steward.SourceRegistered, Status: steward.StatusActive,
		CreatedAt: base, UpdatedAt: base, Version: 1, Scopes: []string{}, Labels: map[string]string{},
	}
	if mod != nil {
		mod(i)
	}
	return i
}

func event(action, identityID string) *steward.Event {
	return &steward.Event{ID: ids.New(ids.Event, base), Time: base, Actor: "test", Action: action, SubjectType: steward.SubjectIdentity, SubjectID: identityID, IdentityID: identityID}
}

// allPages reads a list page after page from the first, list reading the
// page after cursor, and returns every item in order and the page count.
func allPages[T any](t *testing.T, list func(cursor string) (*steward.Page[T], error)) (items []T, pages int) {
	t.Helper()
	cursor := ""
	for {
		p, err := list(cursor)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		items = append(items, p.Items...)
		if p.NextCursor == "" {
			return items, pages
		}
		cursor = p.NextCursor
	}
}

// distinctIDs returns how many different ids the items have.
func distinctIDs[T any](items []T, id func(T) string) int {
	seen := map[string]bool{}
	for _, it := range items {
		seen[id(it)] = true
	}
	return len(seen)
}

func mustUpdate(t *testing.T, s steward.Store, fn func(tx steward.Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatalf("update: %v", err)
	}
}

func createIdentities(t *testing.T, s steward.Store, is ...*steward.Identity) {
	t.Helper()
	mustUpdate(t, s, func(tx steward.Tx) error {
		for _, i := range is {
			if err := tx.CreateIdentity(context.Background(), i); err != nil {
				return err
			}
			if err := tx.AppendEvent(context.Background(), event(steward.ActionIdentityCreate, i.ID)); err != nil {
				return err
			}
		}
		return nil
	})
}

func createOwner(t *testing.T, s steward.Store, name string, mod func(o *steward.Owner)) *steward.Owner {
	t.Helper()
	o := &steward.Owner{ID: ids.New(ids.Owner, base), Name: name, Email: name + "@example.com", Kind: steward.OwnerPerson,
		Status: steward.OwnerActive, CreatedAt: base, UpdatedAt: base, Version: 1}
	if mod != nil {
		mod(o)
	}
	mustUpdate(t, s, func(tx steward.Tx) error { return tx.CreateOwner(context.Background(), o) })
	return o
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := steward.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

func testIdentityRoundTrip(t *testing.T, s steward.Store) {
	ctx := context.Background()
	o := createOwner(t, s, "alice", nil)
	i := newIdentity("payments-api", func(i *steward.Identity) {
		i.ExternalRef, i.OwnerID, i.Team, i.Purpose, i.Environment = "arn:aws:iam::1:user/payments", o.ID, "payments", "charges cards", "prod"
		i.Scopes = []string{"s3:read", "sqs:send"}
		i.Sensitivity, i.VendorManaged = steward.SensitivityCritical, true
		i.ExpiresAt, i.LastRotatedAt, i.LastUsedAt = tptr(base.Add(time.Hour)), tptr(base.Add(-time.Hour)), tptr(base.Add(-time.Minute))
		i.Labels = map[string]string{"app": "pay", "tier": "1"}
		i.Exception = &steward.Exception{Reason: "vendor limit", Until: base.Add(48 * time.Hour), Approver: "ciso"}
	})
	createIdentities(t, s, i)
	got, err := s.GetIdentity(ctx, i.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !identitiesEqual(got, i) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, i)
	}
	byRef, err := s.FindIdentityByRef(ctx, "aws", i.ExternalRef)
	if err != nil || byRef.ID != i.ID {
		t.Fatalf("find by ref = %v, %v", byRef, err)
	}
}

func identitiesEqual(a, b *steward.Identity) bool {
	return fmt.Sprint(steward.Snapshot(a)) == fmt.Sprint(steward.Snapshot(b))
}

func testIdentityNotFound(t *testing.T, s steward.Store) {
	_, err := s.GetIdentity(context.Background(), "nhi_missing")
	wantCode(t, err, steward.ENOTFOUND)
	_, err = s.FindIdentityByRef(context.Background(), "aws", "nope")
	wantCode(t, err, steward.ENOTFOUND)
}

func testUniqueRef(t *testing.T, s steward.Store) {
	a := newIdentity("a", func(i *steward.Identity) { i.ExternalRef = "ref-1" })
	createIdentities(t, s, a)
	b := newIdentity("b", func(i *steward.Identity) { i.ExternalRef = "ref-1" })
	err := s.Update(context.Background(), func(tx steward.Tx) error { return tx.CreateIdentity(context.Background(), b) })
	wantCode(t, err, steward.ECONFLICT)
	// Identities without an external ref never collide.
	createIdentities(t, s, newIdentity("c", nil), newIdentity("d", nil))
}

func testOwnerForeignKey(t *testing.T, s steward.Store) {
	i := newIdentity("x", func(i *steward.Identity) { i.OwnerID = "own_missing" })
	err := s.Update(context.Background(), func(tx steward.Tx) error { return tx.CreateIdentity(context.Background(), i) })
	wantCode(t, err, steward.EINVALID)
}

func testVersionConflict(t *testing.T, s steward.Store) {
	ctx := context.Background()
	i := newIdentity("v", nil)
	createIdentities(t, s, i)
	upd := *i
	upd.Name, upd.Version = "v2", 2
	mustUpdate(t, s, func(tx steward.Tx) error { return tx.UpdateIdentity(ctx, &upd) })
	stale := *i
	stale.Name, stale.Version = "v-stale", 2
	err := s.Update(ctx, func(tx steward.Tx) error { return tx.UpdateIdentity(ctx, &stale) })
	wantCode(t, err, steward.ECONFLICT)
	got, _ := s.GetIdentity(ctx, i.ID)
	if got.Name != "v2" || got.Version != 2 {
		t.Fatalf("after conflict: %s v%d", got.Name, got.Version)
	}
	missing := *i
	missing.ID, missing.Version = "nhi_missing", 2
	err = s.Update(ctx, func(tx steward.Tx) error { return tx.UpdateIdentity(ctx, &missing) })
	wantCode(t, err, steward.ENOTFOUND)
}

func testListFilters(t *testing.T, s steward.Store) {
	ctx := context.Background()
	o := createOwner(t, s, "bob", nil)
	now := base.Add(24 * time.Hour)
	all := []*steward.Identity{
		newIdentity("prod-db", func(i *steward.Identity) {
			i.OwnerID, i.Environment, i.Team, i.Kind = o.ID, "prod", "data", steward.KindAPIKey
			i.ExpiresAt, i.LastUsedAt = tptr(base.Add(time.Hour)), tptr(base)
		}),
		newIdentity("staging-bot", func(i *steward.Identity) {
			i.Environment, i.Kind, i.Provider, i.Status = "staging", steward.KindBot, "github", steward.StatusSuspended
			i.Purpose = "Posts RELEASE notes"
		}),
		newIdentity("dev_agent", func(i *steward.Identity) {
			i.Environment, i.Kind, i.Sensitivity, i.Source = "dev", steward.KindAIAgent, steward.SensitivityLow, steward.SourceDiscovered
			i.LastUsedAt = tptr(now)
		}),
	}
	createIdentities(t, s, all...)
	tests := []struct {
		name string
		f    steward.IdentityFilter
		want []string
	}{
		{"no filter", steward.IdentityFilter{}, []string{"prod-db", "staging-bot", "dev_agent"}},
		{"owner", steward.IdentityFilter{OwnerID: o.ID}, []string{"prod-db"}},
		{"unowned", steward.IdentityFilter{OwnerID: "none"}, []string{"staging-bot", "dev_agent"}},
		{"team", steward.IdentityFilter{Team: "data"}, []string{"prod-db"}},
		{"kind", steward.IdentityFilter{Kind: steward.KindBot}, []string{"staging-bot"}},
		{"provider", steward.IdentityFilter{Provider: "github"}, []string{"staging-bot"}},
		{"environment", steward.IdentityFilter{Environment: "dev"}, []string{"dev_agent"}},
		{"status", steward.IdentityFilter{Status: steward.StatusSuspended}, []string{"staging-bot"}},
		{"sensitivity", steward.IdentityFilter{Sensitivity: steward.SensitivityLow}, []string{"dev_agent"}},
		{"source", steward.IdentityFilter{Source: steward.SourceDiscovered}, []string{"dev_agent"}},
		{"expires before", steward.IdentityFilter{ExpiresBefore: tptr(base.Add(2 * time.Hour))}, []string{"prod-db"}},
		{"unused since", steward.IdentityFilter{UnusedSince: tptr(base.Add(time.Hour))}, []string{"prod-db", "staging-bot"}},
		{"text search is case-insensitive over purpose", steward.IdentityFilter{Query: "release"}, []string{"staging-bot"}},
		{"text search treats _ literally", steward.IdentityFilter{Query: "v_a"}, []string{"dev_agent"}},
		{"combined filters", steward.IdentityFilter{Environment: "prod", Kind: steward.KindBot}, nil},
		{"ids", steward.IdentityFilter{IDs: []string{all[1].ID}}, []string{"staging-bot"}},
		{"empty ids", steward.IdentityFilter{IDs: []string{}}, nil},
		{"sort by name", steward.IdentityFilter{Sort: "name"}, []string{"dev_agent", "prod-db", "staging-bot"}},
		{"sort by name descending", steward.IdentityFilter{Sort: "-name"}, []string{"staging-bot", "prod-db", "dev_agent"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			page, err := s.ListIdentities(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, i := range page.Items {
				got = append(got, i.Name)
			}
			if !sameSet(got, tc.want, tc.f.Sort != "") {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	_, err := s.ListIdentities(ctx, steward.IdentityFilter{Sort: "bogus"})
	wantCode(t, err, steward.EINVALID)
	_, err = s.ListIdentities(ctx, steward.IdentityFilter{Cursor: "!!!"})
	wantCode(t, err, steward.EINVALID)
}

func sameSet(got, want []string, ordered bool) bool {
	if len(got) != len(want) {
		return false
	}
	if ordered {
		for n := range got {
			if got[n] != want[n] {
				return false
			}
		}
		return true
	}
	m := map[string]int{}
	for _, g := range got {
		m[g]++
	}
	for _, w := range want {
		m[w]--
	}
	for _, v := range m {
		if v != 0 {
			return false
		}
	}
	return true
}

func testPagination(t *testing.T, s steward.Store) {
	ctx := context.Background()
	var is []*steward.Identity
	for n := 0; n < 23; n++ {
		is = append(is, newIdentity(fmt.Sprintf("id-%02d", n%7), func(i *steward.Identity) {
			i.CreatedAt = base.Add(time.Duration(n%5) * time.Second) // ties on the sort key
		}))
	}
	createIdentities(t, s, is...)
	for _, sort := range []string{"", "-created_at", "name", "-name", "expires_at", "-last_used_at"} {
		t.Run("sort "+sort, func(t *testing.T) {
			items, pages := allPages(t, func(cursor string) (*steward.Page[*steward.Identity], error) {
				return s.ListIdentities(ctx, steward.IdentityFilter{Limit: 5, Sort: sort, Cursor: cursor})
			})
			if n := distinctIDs(items, func(i *steward.Identity) string { return i.ID }); len(items) != 23 || n != 23 || pages != 5 {
				t.Fatalf("saw %d identities (%d different) in %d pages, want 23 in 5", len(items), n, pages)
			}
		})
	}
}

func testSortNullable(t *testing.T, s steward.Store) {
	ctx := context.Background()
	createIdentities(t, s,
		newIdentity("never", nil),
		newIdentity("soon", func(i *steward.Identity) { i.ExpiresAt = tptr(base.Add(time.Hour)) }),
		newIdentity("later", func(i *steward.Identity) { i.ExpiresAt = tptr(base.Add(2 * time.Hour)) }),
	)
	page, err := s.ListIdentities(ctx, steward.IdentityFilter{Sort: "expires_at"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, i := range page.Items {
		got = append(got, i.Name)
	}
	if !sameSet(got, []string{"soon", "later", "never"}, true) {
		t.Fatalf("got %v", got)
	}
}

func testAtomicity(t *testing.T, s steward.Store) {
	ctx := context.Background()
	i := newIdentity("atomic", nil)
	boom := errors.New("boom")
	err := s.Update(ctx, func(tx steward.Tx) error {
		if err := tx.CreateIdentity(ctx, i); err != nil {
			return err
		}
		if err := tx.AppendEvent(ctx, event(steward.ActionIdentityCreate, i.ID)); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if _, err := s.GetIdentity(ctx, i.ID); steward.ErrorCode(err) != steward.ENOTFOUND {
		t.Fatalf("identity survived a rolled-back transaction: %v", err)
	}
	last, err := s.LastEvent(ctx)
	if err != nil || last != nil {
		t.Fatalf("event survived a rolled-back transaction: %v %v", last, err)
	}
	// The chain continues from genesis after the rollback.
	createIdentities(t, s, newIdentity("after", nil))
	last, _ = s.LastEvent(ctx)
	if last.Seq != 1 || last.PrevHash != steward.GenesisHash {
		t.Fatalf("first committed event: seq %d prev %s", last.Seq, last.PrevHash)
	}
}

func testEventChain(t *testing.T, s steward.Store) {
	ctx := context.Background()
	i := newIdentity("chain", nil)
	createIdentities(t, s, i)
	mustUpdate(t, s, func(tx steward.Tx) error {
		for n := 0; n < 4; n++ {
			e := event(steward.ActionIdentityUpdate, i.ID)
			e.Before, e.After = steward.Snapshot(map[string]any{"n": n, "s": "é\n"}), steward.Snapshot(map[string]any{"n": n + 1})
			e.Reason = "step"
			if n == 3 {
				e.ID = "" // the store names events that come without an id
			}
			if err := tx.AppendEvent(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
	page, err := s.ListEvents(ctx, steward.EventFilter{Ascending: true, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 5 {
		t.Fatalf("%d events, want 5", len(page.Items))
	}
	prev := steward.GenesisHash
	seen := map[string]bool{}
	for n, e := range page.Items {
		if e.ID == "" || seen[e.ID] {
			t.Fatalf("seq %d has id %q (empty or repeated)", e.Seq, e.ID)
		}
		seen[e.ID] = true
		if e.Seq != int64(n+1) {
			t.Fatalf("event %d has seq %d", n, e.Seq)
		}
		if e.PrevHash != prev {
			t.Fatalf("seq %d: prev_hash %s, want %s", e.Seq, e.PrevHash, prev)
		}
		h, err := e.ComputeHash()
		if err != nil {
			t.Fatal(err)
		}
		if h != e.EntryHash {
			t.Fatalf("seq %d: stored hash %s, recomputed %s", e.Seq, e.EntryHash, h)
		}
		prev = e.EntryHash
	}
}

func testEventFilters(t *testing.T, s steward.Store) {
	ctx := context.Background()
	a, b := newIdentity("a", nil), newIdentity("b", nil)
	createIdentities(t, s, a, b)
	mustUpdate(t, s, func(tx steward.Tx) error {
		e := event("identity.revoke", a.ID)
		e.Actor, e.Time = "token:x", base.Add(time.Hour)
		return tx.AppendEvent(ctx, e)
	})
	tests := []struct {
		name string
		f    steward.EventFilter
		want int
	}{
		{"all", steward.EventFilter{}, 3},
		{"identity", steward.EventFilter{IdentityID: a.ID}, 2},
		{"actor", steward.EventFilter{Actor: "token:x"}, 1},
		{"action", steward.EventFilter{Action: steward.ActionIdentityCreate}, 2},
		{"since", steward.EventFilter{Since: tptr(base.Add(time.Minute))}, 1},
		{"until", steward.EventFilter{Until: tptr(base.Add(time.Minute))}, 2},
		{"identity set", steward.EventFilter{IdentityIDs: []string{b.ID}}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			page, err := s.ListEvents(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Items) != tc.want {
				t.Fatalf("%d events, want %d", len(page.Items), tc.want)
			}
		})
	}
	page, err := s.ListEvents(ctx, steward.EventFilter{Limit: 2})
	if err != nil || len(page.Items) != 2 || page.NextCursor == "" || page.Items[0].Seq != 3 {
		t.Fatalf("first page: %v %v", page, err)
	}
	page, err = s.ListEvents(ctx, steward.EventFilter{Limit: 2, Cursor: page.NextCursor})
	if err != nil || len(page.Items) != 1 || page.NextCursor != "" || page.Items[0].Seq != 1 {
		t.Fatalf("second page: %+v %v", page, err)
	}
}

func testOwners(t *testing.T, s steward.Store) {
	ctx := context.Background()
	backup := createOwner(t, s, "backup", nil)
	o := createOwner(t, s, "carol", func(o *steward.Owner) { o.BackupOwnerID, o.Team = backup.ID, "sre" })
	got, err := s.GetOwner(ctx, o.ID)
	if err != nil || got.BackupOwnerID != backup.ID || got.Team != "sre" || !got.CreatedAt.Equal(base) {
		t.Fatalf("get owner = %+v, %v", got, err)
	}
	upd := *got
	upd.Status, upd.DepartedAt, upd.Version = steward.OwnerDeparted, tptr(base.Add(time.Hour)), 2
	mustUpdate(t, s, func(tx steward.Tx) error { return tx.UpdateOwner(ctx, &upd) })
	page, err := s.ListOwners(ctx, steward.OwnerFilter{Status: steward.OwnerDeparted})
	if err != nil || len(page.Items) != 1 || page.Items[0].ID != o.ID || page.Items[0].DepartedAt == nil {
		t.Fatalf("departed owners = %+v, %v", page, err)
	}
	page, _ = s.ListOwners(ctx, steward.OwnerFilter{Email: "BACKUP@example.com"})
	if len(page.Items) != 1 {
		t.Fatalf("by email: %d", len(page.Items))
	}
	page, _ = s.ListOwners(ctx, steward.OwnerFilter{Limit: 1})
	if len(page.Items) != 1 || page.NextCursor == "" {
		t.Fatalf("owner pagination: %+v", page)
	}
	_, err = s.GetOwner(ctx, "own_missing")
	wantCode(t, err, steward.ENOTFOUND)
	stale := upd
	stale.Version = 2
	err = s.Update(ctx, func(tx steward.Tx) error { return tx.UpdateOwner(ctx, &stale) })
	wantCode(t, err, steward.ECONFLICT)
}

func testCredentials(t *testing.T, s steward.Store) {
	ctx := context.Background()
	i := newIdentity("creds", nil)
	createIdentities(t, s, i)
	c := &steward.Credential{ID: ids.New(ids.Credential, base), IdentityID: i.ID, Type: "aws_access_key", ExternalRef: "access_key_1",
		Fingerprint: steward.Fingerprint([]byte("x")), Hint: "AKIA", Status: steward.CredentialActive, Scopes: []string{"a"},
		CreatedAt: base, LastUsedAt: tptr(base), Metadata: map[string]string{"k": "v"}}
	mustUpdate(t, s, func(tx steward.Tx) error { return tx.CreateCredential(ctx, c) })
	got, err := s.GetCredential(ctx, c.ID)
	if err != nil || fmt.Sprint(steward.Snapshot(got)) != fmt.Sprint(steward.Snapshot(c)) {
		t.Fatalf("credential round trip: %+v %v", got, err)
	}
	byRef, err := s.FindCredentialByRef(ctx, i.ID, "access_key_1")
	if err != nil || byRef.ID != c.ID {
		t.Fatalf("by ref: %v %v", byRef, err)
	}
	c.Status, c.RevokedAt = steward.CredentialRevoked, tptr(base.Add(time.Hour))
	mustUpdate(t, s, func(tx steward.Tx) error { return tx.UpdateCredential(ctx, c) })
	list, err := s.ListCredentials(ctx, i.ID)
	if err != nil || len(list) != 1 || list[0].Status != steward.CredentialRevoked {
		t.Fatalf("list: %+v %v", list, err)
	}
	bad := &steward.Credential{ID: "crd_x", IdentityID: "nhi_missing", Type: "t", Status: steward.CredentialActive, CreatedAt: base}
	err = s.Update(ctx, func(tx steward.Tx) error { return tx.CreateCredential(ctx, bad) })
	wantCode(t, err, steward.EINVALID)
}

func testTokens(t *testing.T, s steward.Store) {
	ctx := context.Background()
	tok := &steward.OperatorToken{ID: ids.New(ids.Token, base), Name: "ci", Role: steward.RoleAuditor, Digest: "d1", CreatedAt: base, CreatedBy: "test"}
	mustUpdate(t, s, func(tx steward.Tx) error { return tx.CreateToken(ctx, tok) })
	got, err := s.FindTokenByDigest(ctx, "d1")
	if err != nil || got.ID != tok.ID || got.Role != steward.RoleAuditor {
		t.Fatalf("by digest: %+v %v", got, err)
	}
	_, err = s.FindTokenByDigest(ctx, "d2")
	wantCode(t, err, steward.ENOTFOUND)
	if err := s.TouchToken(ctx, tok.ID, base.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	tok.RevokedAt = tptr(base.Add(time.Hour))
	mustUpdate(t, s, func(tx steward.Tx) error { return tx.UpdateToken(ctx, tok) })
	list, err := s.ListTokens(ctx)
	if err != nil || len(list) != 1 || list[0].RevokedAt == nil || list[0].LastUsedAt == nil {
		t.Fatalf("list tokens: %+v %v", list, err)
	}
	owned := &steward.OperatorToken{ID: "tok_x", Role: steward.RoleOwner, OwnerID: "own_missing", Digest: "d3", CreatedAt: base}
	err = s.Update(ctx, func(tx steward.Tx) error { return tx.CreateToken(ctx, owned) })
	wantCode(t, err, steward.EINVALID)
}

func testStats(t *testing.T, s steward.Store) {
	ctx := context.Background()
	gone := createOwner(t, s, "gone", func(o *steward.Owner) { o.Status = steward.OwnerDeparted })
	createIdentities(t, s,
		newIdentity("a", func(i *steward.Identity) { i.OwnerID = gone.ID; i.Environment = "prod" }),
		newIdentity("b", func(i *steward.Identity) { i.Kind = steward.KindBot; i.ExpiresAt = tptr(base.Add(-time.Hour)) }),
		newIdentity("c", func(i *steward.Identity) { i.Status = steward.StatusRevoked }),
	)
	st, err := s.InventoryStats(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	if st.Identities != 3 || st.ByKind["bot"] != 1 || st.ByStatus["revoked"] != 1 || st.ByEnvironment["prod"] != 1 ||
		st.Unowned != 1 || st.Orphaned != 1 || st.Expired != 1 || st.Owners != 1 || st.Departed != 1 || st.Events != 3 {
		t.Fatalf("stats = %+v", st)
	}
}

// testBulkWrites checks the bulk forms against the one-by-one ones: every
// row round-trips, the events chain as AppendEvent would chain them, a
// conflicting batch writes nothing, and references are found in chunks.
func testBulkWrites(t *testing.T, s steward.Store) {
	ctx := context.Background()
	// 613 rows: several statement sizes (200, 50, 10, 1) and two lookup chunks.
	var is []*steward.Identity
	var cs []*steward.Credential
	var es []*steward.Event
	refs := []string{}
	for n := range 613 {
		i := newIdentity(fmt.Sprintf("bulk-%03d", n), func(i *steward.Identity) {
			i.ID = fmt.Sprintf("nhi_bulk%05d", n)
			i.ExternalRef = fmt.Sprintf("arn:aws:iam::1:user/bulk-%03d", n)
			i.Labels = map[string]string{"n": fmt.Sprint(n)}
		})
		is = append(is, i)
		refs = append(refs, i.ExternalRef)
		cs = append(cs, &steward.Credential{ID: fmt.Sprintf("cred_bulk%05d", n), IdentityID: i.ID, Type: "aws_access_key", ExternalRef: "access_key_1",
			Status: steward.CredentialActive, Scopes: []string{}, CreatedAt: base, Metadata: map[string]string{}})
		e := event(steward.ActionIdentityImport, i.ID)
		e.ID = ""
		e.After = steward.Snapshot(i)
		es = append(es, e)
	}
	mustUpdate(t, s, func(tx steward.Tx) error {
		// One event the usual way first: the bulk append continues its chain.
		if err := tx.AppendEvent(ctx, event(steward.ActionOwnerCreate, "")); err != nil {
			return err
		}
		if err := tx.CreateIdentities(ctx, is); err != nil {
			return err
		}
		if err := tx.CreateCredentials(ctx, cs); err != nil {
			return err
		}
		return tx.AppendEvents(ctx, es)
	})
	for _, n := range []int{0, 199, 200, 612} {
		got, err := s.GetIdentity(ctx, is[n].ID)
		if err != nil || fmt.Sprint(steward.Snapshot(got)) != fmt.Sprint(steward.Snapshot(is[n])) {
			t.Fatalf("identity %d: %+v %v", n, got, err)
		}
		c, err := s.GetCredential(ctx, cs[n].ID)
		if err != nil || c.IdentityID != is[n].ID {
			t.Fatalf("credential %d: %+v %v", n, c, err)
		}
	}
	page, err := s.ListEvents(ctx, steward.EventFilter{Ascending: true, Limit: steward.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 614 {
		t.Fatalf("%d events, want 614", len(page.Items))
	}
	prev := steward.GenesisHash
	for n, e := range page.Items {
		h, err := e.ComputeHash()
		if err != nil || e.Seq != int64(n+1) || e.PrevHash != prev || h != e.EntryHash || e.ID == "" {
			t.Fatalf("event %d breaks the chain: seq %d prev %s hash %s (recomputed %s) %v", n, e.Seq, e.PrevHash, e.EntryHash, h, err)
		}
		prev = e.EntryHash
	}
	var byRef map[string]*steward.Identity
	mustUpdate(t, s, func(tx steward.Tx) error {
		byRef, err = tx.FindIdentitiesByRefs(ctx, "aws", append(refs, "arn:aws:iam::1:user/nobody"))
		return err
	})
	if len(byRef) != 613 || byRef[refs[500]].ID != is[500].ID {
		t.Fatalf("found %d identities by reference, want 613", len(byRef))
	}

	// A batch with one identity that repeats a stored reference fails as a
	// whole and writes nothing.
	dup := []*steward.Identity{
		newIdentity("fresh", func(i *steward.Identity) { i.ID, i.ExternalRef = "nhi_bulkfresh", "arn:aws:iam::1:user/fresh" }),
		newIdentity("dup", func(i *steward.Identity) { i.ID, i.ExternalRef = "nhi_bulkdup", refs[7] }),
	}
	err = s.Update(ctx, func(tx steward.Tx) error { return tx.CreateIdentities(ctx, dup) })
	if steward.ErrorCode(err) != steward.ECONFLICT {
		t.Fatalf("duplicate reference in a batch: %v, want ECONFLICT", err)
	}
	if _, err := s.GetIdentity(ctx, "nhi_bulkfresh"); steward.ErrorCode(err) != steward.ENOTFOUND {
		t.Fatalf("the failed batch wrote its first identity: %v", err)
	}
	err = s.Update(ctx, func(tx steward.Tx) error {
		return tx.CreateCredentials(ctx, []*steward.Credential{{ID: "cred_orphan", IdentityID: "nhi_missing", Type: "api_key", Status: steward.CredentialActive,
			Scopes: []string{}, CreatedAt: base, Metadata: map[string]string{}}})
	})
	if steward.ErrorCode(err) != steward.EINVALID || steward.ErrorField(err) != "identity_id" {
		t.Fatalf("credential of a missing identity: %v, want EINVALID on identity_id", err)
	}
}
