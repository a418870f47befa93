package web_test

import (
	"bytes"
	"context"
	"fmt"
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
	"github.com/steward-nhi/steward/authz"
	"github.com/steward-nhi/steward/broker"
	"github.com/steward-nhi/steward/custody"
	"github.com/steward-nhi/steward/federation"
	"github.com/steward-nhi/steward/internal/clock"
	"github.com/steward-nhi/steward/internal/secretbox"
	"github.com/steward-nhi/steward/internal/syncbuf"
	"github.com/steward-nhi/steward/inventory"
	"github.com/steward-nhi/steward/posture"
	"github.com/steward-nhi/steward/rotation"
	"github.com/steward-nhi/steward/sqlstore"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
	"github.com/steward-nhi/steward/usage"
	"github.com/steward-nhi/steward/web"
)

// The console tests' harness: a console on a fresh store (env), a browser
// that signs in and submits forms, and the capabilities beyond the core.

type env struct {
	t        *testing.T
	srv      *httptest.Server
	store    *sqlstore.Store
	svc      *inventory.Service
	clock    *clock.Fake
	logs     *syncBuffer // everything the console and the services log
	tokens   map[steward.Role]string
	alice    *steward.Owner
	bob      *steward.Owner
	deployer *steward.Identity // alice-deployer, Alice's
	bot      *steward.Identity // bob-bot, Bob's
	caps     *caps             // the capabilities beyond the core, when wired
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
	e.deployer, err = e.svc.CreateIdentity(ctx, &steward.Identity{Name: "alice-deployer", Kind: steward.KindServiceAccount, Provider: "aws", Environment: "prod",
		OwnerID: e.alice.ID, Sensitivity: steward.SensitivityHigh, ExpiresAt: &exp, Purpose: "=cmd|' /C calc'!A0"})
	if err != nil {
		t.Fatal(err)
	}
	e.bot, _ = e.svc.CreateIdentity(ctx, &steward.Identity{Name: "bob-bot", Kind: steward.KindBot, Provider: "github", Environment: "dev", OwnerID: e.bob.ID})
	_, _ = e.svc.CreateIdentity(ctx, &steward.Identity{Name: "stray-key", Kind: steward.KindAPIKey, Provider: "vendor:stripe", Environment: "prod", UnownedReason: "test fixture"})
	return e
}

// browser is an HTTP client with a cookie jar that does not follow redirects.
type browser struct {
	env    *env
	t      *testing.T
	client *http.Client
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
	return &browser{env: e, t: t, client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
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
	res, err := b.client.Do(req)
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
	req, _ := http.NewRequest("GET", b.env.srv.URL+path, nil)
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
	req, _ := http.NewRequest("POST", b.env.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	b.do(req)
}

func (b *browser) signIn(role steward.Role) {
	b.t.Helper()
	b.get("/login")
	b.post("/login", url.Values{"token": {b.env.tokens[role]}})
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
			b.t.Fatalf("status %d, want %d\n%s\nlogs:\n%s", b.status, status, b.body, b.env.logs.String())
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

// caps are the capabilities beyond the core, on the env's store.
type caps struct {
	posture *posture.Engine
	broker  *broker.Broker
	usage   *usage.Service
	pdp     *authz.PDP
	// federation is set by withFederation.
	federation *federation.Service
	custody    *custody.Service
	rotation   *rotation.Service
}

// withCaps wires every capability beyond the core into the console, as
// cmd/steward does.
func withCaps(e *env, cfg *web.Config) {
	e.t.Helper()
	ctx := context.Background()
	box, err := secretbox.New(bytes.Repeat([]byte{7}, secretbox.KeySize))
	if err != nil {
		e.t.Fatal(err)
	}
	b, err := broker.New(ctx, broker.Config{Store: e.store, Box: box, Pepper: []byte("pepper-pepper-pepper-pepper"), Issuer: "http://steward.test",
		Clock: e.clock, Logger: cfg.Logger})
	if err != nil {
		e.t.Fatal(err)
	}
	pdp, err := authz.New(ctx, authz.Config{Inventory: e.store, Store: e.store, Clock: e.clock})
	if err != nil {
		e.t.Fatal(err)
	}
	e.caps = &caps{
		posture: posture.New(posture.Options{Store: e.store, Inventory: e.svc, Clock: e.clock, Logger: cfg.Logger}),
		broker:  b,
		usage:   usage.New(usage.Config{Store: e.store, Inventory: e.store, Credentials: e.store, Clock: e.clock}),
		pdp:     pdp,
	}
	cfg.Findings, cfg.Alerts, cfg.Usage, cfg.Policies = e.caps.posture, e.store, e.caps.usage, pdp
	cfg.Broker, cfg.Reviews, cfg.ReviewDecisions = b, e.caps.posture, e.caps.posture
	if e.caps.custody, err = custody.New(custody.Config{Store: e.store, Box: box, Clock: e.clock}); err != nil {
		e.t.Fatal(err)
	}
	if e.caps.rotation, err = rotation.New(rotation.Config{Store: e.store, Custody: e.caps.custody, Clock: e.clock}); err != nil {
		e.t.Fatal(err)
	}
	cfg.Rotations = e.caps.rotation
}

// sys is a context acting as the system.
func sys() context.Context {
	return steward.WithPrincipal(context.Background(), steward.SystemPrincipal("test"))
}

// admin is a context acting as an admin operator.
func admin() context.Context {
	return steward.WithPrincipal(context.Background(), &steward.Principal{Actor: "token:admin", Role: steward.RoleAdmin})
}

// usageEvents records n usage events of identity id, one a minute up to
// at, with the given outcome.
func (e *env) usageEvents(id string, n int, at time.Time, outcome string) []steward.UsageEvent {
	e.t.Helper()
	var evs []steward.UsageEvent
	for k := range n {
		t := at.Add(-time.Duration(n-1-k) * time.Minute).Truncate(time.Microsecond)
		evs = append(evs, steward.UsageEvent{ID: fmt.Sprintf("use_%s_%04d_%s", t.Format("150405"), k, outcome), Time: t, Kind: steward.UsageAuth,
			IdentityID: id, Action: "s3:GetObject", Resource: "arn:aws:s3:::billing/report.csv", Source: "10.1.2.3", UserAgent: "aws-cli/2",
			Outcome: outcome, PolicyIDs: []string{}, Attributes: map[string]string{}})
	}
	if err := e.store.AppendUsage(context.Background(), evs); err != nil {
		e.t.Fatal(err)
	}
	return evs
}

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer = syncbuf.Buffer

func readBody(t *testing.T, res *http.Response) string {
	t.Helper()
	defer res.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := res.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}

func between(s, a, b string) string {
	i := strings.Index(s, a)
	if i < 0 {
		return ""
	}
	s = s[i+len(a):]
	j := strings.Index(s, b)
	if j < 0 {
		return ""
	}
	return s[:j]
}

// visit is one check of a page: who signs in, the page they open, the
// status it must answer, what it must show and what it must not.
type visit struct {
	name   string
	role   steward.Role
	path   string
	status int
	want   []string
	not    []string
}

// checkVisits makes each visit, as a subtest, in a browser of its own.
func (e *env) checkVisits(t *testing.T, visits []visit) {
	t.Helper()
	for _, tc := range visits {
		t.Run(tc.name, func(t *testing.T) {
			b := e.browserFor(t)
			b.signIn(tc.role)
			b.get(tc.path)
			b.expect(tc.status, tc.want...)
			b.lacks(tc.not...)
		})
	}
}
