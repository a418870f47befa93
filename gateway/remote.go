package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/authz"
)

// Remote reaches a Steward server that runs apart from the gateway, with
// the gateway's own token: callers are authenticated through token
// introspection (RFC 7662, POST /oauth2/introspect; the token needs read
// access or scope oauth2:introspect), requests are decided by the
// server's PDP (POST /access/v1/evaluation; the token needs the operator
// role or scope authzen:evaluate), and usage events are sent in batches
// to POST /api/v1/usage (operator role), where they join the server's one
// usage pipeline. Each request costs two round trips to the server;
// nothing is cached, so a revocation applies from the next request.
type Remote struct {
	base   string
	token  string
	client *http.Client
	log    *slog.Logger

	mu      sync.Mutex
	queue   []steward.UsageEvent
	dropped int
	wake    chan struct{}
}

// remoteQueue bounds the usage events waiting to be sent.
const remoteQueue = 50_000

// NewRemote returns a client of the server at base.
func NewRemote(base, token string, log *slog.Logger) *Remote {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Remote{base: strings.TrimRight(base, "/"), token: token, log: log, wake: make(chan struct{}, 1),
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, MaxIdleConnsPerHost: 64, ForceAttemptHTTP2: true}}}
}

type introspection struct {
	Active       bool            `json:"active"`
	Sub          string          `json:"sub"`
	Aud          json.RawMessage `json:"aud"`
	Iss          string          `json:"iss"`
	Scope        string          `json:"scope"`
	TokenType    string          `json:"token_type"`
	CredentialID string          `json:"credential_id"`
}

func (in *introspection) audience() []string {
	var one string
	if json.Unmarshal(in.Aud, &one) == nil {
		return []string{one}
	}
	var many []string
	json.Unmarshal(in.Aud, &many)
	return many
}

// Authenticate introspects tok: an active API key, or an access token
// for the server's own audience (its issuer).
func (r *Remote) Authenticate(ctx context.Context, tok string) (*steward.Principal, error) {
	in, err := r.introspect(ctx, tok)
	if err != nil {
		return nil, err
	}
	if in.TokenType != "api_key" && !slices.Contains(in.audience(), in.Iss) {
		return nil, steward.Errorf(steward.EUNAUTHORIZED, "access token is for another audience")
	}
	return in.principal(), nil
}

// AuthenticateFor introspects tok and accepts only an access token whose
// audience names resource.
func (r *Remote) AuthenticateFor(ctx context.Context, tok, resource string) (*steward.Principal, error) {
	in, err := r.introspect(ctx, tok)
	if err != nil {
		return nil, err
	}
	if in.TokenType == "api_key" || !slices.Contains(in.audience(), resource) {
		return nil, steward.Errorf(steward.EUNAUTHORIZED, "the token was not issued for %s", resource)
	}
	return in.principal(), nil
}

func (in *introspection) principal() *steward.Principal {
	return &steward.Principal{Actor: "nhi:" + in.Sub, IdentityID: in.Sub, CredentialID: in.CredentialID, Scopes: strings.Fields(in.Scope)}
}

func (r *Remote) introspect(ctx context.Context, tok string) (*introspection, error) {
	var in introspection
	form := url.Values{"token": {tok}}.Encode()
	if err := r.call(ctx, "/oauth2/introspect", "application/x-www-form-urlencoded", strings.NewReader(form), &in); err != nil {
		return nil, err
	}
	if !in.Active || in.Sub == "" {
		return nil, steward.Errorf(steward.EUNAUTHORIZED, "invalid, expired or revoked credential")
	}
	return &in, nil
}

// Evaluate asks the server's PDP.
func (r *Remote) Evaluate(ctx context.Context, req *authz.Request, _ authz.Call) (*authz.Decision, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	var d authz.Decision
	if err := r.call(ctx, "/access/v1/evaluation", "application/json", bytes.NewReader(b), &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// call POSTs to the server as the gateway; a refusal of the gateway's own
// token is an internal error (misconfiguration), never the caller's.
func (r *Remote) call(ctx context.Context, path, ct string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer "+r.token)
	res, err := r.client.Do(req)
	if err != nil {
		return fmt.Errorf("steward server %s: %w", path, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(res.Body, 1<<16))
		return fmt.Errorf("steward server %s answered %d (check the gateway's --token and its role)", path, res.StatusCode)
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(out)
}

// Record queues a usage event for the server; it never blocks, and drops
// (and counts) events when the queue is full.
func (r *Remote) Record(_ context.Context, ev steward.UsageEvent) {
	r.mu.Lock()
	if len(r.queue) >= remoteQueue {
		r.dropped++
	} else {
		r.queue = append(r.queue, ev)
	}
	full := len(r.queue) >= 1000
	r.mu.Unlock()
	if full {
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
}

// Run sends queued usage events every second (or at 1,000) until ctx
// ends, then once more.
func (r *Remote) Run(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			r.Flush(fctx)
			cancel()
			return
		case <-t.C:
		case <-r.wake:
		}
		r.Flush(ctx)
	}
}

// Flush sends the queued usage events as JSON lines.
func (r *Remote) Flush(ctx context.Context) {
	r.mu.Lock()
	evs, dropped := r.queue, r.dropped
	r.queue, r.dropped = nil, 0
	r.mu.Unlock()
	if dropped > 0 {
		r.log.Warn("gateway usage events dropped: the queue to the server was full", "dropped", dropped)
	}
	if len(evs) == 0 {
		return
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, ev := range evs {
		ev.Attributes = maps(ev.Attributes, "kind", ev.Kind)
		enc.Encode(map[string]any{"time": ev.Time.UTC().Format(time.RFC3339Nano), "identity_id": ev.IdentityID, "credential_id": ev.CredentialID,
			"subject": ev.Subject, "action": ev.Action, "resource": ev.Resource, "source": ev.Source, "user_agent": ev.UserAgent,
			"outcome": ev.Outcome, "reason": ev.Reason, "attributes": ev.Attributes})
	}
	if err := r.call(ctx, "/api/v1/usage", "application/x-ndjson", &buf, nil); err != nil {
		r.log.Warn("gateway usage events not sent", "events", len(evs), "err", err)
	}
}

func maps(m map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(m)+1)
	for a, b := range m {
		out[a] = b
	}
	out[k] = v
	return out
}
