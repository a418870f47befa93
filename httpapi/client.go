package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
)

// Client implements Steward's services over the HTTP API; the CLI uses it.
type Client struct {
	BaseURL   string
	Token     string
	HTTP      *http.Client
	UserAgent string
}

var (
	_ steward.IdentityService = (*Client)(nil)
	_ steward.OwnerService    = (*Client)(nil)
	_ steward.TokenService    = (*Client)(nil)
	_ steward.ImportService   = (*Client)(nil)
)

// NewClient returns a client for the server at baseURL.
func NewClient(baseURL, token string) *Client {
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), Token: token, HTTP: &http.Client{Timeout: 5 * time.Minute}, UserAgent: "steward-cli"}
}

// Do sends a request and decodes a JSON reply into out (if not nil). A
// problem+json reply becomes a *ProblemError that keeps the domain code.
func (c *Client) Do(ctx context.Context, method, path string, body io.Reader, contentType string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.UserAgent)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the Steward server at %s: %w", c.BaseURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		var p Problem
		if json.Unmarshal(b, &p) != nil || p.Status == 0 {
			p = Problem{Status: resp.StatusCode, Title: http.StatusText(resp.StatusCode), Detail: strings.TrimSpace(string(b))}
		}
		return &clientError{ProblemError{p}}
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decode %s %s reply: %w", method, path, err)
	}
	return nil
}

// clientError is a ProblemError that also satisfies errors.As for
// *steward.Error, so callers can use steward.ErrorCode on it.
type clientError struct{ ProblemError }

func (e *clientError) As(target any) bool {
	if t, ok := target.(**steward.Error); ok {
		code := e.Code
		if code == "" {
			for c, st := range statusOf {
				if st == e.Status {
					code = c
				}
			}
		}
		*t = &steward.Error{Code: code, Field: e.Field, Message: e.Detail}
		return true
	}
	if t, ok := target.(**ProblemError); ok {
		*t = &e.ProblemError
		return true
	}
	return false
}

func (c *Client) doJSON(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	ct := ""
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body, ct = bytes.NewReader(b), "application/json"
	}
	return c.Do(ctx, method, path, body, ct, out)
}

func esc(s string) string { return url.PathEscape(s) }

// call sends in (nil: no body) and decodes the JSON reply into a new T.
func call[T any](ctx context.Context, c *Client, method, path string, in any) (*T, error) {
	var out T
	if err := c.doJSON(ctx, method, path, in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// list GETs an {"items": [...]} reply.
func list[T any](ctx context.Context, c *Client, path string) ([]T, error) {
	out, err := call[itemList[T]](ctx, c, "GET", path, nil)
	if err != nil {
		return nil, err
	}
	return out.Items, nil
}

// params builds a query from name/value pairs, leaving out empty values.
func params(pairs ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			v.Set(pairs[i], pairs[i+1])
		}
	}
	return v
}

// withQuery appends v to path when it holds anything.
func withQuery(path string, v url.Values) string {
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}

// num formats a positive number for a query ("" for zero).
func num[N int | int64](n N) string {
	if n <= 0 {
		return ""
	}
	return strconv.FormatInt(int64(n), 10)
}

// timeParam formats a time for a query ("" for nil).
func timeParam(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// Audit returns the audit capability's client.
func (c *Client) Audit() AuditClient { return AuditClient{c} }

// Broker returns the credential broker's client.
func (c *Client) Broker() BrokerClient { return BrokerClient{c} }

// Authz returns the policy and usage client.
func (c *Client) Authz() AuthzClient { return AuthzClient{c} }

// Posture returns the posture capability's client.
func (c *Client) Posture() PostureClient { return PostureClient{c} }

// Alerts returns the alerts capability's client.
func (c *Client) Alerts() AlertsClient { return AlertsClient{c} }

// Discovery returns the discovery capability's client.
func (c *Client) Discovery() DiscoveryClient { return DiscoveryClient{c} }

// CreateIdentity registers an identity.
func (c *Client) CreateIdentity(ctx context.Context, i *steward.Identity) (*steward.Identity, error) {
	in := IdentityCreate{Name: i.Name, Kind: i.Kind, Provider: i.Provider, ExternalRef: i.ExternalRef, OwnerID: i.OwnerID, Team: i.Team,
		Purpose: i.Purpose, Environment: i.Environment, Scopes: i.Scopes, Sensitivity: i.Sensitivity, VendorManaged: i.VendorManaged,
		Status: i.Status, ExpiresAt: i.ExpiresAt, LastRotatedAt: i.LastRotatedAt, LastUsedAt: i.LastUsedAt, Labels: i.Labels, Exception: i.Exception, UnownedReason: i.UnownedReason}
	return call[steward.Identity](ctx, c, "POST", "/api/v1/identities", in)
}

// GetIdentity returns one identity.
func (c *Client) GetIdentity(ctx context.Context, id string) (*steward.Identity, error) {
	return call[steward.Identity](ctx, c, "GET", "/api/v1/identities/"+esc(id), nil)
}

// IdentityQuery encodes a filter as query parameters.
func IdentityQuery(f steward.IdentityFilter) url.Values {
	return params("owner", f.OwnerID, "team", f.Team, "kind", string(f.Kind), "provider", f.Provider, "environment", f.Environment,
		"status", string(f.Status), "sensitivity", string(f.Sensitivity), "source", string(f.Source), "q", f.Query, "sort", f.Sort,
		"cursor", f.Cursor, "expires_before", timeParam(f.ExpiresBefore), "unused_since", timeParam(f.UnusedSince), "limit", num(f.Limit))
}

// ListIdentities returns a page of identities.
func (c *Client) ListIdentities(ctx context.Context, f steward.IdentityFilter) (*steward.Page[*steward.Identity], error) {
	return call[steward.Page[*steward.Identity]](ctx, c, "GET", withQuery("/api/v1/identities", IdentityQuery(f)), nil)
}

// UpdateIdentity patches an identity.
func (c *Client) UpdateIdentity(ctx context.Context, id string, p steward.IdentityPatch) (*steward.Identity, error) {
	return call[steward.Identity](ctx, c, "PATCH", "/api/v1/identities/"+esc(id), p)
}

// DeleteIdentity deletes a pending identity.
func (c *Client) DeleteIdentity(ctx context.Context, id string) error {
	return c.doJSON(ctx, "DELETE", "/api/v1/identities/"+esc(id), nil, nil)
}

// TransitionIdentity applies a lifecycle operation.
func (c *Client) TransitionIdentity(ctx context.Context, id string, t steward.Transition, r steward.TransitionRequest) (*steward.Identity, error) {
	return call[steward.Identity](ctx, c, "POST", "/api/v1/identities/"+esc(id)+"/"+string(t), r)
}

// eventQuery encodes an event filter; asc is the server's default order.
func eventQuery(f steward.EventFilter, ascDefault bool) url.Values {
	order := ""
	if f.Ascending != ascDefault {
		order = map[bool]string{true: "asc", false: "desc"}[f.Ascending]
	}
	return params("identity_id", f.IdentityID, "subject_id", f.SubjectID, "actor", f.Actor, "action", f.Action, "cursor", f.Cursor,
		"since", timeParam(f.Since), "until", timeParam(f.Until), "limit", num(f.Limit), "order", order)
}

// ListEvents lists events.
func (c *Client) ListEvents(ctx context.Context, f steward.EventFilter) (*steward.Page[*steward.Event], error) {
	return call[steward.Page[*steward.Event]](ctx, c, "GET", withQuery("/api/v1/events", eventQuery(f, false)), nil)
}

// ListCredentials lists an identity's credentials.
func (c *Client) ListCredentials(ctx context.Context, identityID string) ([]*steward.Credential, error) {
	return list[*steward.Credential](ctx, c, "/api/v1/identities/"+esc(identityID)+"/credentials")
}

// CreateOwner registers an owner.
func (c *Client) CreateOwner(ctx context.Context, o *steward.Owner) (*steward.Owner, error) {
	in := OwnerCreate{Name: o.Name, Email: o.Email, Kind: o.Kind, Team: o.Team, ManagerID: o.ManagerID, BackupOwnerID: o.BackupOwnerID, ExternalRef: o.ExternalRef}
	return call[steward.Owner](ctx, c, "POST", "/api/v1/owners", in)
}

// GetOwner returns one owner.
func (c *Client) GetOwner(ctx context.Context, id string) (*steward.Owner, error) {
	return call[steward.Owner](ctx, c, "GET", "/api/v1/owners/"+esc(id), nil)
}

// ListOwners lists owners.
func (c *Client) ListOwners(ctx context.Context, f steward.OwnerFilter) (*steward.Page[*steward.Owner], error) {
	v := params("status", string(f.Status), "team", f.Team, "q", f.Query, "email", f.Email, "cursor", f.Cursor, "limit", num(f.Limit))
	return call[steward.Page[*steward.Owner]](ctx, c, "GET", withQuery("/api/v1/owners", v), nil)
}

// UpdateOwner patches an owner.
func (c *Client) UpdateOwner(ctx context.Context, id string, p steward.OwnerPatch) (*steward.Owner, error) {
	return call[steward.Owner](ctx, c, "PATCH", "/api/v1/owners/"+esc(id), p)
}

// DepartOwner marks an owner departed.
func (c *Client) DepartOwner(ctx context.Context, id, reason string) (*steward.Departure, error) {
	return call[steward.Departure](ctx, c, "POST", "/api/v1/owners/"+esc(id)+"/depart", Reason{Reason: reason})
}

// CreateToken mints an operator token.
func (c *Client) CreateToken(ctx context.Context, t steward.TokenCreate) (*steward.CreatedToken, error) {
	return call[steward.CreatedToken](ctx, c, "POST", "/api/v1/tokens", t)
}

// ListTokens lists operator tokens.
func (c *Client) ListTokens(ctx context.Context) ([]*steward.OperatorToken, error) {
	return list[*steward.OperatorToken](ctx, c, "/api/v1/tokens")
}

// RevokeToken revokes an operator token.
func (c *Client) RevokeToken(ctx context.Context, id string) (*steward.OperatorToken, error) {
	return call[steward.OperatorToken](ctx, c, "DELETE", "/api/v1/tokens/"+esc(id), nil)
}

// Import uploads a provider export.
func (c *Client) Import(ctx context.Context, format string, r io.Reader, opts steward.ImportOptions) (*steward.ImportSummary, error) {
	partial := ""
	if opts.Partial {
		partial = "true"
	}
	v := params("partial", partial, "owner_id", opts.OwnerID, "environment", opts.Environment, "sensitivity", string(opts.Sensitivity))
	var out steward.ImportSummary
	if err := c.Do(ctx, "POST", withQuery("/api/v1/import/"+esc(format), v), r, "application/octet-stream", &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Stats returns inventory counts.
func (c *Client) Stats(ctx context.Context) (*steward.InventoryStats, error) {
	return call[steward.InventoryStats](ctx, c, "GET", "/api/v1/stats", nil)
}

// DoJSON sends in as a JSON body and decodes the reply into out.
func (c *Client) DoJSON(ctx context.Context, method, path string, in, out any) error {
	return c.doJSON(ctx, method, path, in, out)
}

// Download GETs path and returns the raw body (evidence packs); a
// problem+json reply becomes an error as with Do.
func (c *Client) Download(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", c.BaseURL+path, nil)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	req.Header.Set("User-Agent", c.UserAgent)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the Steward server at %s: %w", c.BaseURL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 2<<30))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if resp.StatusCode >= 400 {
		var p Problem
		if json.Unmarshal(b, &p) != nil || p.Status == 0 {
			p = Problem{Status: resp.StatusCode, Title: http.StatusText(resp.StatusCode), Detail: strings.TrimSpace(string(b[:min(len(b), 4096)]))}
		}
		return nil, &clientError{ProblemError{p}}
	}
	return b, nil
}
