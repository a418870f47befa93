package broker_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/broker"
	"github.com/steward-nhi/steward/httpapi"
	"github.com/steward-nhi/steward/internal/clock"
	"github.com/steward-nhi/steward/internal/secretbox"
	"github.com/steward-nhi/steward/internal/syncbuf"
	"github.com/steward-nhi/steward/internal/testrec"
	"github.com/steward-nhi/steward/inventory"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// countingStore counts the broker's credential lookups.
type countingStore struct {
	steward.BrokerStore
	byDigest atomic.Int64
	byClient atomic.Int64
}

func (c *countingStore) FindCredentialByDigest(ctx context.Context, d string) (*steward.BrokerCredential, error) {
	c.byDigest.Add(1)
	return c.BrokerStore.FindCredentialByDigest(ctx, d)
}

func (c *countingStore) FindCredentialsByClientID(ctx context.Context, id string) ([]*steward.BrokerCredential, error) {
	c.byClient.Add(1)
	return c.BrokerStore.FindCredentialsByClientID(ctx, id)
}

// usageLog keeps usage events.
type usageLog struct{ testrec.Usage }

func (u *usageLog) outcomes() []string {
	var out []string
	for _, e := range u.All() {
		out = append(out, e.Outcome)
	}
	return out
}

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer = syncbuf.Buffer

// env is a broker on a real SQLite store behind a real HTTP server.
type env struct {
	t      *testing.T
	store  *countingStore
	svc    *inventory.Service
	b      *broker.Broker
	clk    *clock.Fake
	usage  *usageLog
	logs   *syncBuffer
	srv    *httptest.Server
	admin  string // operator token (admin)
	ident  *steward.Identity
	adminP context.Context
	// changes is the node's change fan-out, shared by the inventory and
	// the broker as the server wires them.
	changes *steward.Changes
}

type envOpts struct {
	open        func(testing.TB) steward.Store
	failureRate float64
	// discardUsage drops usage events instead of keeping them (load).
	discardUsage bool
}

func newEnv(t *testing.T, o envOpts) *env {
	t.Helper()
	if o.open == nil {
		o.open = sqltest.OpenSQLite
	}
	st := o.open(t)
	bs, ok := st.(steward.BrokerStore)
	if !ok {
		t.Fatal("store is not a BrokerStore")
	}
	e := &env{t: t, store: &countingStore{BrokerStore: bs}, clk: clock.NewFake(t0), usage: &usageLog{}, logs: &syncBuffer{}, changes: steward.NewChanges()}
	var usage steward.UsageRecorder = e.usage
	if o.discardUsage {
		usage = steward.DiscardUsage{}
	}
	log := slog.New(httpapi.LogHandler{Handler: slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})})
	e.svc = inventory.New(inventory.Config{Store: st, Clock: e.clk, Logger: log, Changes: e.changes, Credentials: bs})
	box, err := secretbox.New(bytes.Repeat([]byte{7}, secretbox.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	issuer := "http://" + srv.Listener.Addr().String()
	e.b, err = broker.New(context.Background(), broker.Config{Store: e.store, Box: box, Pepper: []byte("pepper-pepper-pepper-pepper"), Issuer: issuer,
		Clock: e.clk, Logger: log, Usage: usage, FailureRate: o.failureRate, Changes: e.changes})
	if err != nil {
		t.Fatal(err)
	}
	auth := func(ctx context.Context, tok string) (*steward.Principal, error) {
		p, err := e.b.Authenticate(ctx, tok)
		if errors.Is(err, broker.ErrNotSteward) {
			return e.svc.Authenticate(ctx, tok)
		}
		return p, err
	}
	srv.Config.Handler = httpapi.NewServer(httpapi.Deps{Identities: e.svc, Owners: e.svc, Tokens: e.svc, Imports: e.svc, Auth: auth,
		Broker: e.b, Logger: log, Version: "test", AuthFailureLimit: 1000})
	srv.Start()
	t.Cleanup(srv.Close)
	e.srv = srv
	ctx := context.Background()
	e.admin, err = e.svc.Bootstrap(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	e.adminP = steward.WithPrincipal(ctx, steward.SystemPrincipal("test"))
	e.ident = e.identity("payments", steward.SensitivityMedium, []string{"read", "write", broker.ScopeIntrospect})
	return e
}

func (e *env) identity(name string, tier steward.Sensitivity, scopes []string) *steward.Identity {
	e.t.Helper()
	return e.identityT(e.t, name, tier, scopes)
}

func (e *env) issue(identityID string, in broker.IssueRequest) *broker.Issued {
	e.t.Helper()
	return e.issueT(e.t, identityID, in)
}

func dur(d time.Duration) *steward.Duration {
	x := steward.Duration(d)
	return &x
}
