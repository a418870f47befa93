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

// TestNULAndInvalidUTF8AreRefusedAtTheEdge: neither engine sees a NUL or
// invalid UTF-8; both answer the same 400 naming the field.
func TestNULAndInvalidUTF8AreRefusedAtTheEdge(t *testing.T) {
	engines := map[string]func(testing.TB) steward.Store{"sqlite": sqltest.OpenSQLite, "postgres": sqltest.OpenPostgres}
	for engine, open := range engines {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, open, nil)
			tests := []struct {
				name, method, path, body, field string
			}{
				{"NUL in a query parameter", "GET", "/api/v1/identities?q=%00", "", "q"},
				{"invalid UTF-8 in a query parameter", "GET", "/api/v1/owners?team=%FF", "", "team"},
				{"NUL in a path id", "GET", "/api/v1/identities/nhi_%00x", "", "id"},
				{"invalid UTF-8 in a path id", "GET", "/api/v1/identities/nhi_%FFx", "", "id"},
				{"NUL in a path id of an action", "POST", "/api/v1/identities/nhi_%00x/suspend", `{"reason":"incident"}`, "id"},
				{"NUL in a JSON name", "POST", "/api/v1/identities", `{"name":"a\u0000b","kind":"bot"}`, "name"},
				{"NUL in a nested JSON value", "POST", "/api/v1/identities", `{"name":"ab","kind":"bot","labels":{"team":"x\u0000"}}`, "labels.team"},
				{"invalid UTF-8 in a JSON value", "POST", "/api/v1/owners", "{\"name\":\"a\xffb\",\"email\":\"a@example.com\"}", "name"},
				{"NUL in an array item", "PATCH", "/api/v1/identities/" + e.identA.ID, `{"scopes":["read","w\u0000"]}`, "scopes"},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					var body *strings.Reader
					ct := ""
					if tc.body != "" {
						body, ct = strings.NewReader(tc.body), "application/json"
					} else {
						body = strings.NewReader("")
					}
					r := e.do(tc.method, tc.path, e.tokens["admin"], ct, body)
					if r.status != http.StatusBadRequest {
						t.Fatalf("status %d, want 400: %s", r.status, r.body)
					}
					if p := r.problem(t); p.Field != tc.field || p.Code != steward.EINVALID {
						t.Fatalf("problem names field %q (code %s), want %q: %s", p.Field, p.Code, tc.field, p.Detail)
					}
				})
			}
			// An escaped backslash before u0000 is not a NUL.
			r := e.call("POST", "/api/v1/identities", "admin", `{"name":"a\\u0000b","kind":"bot","owner_id":"`+e.ownerA.ID+`"}`)
			if r.status != http.StatusCreated {
				t.Fatalf(`name a\u0000b (literal backslash): status %d: %s`, r.status, r.body)
			}
		})
	}
}
