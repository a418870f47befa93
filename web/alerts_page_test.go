package web_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/authz"
	"github.com/steward-nhi/steward/discovery"
	"github.com/steward-nhi/steward/internal/clock"
	"github.com/steward-nhi/steward/inventory"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
	"github.com/steward-nhi/steward/web"
)

func TestAlertsAndDiscoveryPages(t *testing.T) {
	st := sqltest.SQLite(t)
	clk := clock.NewFake(sqltest.Base)
	svc := inventory.New(inventory.Config{Store: st, Clock: clk})
	disc := discovery.New(st, clk, nil)
	pdp, err := authz.New(context.Background(), authz.Config{Inventory: st, Store: st, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	c, err := web.New(web.Config{
		Identities: svc, Owners: svc, Authenticate: svc.Authenticate,
		Stats:    func(ctx context.Context) (*steward.InventoryStats, error) { return st.InventoryStats(ctx, clk.Now()) },
		Sessions: st, Dashboard: st, Policy: svc.Policy(), Now: clk.Now, SessionLifetime: time.Hour, Version: "test",
		Pages: []web.Page{web.AlertsPage(st), web.DiscoveryPage(disc), web.PoliciesPage(pdp)},
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	c.Register(func(p string, h http.Handler) { mux.Handle(p, h) })
	srv := httptest.NewServer(mux)
	defer srv.Close()

	ctx := steward.WithPrincipal(context.Background(), steward.SystemPrincipal("test"))
	admin, _ := svc.Bootstrap(ctx, "")
	id, err := svc.CreateIdentity(ctx, &steward.Identity{Name: "ci-deployer", Kind: steward.KindServiceAccount, Provider: "aws", UnownedReason: "test fixture"})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SaveAlerts(ctx, []*steward.Alert{{ID: "alr_1", Key: "revoked_use:" + id.ID, Detector: "revoked_use", Title: "Use of a revoked credential",
		Severity: "critical", Status: "open", IdentityID: id.ID, Evidence: map[string]any{"outcome": "revoked"}, OWASP: "NHI7:2025", CSF: []string{"DE.CM-01"},
		FirstSeen: clk.Now(), LastSeen: clk.Now(), Count: 3, UpdatedAt: clk.Now()}}); err != nil {
		t.Fatal(err)
	}
	adminCtx := steward.WithPrincipal(context.Background(), &steward.Principal{Actor: "token:t", Role: steward.RoleAdmin})
	if _, err := pdp.PutPolicy(adminCtx, "ops", `permit (principal, action == Action::"read", resource);`, "first"); err != nil {
		t.Fatal(err)
	}
	if _, err := pdp.PutPolicy(adminCtx, "ops", `permit (principal, action == Action::"write", resource);`, "widen to writes"); err != nil {
		t.Fatal(err)
	}
	op := steward.WithPrincipal(context.Background(), &steward.Principal{Actor: "t", Role: steward.RoleOperator})
	if _, err := disc.Ingest(op, &steward.DiscoveryReport{Repository: "acme/infra", Items: []steward.DiscoveryItem{
		{Rule: "aws-access-key", File: "deploy.sh", Line: 4, Fingerprint: steward.Fingerprint([]byte("AKIAX")), Email: "ops@example.com"}}}); err != nil {
		t.Fatal(err)
	}

	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := cl.Get(srv.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	body := readBody(t, res)
	csrf := between(body, `name="csrf" value="`, `"`)
	res, err = cl.PostForm(srv.URL+"/login", url.Values{"token": {admin}, "csrf": {csrf}})
	if err != nil || res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: %v %v", res.StatusCode, err)
	}
	res.Body.Close()
	for path, want := range map[string][]string{
		"/alerts":                  {"Use of a revoked credential", "revoked_use", id.ID[:14]},
		"/alerts?severity=low":     {"No alert matches."},
		"/discovery":               {"acme/infra:deploy.sh:4", "unmanaged", "ops@example.com"},
		"/discovery?managed=true":  {"Nothing found yet."},
		"/discovery?managed=false": {"deploy.sh"},
		"/policies":                {"ops", "widen to writes"},
		"/policies?name=ops":       {"Version 2", "Version 1", "- permit (principal, action == Action::&#34;read&#34;", "&#43; permit (principal, action == Action::&#34;write&#34;"},
	} {
		res, err := cl.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b := readBody(t, res)
		if res.StatusCode != 200 {
			t.Fatalf("%s: %d", path, res.StatusCode)
		}
		for _, w := range want {
			if !strings.Contains(b, w) {
				t.Errorf("%s lacks %q", path, w)
			}
		}
	}
}
