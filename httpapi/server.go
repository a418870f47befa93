// Package httpapi serves Steward's REST API under /api/v1, the health and
// metrics endpoints, and implements the service interfaces over HTTP for the
// CLI (client.go). routes.go lists every route.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/steward-nhi/steward"
)

// Body limits.
const (
	MaxBodyBytes   = 1 << 20  // 1 MiB
	MaxImportBytes = 64 << 20 // 64 MiB
)

// Authenticator resolves a bearer token to a principal.
type Authenticator func(ctx context.Context, token string) (*steward.Principal, error)

// Deps are what the server serves.
type Deps struct {
	Identities steward.IdentityService
	Owners     steward.OwnerService
	Tokens     steward.TokenService
	Imports    steward.ImportService
	Auth       Authenticator
	// Capabilities beyond the core; their routes answer 501 while nil.
	Audit   AuditAPI
	Broker  BrokerAPI
	Authz   AuthzAPI
	Posture PostureAPI
	// Discovery links scanner findings to the inventory; ParseDiscovery
	// reads other scanners' reports for the import route.
	Discovery      steward.DiscoveryService
	ParseDiscovery DiscoveryParser
	// IsDiscoveryFormat tells scanner-report formats from provider exports.
	IsDiscoveryFormat func(format string) bool
	Alerts            AlertsAPI
	Federation        FederationAPI
	// Custody keeps external secrets; Rotation rotates them at their
	// providers and hands out leases.
	Custody  CustodyAPI
	Rotation RotationAPI
	// MCP serves /mcp: Steward's tools for assistants (package mcp), run
	// behind the API's authentication with the caller's principal.
	MCP http.Handler
	// Ready reports whether the server can serve (database reachable).
	Ready func(ctx context.Context) error
	// Stats returns inventory counts for the metrics gauges.
	Stats  func(ctx context.Context) (*steward.InventoryStats, error)
	Logger *slog.Logger
	// Metrics are the server's metrics (NewMetrics); when nil NewServer
	// makes them on Registry (a new one when nil) and watches Stats.
	Metrics  *Metrics
	Registry *prometheus.Registry
	Tracer   trace.Tracer
	Version  string
	// MetricsRequireAuth makes GET /metrics ask for a staff token (admin,
	// operator or auditor) like any API route.
	MetricsRequireAuth bool
	// Pprof serves the Go runtime's profiles at GET /debug/pprof/{profile}
	// to admins (config metrics.pprof); while off the route answers 501.
	Pprof bool
	// RateLimit is the sustained requests per second allowed per token
	// (0 disables); RateBurst its burst.
	RateLimit float64
	RateBurst int
	// AuthFailureLimit is the failed authentications per second allowed
	// per source address before 429 (burst 4×).
	AuthFailureLimit float64
	// Mount adds routes of other packages (broker, web) to the mux.
	Mount []func(mux *http.ServeMux, s *Server)
}

// Server is Steward's HTTP handler.
type Server struct {
	Deps
	mux         *http.ServeMux
	log         *slog.Logger
	auth        Authenticator
	tracer      trace.Tracer
	metrics     *Metrics
	reqLimit    *limiter
	failLimit   *limiter
	quietRoutes map[string]bool
	// known matches the paths of Routes() whatever the method; allowed
	// holds each path pattern's methods, for 405 answers.
	known   *http.ServeMux
	allowed map[string][]string
}

// NewServer returns the API handler.
func NewServer(d Deps) *Server {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Metrics == nil {
		d.Metrics = NewMetrics(d.Registry, d.Version)
		if d.Stats != nil {
			d.Metrics.WatchInventory(d.Stats)
		}
	}
	d.Registry = d.Metrics.Registry()
	if d.Tracer == nil {
		d.Tracer = noop.NewTracerProvider().Tracer("steward")
	}
	if d.AuthFailureLimit == 0 {
		d.AuthFailureLimit = 5
	}
	if d.RateBurst == 0 {
		d.RateBurst = int(2 * d.RateLimit)
	}
	s := &Server{
		Deps: d, mux: http.NewServeMux(), log: d.Logger, auth: d.Auth, tracer: d.Tracer,
		reqLimit:    newLimiter(d.RateLimit, d.RateBurst),
		failLimit:   newLimiter(d.AuthFailureLimit, int(4*d.AuthFailureLimit)),
		quietRoutes: map[string]bool{"GET /healthz": true, "GET /readyz": true, "GET /metrics": true},
	}
	s.metrics = d.Metrics
	if d.Authz != nil {
		s.registerUsageMetrics()
	}
	s.routes()
	s.indexMethods(Routes())
	for _, m := range d.Mount {
		m(s.mux, s)
	}
	return s
}

// ServeHTTP serves a request. A known route path asked with a method it
// does not serve answers 405 with Allow rather than falling through to
// the catch-all 404.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := s.known.Handler(r); pattern != "" {
		if methods := s.allowed[pattern]; !slices.Contains(methods, r.Method) {
			w.Header().Set("Allow", strings.Join(methods, ", "))
			statusProblem(w, r, http.StatusMethodNotAllowed, r.Method+" is not supported on "+r.URL.Path+"; use "+strings.Join(methods, ", "))
			return
		}
	}
	s.mux.ServeHTTP(w, r)
}

// indexMethods records the methods of every route path (GET implies HEAD).
func (s *Server) indexMethods(routes []Route) {
	s.known, s.allowed = http.NewServeMux(), map[string][]string{}
	for _, rt := range routes {
		if _, ok := s.allowed[rt.Path]; !ok {
			s.known.Handle(rt.Path, http.NotFoundHandler())
		}
		m := append(s.allowed[rt.Path], rt.Method)
		if rt.Method == http.MethodGet {
			m = append(m, http.MethodHead)
		}
		slices.Sort(m)
		s.allowed[rt.Path] = slices.Compact(m)
	}
}

// Handle registers an instrumented route; pattern is "METHOD /path".
func (s *Server) Handle(pattern string, h http.Handler) {
	s.mux.Handle(pattern, s.instrument(pattern, h))
}

// Authenticated wraps h so that it runs only for an authenticated caller.
func (s *Server) Authenticated(h http.Handler) http.Handler { return s.authenticate(h) }

// Metrics are the server's Prometheus metrics. They are made before the
// store opens, so the store can report its operations (ObserveStore), and
// registered once, here, never as a side effect of serving.
type Metrics struct {
	reg          *prometheus.Registry
	requests     *prometheus.CounterVec
	latency      *prometheus.HistogramVec
	store        *prometheus.HistogramVec
	authFailures prometheus.Counter
	decisions    *prometheus.CounterVec
	decisionTime *prometheus.HistogramVec
	tokens       *prometheus.CounterVec
	exchanges    *prometheus.CounterVec
	gateway      *prometheus.CounterVec
	gatewayTime  *prometheus.HistogramVec
	rotations    *prometheus.CounterVec
}

// NewMetrics registers the server's metrics, the Go runtime's and the
// process's on reg (a new registry when nil).
func NewMetrics(reg *prometheus.Registry, version string) *Metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &Metrics{
		reg:      reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "steward_http_requests_total", Help: "HTTP requests by route, method and status."}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "steward_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}}, []string{"route", "method"}),
		store: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "steward_store_operation_duration_seconds", Help: "Store operation latency.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1}}, []string{"op", "result"}),
		authFailures: prometheus.NewCounter(prometheus.CounterOpts{Name: "steward_auth_failures_total", Help: "Failed API authentications."}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "steward_authz_decisions_total",
			Help: "AuthZEN decisions by decision (allow, deny) and the policy set that determined them (none when no policy did)."}, []string{"decision", "policy_set"}),
		decisionTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "steward_authz_decision_duration_seconds", Help: "AuthZEN evaluation latency by decision (a batch observes each item with the batch's time).",
			Buckets: []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1}}, []string{"decision"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "steward_oauth_tokens_issued_total", Help: "Access tokens issued by the token endpoint, by grant type."}, []string{"grant_type"}),
		exchanges: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "steward_token_exchanges_total",
			Help: "Federated token exchanges (RFC 8693, RFC 7523) by grant type and result (issued, or the OAuth error code)."}, []string{"grant_type", "result"}),
		gateway: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "steward_gateway_requests_total",
			Help: "Requests and MCP tool calls through the gateway by resource (Route:name, Tool:route/tool), action and outcome (allow, deny, error...)."}, []string{"resource", "action", "outcome"}),
		rotations: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "steward_rotation_steps_total",
			Help: "Persisted rotation steps by step (create, set, test, finish) and the rotation's status after it (running, succeeded, failed, rolled_back)."}, []string{"step", "status"}),
		gatewayTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "steward_gateway_request_duration_seconds", Help: "Time through the gateway (authentication, decision, injection, upstream) by outcome.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}, []string{"outcome"}),
	}
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "steward_build_info", Help: "Build information."}, []string{"version"})
	build.WithLabelValues(version).Set(1)
	reg.MustRegister(m.requests, m.latency, m.store, m.authFailures, m.decisions, m.decisionTime, m.tokens, m.exchanges, m.gateway, m.gatewayTime, m.rotations, build)
	_ = reg.Register(collectors.NewGoCollector())
	_ = reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ObserveGateway counts one gateway request or tool call
// (gateway.Deps.Observe). Its resource label is bounded by the configured
// routes and the tools their servers list.
func (m *Metrics) ObserveGateway(ev steward.UsageEvent, took time.Duration) {
	action := ev.Action
	if action != "tools/call" && action != "tools/list" {
		action = "http" // the HTTP method would add a series per verb for nothing
	}
	m.gateway.WithLabelValues(ev.Resource, action, ev.Outcome).Inc()
	m.gatewayTime.WithLabelValues(ev.Outcome).Observe(took.Seconds())
}

// ObserveRotationStep counts one persisted rotation step
// (rotation.Config.AfterStep).
func (m *Metrics) ObserveRotationStep(r *steward.Rotation) {
	m.rotations.WithLabelValues(r.Step, r.Status).Inc()
}

// Registry is where every capability registers its metrics.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// WatchInventory exports the inventory gauges from stats (cached 15 s).
func (m *Metrics) WatchInventory(stats func(ctx context.Context) (*steward.InventoryStats, error)) {
	m.reg.MustRegister(&inventoryCollector{stats: stats})
}

// ObserveStore records a store operation's latency (sqlstore.Options.Observe).
func (m *Metrics) ObserveStore(op string, d time.Duration, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.store.WithLabelValues(op, result).Observe(d.Seconds())
}

// inventoryCollector exports inventory gauges, caching the counts for 15 s
// (scrapes may run concurrently, hence the lock).
type inventoryCollector struct {
	stats  func(ctx context.Context) (*steward.InventoryStats, error)
	mu     sync.Mutex
	cached *steward.InventoryStats
	at     time.Time
}

var (
	descIdentities = prometheus.NewDesc("steward_identities", "Identities by status (by kind and by sensitivity tier: steward_identities_by_kind, steward_identities_by_sensitivity).", []string{"status"}, nil)
	descByKind     = prometheus.NewDesc("steward_identities_by_kind", "Identities by kind.", []string{"kind"}, nil)
	descByTier     = prometheus.NewDesc("steward_identities_by_sensitivity", "Identities by sensitivity tier.", []string{"sensitivity"}, nil)
	descUnowned    = prometheus.NewDesc("steward_identities_unowned", "Identities without an owner.", nil, nil)
	descOrphaned   = prometheus.NewDesc("steward_identities_orphaned", "Identities whose owner departed.", nil, nil)
	descOwners     = prometheus.NewDesc("steward_owners", "Owners.", nil, nil)
	descEvents     = prometheus.NewDesc("steward_events", "Entries in the event chain.", nil, nil)
)

func (c *inventoryCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descIdentities, descByKind, descByTier, descUnowned, descOrphaned, descOwners, descEvents} {
		ch <- d
	}
}

// current returns the cached counts, refreshing them when stale.
func (c *inventoryCollector) current() *steward.InventoryStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cached == nil || time.Since(c.at) > 15*time.Second {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		st, err := c.stats(ctx)
		cancel()
		if err == nil {
			c.cached, c.at = st, time.Now()
		}
	}
	return c.cached
}

func (c *inventoryCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.current()
	if st == nil {
		return
	}
	for k, v := range st.ByStatus {
		ch <- prometheus.MustNewConstMetric(descIdentities, prometheus.GaugeValue, float64(v), k)
	}
	for k, v := range st.ByKind {
		ch <- prometheus.MustNewConstMetric(descByKind, prometheus.GaugeValue, float64(v), k)
	}
	for k, v := range st.BySensitivity {
		ch <- prometheus.MustNewConstMetric(descByTier, prometheus.GaugeValue, float64(v), k)
	}
	ch <- prometheus.MustNewConstMetric(descUnowned, prometheus.GaugeValue, float64(st.Unowned))
	ch <- prometheus.MustNewConstMetric(descOrphaned, prometheus.GaugeValue, float64(st.Orphaned))
	ch <- prometheus.MustNewConstMetric(descOwners, prometheus.GaugeValue, float64(st.Owners))
	ch <- prometheus.MustNewConstMetric(descEvents, prometheus.GaugeValue, float64(st.Events))
}

func (s *Server) handleMetrics() http.Handler {
	return promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{})
}
