package broker

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/steward-nhi/steward"
)

// Token endpoint authentication methods (RFC 8414 names).
const (
	AuthSecretBasic   = "client_secret_basic"
	AuthSecretPost    = "client_secret_post"
	AuthPrivateKeyJWT = "private_key_jwt"
	// AssertionTypeJWT is RFC 7523's client_assertion_type.
	AssertionTypeJWT = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
)

// Usage outcomes of authentication attempts.
const (
	OutcomeOK           = "ok"
	OutcomeUnknown      = "unknown"
	OutcomeExpired      = "expired"
	OutcomeRevoked      = "revoked"
	OutcomeBadSignature = "bad_signature"
	OutcomeCIDRDenied   = "cidr_denied"
)

// OAuthError is an RFC 6749 §5.2 error.
type OAuthError struct {
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
	// Status is the HTTP status to answer with.
	Status int `json:"-"`
}

func (e *OAuthError) Error() string { return e.Code + ": " + e.Description }

func oauthErr(status int, code, format string) *OAuthError {
	return &OAuthError{Code: code, Description: format, Status: status}
}

// ClientAuth is how a client authenticated at an OAuth2 endpoint.
type ClientAuth struct {
	Method        string
	ClientID      string
	ClientSecret  string
	AssertionType string
	Assertion     string
}

// TokenRequest is a client-credentials token request (RFC 6749 §4.4).
type TokenRequest struct {
	GrantType string
	Scope     string
	// Audience (the "audience" or "resource" parameter) is the token's
	// "aud"; default: the broker's audience.
	Audience string
	Client   ClientAuth
}

// TokenResponse is RFC 6749 §5.1's success body.
type TokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	Scope       string `json:"scope,omitempty"`
	// IssuedTokenType is set by token exchange (RFC 8693 §2.2.1).
	IssuedTokenType string `json:"issued_token_type,omitempty"`
}

// Client is an authenticated OAuth2 client.
type Client struct {
	Credential *steward.BrokerCredential
	Identity   *steward.Identity
}

// Principal is the client as a caller.
func (c *Client) Principal() *steward.Principal {
	return &steward.Principal{Actor: "nhi:" + c.Identity.ID, IdentityID: c.Identity.ID, CredentialID: c.Credential.ID, Scopes: c.Credential.Scopes}
}

// AccessClaims are the claims of an access token (RFC 9068).
type AccessClaims struct {
	Issuer       string   `json:"iss"`
	Subject      string   `json:"sub"`
	Audience     audience `json:"aud"`
	ClientID     string   `json:"client_id"`
	Scope        string   `json:"scope,omitempty"`
	JTI          string   `json:"jti"`
	IssuedAt     int64    `json:"iat"`
	Expiry       int64    `json:"exp"`
	CredentialID string   `json:"credential_id"`
	// Act, Federated and Links are set on exchanged tokens (RFC 8693):
	// the actor chain, the federated token's provenance, and what the
	// token depends on beyond its own credential.
	Act       *Actor      `json:"act,omitempty"`
	Federated *Provenance `json:"fed,omitempty"`
	Links     []Link      `json:"lnk,omitempty"`
}

// audience is "aud": one string or an array.
type audience []string

func (a audience) MarshalJSON() ([]byte, error) {
	if len(a) == 1 {
		return json.Marshal(a[0])
	}
	return json.Marshal([]string(a))
}

func (a *audience) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*a = audience{s}
		return nil
	}
	var l []string
	if err := json.Unmarshal(b, &l); err != nil {
		return err
	}
	*a = l
	return nil
}

func newJTI() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("broker: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// loadClient returns a client's credentials and identity, cached briefly.
func (b *Broker) loadClient(ctx context.Context, clientID string) (*cachedClient, error) {
	if e := b.creds.getClient(clientID, time.Now()); e != nil {
		return e, nil
	}
	gen := b.creds.generation()
	creds, err := b.store.FindCredentialsByClientID(ctx, clientID)
	if err != nil {
		return nil, err
	}
	if len(creds) == 0 {
		return nil, steward.Errorf(steward.ENOTFOUND, "client not found")
	}
	i, err := b.store.GetIdentity(ctx, creds[0].IdentityID)
	if err != nil {
		return nil, err
	}
	e := &cachedClient{creds: creds, identity: i, expires: time.Now().Add(b.cacheTTL)}
	b.creds.putClient(clientID, e, gen)
	return e, nil
}

// checkUse applies the checks common to every credential use: state,
// identity, source network.
func (b *Broker) checkUse(c *steward.BrokerCredential, i *steward.Identity, src steward.RequestSource, now time.Time) (string, string) {
	switch {
	case c.Status == steward.CredentialRevoked || c.RevokedAt != nil:
		return OutcomeRevoked, "credential revoked"
	case c.OverlapUntil != nil && !now.Before(*c.OverlapUntil):
		return OutcomeRevoked, "credential replaced by rotation; its overlap ended"
	case c.Status == steward.CredentialExpired || (c.ExpiresAt != nil && !now.Before(*c.ExpiresAt)):
		return OutcomeExpired, "credential expired"
	case c.Status != steward.CredentialActive:
		return OutcomeRevoked, "credential " + string(c.Status)
	case i.Status != steward.StatusActive:
		return OutcomeRevoked, "identity " + string(i.Status)
	}
	if len(c.AllowedCIDRs) > 0 && !cidrAllows(c.AllowedCIDRs, src.Addr) {
		return OutcomeCIDRDenied, "source address not in the credential's allowed networks"
	}
	return OutcomeOK, ""
}

func cidrAllows(cidrs []string, addr string) bool {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, c := range cidrs {
		if p, err := netip.ParsePrefix(c); err == nil {
			if p.Contains(a) {
				return true
			}
		} else if x, err := netip.ParseAddr(c); err == nil && x.Unmap() == a {
			return true
		}
	}
	return false
}

// AuthenticateClient checks a client's credentials at an OAuth2 endpoint.
// Every attempt is recorded as a usage event; failures count against the
// source's rate limit.
func (b *Broker) AuthenticateClient(ctx context.Context, a ClientAuth, src steward.RequestSource, action string) (*Client, error) {
	if b.failures.Blocked(src.Addr, time.Now()) {
		return nil, oauthErr(http.StatusTooManyRequests, "slow_down", "too many failed authentications from this address")
	}
	start := time.Now()
	cl, outcome, reason := b.authenticateClient(ctx, a)
	now := b.now()
	if cl != nil && outcome == OutcomeOK {
		outcome, reason = b.checkUse(cl.Credential, cl.Identity, src, now)
	}
	ev := steward.UsageEvent{Time: now, Kind: steward.UsageAuth, Action: action, Source: src.Addr, UserAgent: src.UserAgent,
		Outcome: outcome, Reason: reason, LatencyMicro: time.Since(start).Microseconds(), Subject: a.ClientID}
	if cl != nil {
		ev.IdentityID, ev.CredentialID, ev.Environment = cl.Identity.ID, cl.Credential.ID, cl.Identity.Environment
	}
	b.usage.Record(ctx, ev)
	if outcome == OutcomeOK {
		b.touches.add(cl.Credential.ID, cl.Identity.ID, now)
		return cl, nil
	}
	if outcome == "" {
		return nil, oauthErr(http.StatusInternalServerError, "server_error", "the client could not be checked")
	}
	if !b.failures.Fail(src.Addr, time.Now()) {
		return nil, oauthErr(http.StatusTooManyRequests, "slow_down", "too many failed authentications from this address")
	}
	return nil, oauthErr(http.StatusUnauthorized, "invalid_client", "client authentication failed")
}

// authenticateClient finds the client credential that a's secret or
// assertion proves; outcome "" is an internal error.
func (b *Broker) authenticateClient(ctx context.Context, a ClientAuth) (*Client, string, string) {
	switch a.Method {
	case AuthSecretBasic, AuthSecretPost:
		if a.ClientID == "" || len(a.ClientID) > 128 || !WellFormed(a.ClientSecret) {
			return nil, OutcomeUnknown, "malformed client credentials"
		}
		e, err := b.loadClient(ctx, a.ClientID)
		if steward.ErrorCode(err) == steward.ENOTFOUND {
			return nil, OutcomeUnknown, "unknown client"
		}
		if err != nil {
			b.log.ErrorContext(ctx, "broker: load client", "err", err)
			return nil, "", ""
		}
		d := b.digester.digest(a.ClientSecret)
		var match *steward.BrokerCredential
		for _, c := range e.creds {
			// Compare with every candidate so timing does not tell which.
			if c.Type == steward.CredentialTypeClientSecret && hmac.Equal([]byte(c.Digest), []byte(d)) && match == nil {
				match = c
			}
		}
		if match == nil {
			return nil, OutcomeUnknown, "wrong client secret"
		}
		return &Client{Credential: match, Identity: e.identity}, OutcomeOK, ""
	case AuthPrivateKeyJWT:
		return b.authenticateAssertion(ctx, a)
	}
	return nil, OutcomeUnknown, "no client authentication"
}

var assertionAlgs = []jose.SignatureAlgorithm{jose.EdDSA, jose.ES256, jose.ES384, jose.PS256, jose.RS256}

// assertionClaims are the claims of an RFC 7523 client assertion.
type assertionClaims struct {
	Issuer   string   `json:"iss"`
	Subject  string   `json:"sub"`
	Audience audience `json:"aud"`
	Expiry   int64    `json:"exp"`
	JTI      string   `json:"jti"`
}

func (b *Broker) authenticateAssertion(ctx context.Context, a ClientAuth) (*Client, string, string) {
	if a.AssertionType != AssertionTypeJWT || len(a.Assertion) > maxTokenSize {
		return nil, OutcomeUnknown, "client_assertion_type must be " + AssertionTypeJWT
	}
	jws, err := jose.ParseSignedCompact(a.Assertion, assertionAlgs)
	if err != nil || len(jws.Signatures) != 1 {
		return nil, OutcomeBadSignature, "malformed client assertion"
	}
	var unverified assertionClaims
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &unverified); err != nil || unverified.Issuer == "" {
		return nil, OutcomeUnknown, "client assertion has no issuer"
	}
	clientID := unverified.Issuer
	if a.ClientID != "" && a.ClientID != clientID {
		return nil, OutcomeUnknown, "client_id differs from the assertion's issuer"
	}
	e, err := b.loadClient(ctx, clientID)
	if steward.ErrorCode(err) == steward.ENOTFOUND {
		return nil, OutcomeUnknown, "unknown client"
	}
	if err != nil {
		b.log.ErrorContext(ctx, "broker: load client", "err", err)
		return nil, "", ""
	}
	var match *steward.BrokerCredential
	var payload []byte
	for _, c := range e.creds {
		if c.Type != steward.CredentialTypePrivateKeyJWT || c.PublicJWK == "" {
			continue
		}
		var jwk jose.JSONWebKey
		if jwk.UnmarshalJSON([]byte(c.PublicJWK)) != nil {
			continue
		}
		if p, err := jws.Verify(jwk.Key); err == nil {
			match, payload = c, p
			break
		}
	}
	if match == nil {
		return nil, OutcomeBadSignature, "client assertion signature does not verify with the registered key"
	}
	var cl assertionClaims
	if err := json.Unmarshal(payload, &cl); err != nil {
		return nil, OutcomeUnknown, "client assertion claims are not JSON"
	}
	now := b.now()
	exp := time.Unix(cl.Expiry, 0)
	switch {
	case cl.Subject != clientID:
		return nil, OutcomeUnknown, "client assertion sub must be the client id"
	case !slices.Contains(cl.Audience, b.issuer) && !slices.Contains(cl.Audience, b.issuer+"/oauth2/token"):
		return nil, OutcomeUnknown, "client assertion aud must be the issuer or the token endpoint"
	case cl.Expiry == 0 || !now.Before(exp):
		return nil, OutcomeExpired, "client assertion expired"
	case exp.After(now.Add(time.Hour)):
		return nil, OutcomeUnknown, "client assertion lives longer than an hour"
	case cl.JTI == "" || len(cl.JTI) > 256:
		return nil, OutcomeUnknown, "client assertion has no jti"
	}
	err = b.update(ctx, func(tx steward.BrokerTx) error { return tx.UseAssertionJTI(ctx, clientID, cl.JTI, exp) })
	if steward.ErrorCode(err) == steward.ECONFLICT {
		return nil, OutcomeRevoked, "client assertion replayed (jti already used)"
	}
	if err != nil {
		b.log.ErrorContext(ctx, "broker: record assertion", "err", err)
		return nil, "", ""
	}
	return &Client{Credential: match, Identity: e.identity}, OutcomeOK, ""
}

// Token answers a client-credentials grant with a signed JWT access token
// (RFC 9068). Errors are *OAuthError.
func (b *Broker) Token(ctx context.Context, req TokenRequest, src steward.RequestSource) (*TokenResponse, error) {
	if req.GrantType == "" {
		return nil, oauthErr(http.StatusBadRequest, "invalid_request", "grant_type is required")
	}
	if req.GrantType != "client_credentials" {
		return nil, oauthErr(http.StatusBadRequest, "unsupported_grant_type", "only client_credentials is supported")
	}
	cl, err := b.AuthenticateClient(ctx, req.Client, src, "oauth2.token")
	if err != nil {
		return nil, err
	}
	granted := cl.Credential.Scopes
	if req.Scope != "" {
		requested := strings.Fields(req.Scope)
		granted = nil
		for _, s := range requested {
			if slices.Contains(cl.Credential.Scopes, s) && !slices.Contains(granted, s) {
				granted = append(granted, s)
			}
		}
		if len(granted) == 0 {
			return nil, oauthErr(http.StatusBadRequest, "invalid_scope", "the client holds none of the requested scopes")
		}
	}
	aud := b.audience
	if req.Audience != "" {
		if len(req.Audience) > 512 || strings.ContainsAny(req.Audience, " \t\r\n") {
			return nil, oauthErr(http.StatusBadRequest, "invalid_target", "audience must be one URI")
		}
		aud = req.Audience
	}
	now := b.now()
	ttl := b.tokenTTL
	if tier := time.Duration(b.policy[cl.Identity.Sensitivity].MaxLifetime); tier > 0 && tier < ttl {
		ttl = tier
	}
	if c := cl.Credential; c.ExpiresAt != nil && c.ExpiresAt.Sub(now) < ttl {
		ttl = c.ExpiresAt.Sub(now)
	}
	if c := cl.Credential; c.OverlapUntil != nil && c.OverlapUntil.Sub(now) < ttl {
		ttl = c.OverlapUntil.Sub(now)
	}
	ttl = ttl.Truncate(time.Second)
	if ttl < time.Second {
		return nil, oauthErr(http.StatusBadRequest, "invalid_client", "the client credential is about to expire")
	}
	claims := AccessClaims{Issuer: b.issuer, Subject: cl.Identity.ID, Audience: audience{aud}, ClientID: cl.Credential.ClientID,
		Scope: strings.Join(granted, " "), JTI: newJTI(), IssuedAt: now.Unix(), Expiry: now.Add(ttl).Unix(), CredentialID: cl.Credential.ID}
	tok, err := b.sign(&claims)
	if err != nil {
		b.log.ErrorContext(ctx, "broker: sign access token", "err", err)
		return nil, oauthErr(http.StatusInternalServerError, "server_error", "the token could not be signed")
	}
	return &TokenResponse{AccessToken: tok, TokenType: "Bearer", ExpiresIn: int64(ttl / time.Second), Scope: claims.Scope}, nil
}

// sign signs claims with the active key.
func (b *Broker) sign(c *AccessClaims) (string, error) {
	k := b.keys.signer()
	if k == nil || k.signer == nil {
		return "", steward.Errorf(steward.EINTERNAL, "no active signing key")
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	obj, err := k.signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return obj.CompactSerialize()
}
