package main

import (
	"context"
	"log/slog"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/audit"
	"github.com/steward-nhi/steward/discovery"
	"github.com/steward-nhi/steward/httpapi"
	"github.com/steward-nhi/steward/inventory"
	"github.com/steward-nhi/steward/sqlstore"
)

// serverContext is what a capability needs to wire itself into `serve`.
type serverContext struct {
	cfg   Config
	g     *globals
	log   *slog.Logger
	store *sqlstore.Store
	svc   *inventory.Service
	// deps are the HTTP server's dependencies: set Audit, Broker, Authz,
	// wrap Auth.
	deps *httpapi.Deps
	// usage receives usage events (authentication attempts, decisions);
	// the authz wiring replaces the default that discards them.
	usage steward.UsageRecorder
	// jobs run in the background until shutdown.
	jobs []func(ctx context.Context)
	// closers run at shutdown, last added first.
	closers []func()
	// discovery links scanner findings to the inventory (set first).
	discovery *discovery.Service
	// notify delivers notifications to people; the alerts wiring sets it
	// (posture sends findings and offboarding notices through it).
	notify steward.Notifier
	// auditSigner is the audit chain's key, when one is loaded (signs
	// evidence manifests).
	auditSigner *audit.Signer
}

func (x *serverContext) close() {
	for i := len(x.closers) - 1; i >= 0; i-- {
		x.closers[i]()
	}
}

// extensions wire the capabilities beyond the core, in order: discovery;
// usage and authorization (sets x.usage); alerts (wraps x.usage so its
// detectors see every usage event, and sets x.notify); the broker (records
// into x.usage); the audit chain's checkpoints and sinks; posture (notifies
// through x.notify); last the web console (sees every service set before).
var extensions = []func(ctx context.Context, x *serverContext) error{
	wireDiscovery,
	wireAuthz,
	wireAlerts,
	wireBroker,
	wireAudit,
	wirePosture,
	wireWeb,
}
