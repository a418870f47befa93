// Package gateway is Steward's credential-injecting reverse proxy: a
// caller proves who it is with a Steward token, the PDP decides the exact
// request (and, on MCP routes, each tool call), the gateway injects the
// upstream credential the caller never holds, and every request is a
// usage event of the caller's identity.
package gateway

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/authz"
)

// Authenticator resolves a caller's Steward token (API key or access
// token) to its identity. The broker implements it in process; Remote
// implements it through the server's introspection endpoint.
type Authenticator interface {
	Authenticate(ctx context.Context, tok string) (*steward.Principal, error)
	// AuthenticateFor accepts only access tokens whose audience names
	// resource (RFC 8707): the MCP routes' rule.
	AuthenticateFor(ctx context.Context, tok, resource string) (*steward.Principal, error)
}

// Decider answers AuthZEN evaluations: the PDP in process, Remote
// through the server's /access/v1/evaluation.
type Decider interface {
	Evaluate(ctx context.Context, r *authz.Request, call authz.Call) (*authz.Decision, error)
}

// Deps are the gateway's collaborators.
type Deps struct {
	Auth    Authenticator
	Decider Decider
	// Secrets gives the upstream secrets of routes with a credential_id.
	Secrets SecretSource
	// Usage receives one event per request and per tool call.
	Usage steward.UsageRecorder
	// Observe, when set, sees each usage event as it is recorded, with
	// the time the gateway spent (the server's metrics count them).
	Observe func(ev steward.UsageEvent, took time.Duration)
	Logger  *slog.Logger
	Now     func() time.Time
}

// Gateway is the proxy; it is an http.Handler.
type Gateway struct {
	deps    Deps
	self    *steward.Principal // the gateway as the PDP's caller
	buffers *bufferPool
	table   atomic.Pointer[table]
	limits  limiters
}

// table is one configuration's routes, replaced whole on reload.
type table struct {
	cfg    *Config
	routes []*route // longest path prefix first
}

type route struct {
	cfg       Route
	upstream  *url.URL
	proxy     *httputil.ReverseProxy
	transport *http.Transport
	timeout   time.Duration
	maxBody   int64
	prm       string // protected resource metadata path (MCP routes)
}

// New returns a gateway serving cfg (validated).
func New(cfg *Config, deps Deps) (*Gateway, error) {
	if deps.Auth == nil || deps.Decider == nil {
		return nil, errors.New("gateway: an authenticator and a decider are required")
	}
	if deps.Usage == nil {
		deps.Usage = steward.DiscardUsage{}
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	g := &Gateway{deps: deps, self: steward.SystemPrincipal("gateway"), buffers: &bufferPool{p: sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}}, limits: limiters{m: map[string]*rate.Limiter{}}}
	if err := g.Reload(cfg); err != nil {
		return nil, err
	}
	return g, nil
}

// Config returns the configuration in force.
func (g *Gateway) Config() *Config { return g.table.Load().cfg }

// Reload validates cfg and replaces the routes; requests in flight finish
// on the routes they started with. The listen address cannot change.
func (g *Gateway) Reload(cfg *Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	t := &table{cfg: cfg}
	for _, rc := range cfg.Routes {
		if rc.CredentialID != "" && g.deps.Secrets == nil {
			return steward.FieldError("routes["+rc.Name+"].credential_id", "no secret custody is configured here; give credential_file instead")
		}
		r, err := g.buildRoute(cfg, rc)
		if err != nil {
			return err
		}
		t.routes = append(t.routes, r)
	}
	slices.SortStableFunc(t.routes, func(a, b *route) int { return len(b.cfg.PathPrefix) - len(a.cfg.PathPrefix) })
	old := g.table.Swap(t)
	g.limits.configure(cfg.RateLimit, cfg.Burst)
	if old != nil {
		for _, r := range old.routes {
			r.transport.CloseIdleConnections()
		}
	}
	return nil
}

func (g *Gateway) buildRoute(cfg *Config, rc Route) (*route, error) {
	u, _ := url.Parse(rc.Upstream) // validated
	r := &route{cfg: rc, upstream: u, timeout: time.Duration(cfg.Timeout), maxBody: cfg.MaxBody}
	if rc.Timeout > 0 {
		r.timeout = time.Duration(rc.Timeout)
	}
	if r.maxBody == 0 {
		r.maxBody = defaultMCPMax
		if rc.Inject.Type == InjectSigV4 {
			r.maxBody = defaultV4Max
		}
	}
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if rc.CAFile != "" {
		pem, err := os.ReadFile(rc.CAFile)
		if err != nil {
			return nil, steward.FieldError("routes["+rc.Name+"].ca_file", "%v", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, steward.FieldError("routes["+rc.Name+"].ca_file", "%s holds no PEM certificate", rc.CAFile)
		}
		tlsCfg.RootCAs = pool
	}
	r.transport = &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsCfg,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          512,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: r.timeout,
		ExpectContinueTimeout: time.Second,
	}
	r.proxy = &httputil.ReverseProxy{
		Rewrite:        func(pr *httputil.ProxyRequest) { r.rewrite(pr) },
		Transport:      &injector{g: g, r: r},
		ErrorHandler:   g.proxyError,
		ModifyResponse: g.modifyResponse,
		ErrorLog:       slog.NewLogLogger(g.deps.Logger.Handler(), slog.LevelWarn),
		BufferPool:     g.buffers,
	}
	if rc.MCP {
		r.prm = "/.well-known/oauth-protected-resource" + strings.TrimRight(rc.PathPrefix, "/")
	}
	return r, nil
}

// rewrite points the outbound request at the upstream and removes the
// caller's credentials: its Authorization never reaches the upstream.
func (r *route) rewrite(pr *httputil.ProxyRequest) {
	if r.cfg.StripPrefix {
		p := strings.TrimPrefix(pr.In.URL.Path, strings.TrimRight(r.cfg.PathPrefix, "/"))
		if !strings.HasPrefix(p, "/") {
			p = "/" + p
		}
		pr.Out.URL.Path, pr.Out.URL.RawPath = p, ""
	}
	pr.SetURL(r.upstream)
	pr.SetXForwarded()
	pr.Out.Header.Del("Authorization")
	pr.Out.Header.Del("Proxy-Authorization")
}

// bufferPool lends the proxies their 32 KiB copy buffers (without it
// every request allocates and clears one).
type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte  { return *b.p.Get().(*[]byte) }
func (b *bufferPool) Put(x []byte) { b.p.Put(&x) }

// match finds the route for a request: host (when the route names one)
// and the longest path prefix, on segment boundaries.
func (t *table) match(host, path string) *route {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	for _, r := range t.routes {
		if r.cfg.Host != "" && !strings.EqualFold(r.cfg.Host, host) {
			continue
		}
		p := r.cfg.PathPrefix
		if p == "/" || path == strings.TrimRight(p, "/") || strings.HasPrefix(path, strings.TrimRight(p, "/")+"/") {
			return r
		}
	}
	return nil
}

// limiters holds one token bucket per identity.
type limiters struct {
	mu    sync.Mutex
	m     map[string]*rate.Limiter
	rate  float64
	burst int
}

const maxLimiters = 100_000

func (l *limiters) configure(r float64, burst int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r != l.rate || burst != l.burst {
		clear(l.m)
	}
	l.rate, l.burst = r, burst
}

func (l *limiters) allow(identity string) bool {
	l.mu.Lock()
	if l.rate < 0 {
		l.mu.Unlock()
		return true
	}
	lim := l.m[identity]
	if lim == nil {
		if len(l.m) >= maxLimiters {
			clear(l.m)
		}
		lim = rate.NewLimiter(rate.Limit(l.rate), l.burst)
		l.m[identity] = lim
	}
	l.mu.Unlock()
	return lim.Allow()
}

// state is what one request carries from the handler to the transport
// and the response hook.
type state struct {
	route  *route
	secret []byte
	p      *steward.Principal
	// filter, for a tools/list on an MCP route, keeps the tools the
	// caller may call.
	filter func(name string) bool
}

type stateKey struct{}

func stateFrom(ctx context.Context) *state {
	s, _ := ctx.Value(stateKey{}).(*state)
	return s
}

// injector puts the upstream secret on the outbound request.
type injector struct {
	g *Gateway
	r *route
}

func (in *injector) RoundTrip(req *http.Request) (*http.Response, error) {
	st := stateFrom(req.Context())
	if st == nil {
		return nil, errors.New("gateway: request without state")
	}
	if err := inject(req.Context(), in.r.cfg.Inject, req, st.secret, in.r.maxBody, in.g.deps.Now()); err != nil {
		return nil, err
	}
	return in.r.transport.RoundTrip(req)
}

// proxyError answers a failed upstream exchange: 504 when it timed out,
// 413 for a body too large to sign, 502 otherwise. The message never
// carries the error text, which may hold the outbound URL.
func (g *Gateway) proxyError(w http.ResponseWriter, req *http.Request, err error) {
	st := stateFrom(req.Context())
	name := ""
	if st != nil {
		name = st.route.cfg.Name
	}
	var ne net.Error
	switch {
	case steward.ErrorCode(err) == steward.ETOOLARGE:
		problem(w, http.StatusRequestEntityTooLarge, "request body too large", steward.ErrorMessage(err))
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		g.deps.Logger.Warn("gateway upstream timed out", "route", name)
		problem(w, http.StatusGatewayTimeout, "upstream timed out", fmt.Sprintf("the upstream of route %s did not answer in time", name))
	case errors.Is(err, context.Canceled):
		w.WriteHeader(499) // the caller went away; nobody reads this
	default:
		g.deps.Logger.Warn("gateway upstream failed", "route", name, "err", safeErr(err))
		problem(w, http.StatusBadGateway, "upstream unavailable", fmt.Sprintf("the upstream of route %s could not be reached", name))
	}
}

// safeErr describes an upstream error without URLs (an outbound URL may
// hold a query-injected secret).
func safeErr(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return oe.Op + ": " + oe.Err.Error()
	}
	var te *tls.CertificateVerificationError
	if errors.As(err, &te) {
		return "upstream TLS certificate not trusted"
	}
	var ue2 x509.UnknownAuthorityError
	if errors.As(err, &ue2) {
		return "upstream TLS certificate not trusted"
	}
	if steward.ErrorCode(err) != steward.EINTERNAL {
		return steward.ErrorMessage(err)
	}
	return fmt.Sprintf("%T", err)
}
