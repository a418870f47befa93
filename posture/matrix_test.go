package posture_test

import (
	"context"
	"testing"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

// TestFindingMatrix checks the estate's finding counts: OWASP ids are
// merged across editions, resolved findings are left out, and owners may
// not read the estate's counts.
func TestFindingMatrix(t *testing.T) {
	v := newEnv(t, sqltest.OpenSQLite, nil)
	ada := v.owner("Ada", nil)
	i := v.identity("a1", ada.ID, nil)
	now := v.clk.Now()
	mk := func(id, owasp string, sev steward.Severity, status steward.FindingStatus) steward.FindingWrite {
		return steward.FindingWrite{Insert: true, Finding: &steward.Finding{ID: id, Key: id, Check: "check." + id, Title: id, Severity: sev, Status: status,
			IdentityID: i.ID, OwnerID: ada.ID, OWASP: owasp, CSF: []string{}, Evidence: map[string]any{}, CreatedAt: now, UpdatedAt: now, FirstSeen: now}}
	}
	if err := v.store.UpdatePosture(context.Background(), func(tx steward.PostureTx) error {
		return tx.WriteFindings(context.Background(), []steward.FindingWrite{
			mk("fnd_1", "NHI7:2025", steward.SeverityHigh, steward.FindingOpen),
			mk("fnd_2", "NHI7", steward.SeverityHigh, steward.FindingWaived),
			mk("fnd_3", "NHI7:2025", steward.SeverityLow, steward.FindingAcknowledged),
			mk("fnd_4", "NHI2:2025", steward.SeverityCritical, steward.FindingResolved),
		})
	}); err != nil {
		t.Fatal(err)
	}
	m, err := v.e.FindingMatrix(v.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 1 || m["NHI7"][steward.SeverityHigh] != 2 || m["NHI7"][steward.SeverityLow] != 1 {
		t.Fatalf("matrix %v", m)
	}
	owner := steward.WithPrincipal(context.Background(), &steward.Principal{Actor: "token:ada", Role: steward.RoleOwner, OwnerID: ada.ID})
	if _, err := v.e.FindingMatrix(owner); steward.ErrorCode(err) != steward.EFORBIDDEN {
		t.Fatalf("owner: %v, want EFORBIDDEN", err)
	}
}
