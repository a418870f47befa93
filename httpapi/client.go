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

// CreateIdentity registers an identity.
func (c *Client) CreateIdentity(ctx context.Context, i *steward.Identity) (*steward.Identity, error) {
	in := IdentityCreate{Name: i.Name, Kind: i.Kind, Provider: i.Provider, ExternalRef: i.ExternalRef, OwnerID: i.OwnerID, Team: i.Team,
		Purpose: i.Purpose, Environment: i.Environment, Scopes: i.Scopes, Sensitivity: i.Sensitivity, VendorManaged: i.VendorManaged,
		Status: i.Status, ExpiresAt: i.ExpiresAt, LastRotatedAt: i.LastRotatedAt, LastUsedAt: i.LastUsedAt, Labels: i.Labels, Exception: i.Exception, UnownedReason: i.UnownedReason}
	var out steward.Identity
	return &out, c.doJSON(ctx, "POST", "/api/v1/identities", in, &out)
}

// GetIdentity returns one identity.
func (c *Client) GetIdentity(ctx context.Context, id string) (*steward.Identity, error) {
	var out steward.Identity
	return &out, c.doJSON(ctx, "GET", "/api/v1/identities/"+esc(id), nil, &out)
}

// IdentityQuery encodes a filter as query parameters.
func IdentityQuery(f steward.IdentityFilter) url.Values {
	v := url.Values{}
	set := func(k, val string) {
		if val != "" {
			v.Set(k, val)
		}
	}
	set("owner", f.OwnerID)
	set("team", f.Team)
	set("kind", string(f.Kind))
	set("provider", f.Provider)
	set("environment", f.Environment)
	set("status", string(f.Status))
	set("sensitivity", string(f.Sensitivity))
	set("source", string(f.Source))
	set("q", f.Query)
	set("sort", f.Sort)
	set("cursor", f.Cursor)
	if f.ExpiresBefore != nil {
		set("expires_before", f.ExpiresBefore.UTC().Format(time.RFC3339))
	}
	if f.UnusedSince != nil {
		set("unused_since", f.UnusedSince.UTC().Format(time.RFC3339))
	}
	if f.Limit > 0 {
		set("limit", strconv.Itoa(f.Limit))
	}
	return v
}

// ListIdentities returns a page of identities.
func (c *Client) ListIdentities(ctx context.Context, f steward.IdentityFilter) (*steward.Page[*steward.Identity], error) {
	var out steward.Page[*steward.Identity]
	return &out, c.doJSON(ctx, "GET", "/api/v1/identities?"+IdentityQuery(f).Encode(), nil, &out)
}

// UpdateIdentity patches an identity.
func (c *Client) UpdateIdentity(ctx context.Context, id string, p steward.IdentityPatch) (*steward.Identity, error) {
	var out steward.Identity
	return &out, c.doJSON(ctx, "PATCH", "/api/v1/identities/"+esc(id), p, &out)
}

// DeleteIdentity deletes a pending identity.
func (c *Client) DeleteIdentity(ctx context.Context, id string) error {
	return c.doJSON(ctx, "DELETE", "/api/v1/identities/"+esc(id), nil, nil)
}

// TransitionIdentity applies a lifecycle operation.
func (c *Client) TransitionIdentity(ctx context.Context, id string, t steward.Transition, r steward.TransitionRequest) (*steward.Identity, error) {
	var out steward.Identity
	return &out, c.doJSON(ctx, "POST", "/api/v1/identities/"+esc(id)+"/"+string(t), r, &out)
}

// ListEvents lists events.
func (c *Client) ListEvents(ctx context.Context, f steward.EventFilter) (*steward.Page[*steward.Event], error) {
	v := url.Values{}
	for k, val := range map[string]string{"identity_id": f.IdentityID, "actor": f.Actor, "action": f.Action, "cursor": f.Cursor} {
		if val != "" {
			v.Set(k, val)
		}
	}
	if f.Since != nil {
		v.Set("since", f.Since.UTC().Format(time.RFC3339))
	}
	if f.Until != nil {
		v.Set("until", f.Until.UTC().Format(time.RFC3339))
	}
	if f.Limit > 0 {
		v.Set("limit", strconv.Itoa(f.Limit))
	}
	if f.Ascending {
		v.Set("order", "asc")
	}
	var out steward.Page[*steward.Event]
	return &out, c.doJSON(ctx, "GET", "/api/v1/events?"+v.Encode(), nil, &out)
}

// ListCredentials lists an identity's credentials.
func (c *Client) ListCredentials(ctx context.Context, identityID string) ([]*steward.Credential, error) {
	var out struct {
		Items []*steward.Credential `json:"items"`
	}
	return out.Items, c.doJSON(ctx, "GET", "/api/v1/identities/"+esc(identityID)+"/credentials", nil, &out)
}

// CreateOwner registers an owner.
func (c *Client) CreateOwner(ctx context.Context, o *steward.Owner) (*steward.Owner, error) {
	in := OwnerCreate{Name: o.Name, Email: o.Email, Kind: o.Kind, Team: o.Team, ManagerID: o.ManagerID, BackupOwnerID: o.BackupOwnerID, ExternalRef: o.ExternalRef}
	var out steward.Owner
	return &out, c.doJSON(ctx, "POST", "/api/v1/owners", in, &out)
}

// GetOwner returns one owner.
func (c *Client) GetOwner(ctx context.Context, id string) (*steward.Owner, error) {
	var out steward.Owner
	return &out, c.doJSON(ctx, "GET", "/api/v1/owners/"+esc(id), nil, &out)
}

// ListOwners lists owners.
func (c *Client) ListOwners(ctx context.Context, f steward.OwnerFilter) (*steward.Page[*steward.Owner], error) {
	v := url.Values{}
	for k, val := range map[string]string{"status": string(f.Status), "team": f.Team, "q": f.Query, "email": f.Email, "cursor": f.Cursor} {
		if val != "" {
			v.Set(k, val)
		}
	}
	if f.Limit > 0 {
		v.Set("limit", strconv.Itoa(f.Limit))
	}
	var out steward.Page[*steward.Owner]
	return &out, c.doJSON(ctx, "GET", "/api/v1/owners?"+v.Encode(), nil, &out)
}

// UpdateOwner patches an owner.
func (c *Client) UpdateOwner(ctx context.Context, id string, p steward.OwnerPatch) (*steward.Owner, error) {
	var out steward.Owner
	return &out, c.doJSON(ctx, "PATCH", "/api/v1/owners/"+esc(id), p, &out)
}

// DepartOwner marks an owner departed.
func (c *Client) DepartOwner(ctx context.Context, id, reason string) (*steward.Departure, error) {
	var out steward.Departure
	return &out, c.doJSON(ctx, "POST", "/api/v1/owners/"+esc(id)+"/depart", Reason{Reason: reason}, &out)
}

// CreateToken mints an operator token.
func (c *Client) CreateToken(ctx context.Context, t steward.TokenCreate) (*steward.CreatedToken, error) {
	var out steward.CreatedToken
	return &out, c.doJSON(ctx, "POST", "/api/v1/tokens", t, &out)
}

// ListTokens lists operator tokens.
func (c *Client) ListTokens(ctx context.Context) ([]*steward.OperatorToken, error) {
	var out struct {
		Items []*steward.OperatorToken `json:"items"`
	}
	return out.Items, c.doJSON(ctx, "GET", "/api/v1/tokens", nil, &out)
}

// RevokeToken revokes an operator token.
func (c *Client) RevokeToken(ctx context.Context, id string) (*steward.OperatorToken, error) {
	var out steward.OperatorToken
	return &out, c.doJSON(ctx, "DELETE", "/api/v1/tokens/"+esc(id), nil, &out)
}

// Import uploads a provider export.
func (c *Client) Import(ctx context.Context, format string, r io.Reader, opts steward.ImportOptions) (*steward.ImportSummary, error) {
	v := url.Values{}
	if opts.Partial {
		v.Set("partial", "true")
	}
	for k, val := range map[string]string{"owner_id": opts.OwnerID, "environment": opts.Environment, "sensitivity": string(opts.Sensitivity)} {
		if val != "" {
			v.Set(k, val)
		}
	}
	var out steward.ImportSummary
	err := c.Do(ctx, "POST", "/api/v1/import/"+esc(format)+"?"+v.Encode(), r, "application/octet-stream", &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// Stats returns inventory counts.
func (c *Client) Stats(ctx context.Context) (*steward.InventoryStats, error) {
	var out steward.InventoryStats
	return &out, c.doJSON(ctx, "GET", "/api/v1/stats", nil, &out)
}
