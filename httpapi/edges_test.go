package httpapi_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/httpapi"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

// TestOversizedBodyIs413 sends bodies over the limit whose first bytes are
// not JSON: the size decides before the content does.
func TestOversizedBodyIs413(t *testing.T) {
	e := newEnv(t, sqltest.OpenSQLite, nil)
	garbage := bytes.Repeat([]byte("\xff not json at all "), (2<<20)/18)
	for _, path := range []string{"/api/v1/identities", "/api/v1/owners", "/api/v1/tokens"} {
		r := e.do("POST", path, e.tokens["admin"], "application/json", bytes.NewReader(garbage))
		if r.status != http.StatusRequestEntityTooLarge {
			t.Fatalf("POST %s with 2 MiB of garbage: status %d, want 413: %.200s", path, r.status, r.body)
		}
		if p := r.problem(t); p.Code != steward.ETOOLARGE {
			t.Fatalf("problem %+v", p)
		}
	}
	// A chunked body (no Content-Length) is still cut by the streaming limit.
	big := `{"name":"` + strings.Repeat("x", httpapi.MaxBodyBytes) + `"}`
	r := e.do("POST", "/api/v1/identities", e.tokens["admin"], "application/json", struct{ *strings.Reader }{strings.NewReader(big)})
	if r.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked body over the limit: status %d, want 413", r.status)
	}
}

// TestStatsAreForStaffOnly: estate-wide counts are for admin, operator and
// auditor; neither an owner token nor an NHI credential may read them.
func TestStatsAreForStaffOnly(t *testing.T) {
	e := newEnv(t, sqltest.OpenSQLite, func(d *httpapi.Deps) {
		next := d.Auth
		d.Auth = func(ctx context.Context, tok string) (*steward.Principal, error) {
			if tok == "nhi-credential" {
				return &steward.Principal{Actor: "nhi:nhi_x", IdentityID: "nhi_x", CredentialID: "crd_x", Scopes: []string{"read"}}, nil
			}
			return next(ctx, tok)
		}
	})
	e.tokens["nhi"] = "nhi-credential"
	for role, want := range map[string]int{"admin": 200, "operator": 200, "auditor": 200, "owner": 403, "nhi": 403} {
		if r := e.call("GET", "/api/v1/stats", role, nil); r.status != want {
			t.Errorf("GET /api/v1/stats as %s: status %d, want %d: %s", role, r.status, want, r.body)
		}
	}
}
