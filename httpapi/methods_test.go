package httpapi_test

import (
	"strings"
	"testing"

	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

// TestUnsupportedMethodIs405WithAllow: a known path asked with a method it
// does not serve answers 405 with the methods it does in Allow (RFC 9110
// §15.5.6), as problem+json; an unknown path stays 404.
func TestUnsupportedMethodIs405WithAllow(t *testing.T) {
	e := newEnv(t, sqltest.OpenSQLite, nil)
	for _, tt := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{"DELETE", "/api/v1/stats", 405, "GET, HEAD"},
		{"PUT", "/oauth2/token", 405, "POST"},
		{"POST", "/api/v1/identities/nhi_x/history-nope", 404, ""},
		{"PATCH", "/api/v1/owners", 405, "GET, HEAD, POST"},
		{"GET", "/api/v1/no-such-route", 404, ""},
	} {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := e.do(tt.method, tt.path, e.tokens["admin"], "", nil)
			if r.status != tt.status || r.header.Get("Allow") != tt.allow {
				t.Fatalf("%d Allow %q, want %d Allow %q: %s", r.status, r.header.Get("Allow"), tt.status, tt.allow, r.body)
			}
			if !strings.HasPrefix(r.header.Get("Content-Type"), "application/problem+json") {
				t.Fatalf("content type %s", r.header.Get("Content-Type"))
			}
		})
	}
}
