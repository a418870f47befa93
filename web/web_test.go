package web_test

import (
	"context"
	"encoding/csv"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/clock"
	"github.com/steward-nhi/steward/inventory"
	"github.com/steward-nhi/steward/sqlstore"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
	"github.com/steward-nhi/steward/web"
)

type env struct {
	t      *testing.T
	srv    *httptest.Server
	store  *sqlstore.Store
	svc    *inventory.Service
	clock  *clock.Fake
	logs   *syncBuffer // everything the console and the services log
	tokens map[steward.Role]string
	alice  *steward.Owner
	bob    *steward.Owner
	a, b   *steward.Identity
	caps   *caps // the capabilities beyond the core, when wired
}

// newEnv starts the console on a fresh store with three identities and a
// token per role; wire adds capabilities to its configuration.
func newEnv(t *testing.T, open func(testing.TB) steward.Store, wire ...func(e *env, cfg *web.Config)) *env {
	t.Helper()
	st, ok := open(t).(*sqlstore.Store)
	if !ok {
		t.Fatal("the test store is not a *sqlstore.Store")
	}
	e := &env{t: t, store: st, clock: clock.NewFake(sqltest.Base), tokens: map[steward.Role]string{}, logs: &syncBuffer{}}
	log := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.svc = inventory.New(inventory.Config{Store: st, Clock: e.clock, Logger: log})
	cfg := web.Config{
		Identities: e.svc, Owners: e.svc, Authenticate: e.svc.Authenticate,
		Stats: func(ctx context.Context) (*steward.InventoryStats, error) {
			return st.InventoryStats(ctx, e.clock.Now())
		},
		Sessions: st, Dashboard: st, Policy: e.svc.Policy(), Now: e.clock.Now, SessionLifetime: time.Hour, Version: "test", Logger: log,
	}
	for _, w := range wire {
		w(e, &cfg)
	}
	c, err := web.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	c.Register(func(p string, h http.Handler) { mux.Handle(p, h) })
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)

	ctx := steward.WithPrincipal(context.Background(), steward.SystemPrincipal("test"))
	admin, err := e.svc.Bootstrap(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	e.tokens[steward.RoleAdmin] = admin
	e.alice, _ = e.svc.CreateOwner(ctx, &steward.Owner{Name: "Alice", Email: "alice@example.com"})
	e.bob, _ = e.svc.CreateOwner(ctx, &steward.Owner{Name: "Bob", Email: "bob@example.com"})
	for _, r := range []steward.Role{steward.RoleOperator, steward.RoleAuditor, steward.RoleOwner} {
		tc := steward.TokenCreate{Role: r}
		if r == steward.RoleOwner {
			tc.OwnerID = e.alice.ID
		}
		ct, err := e.svc.CreateToken(ctx, tc)
		if err != nil {
			t.Fatal(err)
		}
		e.tokens[r] = ct.Token
	}
	exp := e.clock.Now().Add(3 * 24 * time.Hour)
	e.a, err = e.svc.CreateIdentity(ctx, &steward.Identity{Name: "alice-deployer", Kind: steward.KindServiceAccount, Provider: "aws", Environment: "prod",
		OwnerID: e.alice.ID, Sensitivity: steward.SensitivityHigh, ExpiresAt: &exp, Purpose: "=cmd|' /C calc'!A0"})
	if err != nil {
		t.Fatal(err)
	}
	e.b, _ = e.svc.CreateIdentity(ctx, &steward.Identity{Name: "bob-bot", Kind: steward.KindBot, Provider: "github", Environment: "dev", OwnerID: e.bob.ID})
	_, _ = e.svc.CreateIdentity(ctx, &steward.Identity{Name: "stray-key", Kind: steward.KindAPIKey, Provider: "vendor:stripe", Environment: "prod", UnownedReason: "test fixture"})
	return e
}

// browser is an HTTP client with a cookie jar that does not follow redirects.
type browser struct {
	e      *env
	t      *testing.T
	c      *http.Client
	csrf   string
	status int
	body   string
	header http.Header
}

func (e *env) browser() *browser {
	return e.browserFor(e.t)
}

// browserFor is a browser whose failures fail t (a subtest).
func (e *env) browserFor(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, t: t, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// with returns the browser, its session shared, failing t (a subtest).
func (b *browser) with(t *testing.T) *browser {
	c := *b
	c.t = t
	return &c
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (b *browser) do(req *http.Request) {
	b.t.Helper()
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	b.status, b.body, b.header = res.StatusCode, string(body), res.Header
	if m := csrfRE.FindStringSubmatch(b.body); m != nil {
		b.csrf = m[1]
	}
}

func (b *browser) get(path string) {
	b.t.Helper()
	req, _ := http.NewRequest("GET", b.e.srv.URL+path, nil)
	b.do(req)
}

// post submits a form with the page's CSRF token (unless the form sets one).
func (b *browser) post(path string, form url.Values) {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", b.csrf)
	}
	req, _ := http.NewRequest("POST", b.e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	b.do(req)
}

func (b *browser) signIn(role steward.Role) {
	b.t.Helper()
	b.get("/login")
	b.post("/login", url.Values{"token": {b.e.tokens[role]}})
	if b.status != http.StatusSeeOther || b.header.Get("Location") != "/" {
		b.t.Fatalf("sign in as %s: %d %s", role, b.status, b.header.Get("Location"))
	}
	b.get("/")
	if b.status != 200 {
		b.t.Fatalf("dashboard after sign-in: %d\n%s", b.status, b.body)
	}
}

func (b *browser) expect(status int, contains ...string) {
	b.t.Helper()
	if b.status != status {
		if b.status >= 500 {
			b.t.Fatalf("status %d, want %d\n%s\nlogs:\n%s", b.status, status, b.body, b.e.logs.String())
		}
		b.t.Fatalf("status %d, want %d\n%s", b.status, status, b.body)
	}
	for _, s := range contains {
		if !strings.Contains(b.body, s) {
			b.t.Fatalf("page lacks %q\n%s", s, b.body)
		}
	}
}

func (b *browser) lacks(s ...string) {
	b.t.Helper()
	for _, x := range s {
		if strings.Contains(b.body, x) {
			b.t.Fatalf("page shows %q but must not", x)
		}
	}
}

func forEngines(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, eng := range sqltest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) { fn(t, newEnv(t, eng.Open)) })
	}
}

func TestSignInAndOut(t *testing.T) {
	forEngines(t, func(t *testing.T, e *env) {
		b := e.browser()
		b.get("/")
		if b.status != http.StatusSeeOther || b.header.Get("Location") != "/login" {
			t.Fatalf("GET / signed out: %d to %q, want 303 to /login", b.status, b.header.Get("Location"))
		}
		b.get("/identities?kind=bot")
		if loc := b.header.Get("Location"); loc != "/login?next="+url.QueryEscape("/identities?kind=bot") {
			t.Fatalf("deep link signed out goes to %q", loc)
		}
		b.get("/login")
		b.expect(200, `name="token"`, `<label for="token">`)
		if b.header.Get("Content-Security-Policy") == "" || b.header.Get("X-Frame-Options") != "DENY" {
			t.Fatalf("sign-in page lacks security headers: %v", b.header)
		}

		b.post("/login", url.Values{"token": {"stwo_wrong"}})
		b.expect(http.StatusUnauthorized, "not valid")
		b.post("/login", url.Values{"token": {e.tokens[steward.RoleAdmin]}, "csrf": {"forged"}})
		b.expect(http.StatusForbidden, "expired")

		b.get("/login?next=" + url.QueryEscape("/identities?kind=bot"))
		b.post("/login", url.Values{"token": {e.tokens[steward.RoleAdmin]}, "next": {"/identities?kind=bot"}})
		if b.status != http.StatusSeeOther || b.header.Get("Location") != "/identities?kind=bot" {
			t.Fatalf("sign-in: %d to %q", b.status, b.header.Get("Location"))
		}
		ck := strings.Join(b.header.Values("Set-Cookie"), "\n")
		for _, want := range []string{"steward_session=", "HttpOnly", "SameSite=Strict", "Max-Age=3600"} {
			if !strings.Contains(ck, want) {
				t.Fatalf("session cookie %q lacks %s", ck, want)
			}
		}
		if strings.Contains(ck, "Secure") {
			t.Errorf("cookie is Secure on plain HTTP: %q", ck)
		}
		b.get("/identities?kind=bot")
		b.expect(200, "bob-bot")
		b.lacks("alice-deployer")

		b.post("/logout", url.Values{"csrf": {"forged"}})
		b.expect(http.StatusForbidden)
		b.post("/logout", nil)
		if b.status != http.StatusSeeOther || b.header.Get("Location") != "/login" {
			t.Fatalf("sign-out: %d to %q", b.status, b.header.Get("Location"))
		}
		b.get("/")
		if b.status != http.StatusSeeOther {
			t.Fatalf("after sign-out GET / answers %d", b.status)
		}
	})
}

func TestSessionEnds(t *testing.T) {
	e := newEnv(t, sqltest.OpenSQLite)
	t.Run("when its lifetime is over", func(t *testing.T) {
		b := e.browser()
		b.signIn(steward.RoleAdmin)
		e.clock.Advance(59 * time.Minute)
		b.get("/")
		b.expect(200)
		e.clock.Advance(2 * time.Minute)
		b.get("/")
		if b.status != http.StatusSeeOther {
			t.Fatalf("expired session: %d", b.status)
		}
		n, err := e.store.DeleteExpiredWebSessions(context.Background(), e.clock.Now())
		if err != nil || n != 1 {
			t.Fatalf("purged %d sessions, %v", n, err)
		}
	})
	t.Run("when its token is revoked", func(t *testing.T) {
		b := e.browser()
		b.signIn(steward.RoleOperator)
		toks, _ := e.svc.ListTokens(steward.WithPrincipal(context.Background(), steward.SystemPrincipal("test")))
		for _, tk := range toks {
			if tk.Role == steward.RoleOperator {
				if _, err := e.svc.RevokeToken(steward.WithPrincipal(context.Background(), steward.SystemPrincipal("test")), tk.ID); err != nil {
					t.Fatal(err)
				}
			}
		}
		b.get("/identities")
		if b.status != http.StatusSeeOther {
			t.Fatalf("session of a revoked token: %d", b.status)
		}
	})
	t.Run("and stores only a digest of the session id", func(t *testing.T) {
		b := e.browser()
		b.signIn(steward.RoleAuditor)
		u, _ := url.Parse(e.srv.URL)
		var id string
		for _, c := range b.c.Jar.Cookies(u) {
			if c.Name == "steward_session" {
				id = c.Value
			}
		}
		var n int
		if err := e.store.DB().QueryRow(`SELECT COUNT(*) FROM web_sessions WHERE digest = ? OR csrf = ?`, id, id).Scan(&n); err != nil || n != 0 || id == "" {
			t.Fatalf("the session id %q is stored in clear (%d rows, %v)", id, n, err)
		}
	})
}

func TestSafeRedirectAfterSignIn(t *testing.T) {
	e := newEnv(t, sqltest.OpenSQLite)
	for _, next := range []string{"https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)"} {
		b := e.browser()
		b.get("/login")
		b.post("/login", url.Values{"token": {e.tokens[steward.RoleAdmin]}, "next": {next}})
		if loc := b.header.Get("Location"); loc != "/" {
			t.Errorf("next=%q redirects to %q", next, loc)
		}
	}
}

func TestPagesAreSelfContained(t *testing.T) {
	e := newEnv(t, sqltest.OpenSQLite)
	b := e.browser()
	b.signIn(steward.RoleAdmin)
	for _, path := range []string{"/", "/identities", "/identities/" + e.a.ID, "/identities/" + e.a.ID + "/revoke", "/identities/" + e.a.ID + "/reassign",
		"/identities/" + e.a.ID + "/extend", "/owners", "/owners?status=departed", "/identities?sort=-name&cols=team&cols=id", "/login"} {
		b.get(path)
		if path == "/login" {
			b.expect(http.StatusSeeOther)
			continue
		}
		b.expect(200, `<main id="main"`, `href="#main"`)
		selfContained(t, path, b)
	}
	b.get("/assets/htmx.min.js?v=x")
	if b.status != 200 || !strings.Contains(b.body, "htmx") || b.header.Get("Content-Type") != "text/javascript; charset=utf-8" {
		t.Fatalf("htmx asset: %d %s", b.status, b.header.Get("Content-Type"))
	}
	b.get("/assets/..%2fweb.go")
	if b.status != http.StatusNotFound {
		t.Fatalf("asset path traversal: %d", b.status)
	}
}

var (
	inlineRE   = regexp.MustCompile(`(?i)\sstyle=|\son[a-z]+=|https?://|<style`)
	controlsRE = regexp.MustCompile(`<(?:input|select|textarea)\b[^>]*>`)
	scriptsRE  = regexp.MustCompile(`(?is)<script([^>]*)>(.*?)</script>`)
	idRE       = regexp.MustCompile(`id="([^"]+)"`)
)

// selfContained checks a page: every form control labelled, no inline
// script, style or event handler, no external URL, a strict CSP.
func selfContained(t *testing.T, path string, b *browser) {
	t.Helper()
	for _, m := range controlsRE.FindAllStringSubmatchIndex(b.body, -1) {
		tag := b.body[m[0]:m[1]]
		if strings.Contains(tag, `type="hidden"`) || strings.Contains(tag, "aria-label=") || strings.HasSuffix(b.body[:m[0]], `<label class="check">`) {
			continue
		}
		idm := idRE.FindStringSubmatch(tag)
		if idm == nil || !strings.Contains(b.body, `for="`+idm[1]+`"`) {
			t.Errorf("%s: control without a label: %s", path, tag)
		}
	}
	if m := inlineRE.FindString(b.body); m != "" {
		t.Errorf("%s has an inline style, event handler or external URL: %q", path, m)
	}
	for _, m := range scriptsRE.FindAllStringSubmatch(b.body, -1) {
		if !strings.Contains(m[1], `src="/assets/`) || strings.TrimSpace(m[2]) != "" {
			t.Errorf("%s has an inline script: %q", path, m[0])
		}
	}
	csp := b.header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("%s: CSP %q", path, csp)
	}
}

func TestDashboard(t *testing.T) {
	forEngines(t, func(t *testing.T, e *env) {
		ctx := steward.WithPrincipal(context.Background(), steward.SystemPrincipal("test"))
		// A credential a year old, and a snapshot history for the coverage trend.
		for i, age := range []time.Duration{24 * time.Hour, 400 * 24 * time.Hour} {
			err := e.store.Update(ctx, func(tx steward.Tx) error {
				return tx.CreateCredential(ctx, &steward.Credential{ID: "cred_" + string(rune('a'+i)), IdentityID: e.a.ID, Type: "api_key",
					Status: steward.CredentialActive, CreatedAt: e.clock.Now().Add(-age)})
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		for d := 3; d >= 1; d-- {
			if err := e.store.RecordDailyStats(ctx, steward.DailyStats{Day: e.clock.Now().Add(-time.Duration(d) * 24 * time.Hour), Identities: 3, Live: 3, Unowned: int64(d % 2)}); err != nil {
				t.Fatal(err)
			}
		}
		e.clock.Advance(100 * 24 * time.Hour) // everything is now dormant and a 30-day expiry is past
		dc, err := e.store.DashboardCounts(ctx, e.clock.Now(), e.svc.Policy(), 26)
		if err != nil {
			t.Fatal(err)
		}
		if dc.Dormant[steward.SensitivityMedium] != 2 || dc.RotationOverdue[steward.SensitivityHigh] != 1 {
			t.Errorf("dormant %v, rotation overdue %v", dc.Dormant, dc.RotationOverdue)
		}
		if dc.CredentialAge[2].Count != 1 || dc.CredentialAge[4].Count != 1 {
			t.Errorf("credential ages %v", dc.CredentialAge)
		}
		var created int64
		for _, p := range dc.CreatedPerWeek {
			created += p.Value
		}
		if created != 3 || len(dc.CreatedPerWeek) != 26 {
			t.Errorf("created per week %v", dc.CreatedPerWeek)
		}

		b := e.browser()
		b.signIn(steward.RoleAuditor)
		b.expect(200, "Estate overview", "Ownership coverage", "66.7%", `href="/identities?owner_id=none"`, `<svg class="chart"`,
			"Credential age", `href="/owners?status=departed"`)
		b = e.browser()
		b.signIn(steward.RoleOwner)
		b.expect(200, "Your identities")
		b.lacks("bob-bot", "Estate overview")

		counts, err := e.store.OwnerIdentityCounts(ctx, []string{e.alice.ID, e.bob.ID, "nobody"})
		if err != nil || counts[e.alice.ID] != 1 || counts[e.bob.ID] != 1 || len(counts) != 2 {
			t.Fatalf("owner counts %v, %v", counts, err)
		}
	})
}

func TestInventory(t *testing.T) {
	e := newEnv(t, sqltest.OpenSQLite)
	b := e.browser()
	b.signIn(steward.RoleOperator)
	tests := []struct {
		name, query string
		want, not   []string
	}{
		{"filters by kind", "kind=bot", []string{"bob-bot"}, []string{"alice-deployer", "stray-key"}},
		{"finds text", "q=deploy", []string{"alice-deployer"}, []string{"bob-bot"}},
		{"selects the unowned", "owner_id=none", []string{"stray-key"}, []string{"bob-bot"}},
		{"filters by expiry date", "expires_before=" + e.clock.Now().Add(7*24*time.Hour).Format("2006-01-02"), []string{"alice-deployer"}, []string{"bob-bot"}},
		{"combines filters", "environment=prod&provider=aws&sensitivity=high&status=active&source=registered", []string{"alice-deployer"}, []string{"stray-key"}},
		{"shows chosen columns", "cols=team&cols=id", []string{e.a.ID, "<th scope=\"col\">Team</th>"}, []string{`<th scope="col">Provider</th>`}},
		{"reports a bad filter", "kind=robot", []string{"is not one of"}, []string{"bob-bot"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b.get("/identities?" + tc.query)
			if b.status != 200 && b.status != 400 {
				t.Fatalf("status %d", b.status)
			}
			for _, s := range tc.want {
				if !strings.Contains(b.body, s) {
					t.Errorf("lacks %q", s)
				}
			}
			for _, s := range tc.not {
				if strings.Contains(b.body, s) {
					t.Errorf("shows %q", s)
				}
			}
		})
	}
	t.Run("paginates with a cursor", func(t *testing.T) {
		b.get("/identities?limit=2&sort=name")
		next := regexp.MustCompile(`href="(/identities\?[^"]*cursor=[^"]+)" rel="next"`).FindStringSubmatch(b.body)
		if next == nil || !strings.Contains(b.body, "alice-deployer") || strings.Contains(b.body, "stray-key") {
			t.Fatalf("first page wrong:\n%s", b.body)
		}
		b.get(strings.ReplaceAll(next[1], "&amp;", "&"))
		b.expect(200, "stray-key", "First page")
		b.lacks("alice-deployer")
	})
	t.Run("exports CSV with formulas defused", func(t *testing.T) {
		b.get("/identities.csv?cols=purpose&cols=kind&provider=aws")
		if b.status != 200 || !strings.HasPrefix(b.header.Get("Content-Type"), "text/csv") {
			t.Fatalf("csv: %d %s", b.status, b.header.Get("Content-Type"))
		}
		recs, err := csv.NewReader(strings.NewReader(b.body)).ReadAll()
		if err != nil || len(recs) != 2 {
			t.Fatalf("csv %q: %v", b.body, err)
		}
		if strings.Join(recs[0], ",") != "name,kind,purpose" || recs[1][2] != "'=cmd|' /C calc'!A0" {
			t.Fatalf("csv rows %q", recs)
		}
	})
}

func TestActions(t *testing.T) {
	forEngines(t, func(t *testing.T, e *env) {
		ctx := steward.WithPrincipal(context.Background(), steward.SystemPrincipal("test"))
		b := e.browser()
		b.signIn(steward.RoleOperator)
		path := "/identities/" + e.a.ID
		b.get(path)
		b.expect(200, "alice-deployer", `id="act-suspend"`, `id="act-revoke"`, `id="act-reassign"`, "Timeline", "Registered")

		b.get(path + "/revoke")
		b.expect(200, "What will happen", "Revocation is final", `<option value="incident"`)
		b.post(path+"/revoke", url.Values{"reason": {"because"}})
		b.expect(http.StatusUnprocessableEntity, "revoke needs a reason")

		b.get(path + "/suspend")
		b.post(path+"/suspend", url.Values{"reason": {""}})
		b.expect(http.StatusUnprocessableEntity, "give a reason")
		b.post(path+"/suspend", url.Values{"reason": {"investigating"}})
		if b.status != http.StatusSeeOther || b.header.Get("Location") != path+"?msg=suspend" {
			t.Fatalf("suspend: %d %q\n%s", b.status, b.header.Get("Location"), b.body)
		}
		b.get(path + "?msg=suspend")
		b.expect(200, "was suspended", "Suspended", "Reason: investigating", "status: active → suspended")

		b.get(path + "/reassign")
		b.post(path+"/reassign", url.Values{"owner_id": {e.bob.ID}, "reason": {"team change"}})
		b.expect(http.StatusSeeOther)

		b.get(path + "/extend")
		far := e.clock.Now().Add(300 * 24 * time.Hour).Format("2006-01-02")
		b.post(path+"/extend", url.Values{"expires_at": {far}, "reason": {"migration"}})
		b.expect(http.StatusUnprocessableEntity, "maximum lifetime")
		b.post(path+"/extend", url.Values{"expires_at": {far}, "reason": {"migration"}, "exception": {"yes"}})
		b.expect(http.StatusSeeOther)

		b.get(path + "/revoke")
		b.post(path+"/revoke", url.Values{"reason": {"incident"}, "note": {"leaked"}})
		b.expect(http.StatusSeeOther)
		i, _ := e.svc.GetIdentity(ctx, e.a.ID)
		if i.Status != steward.StatusRevoked || i.OwnerID != e.bob.ID || i.Exception == nil {
			t.Fatalf("identity after actions: %+v", i)
		}
		ev, _ := e.svc.ListEvents(ctx, steward.EventFilter{IdentityID: e.a.ID, Action: "identity.revoke"})
		if len(ev.Items) != 1 || ev.Items[0].Reason != "incident: leaked" {
			t.Fatalf("revoke event %+v", ev.Items)
		}
		b.get(path)
		b.lacks(`id="act-`)
		b.get(path + "/resume")
		b.expect(http.StatusConflict)

		t.Run("bulk suspend asks first", func(t *testing.T) {
			b.get("/identities")
			b.post("/identities/bulk", url.Values{"action": {"suspend"}, "id": {e.b.ID}})
			b.expect(200, "What will happen", "bob-bot", `name="confirm" value="yes"`)
			if got, _ := e.svc.GetIdentity(ctx, e.b.ID); got.Status != steward.StatusActive {
				t.Fatal("bulk suspended before confirmation")
			}
			b.post("/identities/bulk", url.Values{"action": {"suspend"}, "id": {e.b.ID}, "confirm": {"yes"}, "reason": {"cleanup"}})
			b.expect(200, "1 of 1 done")
			if got, _ := e.svc.GetIdentity(ctx, e.b.ID); got.Status != steward.StatusSuspended {
				t.Fatalf("bulk suspend left %s", got.Status)
			}
		})
		t.Run("bulk assign gives an owner", func(t *testing.T) {
			page, _ := e.svc.ListIdentities(ctx, steward.IdentityFilter{OwnerID: "none"})
			b.post("/identities/bulk", url.Values{"action": {"assign"}, "id": {page.Items[0].ID}, "owner_id": {e.alice.ID}, "confirm": {"yes"}, "reason": {"triage"}})
			b.expect(200, "1 of 1 done")
			got, _ := e.svc.GetIdentity(ctx, page.Items[0].ID)
			if got.OwnerID != e.alice.ID {
				t.Fatalf("bulk assign left owner %q", got.OwnerID)
			}
		})
	})
}

func TestRoles(t *testing.T) {
	e := newEnv(t, sqltest.OpenSQLite)
	t.Run("an auditor sees everything and changes nothing", func(t *testing.T) {
		b := e.browser()
		b.signIn(steward.RoleAuditor)
		b.get("/identities")
		b.expect(200, "alice-deployer", "bob-bot")
		b.lacks(`id="bulk-suspend"`, `name="id"`)
		b.get("/identities/" + e.a.ID)
		b.expect(200, "alice-deployer")
		b.lacks(`id="act-`)
		b.get("/identities/" + e.a.ID + "/revoke")
		b.expect(http.StatusForbidden, "may not")
		b.post("/identities/"+e.a.ID+"/revoke", url.Values{"reason": {"incident"}})
		b.expect(http.StatusForbidden)
		b.post("/identities/bulk", url.Values{"action": {"suspend"}, "id": {e.a.ID}, "confirm": {"yes"}, "reason": {"x"}})
		b.expect(http.StatusForbidden)
	})
	t.Run("an owner sees and acts on its own identities only", func(t *testing.T) {
		b := e.browser()
		b.signIn(steward.RoleOwner)
		b.get("/identities")
		b.expect(200, "alice-deployer")
		b.lacks("bob-bot", "stray-key", `id="bulk-assign"`)
		b.get("/identities/" + e.b.ID)
		b.expect(http.StatusForbidden)
		b.get("/identities/" + e.a.ID)
		b.expect(200, `id="act-suspend"`)
		b.lacks(`id="act-reassign"`)
		b.get("/identities/" + e.b.ID + "/suspend")
		b.expect(http.StatusForbidden)
	})
}
