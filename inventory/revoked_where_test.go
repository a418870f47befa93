package inventory_test

import (
	"testing"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

// TestRevokingAnIdentitySaysWhereEachCredentialIsRevoked: Steward refuses
// the keys it issued to a revoked identity; an imported identity's keys
// and a password in custody are revoked in the inventory only.
func TestRevokingAnIdentitySaysWhereEachCredentialIsRevoked(t *testing.T) {
	tests := []struct {
		name     string
		provider string
		credType string
		want     string
	}{
		{"a Steward identity's API key is refused by Steward", "steward", steward.CredentialTypeAPIKey, steward.RevokedSteward},
		{"a federation binding is refused by Steward", "steward", steward.CredentialTypeFederated, steward.RevokedSteward},
		{"an imported AWS identity's key is revoked in the inventory only", "aws", "aws_access_key", steward.RevokedInventoryOnly},
		{"an imported identity's api_key-typed credential is revoked in the inventory only", "vendor:acme", steward.CredentialTypeAPIKey, steward.RevokedInventoryOnly},
		{"a password in custody is revoked in the inventory only", "steward", steward.CredentialTypePassword, steward.RevokedInventoryOnly},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc, ctx, clk := setup(t, sqltest.OpenSQLite)
			i, err := svc.CreateIdentity(ctx, &steward.Identity{Name: "app", Kind: steward.KindServiceAccount, Provider: tt.provider, UnownedReason: "test", Status: steward.StatusActive})
			if err != nil {
				t.Fatal(err)
			}
			c := &steward.Credential{ID: "crd_1", IdentityID: i.ID, Type: tt.credType, Status: steward.CredentialActive, Scopes: []string{}, CreatedAt: clk.Now(), Metadata: map[string]string{}}
			if err := svc.Store().Update(ctx, func(tx steward.Tx) error { return tx.CreateCredential(ctx, c) }); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.TransitionIdentity(ctx, i.ID, steward.TransitionRevoke, steward.TransitionRequest{Reason: "incident"}); err != nil {
				t.Fatal(err)
			}
			got, err := svc.Store().GetCredential(ctx, c.ID)
			if err != nil || got.Status != steward.CredentialRevoked || got.RevokedWhere != tt.want {
				t.Fatalf("%s %q %v, want revoked %q", got.Status, got.RevokedWhere, err, tt.want)
			}
		})
	}
}
