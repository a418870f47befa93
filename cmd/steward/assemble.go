package main

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/alerts"
	"github.com/steward-nhi/steward/audit"
	"github.com/steward-nhi/steward/authz"
	"github.com/steward-nhi/steward/broker"
	"github.com/steward-nhi/steward/custody"
	"github.com/steward-nhi/steward/discovery"
	"github.com/steward-nhi/steward/federation"
	"github.com/steward-nhi/steward/gateway"
	"github.com/steward-nhi/steward/httpapi"
	"github.com/steward-nhi/steward/inventory"
	"github.com/steward-nhi/steward/notify"
	"github.com/steward-nhi/steward/posture"
	"github.com/steward-nhi/steward/rotation"
	"github.com/steward-nhi/steward/sqlstore"
	"github.com/steward-nhi/steward/usage"
	"github.com/steward-nhi/steward/web"
)

// app is the assembled server: every capability is a typed field, nil
// while its configuration turns it off. assemble builds it in dependency
// order; httpapi.Deps and web.Config are filled from these fields, so a
// renamed method is a compile error, not a missing page. A new capability
// is one field here and one constructor call in assemble.
type app struct {
	cfg     Config
	log     *slog.Logger
	metrics *httpapi.Metrics
	store   *sqlstore.Store
	changes *steward.Changes
	// inventory is the core service (identities, owners, operator tokens).
	inventory *inventory.Service

	// usage is the one usage pipeline every producer writes through
	// (authentication, the PDP, log ingest): the recorder, wrapped by the
	// alert detectors when alerts are on.
	usage    steward.UsagePipeline
	recorder *usage.Recorder // the usage log's writer; nil when authz is off
	notifier *notify.Dispatcher
	alerts   *alerts.Engine

	discovery  *discovery.Service
	pdp        *authz.PDP
	usageAPI   *usage.Service
	broker     *broker.Broker
	federation *federation.Service
	audit      *audit.Service
	signer     *audit.Signer // the audit chain's key; nil without a master key
	posture    *posture.Engine
	console    *web.Console
	// custody keeps external secrets; rotation rotates them at their
	// providers and hands out leases (nil without a master key).
	custody  *custody.Service
	rotation *rotation.Service
	// mcp serves /mcp: the MCP tools over the services above.
	mcp http.Handler
	// gateway is the credential-injecting reverse proxy (steward.yaml's
	// gateway section), served on its own listener.
	gateway *gateway.Gateway

	// jobs run in the background until shutdown; closers run at shutdown,
	// last added first.
	jobs    []func(ctx context.Context)
	closers []func()
}

// assemble opens the store and builds every configured capability.
func assemble(ctx context.Context, cfg Config, g *globals, log *slog.Logger) (_ *app, err error) {
	a := &app{cfg: cfg, log: log, metrics: httpapi.NewMetrics(nil, version)}
	defer func() {
		if err != nil {
			a.close()
		}
	}()
	policy, err := cfg.lifecyclePolicy()
	if err != nil {
		return nil, err
	}
	if a.store, err = openStore(ctx, cfg, a.metrics, log); err != nil {
		return nil, err
	}
	a.closers = append(a.closers, func() { a.store.Close() })
	// changes fans every change out to the node's caches at once (the
	// broker's credentials, the PDP's identities, operator tokens), so a
	// revocation is final before the API answers; other nodes hear of it
	// through LISTEN/NOTIFY on PostgreSQL.
	a.changes = steward.NewChanges()
	a.jobs = append(a.jobs, func(ctx context.Context) {
		if err := a.store.FollowChanges(ctx, a.changes, log); err != nil && ctx.Err() == nil {
			log.Error("follow other nodes' changes", "err", err)
		}
	})
	a.inventory = inventory.New(inventory.Config{Store: a.store, Policy: policy, Logger: log, Credentials: a.store, Changes: a.changes})
	a.inventory.DefaultSensitivity = steward.Sensitivity(cfg.DefaultSensitivity)
	// Operator tokens' last use is written in the background: flush it
	// after the server stops serving and before the store closes (closers
	// run last added first).
	a.closers = append(a.closers, func() {
		fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := a.inventory.FlushTokenUse(fctx); err != nil {
			log.Warn("write operator tokens' last use at shutdown", "err", err)
		}
	})
	a.metrics.WatchInventory(a.stats)

	// The usage pipeline comes first: every producer below writes to it.
	a.usage = steward.DiscardUsage{}
	if !cfg.Authz.Disabled {
		if a.recorder, err = newRecorder(cfg.Authz, a.store, log); err != nil {
			return nil, err
		}
		a.usage = a.recorder
		a.jobs = append(a.jobs, a.recorder.Run)
		a.closers = append(a.closers, func() {
			fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			a.recorder.Flush(fctx)
		})
	}
	if !cfg.Alerts.Disabled {
		if a.notifier, err = newNotifier(cfg.Alerts, g.getenv, a.store, a.metrics, log); err != nil {
			return nil, err
		}
		if a.alerts, err = newAlerts(ctx, cfg.Alerts, a.store, a.usage, a.notifier, alertResponder{a}, a.metrics, log); err != nil {
			return nil, err
		}
		a.usage = a.alerts
		a.jobs = append(a.jobs, a.alerts.Run, a.notifier.Run)
	} else {
		log.Info("alerts disabled")
	}

	if a.discovery, err = newDiscovery(cfg.Discovery, a.store, log); err != nil {
		return nil, err
	}
	if a.alerts != nil {
		a.discovery.Alerts = a.alerts // RaiseAlert: grouped, notified and answered as the rules say
	}
	if !cfg.Authz.Disabled {
		if a.pdp, err = newPDP(ctx, cfg.Authz, a.store, a.usage, a.changes, log); err != nil {
			return nil, err
		}
		a.jobs = append(a.jobs, a.pdp.Run)
		a.usageAPI = usage.New(usage.Config{Store: a.store, Inventory: a.store, Credentials: a.store, Recorder: a.recorder, Pipeline: a.usage})
	}
	if a.broker, err = newBroker(ctx, cfg, g.getenv, a.store, a.usage, a.changes, log); err != nil {
		return nil, err
	}
	if a.broker != nil {
		a.jobs = append(a.jobs, brokerJobs(cfg.Broker, a.broker, log)...)
		// Auto-revocation of leaked credentials goes through the broker,
		// as an API revoke does, so every cache forgets them at once.
		a.discovery.Revoker = a.broker
	} else if a.discovery.AutoRevoke {
		return nil, steward.FieldError("discovery.auto_revoke", "needs the credential broker, which is off (disabled, or on PostgreSQL without STEWARD_MASTER_KEY)")
	}
	if a.federation, err = newFederation(cfg.Federation, a.store, a.broker, a.inventory, a.usage, a.changes, log); err != nil {
		return nil, err
	}
	if err := a.buildAudit(ctx, g.getenv); err != nil {
		return nil, err
	}
	if err := a.buildCustody(g.getenv); err != nil {
		return nil, err
	}
	if !cfg.Posture.Disabled {
		opts, err := postureOptions(cfg.Posture, g.getenv)
		if err != nil {
			return nil, err
		}
		opts.Store, opts.Inventory, opts.Policy, opts.Logger, opts.Usage = a.store, a.inventory, a.inventory.Policy(), log, a.store
		opts.Discovery = &discovery.SightingCache{Reader: a.store}
		if a.notifier != nil {
			opts.Notifier = a.notifier
		}
		if a.signer != nil {
			opts.Signer = audit.Message{S: a.signer}
		}
		if a.broker != nil {
			opts.Credentials = a.broker
		}
		if a.federation != nil {
			opts.Federation = a.store
		}
		if a.rotation != nil {
			opts.Rotations = a.store
		}
		a.posture = posture.New(opts)
		a.discovery.Posture = a.posture
		loop := postureLoop(cfg.Posture)
		a.jobs = append(a.jobs, func(ctx context.Context) { a.posture.Run(ctx, loop) })
	}
	a.mcp = newMCP(a)
	if a.gateway, err = newGateway(cfg.Gateway, a); err != nil {
		return nil, err
	}
	if a.gateway != nil && cfg.file != "" {
		a.jobs = append(a.jobs, func(ctx context.Context) { a.gateway.Watch(ctx, cfg.file, 2*time.Second, gatewaySection) })
	}
	if a.console, err = a.buildConsole(); err != nil {
		return nil, err
	}
	if a.console != nil {
		a.jobs = append(a.jobs, func(ctx context.Context) { webHousekeeping(ctx, a) })
	}
	return a, nil
}

// close runs the closers, last added first.
func (a *app) close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
}

// ready is /readyz: the database answers and the audit chain verified.
func (a *app) ready(ctx context.Context) error {
	if a.audit != nil {
		if err := a.audit.Healthy(); err != nil {
			return err
		}
	}
	return a.store.Ping(ctx)
}

func (a *app) stats(ctx context.Context) (*steward.InventoryStats, error) {
	return a.store.InventoryStats(ctx, time.Now())
}

// openStore opens PostgreSQL when cfg.DB is set, else SQLite in the data
// directory; store operations are timed into the server's metrics.
func openStore(ctx context.Context, cfg Config, m *httpapi.Metrics, log *slog.Logger) (*sqlstore.Store, error) {
	opts := sqlstore.Options{Observe: m.ObserveStore}
	if cfg.DB != "" {
		log.Info("database", "engine", "postgres", "url", redactURL(cfg.DB))
		return sqlstore.Open(ctx, cfg.DB, opts)
	}
	log.Info("database", "engine", "sqlite", "data_dir", cfg.DataDir)
	if err := dataDirWritable(cfg.DataDir); err != nil {
		return nil, &startError{"data_dir", err}
	}
	s, err := sqlstore.OpenDataDir(ctx, cfg.DataDir, opts)
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return nil, &startError{"data_dir", err}
	}
	return s, err
}

// httpDeps are the HTTP server's dependencies, from the typed fields.
func (a *app) httpDeps(tracer trace.Tracer) httpapi.Deps {
	d := httpapi.Deps{
		Identities: a.inventory, Owners: a.inventory, Tokens: a.inventory, Imports: a.inventory,
		Auth:      a.authenticate,
		Ready:     a.ready,
		Stats:     a.stats,
		MCP:       a.mcp,
		Discovery: a.discovery, IsDiscoveryFormat: discovery.IsFormat, ParseDiscovery: parseDiscovery,
		Metrics: a.metrics, MetricsRequireAuth: a.cfg.metricsNeedAuth(), Pprof: a.cfg.Metrics.Pprof, Logger: a.log, Tracer: tracer, Version: version, RateLimit: a.cfg.RateLimit,
	}
	if a.audit != nil {
		d.Audit = a.audit
	}
	if a.broker != nil {
		d.Broker = a.broker
	}
	if a.federation != nil {
		d.Federation = a.federation
	}
	if a.pdp != nil {
		d.Authz = authzAPI{a.pdp, a.usageAPI}
	}
	if a.posture != nil {
		d.Posture = a.posture
	}
	if a.alerts != nil {
		d.Alerts = a.alerts
	}
	if a.custody != nil {
		d.Custody, d.Rotation = a.custody, a.rotation
	}
	if a.console != nil {
		d.Mount = append(d.Mount, func(_ *http.ServeMux, s *httpapi.Server) { a.console.Register(s.Handle) })
	}
	return d
}

// authenticate resolves a bearer token: Steward-issued credentials through
// the broker, operator tokens through the inventory.
func (a *app) authenticate(ctx context.Context, tok string) (*steward.Principal, error) {
	if a.broker != nil && broker.IsStewardToken(tok) {
		return a.broker.Authenticate(ctx, tok)
	}
	return a.inventory.Authenticate(ctx, tok)
}

// authzAPI joins the PDP and the usage service into httpapi.AuthzAPI.
type authzAPI struct {
	*authz.PDP
	*usage.Service
}

// alertResponder takes the alert rules' automatic responses as Steward
// itself, with reason incident. It reads the broker from the app when it
// acts: the broker is built after the detectors, since it writes its
// authentications into their pipeline.
type alertResponder struct{ a *app }

func (r alertResponder) SuspendIdentity(ctx context.Context, id, note string) error {
	ctx = steward.WithPrincipal(ctx, steward.SystemPrincipal("alerts"))
	_, err := r.a.inventory.TransitionIdentity(ctx, id, steward.TransitionSuspend, steward.TransitionRequest{Reason: string(steward.ReasonIncident), Note: note})
	return err
}

func (r alertResponder) RevokeCredential(ctx context.Context, id, note string) error {
	if r.a.broker == nil {
		return steward.Errorf(steward.ENOTIMPLEMENTED, "the credential broker is not enabled; cannot revoke %s", id)
	}
	ctx = steward.WithPrincipal(ctx, steward.SystemPrincipal("alerts"))
	return r.a.broker.RevokeCredential(ctx, id, string(steward.ReasonIncident))
}
