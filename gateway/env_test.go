package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/authz"
	"github.com/steward-nhi/steward/broker"
	"github.com/steward-nhi/steward/gateway"
	"github.com/steward-nhi/steward/gateway/gatewaytest"
	"github.com/steward-nhi/steward/internal/secretbox"
	"github.com/steward-nhi/steward/internal/syncbuf"
	"github.com/steward-nhi/steward/internal/testrec"
	"github.com/steward-nhi/steward/inventory"
	"github.com/steward-nhi/steward/sqlstore"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

// env is a gateway in front of real upstreams, with a real store,
// inventory, broker and PDP behind it.
type env struct {
	t      *testing.T
	store  *sqlstore.Store
	inv    *inventory.Service
	b      *broker.Broker
	pdp    *authz.PDP
	gw     *gateway.Gateway
	srv    *httptest.Server
	usage  *usageLog
	logs   *syncbuf.Buffer
	admin  context.Context
	ident  *steward.Identity
	key    string // an API key of ident
	dir    string
	issuer string
	tls    bool // serve the gateway over TLS (HTTP/2)
}

// usageLog keeps the events the gateway and its collaborators record.
type usageLog struct{ testrec.Usage }

func (u *usageLog) IngestUsage(ctx context.Context, evs []steward.UsageEvent) error {
	for _, ev := range evs {
		u.Record(ctx, ev)
	}
	return nil
}

func (u *usageLog) kind(k string) []steward.UsageEvent {
	var out []steward.UsageEvent
	for _, e := range u.All() {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}

func (u *usageLog) json() string {
	b, _ := json.Marshal(u.All())
	return string(b)
}

// newEnv builds the environment; cfg is completed by the test (routes).
func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{t: t, store: sqltest.SQLite(t), usage: &usageLog{}, logs: &syncbuf.Buffer{}, dir: t.TempDir()}
	log := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	changes := steward.NewChanges()
	e.inv = inventory.New(inventory.Config{Store: e.store, Logger: log, Changes: changes, Credentials: e.store})
	box, err := secretbox.New(bytes.Repeat([]byte{7}, secretbox.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	e.issuer = "https://steward.test"
	if e.b, err = broker.New(ctx, broker.Config{Store: e.store, Box: box, Pepper: []byte("pepper-pepper-pepper-pepper"), Issuer: e.issuer,
		Logger: log, Usage: e.usage, Changes: changes}); err != nil {
		t.Fatal(err)
	}
	if e.pdp, err = authz.New(ctx, authz.Config{Inventory: e.store, Store: e.store, Usage: e.usage, Logger: log, Changes: changes}); err != nil {
		t.Fatal(err)
	}
	e.admin = steward.WithPrincipal(ctx, steward.SystemPrincipal("test"))
	e.ident = e.identity("billing-app")
	e.key = e.apiKey(e.ident.ID)
	return e
}

func (e *env) identity(name string) *steward.Identity {
	e.t.Helper()
	i, err := e.inv.CreateIdentity(e.admin, &steward.Identity{Name: name, Kind: steward.KindAIAgent, Provider: "steward",
		Sensitivity: steward.SensitivityLow, UnownedReason: "test fixture", Scopes: []string{"read"}})
	if err != nil {
		e.t.Fatal(err)
	}
	return i
}

func (e *env) apiKey(identityID string) string {
	e.t.Helper()
	k, err := e.b.Issue(e.admin, identityID, broker.IssueRequest{})
	if err != nil {
		e.t.Fatal(err)
	}
	return k.Secret
}

// accessToken issues a client-credentials token for audience.
func (e *env) accessToken(identityID, audience string) (token, credentialID string) {
	e.t.Helper()
	cl, err := e.b.Issue(e.admin, identityID, broker.IssueRequest{Type: "client_secret"})
	if err != nil {
		e.t.Fatal(err)
	}
	res, err := e.b.Token(context.Background(), broker.TokenRequest{GrantType: "client_credentials", Audience: audience,
		Client: broker.ClientAuth{Method: broker.AuthSecretBasic, ClientID: cl.ClientID, ClientSecret: cl.Secret}}, steward.RequestSource{Addr: "127.0.0.1"})
	if err != nil {
		e.t.Fatal(err)
	}
	return res.AccessToken, cl.ID
}

func (e *env) policy(name, text string) {
	e.t.Helper()
	if _, err := e.pdp.PutPolicy(e.admin, name, text, "test"); err != nil {
		e.t.Fatal(err)
	}
}

// secretFile writes a credential_file and returns its path.
func (e *env) secretFile(name, secret string) string {
	e.t.Helper()
	p := filepath.Join(e.dir, name)
	if err := os.WriteFile(p, []byte(secret+"\n"), 0o600); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// start serves cfg; secrets is the custody stand-in for credential_id routes.
func (e *env) start(cfg *gateway.Config, secrets gateway.SecretSource) {
	e.t.Helper()
	e.srv = httptest.NewUnstartedServer(nil)
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://" + e.srv.Listener.Addr().String()
		if e.tls {
			cfg.PublicURL = "https://" + e.srv.Listener.Addr().String()
		}
	}
	cfg.AuthorizationServer = e.issuer
	gw, err := gateway.New(cfg, gateway.Deps{Auth: e.b, Decider: e.pdp, Secrets: secrets, Usage: e.usage,
		Logger: slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		e.t.Fatal(err)
	}
	e.gw = gw
	e.srv.Config.Handler = gw
	if e.tls {
		e.srv.EnableHTTP2 = true
		e.srv.StartTLS()
	} else {
		e.srv.Start()
	}
	e.t.Cleanup(e.srv.Close)
}

type reply struct {
	status int
	header http.Header
	body   string
}

func (e *env) do(method, path, token string, body io.Reader, hdr ...string) reply {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return reply{res.StatusCode, res.Header, string(b)}
}

func echo(t *testing.T) *httptest.Server { return gatewaytest.Echo(t) }

type echoed = gatewaytest.Echoed

func (r reply) echoed(t *testing.T) echoed {
	t.Helper()
	var e echoed
	if err := json.Unmarshal([]byte(r.body), &e); err != nil {
		t.Fatalf("upstream reply %d %q: %v", r.status, r.body, err)
	}
	return e
}
