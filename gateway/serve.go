package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/authz"
	"github.com/steward-nhi/steward/mcp/inspect"
)

// Cedar entity types and actions the gateway asks about.
const (
	RouteType      = "Route"
	ToolType       = "Tool"
	ActionToolCall = "tools/call"
)

// ServeHTTP authenticates, decides, injects and forwards one request.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	t := g.table.Load()
	if req.Method == http.MethodGet && strings.HasPrefix(req.URL.Path, "/.well-known/oauth-protected-resource") {
		g.serveMetadata(w, req, t)
		return
	}
	r := t.match(req.Host, req.URL.Path)
	if r == nil {
		problem(w, http.StatusNotFound, "no route", "no gateway route matches this host and path")
		return
	}
	start := g.deps.Now()
	src := steward.RequestSource{Addr: remoteIP(req.RemoteAddr), UserAgent: req.UserAgent()}
	ctx := steward.WithRequestSource(req.Context(), src)
	p, ok := g.authenticate(ctx, w, req, t, r)
	if !ok {
		return
	}
	// The gateway asks the PDP as itself (an in-process PDP checks who
	// asks; a remote one sees the gateway's own token).
	ctx = steward.WithPrincipal(ctx, g.self)
	if !g.limits.allow(p.IdentityID) {
		w.Header().Set("Retry-After", "1")
		problem(w, http.StatusTooManyRequests, "rate limited", "this identity sent more requests than the gateway's rate limit")
		return
	}
	ev := steward.UsageEvent{Time: start, Kind: steward.UsageGateway, IdentityID: p.IdentityID, CredentialID: p.CredentialID,
		Subject: p.Actor, Action: req.Method, Resource: RouteType + ":" + r.cfg.Name, Source: src.Addr, UserAgent: src.UserAgent,
		Attributes: map[string]string{"route": r.cfg.Name, "path": trimStr(req.URL.Path, 512)}}
	copyAttrs(ev.Attributes, p.Delegation.UsageAttributes())
	d, err := g.deps.Decider.Evaluate(ctx, g.routeRequest(p, r, req, src, start), decisionCall(src))
	if err != nil {
		g.decisionFailed(w, ev, err)
		return
	}
	noteDecision(&ev, d)
	if !d.Decision {
		ev.Outcome = "deny"
		g.record(ctx, ev, start)
		problem(w, http.StatusForbidden, "forbidden", fmt.Sprintf("the policy does not permit %s on route %s", req.Method, r.cfg.Name))
		return
	}
	st := &state{route: r, p: p}
	if r.cfg.MCP && req.Method == http.MethodPost {
		if !g.inspectMCP(ctx, w, req, r, st, src, start) {
			return
		}
	}
	if st.secret, err = g.secretFor(ctx, r); err != nil {
		g.deps.Logger.Error("gateway upstream secret unavailable", "route", r.cfg.Name, "credential_id", r.cfg.CredentialID, "err", steward.ErrorMessage(err))
		ev.Outcome, ev.Reason = "error", "upstream credential unavailable"
		g.record(ctx, ev, start)
		problem(w, http.StatusBadGateway, "upstream credential unavailable", fmt.Sprintf("the upstream credential of route %s could not be read", r.cfg.Name))
		return
	}
	rw := &recorder{ResponseWriter: w, status: http.StatusOK}
	r.proxy.ServeHTTP(rw, req.WithContext(context.WithValue(ctx, stateKey{}, st)))
	ev.Outcome = "allow"
	if rw.status >= 500 {
		ev.Outcome = "error"
	}
	ev.Attributes["status"] = strconv.Itoa(rw.status)
	g.record(ctx, ev, start)
}

// authenticate checks the caller's bearer token: on MCP routes only an
// access token issued for the route's resource.
func (g *Gateway) authenticate(ctx context.Context, w http.ResponseWriter, req *http.Request, t *table, r *route) (*steward.Principal, bool) {
	tok, ok := bearer(req.Header.Get("Authorization"))
	if !ok {
		g.challenge(w, t, r, "", "a Steward token is required (Authorization: Bearer …)")
		return nil, false
	}
	var p *steward.Principal
	var err error
	if r.cfg.MCP {
		p, err = g.deps.Auth.AuthenticateFor(ctx, tok, r.cfg.Resource)
	} else {
		p, err = g.deps.Auth.Authenticate(ctx, tok)
	}
	switch {
	case err == nil && p != nil && p.IsNHI():
		return p, true
	case err == nil:
		problem(w, http.StatusForbidden, "forbidden", "only non-human identities call through the gateway")
	case steward.ErrorCode(err) == steward.ERATELIMIT:
		w.Header().Set("Retry-After", "1")
		problem(w, http.StatusTooManyRequests, "rate limited", steward.ErrorMessage(err))
	case steward.ErrorCode(err) == steward.EINTERNAL:
		g.deps.Logger.Error("gateway authentication failed", "err", err)
		problem(w, http.StatusServiceUnavailable, "authentication unavailable", "the caller's token could not be checked")
	default:
		g.challenge(w, t, r, "invalid_token", steward.ErrorMessage(err))
	}
	return nil, false
}

// challenge answers 401; MCP routes point at their resource metadata.
func (g *Gateway) challenge(w http.ResponseWriter, t *table, r *route, code, msg string) {
	v := `Bearer realm="steward-gateway"`
	if r.cfg.MCP && t.cfg.PublicURL != "" {
		v += fmt.Sprintf(`, resource_metadata=%q`, t.cfg.PublicURL+r.prm)
	}
	if code != "" {
		v += `, error="` + code + `"`
	}
	w.Header().Set("WWW-Authenticate", v)
	problem(w, http.StatusUnauthorized, "unauthorized", msg)
}

func (g *Gateway) decisionFailed(w http.ResponseWriter, ev steward.UsageEvent, err error) {
	g.deps.Logger.Error("gateway decision failed", "route", ev.Attributes["route"], "err", err)
	problem(w, http.StatusServiceUnavailable, "decision unavailable", "the policy decision point could not decide this request")
}

// routeRequest is the AuthZEN request for one HTTP request on route r.
func (g *Gateway) routeRequest(p *steward.Principal, r *route, req *http.Request, src steward.RequestSource, now time.Time) *authz.Request {
	return &authz.Request{
		Subject:  &authz.Entity{Type: string(authz.IdentityType), ID: p.IdentityID},
		Action:   &authz.Action{Name: req.Method},
		Resource: &authz.Entity{Type: RouteType, ID: r.cfg.Name, Properties: map[string]any{"path": req.URL.Path, "query": req.URL.RawQuery}},
		Context:  callContext(p, src, now),
	}
}

// decisionCall asks the PDP not to record the decision: the gateway's
// usage event carries it (one event per request, not two).
func decisionCall(src steward.RequestSource) authz.Call {
	return authz.Call{Source: src.Addr, UserAgent: src.UserAgent, Recorded: true}
}

// noteDecision copies the decision's id, policies and reason into ev.
func noteDecision(ev *steward.UsageEvent, d *authz.Decision) {
	if id, ok := d.Context["decision_id"].(string); ok {
		ev.Attributes["decision_id"] = id
	}
	switch pol := d.Context["policies"].(type) {
	case []string:
		ev.PolicyIDs = pol
	case []any:
		for _, p := range pol {
			if s, ok := p.(string); ok {
				ev.PolicyIDs = append(ev.PolicyIDs, s)
			}
		}
	}
	if reason, ok := d.Context["reason"].(string); ok {
		ev.Reason = reason
	} else if !d.Decision {
		ev.Reason = "no policy permits the request"
	}
	if l, ok := d.Context["learning"].(bool); ok && l {
		ev.Attributes["learning"] = "true"
	}
}

func callContext(p *steward.Principal, src steward.RequestSource, now time.Time) map[string]any {
	c := map[string]any{"source_ip": src.Addr, "user_agent": src.UserAgent, "time": now.UTC().Format(time.RFC3339), "credential_id": p.CredentialID}
	if act := p.Delegation.ActContext(); act != nil {
		c["act"], c["on_behalf_of"] = act, p.Delegation.Subject
	}
	return c
}

func (g *Gateway) record(ctx context.Context, ev steward.UsageEvent, start time.Time) {
	took := g.deps.Now().Sub(start)
	ev.LatencyMicro = took.Microseconds()
	g.deps.Usage.Record(ctx, ev)
	if g.deps.Observe != nil {
		g.deps.Observe(ev, took)
	}
}

// inspectMCP reads one JSON-RPC message and decides it: a tools/call is
// a decision on Tool::"route/tool", a tools/list gets its result
// filtered. It answers the caller itself (and returns false) for bad or
// denied messages.
func (g *Gateway) inspectMCP(ctx context.Context, w http.ResponseWriter, req *http.Request, r *route, st *state, src steward.RequestSource, start time.Time) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, r.maxBody))
	req.Body.Close()
	if err != nil {
		if _, ok := err.(*http.MaxBytesError); ok {
			problem(w, http.StatusRequestEntityTooLarge, "request body too large", fmt.Sprintf("an MCP message may hold at most %d bytes", r.maxBody))
		} else {
			problem(w, http.StatusBadRequest, "unreadable body", "the request body could not be read")
		}
		return false
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	msg, perr := inspect.Parse(body)
	if perr != nil {
		status := http.StatusBadRequest
		var id json.RawMessage
		if msg != nil { // a well-formed request: answer it as JSON-RPC does
			status, id = http.StatusOK, msg.ID
		}
		rpcError(w, status, id, perr.Code, perr.Message)
		return false
	}
	session := req.Header.Get("Mcp-Session-Id")
	switch msg.Method {
	case "tools/call":
		ev := steward.UsageEvent{Time: start, Kind: steward.UsageGateway, IdentityID: st.p.IdentityID, CredentialID: st.p.CredentialID,
			Subject: st.p.Actor, Action: ActionToolCall, Resource: ToolType + ":" + r.cfg.Name + "/" + msg.Tool, Source: src.Addr, UserAgent: src.UserAgent,
			Attributes: map[string]string{"route": r.cfg.Name, "tool": msg.Tool, "arguments": strings.Join(msg.ArgumentKeys, ","), "session": trimStr(session, 128)}}
		copyAttrs(ev.Attributes, st.p.Delegation.UsageAttributes())
		d, err := g.deps.Decider.Evaluate(ctx, g.toolRequest(st.p, r, msg.Tool, msg.ArgumentKeys, session, src, start), decisionCall(src))
		if err != nil {
			g.decisionFailed(w, ev, err)
			return false
		}
		noteDecision(&ev, d)
		if !d.Decision {
			ev.Outcome = "deny"
			g.record(ctx, ev, start)
			rpcError(w, http.StatusOK, msg.ID, inspect.CodeForbidden, fmt.Sprintf("steward: the policy does not permit calling tool %s", msg.Tool))
			return false
		}
		ev.Outcome = "allow"
		g.record(ctx, ev, start)
	case "tools/list":
		st.filter = func(name string) bool {
			d, err := g.deps.Decider.Evaluate(ctx, g.toolRequest(st.p, r, name, nil, session, src, start), authz.Call{Source: src.Addr, UserAgent: src.UserAgent})
			return err == nil && d.Decision
		}
	}
	return true
}

// toolRequest is the AuthZEN request for calling tool on MCP route r.
func (g *Gateway) toolRequest(p *steward.Principal, r *route, tool string, argKeys []string, session string, src steward.RequestSource, now time.Time) *authz.Request {
	c := callContext(p, src, now)
	keys := make([]any, len(argKeys))
	for i, k := range argKeys {
		keys[i] = k
	}
	c["arguments"] = keys
	c["session"] = session
	return &authz.Request{
		Subject:  &authz.Entity{Type: string(authz.IdentityType), ID: p.IdentityID},
		Action:   &authz.Action{Name: ActionToolCall},
		Resource: &authz.Entity{Type: ToolType, ID: r.cfg.Name + "/" + tool, Properties: map[string]any{"server": r.cfg.Name, "name": tool}},
		Context:  c,
	}
}

// modifyResponse filters a tools/list result (JSON or event stream).
func (g *Gateway) modifyResponse(res *http.Response) error {
	st := stateFrom(res.Request.Context())
	if st == nil || st.filter == nil || res.StatusCode != http.StatusOK {
		return nil
	}
	ct := res.Header.Get("Content-Type")
	transform := func(b []byte) ([]byte, error) { return inspect.FilterTools(b, st.filter) }
	switch {
	case strings.HasPrefix(ct, "text/event-stream"):
		res.Body = inspect.SSEFilter(res.Body, transform)
	case strings.HasPrefix(ct, "application/json"):
		b, err := io.ReadAll(io.LimitReader(res.Body, 16<<20))
		res.Body.Close()
		if err != nil {
			return err
		}
		if b, err = transform(b); err != nil {
			return err
		}
		res.Body = io.NopCloser(bytes.NewReader(b))
		res.ContentLength = int64(len(b))
		res.Header.Set("Content-Length", strconv.Itoa(len(b)))
	default:
		return fmt.Errorf("gateway: tools/list answered with content type %q, which the gateway cannot filter", ct)
	}
	return nil
}

// serveMetadata serves RFC 9728 protected resource metadata for the MCP
// routes: /.well-known/oauth-protected-resource<path_prefix>.
func (g *Gateway) serveMetadata(w http.ResponseWriter, req *http.Request, t *table) {
	var found *route
	for _, r := range t.routes {
		if r.prm != "" && (req.URL.Path == r.prm || (found == nil && req.URL.Path == "/.well-known/oauth-protected-resource")) {
			found = r
			if req.URL.Path == r.prm {
				break
			}
		}
	}
	if found == nil {
		problem(w, http.StatusNotFound, "no protected resource", "no MCP route publishes metadata at this path")
		return
	}
	md := map[string]any{"resource": found.cfg.Resource, "bearer_methods_supported": []string{"header"},
		"resource_name": "Steward gateway: " + found.cfg.Name}
	if t.cfg.AuthorizationServer != "" {
		md["authorization_servers"] = []string{t.cfg.AuthorizationServer}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "max-age=300")
	json.NewEncoder(w).Encode(md)
}

func rpcError(w http.ResponseWriter, status int, id json.RawMessage, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(inspect.ErrorResponse(id, code, msg))
}

// problem writes an RFC 9457 problem document.
func problem(w http.ResponseWriter, status int, title, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"type": "about:blank", "title": title, "status": status, "detail": detail})
}

func bearer(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

func remoteIP(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

func trimStr(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// recorder notes the status; Unwrap lets the proxy flush streams.
type recorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// copyAttrs adds src's attributes to dst.
func copyAttrs(dst, src map[string]string) {
	for k, v := range src {
		dst[k] = v
	}
}
