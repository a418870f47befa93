package web_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

// TestIdentityPageShowsDormantCredentials checks that a credential unused
// beyond the dormancy threshold is marked on the identity page, and its
// finding listed, while the identity's fresh credential is not marked.
func TestIdentityPageShowsDormantCredentials(t *testing.T) {
	e := newEnv(t, sqltest.OpenSQLite, withCaps)
	now := e.clock.Now()
	stale, fresh := now.AddDate(0, 0, -200), now.AddDate(0, 0, -2)
	creds := []*steward.Credential{
		{ID: "crd_stale", IdentityID: e.a.ID, Type: "aws_access_key", ExternalRef: "access_key_1", Status: steward.CredentialActive,
			Scopes: []string{}, CreatedAt: now.AddDate(-1, 0, 0), LastUsedAt: &stale, Metadata: map[string]string{}},
		{ID: "crd_fresh", IdentityID: e.a.ID, Type: "aws_access_key", ExternalRef: "access_key_2", Status: steward.CredentialActive,
			Scopes: []string{}, CreatedAt: now.AddDate(-1, 0, 0), LastUsedAt: &fresh, Metadata: map[string]string{}},
	}
	if err := e.store.Update(context.Background(), func(tx steward.Tx) error {
		for _, c := range creds {
			if err := tx.CreateCredential(context.Background(), c); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.caps.posture.FullRun(admin()); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.signIn(steward.RoleOperator)
	b.get("/identities/" + e.a.ID)
	row := func(id string) string {
		return regexp.MustCompile(`(?s)<tr data-credential="` + id + `">.*?</tr>`).FindString(b.body)
	}
	tests := []struct {
		name, id string
		dormant  bool
	}{
		{"the key unused for 200 days is marked dormant", "crd_stale", true},
		{"the key used two days ago is not", "crd_fresh", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := row(tc.id)
			if r == "" {
				t.Fatalf("no row for %s", tc.id)
			}
			if got := strings.Contains(r, ">dormant</span>"); got != tc.dormant {
				t.Fatalf("dormant badge %v, want %v: %s", got, tc.dormant, r)
			}
		})
	}
	if !strings.Contains(b.body, "Credential aws_access_key access_key_1 unused for 200 days") {
		t.Fatal("the dormant-credential finding is not listed")
	}
}
