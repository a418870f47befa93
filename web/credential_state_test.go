package web_test

import (
	"strings"
	"testing"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/broker"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

// TestRevokedCredentialShowsNoExpiry: a revoked key says it is revoked in
// the expiry column, not "in 29 d", and its status cell is marked for the
// no-wrap style.
func TestRevokedCredentialShowsNoExpiry(t *testing.T) {
	e := newEnv(t, sqltest.OpenSQLite, withCaps)
	live, err := e.caps.broker.Issue(admin(), e.a.ID, broker.IssueRequest{Type: steward.CredentialTypeAPIKey, Reason: "test"})
	if err != nil {
		t.Fatal(err)
	}
	gone, err := e.caps.broker.Issue(admin(), e.a.ID, broker.IssueRequest{Type: steward.CredentialTypeAPIKey, Reason: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.caps.broker.Revoke(admin(), gone.ID, broker.RevokeRequest{Reason: "manual"}); err != nil {
		t.Fatal(err)
	}
	b := e.browserFor(t)
	b.signIn(steward.RoleAdmin)
	b.get("/identities/" + e.a.ID)
	b.expect(200, `class="cred-status"`)
	row := func(id string) string {
		t.Helper()
		body := b.body
		i := strings.Index(body, `data-credential="`+id+`"`)
		if i < 0 {
			t.Fatalf("no row for %s", id)
		}
		j := strings.Index(body[i:], "</tr>")
		return body[i : i+j]
	}
	if r := row(gone.ID); !strings.Contains(r, "(revoked") || strings.Contains(r, ">in ") {
		t.Fatalf("revoked row shows an expiry: %s", r)
	}
	if r := row(live.ID); strings.Contains(r, "(revoked") || !strings.Contains(r, ">in ") {
		t.Fatalf("live row: %s", r)
	}
}
