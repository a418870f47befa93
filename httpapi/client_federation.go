package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/broker"
	"github.com/steward-nhi/steward/federation"
)

// FederationClient calls the federation routes and the token endpoint's
// exchange grants.
type FederationClient struct{ *Client }

// Federation returns the federation routes' client.
func (c *Client) Federation() FederationClient { return FederationClient{c} }

// CreateIssuer trusts an issuer.
func (c FederationClient) CreateIssuer(ctx context.Context, in *steward.TrustedIssuer) (*steward.TrustedIssuer, error) {
	return call[steward.TrustedIssuer](ctx, c.Client, "POST", "/api/v1/federation/issuers", in)
}

// ListIssuers lists the trusted issuers.
func (c FederationClient) ListIssuers(ctx context.Context) ([]*steward.TrustedIssuer, error) {
	out, err := call[itemList[*steward.TrustedIssuer]](ctx, c.Client, "GET", "/api/v1/federation/issuers", nil)
	if err != nil {
		return nil, err
	}
	return out.Items, nil
}

// GetIssuer returns one trusted issuer.
func (c FederationClient) GetIssuer(ctx context.Context, name string) (*steward.TrustedIssuer, error) {
	return call[steward.TrustedIssuer](ctx, c.Client, "GET", "/api/v1/federation/issuers/"+esc(name), nil)
}

// UpdateIssuer changes a trusted issuer.
func (c FederationClient) UpdateIssuer(ctx context.Context, name string, p federation.IssuerPatch) (*steward.TrustedIssuer, error) {
	return call[steward.TrustedIssuer](ctx, c.Client, "PATCH", "/api/v1/federation/issuers/"+esc(name), p)
}

// DeleteIssuer stops trusting an issuer.
func (c FederationClient) DeleteIssuer(ctx context.Context, name, reason string) error {
	return c.doJSON(ctx, "DELETE", withQuery("/api/v1/federation/issuers/"+esc(name), params("reason", reason)), nil, nil)
}

// Bind adds a binding to an identity.
func (c FederationClient) Bind(ctx context.Context, identityID string, in federation.BindingInput) (*steward.FederationBinding, error) {
	return call[steward.FederationBinding](ctx, c.Client, "POST", "/api/v1/identities/"+esc(identityID)+"/federation/bindings", in)
}

// ListBindings lists an identity's bindings.
func (c FederationClient) ListBindings(ctx context.Context, identityID string) ([]*steward.FederationBinding, error) {
	out, err := call[itemList[*steward.FederationBinding]](ctx, c.Client, "GET", "/api/v1/identities/"+esc(identityID)+"/federation/bindings", nil)
	if err != nil {
		return nil, err
	}
	return out.Items, nil
}

// Unbind removes a binding.
func (c FederationClient) Unbind(ctx context.Context, bindingID, reason string) (*steward.FederationBinding, error) {
	return call[steward.FederationBinding](ctx, c.Client, "POST", "/api/v1/federation/bindings/"+esc(bindingID)+"/remove", reasonBody{Reason: reason})
}

// Exchange trades a token at /oauth2/token (no bearer is sent: the
// subject token is the proof). An RFC 6749 error becomes a
// *broker.OAuthError.
func (c FederationClient) Exchange(ctx context.Context, req federation.ExchangeRequest) (*broker.TokenResponse, error) {
	f := url.Values{"grant_type": {req.GrantType}}
	set := func(k, v string) {
		if v != "" {
			f.Set(k, v)
		}
	}
	set("subject_token", req.SubjectToken)
	set("subject_token_type", req.SubjectTokenType)
	set("actor_token", req.ActorToken)
	set("actor_token_type", req.ActorTokenType)
	set("assertion", req.Assertion)
	set("scope", req.Scope)
	set("requested_token_type", req.RequestedTokenType)
	for _, r := range req.Resources {
		f.Add("resource", r)
	}
	for _, a := range req.Audiences {
		f.Add("audience", a)
	}
	hr, err := http.NewRequestWithContext(ctx, "POST", c.BaseURL+"/oauth2/token", strings.NewReader(f.Encode()))
	if err != nil {
		return nil, err
	}
	hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	hr.Header.Set("User-Agent", c.UserAgent)
	resp, err := c.HTTP.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the Steward server at %s: %w", c.BaseURL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		oe := &broker.OAuthError{Status: resp.StatusCode}
		if json.Unmarshal(b, oe) != nil || oe.Code == "" {
			oe.Code, oe.Description = "server_error", strings.TrimSpace(string(b))
		}
		return nil, oe
	}
	var out broker.TokenResponse
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("decode token response: %w", err)
	}
	return &out, nil
}
