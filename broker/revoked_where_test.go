package broker_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/broker"
)

// TestEveryRevokeSaysWhereItTookEffect: a key Steward issued is refused
// by Steward; an imported key (Steward never verifies it) and a password
// in custody are only marked in the inventory, and the answer, the stored
// credential and the event all say so.
func TestEveryRevokeSaysWhereItTookEffect(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	external := func(typ string) string {
		t.Helper()
		c := &steward.Credential{ID: "cred_" + typ, IdentityID: e.ident.ID, Type: typ, ExternalRef: "AKIA" + typ,
			Fingerprint: steward.Fingerprint([]byte(typ)), Status: steward.CredentialActive, Scopes: []string{}, CreatedAt: t0,
			Metadata: map[string]string{}}
		if err := e.store.Update(ctx, func(tx steward.Tx) error { return tx.CreateCredential(ctx, c) }); err != nil {
			t.Fatal(err)
		}
		return c.ID
	}
	tests := []struct {
		name string
		id   string
		want string
	}{
		{"an API key Steward issued is refused by Steward", e.issue(e.ident.ID, broker.IssueRequest{}).ID, steward.RevokedSteward},
		{"a client secret Steward issued is refused by Steward", e.issue(e.ident.ID, broker.IssueRequest{Type: steward.CredentialTypeClientSecret}).ID, steward.RevokedSteward},
		{"an imported AWS key is revoked in the inventory only", external("aws_access_key"), steward.RevokedInventoryOnly},
		{"a password in custody is revoked in the inventory only", external(steward.CredentialTypePassword), steward.RevokedInventoryOnly},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.b.Revoke(e.adminP, tt.id, broker.RevokeRequest{Reason: "test"})
			if err != nil {
				t.Fatal(err)
			}
			if got.RevokedWhere != tt.want {
				t.Errorf("answer says %q, want %q", got.RevokedWhere, tt.want)
			}
			stored, err := e.store.GetCredential(ctx, tt.id)
			if err != nil || stored.RevokedWhere != tt.want {
				t.Errorf("stored %q (%v), want %q", stored.RevokedWhere, err, tt.want)
			}
			evs, err := e.store.ListEvents(ctx, steward.EventFilter{SubjectID: tt.id, Action: steward.ActionCredentialRevoke, Limit: 1})
			if err != nil || len(evs.Items) != 1 {
				t.Fatalf("revoke event: %v %v", evs, err)
			}
			var after struct {
				RevokedWhere string `json:"revoked_where"`
			}
			if err := json.Unmarshal(evs.Items[0].After, &after); err != nil || after.RevokedWhere != tt.want {
				t.Errorf("event says %q (%v), want %q", after.RevokedWhere, err, tt.want)
			}
		})
	}
}

// TestRotationAndOverlapEndAreStewardEnforced: a predecessor revoked by a
// rotation without overlap, or at the end of its overlap, reads
// revoked where Steward refuses it.
func TestRotationAndOverlapEndAreStewardEnforced(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	now := e.issue(e.ident.ID, broker.IssueRequest{})
	if _, err := e.b.Rotate(e.adminP, now.ID, broker.RotateRequest{}); err != nil {
		t.Fatal(err)
	}
	later := e.issue(e.ident.ID, broker.IssueRequest{})
	if _, err := e.b.Rotate(e.adminP, later.ID, broker.RotateRequest{Overlap: dur(3600e9)}); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(3601e9)
	if got, err := e.b.Get(e.adminP, later.ID); err != nil || got.RevokedWhere != steward.RevokedSteward {
		t.Fatalf("past the overlap, before the sweep: %q %v", got.RevokedWhere, err)
	}
	if _, err := e.b.ExpireDue(ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{now.ID, later.ID} {
		c, err := e.store.GetCredential(ctx, id)
		if err != nil || c.Status != steward.CredentialRevoked || c.RevokedWhere != steward.RevokedSteward {
			t.Errorf("%s: %s %q %v", id, c.Status, c.RevokedWhere, err)
		}
	}
}
