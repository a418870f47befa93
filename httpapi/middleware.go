package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/time/rate"

	"github.com/steward-nhi/steward"
)

type requestIDKey struct{}

// RequestID returns the request id in ctx.
func RequestID(ctx context.Context) string {
	s, _ := ctx.Value(requestIDKey{}).(string)
	return s
}

// WithRequestID returns ctx carrying a request id (clients and jobs).
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

var requestIDRE = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

func newRequestID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// LogHandler wraps a slog.Handler to add the request id of the context to
// every record.
type LogHandler struct{ slog.Handler }

// Handle adds request_id.
func (h LogHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs keeps the wrapper.
func (h LogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return LogHandler{h.Handler.WithAttrs(as)}
}

// WithGroup keeps the wrapper.
func (h LogHandler) WithGroup(name string) slog.Handler { return LogHandler{h.Handler.WithGroup(name)} }

type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += int64(n)
	return n, err
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// traceContext reads and writes W3C Trace Context headers (traceparent,
// tracestate).
var traceContext = propagation.TraceContext{}

// instrument wraps a route's handler with the request id, security headers,
// panic recovery, tracing, metrics and the access log.
func (s *Server) instrument(route string, h http.Handler) http.Handler {
	label := routeLabel(route)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-ID")
		if !requestIDRE.MatchString(id) {
			id = newRequestID()
		}
		ctx := withLogger(WithRequestID(r.Context(), id), s.log)
		ctx = context.WithValue(ctx, actorBoxKey{}, &actorBox{})
		// A W3C traceparent from the caller makes this span its child.
		ctx = traceContext.Extract(ctx, propagation.HeaderCarrier(r.Header))
		var span trace.Span
		ctx, span = s.tracer.Start(ctx, route, trace.WithSpanKind(trace.SpanKindServer))
		defer span.End()
		r = r.WithContext(ctx)
		hdr := w.Header()
		hdr.Set("X-Request-ID", id)
		hdr.Set("X-Content-Type-Options", "nosniff")
		hdr.Set("X-Frame-Options", "DENY")
		hdr.Set("Referrer-Policy", "no-referrer")
		hdr.Set("Cache-Control", "no-store")
		if r.TLS != nil {
			hdr.Set("Strict-Transport-Security", "max-age=31536000")
		}
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(ctx, "panic", "panic", v, "stack", string(debug.Stack()))
				if rec.status == 0 {
					statusProblem(rec, r, http.StatusInternalServerError, "internal error")
				}
			}
			d := time.Since(start)
			status := strconv.Itoa(rec.status)
			s.metrics.requests.WithLabelValues(label, r.Method, status).Inc()
			s.metrics.latency.WithLabelValues(label, r.Method).Observe(d.Seconds())
			span.SetAttributes(attribute.String("http.route", route), attribute.Int("http.status_code", rec.status))
			level := slog.LevelInfo
			if rec.status >= 500 {
				level = slog.LevelError
			}
			if (s.quietRoutes[route] && rec.status < 400) || !s.log.Enabled(ctx, level) {
				return
			}
			attrs := []any{"method", r.Method, "route", route, "path", r.URL.Path, "status", rec.status,
				"duration_ms", float64(d.Microseconds()) / 1000, "bytes", rec.bytes, "remote", clientIP(r), "actor", actorOf(ctx)}
			if id := identityOf(ctx); id != "" {
				attrs = append(attrs, "identity_id", id)
			}
			s.log.Log(ctx, level, "request", attrs...)
		}()
		h.ServeHTTP(rec, r)
	})
}

type actorBox struct{ p *steward.Principal }

type actorBoxKey struct{}

// actorOf returns the authenticated actor recorded for the access log.
func actorOf(ctx context.Context) string {
	if b, _ := ctx.Value(actorBoxKey{}).(*actorBox); b != nil && b.p != nil {
		return b.p.Actor
	}
	return ""
}

// identityOf returns the non-human identity that made the request, if one
// did (its credential authenticated it), for the access log.
func identityOf(ctx context.Context) string {
	if b, _ := ctx.Value(actorBoxKey{}).(*actorBox); b != nil && b.p != nil {
		return b.p.IdentityID
	}
	return ""
}

// clientIP returns the caller's address (the TCP peer; proxies' headers are
// not trusted).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// bearer extracts a bearer token from the Authorization header.
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// limiter keeps one token bucket per key.
type limiter struct {
	mu      sync.Mutex
	rate    rate.Limit
	burst   int
	buckets map[string]*bucket
}

type bucket struct {
	l    *rate.Limiter
	seen time.Time
}

func newLimiter(perSecond float64, burst int) *limiter {
	if perSecond <= 0 {
		return nil
	}
	return &limiter{rate: rate.Limit(perSecond), burst: burst, buckets: map[string]*bucket{}}
}

// allow reports whether key may make one more request now.
func (l *limiter) allow(key string) bool {
	if l == nil {
		return true
	}
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) > 100000 {
			for k, v := range l.buckets {
				if now.Sub(v.seen) > time.Minute {
					delete(l.buckets, k)
				}
			}
		}
		b = &bucket{l: rate.NewLimiter(l.rate, l.burst)}
		l.buckets[key] = b
	}
	b.seen = now
	return b.l.AllowN(now, 1)
}

// authenticate resolves the bearer token to a principal, or answers 401
// (or 429 when a source keeps failing).
func (s *Server) authenticate(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip := clientIP(r)
		tok, ok := bearer(r)
		if !ok {
			if !s.failLimit.allow(ip) {
				statusProblem(w, r, http.StatusTooManyRequests, "too many failed authentications from this address")
				return
			}
			Error(w, r, steward.Errorf(steward.EUNAUTHORIZED, "a bearer token is required (Authorization: Bearer <token>)"))
			return
		}
		p, err := s.auth(steward.WithRequestSource(r.Context(), steward.RequestSource{Addr: ip, UserAgent: r.UserAgent()}), tok)
		if err != nil {
			if steward.ErrorCode(err) == steward.EUNAUTHORIZED {
				s.metrics.authFailures.Inc()
				if !s.failLimit.allow(ip) {
					statusProblem(w, r, http.StatusTooManyRequests, "too many failed authentications from this address")
					return
				}
				s.log.WarnContext(r.Context(), "authentication failed", "remote", ip, "path", r.URL.Path)
			}
			Error(w, r, err)
			return
		}
		if !s.reqLimit.allow(p.Actor) {
			w.Header().Set("Retry-After", "1")
			statusProblem(w, r, http.StatusTooManyRequests, "request rate limit exceeded for this token")
			return
		}
		if b, _ := r.Context().Value(actorBoxKey{}).(*actorBox); b != nil {
			b.p = p
		}
		h.ServeHTTP(w, r.WithContext(steward.WithPrincipal(r.Context(), p)))
	})
}

// routeLabel is a route pattern's metric label: its path (the method is a
// label of its own), and "unmatched" for the API's catch-all, so unknown
// paths share one series.
func routeLabel(pattern string) string {
	if _, path, ok := strings.Cut(pattern, " "); ok {
		pattern = path
	}
	if pattern == apiCatchAll {
		return "unmatched"
	}
	return pattern
}
