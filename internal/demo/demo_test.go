package demo_test

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/demo"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

var now = time.Date(2026, 3, 14, 9, 26, 53, 589793000, time.UTC)

func seed(t *testing.T, s steward.Store, n int64) *demo.Summary {
	t.Helper()
	sum, err := demo.Seed(context.Background(), s, now, n)
	if err != nil {
		t.Fatalf("Seed: %v", err)
	}
	return sum
}

// all reads every item of every page that list reads from a cursor.
func all[T any](t *testing.T, list func(cursor string) (*steward.Page[T], error)) []T {
	t.Helper()
	var out []T
	if err := steward.EachPage(list, func(it T) error { out = append(out, it); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func allIdentities(t *testing.T, s steward.Store) []*steward.Identity {
	t.Helper()
	return all(t, func(cursor string) (*steward.Page[*steward.Identity], error) {
		return s.ListIdentities(context.Background(), steward.IdentityFilter{Limit: steward.MaxLimit, Cursor: cursor})
	})
}

func allOwners(t *testing.T, s steward.Store) []*steward.Owner {
	t.Helper()
	return all(t, func(cursor string) (*steward.Page[*steward.Owner], error) {
		return s.ListOwners(context.Background(), steward.OwnerFilter{Limit: steward.MaxLimit, Cursor: cursor})
	})
}

func allEvents(t *testing.T, s steward.Store) []*steward.Event {
	t.Helper()
	return all(t, func(cursor string) (*steward.Page[*steward.Event], error) {
		return s.ListEvents(context.Background(), steward.EventFilter{Limit: steward.MaxLimit, Ascending: true, Cursor: cursor})
	})
}

func TestSeedWritesALivedInOrganisation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := sqltest.OpenSQLite(t)
	sum := seed(t, s, 42)
	policy := steward.DefaultPolicy()

	t.Run("the summary has the promised sizes", func(t *testing.T) {
		if sum.Identities < 600 || sum.Identities != demo.Identities {
			t.Errorf("identities = %d, want %d (at least 600)", sum.Identities, demo.Identities)
		}
		if sum.Owners != 40 || sum.TeamOwners != 6 || sum.DepartedOwners != 5 {
			t.Errorf("owners = %d (teams %d, departed %d), want 40 (6, 5)", sum.Owners, sum.TeamOwners, sum.DepartedOwners)
		}
		if sum.Credentials < sum.Identities || sum.Credentials > 3*sum.Identities {
			t.Errorf("credentials = %d for %d identities, want 1-3 each", sum.Credentials, sum.Identities)
		}
		if share := float64(sum.Unowned) / float64(sum.Identities); share < 0.04 || share > 0.13 {
			t.Errorf("unowned share = %.3f, want about 8%%", share)
		}
	})

	t.Run("every special case is present", func(t *testing.T) {
		for name, n := range map[string]int{
			"unowned": sum.Unowned, "orphaned": sum.Orphaned, "expired": sum.Expired, "never used": sum.NeverUsed,
			"rotation overdue": sum.RotationOverdue, "pending": sum.Pending, "suspended": sum.Suspended,
			"revoked": sum.Revoked, "exceptions": sum.Exceptions,
		} {
			if n == 0 {
				t.Errorf("no %s identities", name)
			}
		}
		if sum.Revoked > sum.Identities/10 {
			t.Errorf("revoked = %d, want only a few", sum.Revoked)
		}
	})

	ids := allIdentities(t, s)
	owners := allOwners(t, s)
	ownerByID := map[string]*steward.Owner{}
	for _, o := range owners {
		ownerByID[o.ID] = o
	}

	t.Run("owners are valid people and teams at example.com", func(t *testing.T) {
		if len(owners) != sum.Owners {
			t.Fatalf("store has %d owners, summary says %d", len(owners), sum.Owners)
		}
		teams := map[string]bool{}
		backups := 0
		for _, o := range owners {
			if err := o.Validate(); err != nil {
				t.Errorf("owner %s: %v", o.Email, err)
			}
			if !strings.HasSuffix(o.Email, "@example.com") {
				t.Errorf("owner %s: email not at example.com", o.Email)
			}
			if (o.Status == steward.OwnerDeparted) != (o.DepartedAt != nil) {
				t.Errorf("owner %s: status %s with departed_at %v", o.Email, o.Status, o.DepartedAt)
			}
			if o.BackupOwnerID != "" {
				backups++
				if ownerByID[o.BackupOwnerID] == nil {
					t.Errorf("owner %s: backup %s does not exist", o.Email, o.BackupOwnerID)
				}
			}
			teams[o.Team] = true
		}
		for _, team := range []string{"payments", "data", "platform", "security", "growth", "ml"} {
			if !teams[team] {
				t.Errorf("no owners in team %s", team)
			}
		}
		if backups == 0 {
			t.Error("no owner has a backup owner")
		}
	})

	t.Run("every identity is valid and the store matches the summary", func(t *testing.T) {
		if len(ids) != sum.Identities {
			t.Fatalf("store has %d identities, summary says %d", len(ids), sum.Identities)
		}
		got := map[string]map[string]int{"kind": {}, "provider": {}, "environment": {}, "sensitivity": {}, "source": {}, "status": {}}
		refs := map[string]bool{}
		unowned, orphaned, overdue, neverUsed := 0, 0, 0, 0
		for _, i := range ids {
			if err := i.Validate(); err != nil {
				t.Errorf("identity %s (%s): %v", i.Name, i.ID, err)
			}
			if i.CreatedAt.Before(now.AddDate(-2, 0, -1)) || !i.CreatedAt.Before(now) {
				t.Errorf("identity %s: created_at %s outside the last two years", i.Name, i.CreatedAt)
			}
			if i.CreatedAt != i.CreatedAt.Truncate(time.Microsecond) {
				t.Errorf("identity %s: created_at not truncated to the microsecond", i.Name)
			}
			if key := i.Provider + "|" + i.ExternalRef; refs[key] {
				t.Errorf("duplicate provider and external_ref %s", key)
			} else {
				refs[key] = true
			}
			got["kind"][string(i.Kind)]++
			got["provider"][i.Provider]++
			got["environment"][i.Environment]++
			got["sensitivity"][string(i.Sensitivity)]++
			got["source"][string(i.Source)]++
			got["status"][string(i.Status)]++
			if i.OwnerID == "" {
				unowned++
			} else if o := ownerByID[i.OwnerID]; o == nil {
				t.Errorf("identity %s: owner %s does not exist", i.Name, i.OwnerID)
			} else if o.Status == steward.OwnerDeparted && i.Status != steward.StatusRevoked {
				orphaned++
			}
			if i.LastUsedAt == nil {
				neverUsed++
			}
			if demo.RotationOverdue(i, policy, now) {
				overdue++
			}
			if i.Status == steward.StatusExpired && (i.ExpiresAt == nil || !i.ExpiresAt.Before(now)) {
				t.Errorf("identity %s: expired but expires_at %v is not in the past", i.Name, i.ExpiresAt)
			}
			if i.LastRotatedAt != nil && i.LastRotatedAt.Before(i.CreatedAt) {
				t.Errorf("identity %s: rotated before it was created", i.Name)
			}
			if i.LastUsedAt != nil && (i.LastUsedAt.Before(i.CreatedAt) || i.LastUsedAt.After(now)) {
				t.Errorf("identity %s: last used %s outside its life", i.Name, i.LastUsedAt)
			}
		}
		want := map[string][]string{"environment": {"prod", "staging", "dev"}, "source": {"registered", "imported", "discovered"}}
		for _, k := range steward.Kinds {
			want["kind"] = append(want["kind"], string(k))
		}
		for _, s := range steward.Sensitivities {
			want["sensitivity"] = append(want["sensitivity"], string(s))
		}
		want["provider"] = []string{"aws", "gcp", "azure", "github", "kubernetes", "vault", "okta", "steward", "vendor:stripe", "vendor:datadog", "vendor:openai"}
		for field, values := range want {
			for _, v := range values {
				if got[field][v] == 0 {
					t.Errorf("no identity with %s %s", field, v)
				}
			}
		}
		for field, m := range map[string]map[string]int{"kind": sum.ByKind, "provider": sum.ByProvider, "environment": sum.ByEnvironment, "sensitivity": sum.BySensitivity, "source": sum.BySource, "status": sum.ByStatus} {
			if !reflect.DeepEqual(got[field], m) {
				t.Errorf("by %s: store %v, summary %v", field, got[field], m)
			}
		}
		if unowned != sum.Unowned || orphaned != sum.Orphaned || overdue != sum.RotationOverdue || neverUsed != sum.NeverUsed {
			t.Errorf("store: unowned %d orphaned %d overdue %d never used %d; summary %d %d %d %d",
				unowned, orphaned, overdue, neverUsed, sum.Unowned, sum.Orphaned, sum.RotationOverdue, sum.NeverUsed)
		}
		for _, tier := range steward.Sensitivities {
			found := false
			for _, i := range ids {
				if i.Sensitivity == tier && demo.RotationOverdue(i, policy, now) {
					found = true
					break
				}
			}
			if !found {
				t.Errorf("no %s identity is overdue for rotation", tier)
			}
		}
	})

	t.Run("identities hold one to three valid credentials", func(t *testing.T) {
		// Every fifth identity and every revoked one (reads are slow under
		// -race); the total is checked against the chain below.
		for n, i := range ids {
			if n%5 != 0 && i.Status != steward.StatusRevoked {
				continue
			}
			creds, err := s.ListCredentials(ctx, i.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(creds) < 1 || len(creds) > 3 {
				t.Errorf("identity %s has %d credentials", i.Name, len(creds))
			}
			for _, c := range creds {
				if err := c.Validate(); err != nil {
					t.Errorf("credential %s of %s: %v", c.ID, i.Name, err)
				}
				if !steward.ValidFingerprint(c.Fingerprint) {
					t.Errorf("credential %s: fingerprint %q", c.ID, c.Fingerprint)
				}
				if i.Status == steward.StatusRevoked && c.Status != steward.CredentialRevoked {
					t.Errorf("revoked identity %s has a %s credential", i.Name, c.Status)
				}
			}
		}
	})

	t.Run("the event chain verifies and records every change", func(t *testing.T) {
		events := allEvents(t, s)
		if len(events) != sum.Events {
			t.Fatalf("store has %d events, summary says %d", len(events), sum.Events)
		}
		prev := steward.GenesisHash
		revokes := map[string]string{}
		for n, e := range events {
			if e.Seq != int64(n+1) {
				t.Fatalf("event %d has seq %d", n+1, e.Seq)
			}
			if e.PrevHash != prev {
				t.Fatalf("event %d: prev_hash %s, want %s", e.Seq, e.PrevHash, prev)
			}
			h, err := e.ComputeHash()
			if err != nil {
				t.Fatal(err)
			}
			if h != e.EntryHash {
				t.Fatalf("event %d: entry_hash %s, recomputed %s", e.Seq, e.EntryHash, h)
			}
			prev = e.EntryHash
			if e.Actor != demo.Actor {
				t.Errorf("event %d: actor %q", e.Seq, e.Actor)
			}
			if n > 0 && e.Time.Before(events[n-1].Time) {
				t.Errorf("event %d is older than its predecessor", e.Seq)
			}
			if e.Action == steward.IdentityAction(steward.TransitionRevoke) {
				revokes[e.IdentityID] = e.Reason
			}
		}
		last, err := s.LastEvent(ctx)
		if err != nil || last.EntryHash != prev {
			t.Fatalf("LastEvent = %v, %v; want the chain head", last, err)
		}
		created := map[string]bool{}
		credentials := 0
		for _, e := range events {
			switch e.Action {
			case steward.ActionIdentityCreate, steward.ActionIdentityImport:
				created[e.IdentityID] = true
			case steward.ActionCredentialCreate:
				credentials++
			}
		}
		if credentials != sum.Credentials {
			t.Errorf("the chain records %d credentials, summary says %d", credentials, sum.Credentials)
		}
		for _, i := range ids {
			if !created[i.ID] {
				t.Errorf("identity %s has no creation event", i.Name)
			}
			if i.Status != steward.StatusRevoked {
				continue
			}
			reason, ok := revokes[i.ID]
			r, _, _ := strings.Cut(reason, ":")
			if !ok || !slices.Contains(steward.RevokeReasons, steward.RevokeReason(r)) {
				t.Errorf("revoked identity %s: revoke event reason %q", i.Name, reason)
			}
		}
	})

	t.Run("a second seed is refused", func(t *testing.T) {
		_, err := demo.Seed(ctx, s, now, 42)
		if steward.ErrorCode(err) != steward.ECONFLICT {
			t.Fatalf("second Seed: %v, want a conflict", err)
		}
		if n := len(allIdentities(t, s)); n != sum.Identities {
			t.Errorf("after the refused seed the store has %d identities", n)
		}
	})
}
