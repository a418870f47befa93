package httpapi_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/steward-nhi/steward/httpapi"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

// TestPprof: the runtime's profiles are served to admins only, and only
// when metrics.pprof is on; otherwise the route answers 501 problem JSON
// that says how to turn it on.
func TestPprof(t *testing.T) {
	off := newEnv(t, sqltest.OpenSQLite, nil)
	on := newEnv(t, sqltest.OpenSQLite, func(d *httpapi.Deps) { d.Pprof = true })
	gzipped := func(b []byte) bool { return bytes.HasPrefix(b, []byte{0x1f, 0x8b}) }
	for _, tc := range []struct {
		name, path, role string
		e                *env
		want             int
		check            func(t *testing.T, r resp)
	}{
		{"off: admin gets 501 naming the setting", "/debug/pprof/heap", "admin", off, 501, func(t *testing.T, r resp) {
			if p := r.problem(t); !strings.Contains(p.Detail, "metrics.pprof") {
				t.Fatalf("problem does not name metrics.pprof: %+v", p)
			}
		}},
		{"off: an operator is refused before the 501", "/debug/pprof/heap", "operator", off, 403, nil},
		{"on: no token", "/debug/pprof/heap", "", on, 401, nil},
		{"on: operator is refused", "/debug/pprof/heap", "operator", on, 403, nil},
		{"on: auditor is refused", "/debug/pprof/goroutine", "auditor", on, 403, nil},
		{"on: owner is refused", "/debug/pprof/heap", "owner", on, 403, nil},
		{"on: admin gets the heap profile (gzipped protobuf)", "/debug/pprof/heap?gc=1", "admin", on, 200, func(t *testing.T, r resp) {
			if !gzipped(r.body) {
				t.Fatalf("heap profile is not gzipped pprof: %.40q", r.body)
			}
		}},
		{"on: goroutines as text with debug=1", "/debug/pprof/goroutine?debug=1", "admin", on, 200, func(t *testing.T, r resp) {
			if !strings.Contains(string(r.body), "goroutine profile:") {
				t.Fatalf("not a text goroutine profile: %.200s", r.body)
			}
		}},
		{"on: a one-second CPU profile", "/debug/pprof/profile?seconds=1", "admin", on, 200, func(t *testing.T, r resp) {
			if !gzipped(r.body) {
				t.Fatalf("CPU profile is not gzipped pprof: %.40q", r.body)
			}
		}},
		{"on: an unknown profile is 404 listing the known ones", "/debug/pprof/nope", "admin", on, 404, func(t *testing.T, r resp) {
			if p := r.problem(t); !strings.Contains(p.Detail, "heap") || !strings.Contains(p.Detail, "profile") {
				t.Fatalf("problem does not list the profiles: %+v", p)
			}
		}},
		{"on: seconds out of range is 400 naming it", "/debug/pprof/profile?seconds=0", "admin", on, 400, func(t *testing.T, r resp) {
			if p := r.problem(t); p.Field != "seconds" {
				t.Fatalf("problem field %q, want seconds: %+v", p.Field, p)
			}
		}},
		{"on: debug not a number is 400 naming it", "/debug/pprof/heap?debug=x", "admin", on, 400, func(t *testing.T, r resp) {
			if p := r.problem(t); p.Field != "debug" {
				t.Fatalf("problem field %q, want debug: %+v", p.Field, p)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.e.do("GET", tc.path, tc.e.tokens[tc.role], "", nil)
			if r.status != tc.want {
				t.Fatalf("GET %s as %q: %d, want %d: %.300s", tc.path, tc.role, r.status, tc.want, r.body)
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
	t.Run("a second CPU profile while one runs is 409", func(t *testing.T) {
		got := make(chan int, 2)
		for range 2 {
			go func() {
				got <- send(t, on.srv, "GET", "/debug/pprof/profile?seconds=3", on.tokens["admin"], "", nil).status
			}()
		}
		a, b := <-got, <-got
		if min(a, b) != http.StatusOK || max(a, b) != http.StatusConflict {
			t.Fatalf("two CPU profiles at once answered %d and %d, want 200 and 409", a, b)
		}
	})
}
