package rotation_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/custody"
	"github.com/steward-nhi/steward/internal/secretbox"
	"github.com/steward-nhi/steward/rotation"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

// TestOwnersSeeOnlyTheirOwnLeases: the owner role reads and acts on its
// own identities only, leases included; staff roles see every lease.
func TestOwnersSeeOnlyTheirOwnLeases(t *testing.T) {
	ctx := context.Background()
	st := sqltest.SQLite(t)
	box, err := secretbox.New(bytes.Repeat([]byte{3}, secretbox.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	cus, err := custody.New(custody.Config{Store: st, Box: box})
	if err != nil {
		t.Fatal(err)
	}
	rot, err := rotation.New(rotation.Config{Store: st, Custody: cus})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	err = st.UpdateRotations(ctx, func(tx steward.RotationTx) error {
		for _, who := range []string{"alice", "bob"} {
			o := &steward.Owner{ID: "own_" + who, Name: who, Email: who + "@example.com", Kind: steward.OwnerPerson, Status: steward.OwnerActive, CreatedAt: now, UpdatedAt: now}
			if err := tx.CreateOwner(ctx, o); err != nil {
				return err
			}
			i := &steward.Identity{ID: "nhi_" + who, Name: who + "-app", Kind: steward.KindServiceAccount, Provider: "steward", OwnerID: o.ID, Scopes: []string{},
				Sensitivity: steward.SensitivityMedium, Source: steward.SourceRegistered, Status: steward.StatusActive, CreatedAt: now, UpdatedAt: now, Version: 1}
			if err := tx.CreateIdentity(ctx, i); err != nil {
				return err
			}
			l := &steward.Lease{ID: "lse_" + who, IdentityID: i.ID, Rotator: "pg", Username: "v_" + who, Status: steward.LeaseActive, CreatedAt: now,
				ExpiresAt: now.Add(time.Hour), MaxExpiresAt: now.Add(24 * time.Hour), Actor: "token:ops"}
			if err := tx.PutLease(ctx, l); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	as := func(role steward.Role, owner string) context.Context {
		return steward.WithPrincipal(ctx, &steward.Principal{Actor: "token:" + string(role), Role: role, OwnerID: owner})
	}
	tests := []struct {
		name     string
		ctx      context.Context
		identity string
		want     []string
		code     string
	}{
		{"an auditor sees every lease", as(steward.RoleAuditor, ""), "", []string{"lse_alice", "lse_bob"}, ""},
		{"an owner listing all sees its own only", as(steward.RoleOwner, "own_alice"), "", []string{"lse_alice"}, ""},
		{"an owner lists its own identity's leases", as(steward.RoleOwner, "own_alice"), "nhi_alice", []string{"lse_alice"}, ""},
		{"an owner may not list another owner's identity's leases", as(steward.RoleOwner, "own_alice"), "nhi_bob", nil, steward.EFORBIDDEN},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := rot.ListLeases(tt.ctx, tt.identity, "")
			if tt.code != "" {
				if steward.ErrorCode(err) != tt.code {
					t.Fatalf("err %v, want %s", err, tt.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, l := range got.Items {
				ids = append(ids, l.ID)
			}
			if len(ids) != len(tt.want) {
				t.Fatalf("leases %v, want %v", ids, tt.want)
			}
			for _, w := range tt.want {
				found := false
				for _, id := range ids {
					found = found || id == w
				}
				if !found {
					t.Errorf("leases %v, want %v", ids, tt.want)
				}
			}
		})
	}
	if _, err := rot.RevokeLease(as(steward.RoleOwner, "own_alice"), "lse_bob"); steward.ErrorCode(err) != steward.EFORBIDDEN {
		t.Errorf("an owner revoking another's lease: %v", err)
	}
}
