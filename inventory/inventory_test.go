package inventory_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/clock"
	"github.com/steward-nhi/steward/inventory"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

func setup(t *testing.T, open func(testing.TB) steward.Store) (*inventory.Service, context.Context, *clock.Fake) {
	t.Helper()
	clk := clock.NewFake(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	svc := inventory.New(inventory.Config{Store: open(t), Clock: clk})
	return svc, steward.WithPrincipal(context.Background(), &steward.Principal{Actor: "token:test", Role: steward.RoleAdmin}), clk
}

func forEachEngine(t *testing.T, fn func(t *testing.T, open func(testing.TB) steward.Store)) {
	for _, e := range sqltest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) { fn(t, e.Open) })
	}
}

func TestImportIsIdempotentAndRecorded(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open func(testing.TB) steward.Store) {
		svc, ctx, _ := setup(t, open)
		file, err := os.ReadFile("../importer/aws/testdata/credential-report.csv")
		if err != nil {
			t.Fatal(err)
		}
		sum, err := svc.Import(ctx, "aws-credential-report", bytes.NewReader(file), steward.ImportOptions{Partial: true})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Created == 0 || sum.Updated != 0 {
			t.Fatalf("first import: %+v", sum)
		}
		events1, _ := svc.ListEvents(ctx, steward.EventFilter{Limit: 1000})
		again, err := svc.Import(ctx, "aws-credential-report", bytes.NewReader(file), steward.ImportOptions{Partial: true})
		if err != nil {
			t.Fatal(err)
		}
		if again.Created != 0 || again.Updated != 0 || again.Unchanged != sum.Created {
			t.Fatalf("second import changed something: %+v (first %+v)", again, sum)
		}
		events2, _ := svc.ListEvents(ctx, steward.EventFilter{Limit: 1000})
		// Only the import run itself is recorded the second time.
		if len(events2.Items) != len(events1.Items)+1 {
			t.Fatalf("events %d → %d", len(events1.Items), len(events2.Items))
		}
		page, _ := svc.ListIdentities(ctx, steward.IdentityFilter{OwnerID: "none", Source: steward.SourceImported})
		if len(page.Items) != sum.Created || sum.Unowned != sum.Created {
			t.Fatalf("unowned imported identities: %d listed, summary %+v", len(page.Items), sum)
		}
		// A person's edit survives a re-import.
		i := page.Items[0]
		if _, err := svc.UpdateIdentity(ctx, i.ID, steward.IdentityPatch{Team: steward.Some("payments")}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Import(ctx, "aws-credential-report", bytes.NewReader(file), steward.ImportOptions{Partial: true}); err != nil {
			t.Fatal(err)
		}
		got, _ := svc.GetIdentity(ctx, i.ID)
		if got.Team != "payments" {
			t.Fatalf("re-import undid the team: %q", got.Team)
		}
	})
}

func TestMalformedImportWritesNothing(t *testing.T) {
	svc, ctx, _ := setup(t, sqltest.OpenSQLite)
	good := "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: ok\n  namespace: a\n"
	bad := good + "---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: \"\"\n  namespace: b\n"
	sum, err := svc.Import(ctx, "kubernetes", strings.NewReader(bad), steward.ImportOptions{})
	if steward.ErrorCode(err) != steward.EINVALID || !strings.Contains(err.Error(), "record") {
		t.Fatalf("err = %v", err)
	}
	if sum == nil || sum.Rejected == 0 || len(sum.Errors) == 0 {
		t.Fatalf("summary %+v", sum)
	}
	page, _ := svc.ListIdentities(ctx, steward.IdentityFilter{})
	if len(page.Items) != 0 {
		t.Fatalf("a rejected file wrote %d identities", len(page.Items))
	}
	sum, err = svc.Import(ctx, "kubernetes", strings.NewReader(bad), steward.ImportOptions{Partial: true})
	if err != nil || sum.Created != 1 || sum.Rejected != 1 {
		t.Fatalf("partial: %+v %v", sum, err)
	}
	if _, err := svc.Import(ctx, "kubernetes", strings.NewReader("{{{not yaml"), steward.ImportOptions{}); steward.ErrorCode(err) != steward.EINVALID {
		t.Fatalf("garbage: %v", err)
	}
	if _, err := svc.Import(ctx, "nope", strings.NewReader(""), steward.ImportOptions{}); steward.ErrorField(err) != "format" {
		t.Fatalf("unknown format: %v", err)
	}
}

func TestImportMatchesOwnersByEmail(t *testing.T) {
	svc, ctx, _ := setup(t, sqltest.OpenSQLite)
	o, err := svc.CreateOwner(ctx, &steward.Owner{Name: "Eve", Email: "eve@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	doc := "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: etl\n  namespace: data\n  annotations:\n    steward.io/owner: EVE@example.com\n"
	sum, err := svc.Import(ctx, "kubernetes", strings.NewReader(doc), steward.ImportOptions{})
	if err != nil || sum.Unowned != 0 {
		t.Fatalf("import: %+v %v", sum, err)
	}
	page, _ := svc.ListIdentities(ctx, steward.IdentityFilter{OwnerID: o.ID})
	if len(page.Items) != 1 {
		t.Fatalf("owned: %d", len(page.Items))
	}
}

func TestExpirySweep(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open func(testing.TB) steward.Store) {
		svc, ctx, clk := setup(t, open)
		exp := clk.Now().Add(time.Hour)
		i, err := svc.CreateIdentity(ctx, &steward.Identity{Name: "short", Kind: steward.KindAPIKey, ExpiresAt: &exp, UnownedReason: "test fixture"})
		if err != nil {
			t.Fatal(err)
		}
		if n, err := svc.ExpireDue(ctx); err != nil || n != 0 {
			t.Fatalf("early sweep: %d %v", n, err)
		}
		clk.Advance(2 * time.Hour)
		if n, err := svc.ExpireDue(ctx); err != nil || n != 1 {
			t.Fatalf("sweep: %d %v", n, err)
		}
		got, _ := svc.GetIdentity(ctx, i.ID)
		if got.Status != steward.StatusExpired {
			t.Fatalf("status %s", got.Status)
		}
		ev, _ := svc.ListEvents(ctx, steward.EventFilter{IdentityID: i.ID})
		if ev.Items[0].Action != "identity.expire" || ev.Items[0].Actor != "system:expiry" {
			t.Fatalf("event %+v", ev.Items[0])
		}
	})
}

func TestRevokingAnIdentityRevokesItsCredentials(t *testing.T) {
	svc, ctx, _ := setup(t, sqltest.OpenSQLite)
	file, _ := os.ReadFile("../importer/aws/testdata/credential-report.csv")
	if _, err := svc.Import(ctx, "aws-credential-report", bytes.NewReader(file), steward.ImportOptions{Partial: true}); err != nil {
		t.Fatal(err)
	}
	page, _ := svc.ListIdentities(ctx, steward.IdentityFilter{Query: "ci-deployer"})
	if len(page.Items) != 1 {
		t.Fatalf("found %d", len(page.Items))
	}
	id := page.Items[0].ID
	creds, _ := svc.ListCredentials(ctx, id)
	if len(creds) == 0 {
		t.Fatal("no credentials imported")
	}
	if _, err := svc.TransitionIdentity(ctx, id, steward.TransitionRevoke, steward.TransitionRequest{Reason: "incident"}); err != nil {
		t.Fatal(err)
	}
	creds, _ = svc.ListCredentials(ctx, id)
	for _, c := range creds {
		if c.Status != steward.CredentialRevoked || c.RevokedAt == nil {
			t.Fatalf("credential %s is %s", c.ID, c.Status)
		}
	}
}

func TestOptimisticConcurrency(t *testing.T) {
	svc, ctx, _ := setup(t, sqltest.OpenSQLite)
	i, _ := svc.CreateIdentity(ctx, &steward.Identity{Name: "v", Kind: steward.KindBot, UnownedReason: "test fixture"})
	if _, err := svc.UpdateIdentity(ctx, i.ID, steward.IdentityPatch{Purpose: steward.Some("a"), Version: i.Version}); err != nil {
		t.Fatal(err)
	}
	_, err := svc.UpdateIdentity(ctx, i.ID, steward.IdentityPatch{Purpose: steward.Some("b"), Version: i.Version})
	if steward.ErrorCode(err) != steward.ECONFLICT {
		t.Fatalf("stale version: %v", err)
	}
}

func TestUnauthenticatedCallsAreRefused(t *testing.T) {
	svc, _, _ := setup(t, sqltest.OpenSQLite)
	_, err := svc.ListIdentities(context.Background(), steward.IdentityFilter{})
	if steward.ErrorCode(err) != steward.EUNAUTHORIZED {
		t.Fatalf("err = %v", err)
	}
	nhi := steward.WithPrincipal(context.Background(), &steward.Principal{Actor: "nhi:x", IdentityID: "nhi_x"})
	if _, err := svc.ListIdentities(nhi, steward.IdentityFilter{}); steward.ErrorCode(err) != steward.EFORBIDDEN {
		t.Fatalf("NHI caller: %v", err)
	}
}

// TestImportWritesInBatches imports more identities than one write batch
// holds (and one record naming an identity again, which the importer
// rejects) and checks every identity and the event chain.
func TestImportWritesInBatches(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open func(testing.TB) steward.Store) {
		svc, ctx, _ := setup(t, open)
		var doc strings.Builder
		const n = 1234
		for k := range n {
			fmt.Fprintf(&doc, "---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: sa-%04d\n  namespace: batch\n", k)
			if k == 700 {
				doc.WriteString("---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: sa-0003\n  namespace: batch\n  labels:\n    tier: gold\n")
			}
		}
		sum, err := svc.Import(ctx, "kubernetes", strings.NewReader(doc.String()), steward.ImportOptions{Partial: true})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Created != n || sum.Rejected != 1 || sum.Records != n+1 {
			t.Fatalf("summary %+v", sum)
		}
		all, err := svc.ListIdentities(ctx, steward.IdentityFilter{Limit: steward.MaxLimit})
		if err != nil {
			t.Fatal(err)
		}
		count := len(all.Items)
		for all.NextCursor != "" {
			if all, err = svc.ListIdentities(ctx, steward.IdentityFilter{Limit: steward.MaxLimit, Cursor: all.NextCursor}); err != nil {
				t.Fatal(err)
			}
			count += len(all.Items)
		}
		if count != n {
			t.Fatalf("%d identities stored, want %d", count, n)
		}
		prev, seen := steward.GenesisHash, 0
		f := steward.EventFilter{Ascending: true, Limit: steward.MaxLimit}
		for {
			evs, err := svc.ListEvents(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range evs.Items {
				h, err := e.ComputeHash()
				if err != nil || e.PrevHash != prev || h != e.EntryHash {
					t.Fatalf("event seq %d breaks the chain (%v)", e.Seq, err)
				}
				prev = e.EntryHash
				seen++
			}
			if evs.NextCursor == "" {
				break
			}
			f.Cursor = evs.NextCursor
		}
		if seen != n+1 {
			t.Fatalf("%d events, want %d (creations and the import)", seen, n+1)
		}
	})
}
