package broker

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/steward-nhi/steward"
)

// ErrNotSteward means a bearer token is neither a Steward API key nor a
// Steward access token; another authenticator may know it.
var ErrNotSteward = errors.New("not a Steward credential")

// IsStewardToken reports whether a bearer token is the broker's to check:
// an API key ("stw_…", well formed or not) or a JWT.
func IsStewardToken(tok string) bool {
	return strings.HasPrefix(tok, KeyPrefix) || looksLikeJWT(tok)
}

func looksLikeJWT(tok string) bool {
	return strings.HasPrefix(tok, "eyJ") && strings.Count(tok, ".") == 2
}

// tokenCache keeps the claims of access tokens whose signature verified,
// keyed by the token's SHA-256, until they expire. Revocation is checked
// on every use, after the cache.
type tokenCache struct {
	mu sync.RWMutex
	m  map[[32]byte]*AccessClaims
}

func newTokenCache() *tokenCache { return &tokenCache{m: map[[32]byte]*AccessClaims{}} }

func (t *tokenCache) get(k [32]byte) *AccessClaims {
	t.mu.RLock()
	c := t.m[k]
	t.mu.RUnlock()
	return c
}

func (t *tokenCache) put(k [32]byte, c *AccessClaims) {
	t.mu.Lock()
	if len(t.m) > maxCacheEntries {
		clear(t.m)
	}
	t.m[k] = c
	t.mu.Unlock()
}

func (t *tokenCache) purge(now time.Time) {
	t.mu.Lock()
	for k, c := range t.m {
		if c.Expiry <= now.Unix() {
			delete(t.m, k)
		}
	}
	t.mu.Unlock()
}

func (t *tokenCache) clear() {
	t.mu.Lock()
	clear(t.m)
	t.mu.Unlock()
}

var accessAlgs = []jose.SignatureAlgorithm{jose.EdDSA, jose.ES256}

// parseJWT checks an access token's signature, type and issuer (not its
// expiry or revocation) and returns its claims.
func (b *Broker) parseJWT(ctx context.Context, raw string) (*AccessClaims, string, string) {
	if len(raw) > maxTokenSize || !looksLikeJWT(raw) {
		return nil, OutcomeUnknown, "not an access token"
	}
	key := sha256.Sum256([]byte(raw))
	if c := b.tokens.get(key); c != nil {
		return c, OutcomeOK, ""
	}
	jws, err := jose.ParseSignedCompact(raw, accessAlgs)
	if err != nil || len(jws.Signatures) != 1 {
		return nil, OutcomeBadSignature, "malformed or unsupported token"
	}
	h := jws.Signatures[0].Header
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); !strings.EqualFold(typ, "at+jwt") && !strings.EqualFold(typ, "application/at+jwt") {
		return nil, OutcomeBadSignature, "token type is not at+jwt"
	}
	k := b.keys.lookup(h.KeyID)
	if k == nil {
		k = b.keys.reloadForUnknown(ctx, h.KeyID)
	}
	if k == nil || k.meta.Algorithm != h.Algorithm {
		return nil, OutcomeBadSignature, "unknown signing key"
	}
	payload, err := jws.Verify(k.public)
	if err != nil {
		return nil, OutcomeBadSignature, "signature does not verify"
	}
	var c AccessClaims
	if err := json.Unmarshal(payload, &c); err != nil || c.Issuer != b.issuer || c.JTI == "" || c.Subject == "" {
		return nil, OutcomeBadSignature, "not a token of this issuer"
	}
	b.tokens.put(key, &c)
	return &c, OutcomeOK, ""
}

// credByID returns a credential and its identity, cached briefly.
func (b *Broker) credByID(ctx context.Context, id string) (*cachedCred, error) {
	return b.cachedCred(ctx, b.creds.getID(id, time.Now()), func() (*steward.BrokerCredential, error) {
		return b.store.GetBrokerCredential(ctx, id)
	})
}

// credByDigest returns the credential with this digest, cached briefly.
func (b *Broker) credByDigest(ctx context.Context, d string) (*cachedCred, error) {
	return b.cachedCred(ctx, b.creds.getDigest(d, time.Now()), func() (*steward.BrokerCredential, error) {
		return b.store.FindCredentialByDigest(ctx, d)
	})
}

// cachedCred returns hit, or on a miss the credential read returns with its
// identity, cached under the generation taken before the read (so a
// revocation racing the read does not put the old state back).
func (b *Broker) cachedCred(ctx context.Context, hit *cachedCred, read func() (*steward.BrokerCredential, error)) (*cachedCred, error) {
	if hit != nil {
		return hit, nil
	}
	gen := b.creds.generation()
	c, err := read()
	if err != nil {
		return nil, err
	}
	i, err := b.store.GetIdentity(ctx, c.IdentityID)
	if err != nil {
		return nil, err
	}
	e := &cachedCred{cred: c, identity: i, expires: time.Now().Add(b.cacheTTL)}
	b.creds.put(e, gen)
	return e, nil
}

// verified is a credential use that passed or failed.
type verified struct {
	entry   *cachedCred
	claims  *AccessClaims
	outcome string
	reason  string
	// operator is the person's token a delegated token derives from.
	operator *steward.OperatorToken
}

// verifyAPIKey checks an API key. A malformed key or a wrong checksum is
// refused before any lookup.
func (b *Broker) verifyAPIKey(ctx context.Context, key string, src steward.RequestSource, checkSource bool) (verified, error) {
	if !WellFormed(key) {
		return verified{outcome: OutcomeUnknown, reason: "malformed key or wrong checksum"}, nil
	}
	d := b.digester.digest(key)
	e, err := b.credByDigest(ctx, d)
	if steward.ErrorCode(err) == steward.ENOTFOUND {
		return verified{outcome: OutcomeUnknown, reason: "unknown key"}, nil
	}
	if err != nil {
		return verified{}, err
	}
	if !hmac.Equal([]byte(e.cred.Digest), []byte(d)) || e.cred.Type != steward.CredentialTypeAPIKey {
		return verified{outcome: OutcomeUnknown, reason: "not an API key"}, nil
	}
	v := verified{entry: e}
	if !checkSource {
		src.Addr = ""
		if len(e.cred.AllowedCIDRs) > 0 {
			c := *e.cred
			c.AllowedCIDRs = nil
			v.outcome, v.reason = b.checkUse(&c, e.identity, src, b.now())
			return v, nil
		}
	}
	v.outcome, v.reason = b.checkUse(e.cred, e.identity, src, b.now())
	return v, nil
}

// verifyAccessToken checks a JWT access token: signature, expiry, deny
// list, and that its credential and identity are still in good standing.
func (b *Broker) verifyAccessToken(ctx context.Context, raw string, src steward.RequestSource, checkSource bool) (verified, error) {
	c, outcome, reason := b.parseJWT(ctx, raw)
	if outcome != OutcomeOK {
		return verified{outcome: outcome, reason: reason}, nil
	}
	v := verified{claims: c}
	now := b.now()
	if c.Expiry <= now.Unix() {
		v.outcome, v.reason = OutcomeExpired, "access token expired"
		return v, nil
	}
	if c.IssuedAt > now.Add(time.Minute).Unix() {
		v.outcome, v.reason = OutcomeUnknown, "access token issued in the future"
		return v, nil
	}
	if b.denied.has(c.JTI) {
		v.outcome, v.reason = OutcomeRevoked, "access token revoked"
		return v, nil
	}
	e, err := b.credByID(ctx, c.CredentialID)
	if steward.ErrorCode(err) == steward.ENOTFOUND {
		v.outcome, v.reason = OutcomeRevoked, "the token's credential no longer exists"
		return v, nil
	}
	if err != nil {
		return verified{}, err
	}
	v.entry = e
	cred := e.cred
	if !checkSource && len(cred.AllowedCIDRs) > 0 {
		cc := *cred
		cc.AllowedCIDRs = nil
		cred = &cc
	}
	// The token may outlive its credential's rotation overlap by design
	// (its exp is capped there), so only revocation and identity state
	// matter beyond the token's own expiry.
	switch {
	case cred.Status == steward.CredentialRevoked || cred.RevokedAt != nil:
		v.outcome, v.reason = OutcomeRevoked, "the token's credential was revoked"
	case e.identity.Status != steward.StatusActive:
		v.outcome, v.reason = OutcomeRevoked, "identity "+string(e.identity.Status)
	case len(cred.AllowedCIDRs) > 0 && !cidrAllows(cred.AllowedCIDRs, src.Addr):
		v.outcome, v.reason = OutcomeCIDRDenied, "source address not in the credential's allowed networks"
	default:
		v.outcome = OutcomeOK
	}
	if v.outcome == OutcomeOK && (len(c.Links) > 0 || strings.HasPrefix(c.Subject, OperatorSubject)) {
		if v.outcome, v.reason, v.operator, err = b.checkLinks(ctx, c); err != nil {
			return verified{}, err
		}
	}
	return v, nil
}

// Authenticate resolves a bearer token — an API key or an access token —
// to the identity calling. It returns ErrNotSteward for tokens that are
// neither. Every attempt is recorded as a usage event; failures count
// against the source's limit (then ERATELIMIT). The source comes from
// steward.RequestSourceFrom(ctx).
func (b *Broker) Authenticate(ctx context.Context, tok string) (*steward.Principal, error) {
	return b.authenticate(ctx, tok, "")
}

// AuthenticateFor is Authenticate for a resource server that accepts only
// access tokens issued for resource (RFC 8707 resource indicators, as
// MCP's authorization rules require): an access token whose audience does
// not name resource, and an API key (which names no audience), are
// refused.
func (b *Broker) AuthenticateFor(ctx context.Context, tok, resource string) (*steward.Principal, error) {
	if resource == "" {
		return nil, steward.Errorf(steward.EINTERNAL, "AuthenticateFor needs a resource")
	}
	return b.authenticate(ctx, tok, resource)
}

// authenticate verifies tok; resource "" accepts API keys and access
// tokens for Steward's audience, else only access tokens for resource.
func (b *Broker) authenticate(ctx context.Context, tok, resource string) (*steward.Principal, error) {
	if !IsStewardToken(tok) {
		return nil, ErrNotSteward
	}
	src := steward.RequestSourceFrom(ctx)
	if b.failures.Blocked(src.Addr, time.Now()) {
		return nil, steward.Errorf(steward.ERATELIMIT, "too many failed authentications from this address")
	}
	start := time.Now()
	var v verified
	var err error
	if strings.HasPrefix(tok, KeyPrefix) {
		v, err = b.verifyAPIKey(ctx, tok, src, true)
		if err == nil && v.outcome == OutcomeOK && resource != "" {
			v.outcome, v.reason = OutcomeUnknown, "an API key names no audience; this resource accepts only access tokens issued for it"
		}
	} else {
		v, err = b.verifyAccessToken(ctx, tok, src, true)
		if err == nil && v.outcome == OutcomeOK {
			ours := slices.Contains(v.claims.Audience, b.audience) || slices.Contains(v.claims.Audience, b.issuer)
			if resource != "" {
				ours = slices.Contains(v.claims.Audience, resource)
			}
			if !ours {
				v.outcome, v.reason = OutcomeUnknown, "access token is for another audience"
			}
		}
	}
	if err != nil {
		return nil, err
	}
	now := b.now()
	ev := steward.UsageEvent{Time: now, Kind: steward.UsageAuth, Action: "authenticate", Source: src.Addr, UserAgent: src.UserAgent,
		Outcome: v.outcome, Reason: v.reason, LatencyMicro: time.Since(start).Microseconds()}
	if v.entry != nil {
		ev.IdentityID, ev.CredentialID, ev.Environment = v.entry.identity.ID, v.entry.cred.ID, v.entry.identity.Environment
	}
	if v.claims != nil {
		ev.Attributes = ProvenanceAttributes(v.claims.Federated, v.claims.Act)
	}
	b.usage.Record(ctx, ev)
	if v.outcome != OutcomeOK {
		if !b.failures.Fail(src.Addr, time.Now()) {
			return nil, steward.Errorf(steward.ERATELIMIT, "too many failed authentications from this address")
		}
		return nil, steward.Errorf(steward.EUNAUTHORIZED, "invalid, expired or revoked credential")
	}
	b.touches.add(v.entry.cred.ID, v.entry.identity.ID, now)
	p := &steward.Principal{Actor: "nhi:" + v.entry.identity.ID, IdentityID: v.entry.identity.ID, CredentialID: v.entry.cred.ID}
	if v.claims != nil {
		p.Scopes = strings.Fields(v.claims.Scope)
		delegate(p, v.claims, v.operator)
	} else {
		p.Scopes = slices.Clone(v.entry.cred.Scopes)
	}
	return p, nil
}

// delegate makes p the principal of a delegated token: the current actor
// (the agent) is the actor, acting on behalf of the token's subject. A
// token a person delegated carries that person's role, owner and token:
// the agent never exceeds it.
func delegate(p *steward.Principal, c *AccessClaims, op *steward.OperatorToken) {
	if c.Act == nil {
		return
	}
	p.Actor = "nhi:" + c.Act.Subject
	p.Delegation = &steward.Delegation{Subject: "nhi:" + c.Subject, Actors: c.Act.Actors()}
	if op != nil {
		p.Delegation.Subject = OperatorSubject + op.ID
		p.Role, p.OwnerID, p.TokenID = op.Role, op.OwnerID, op.ID
	}
}

// Caller is who calls introspection or revocation: a principal (operator
// or NHI bearer) or an OAuth2 client.
type Caller struct {
	Principal *steward.Principal
	Client    *Client
}

// Introspection is RFC 7662's response.
type Introspection struct {
	Active       bool     `json:"active"`
	Scope        string   `json:"scope,omitempty"`
	ClientID     string   `json:"client_id,omitempty"`
	TokenType    string   `json:"token_type,omitempty"`
	Exp          int64    `json:"exp,omitempty"`
	Iat          int64    `json:"iat,omitempty"`
	Sub          string   `json:"sub,omitempty"`
	Aud          audience `json:"aud,omitempty"`
	Iss          string   `json:"iss,omitempty"`
	JTI          string   `json:"jti,omitempty"`
	CredentialID string   `json:"credential_id,omitempty"`
	// Act is the actor chain of a delegated token; Federated the
	// provenance of an exchanged one.
	Act       *Actor      `json:"act,omitempty"`
	Federated *Provenance `json:"fed,omitempty"`
}

// mayIntrospect: operators with read access, NHI callers holding
// oauth2:introspect, and any authenticated client.
func mayIntrospect(c Caller) error {
	switch {
	case c.Client != nil:
		return nil
	case c.Principal == nil:
		return steward.Errorf(steward.EUNAUTHORIZED, "authentication required")
	case c.Principal.IsNHI():
		if c.Principal.HasScope(ScopeIntrospect) {
			return nil
		}
		return steward.Errorf(steward.EFORBIDDEN, "introspection needs the %s scope", ScopeIntrospect)
	case c.Principal.Can(steward.PermRead):
		return nil
	}
	return steward.Errorf(steward.EFORBIDDEN, "role %s may not introspect tokens", c.Principal.Role)
}

// Introspect reports whether a token — an access token or an API key — is
// active (RFC 7662). Unknown, expired and revoked tokens are active:false.
func (b *Broker) Introspect(ctx context.Context, caller Caller, tok string) (*Introspection, error) {
	if err := mayIntrospect(caller); err != nil {
		return nil, err
	}
	inactive := &Introspection{Active: false}
	switch {
	case strings.HasPrefix(tok, KeyPrefix):
		v, err := b.verifyAPIKey(ctx, tok, steward.RequestSource{}, false)
		if err != nil {
			return nil, err
		}
		if v.outcome != OutcomeOK {
			return inactive, nil
		}
		c := v.entry.cred
		out := &Introspection{Active: true, Scope: strings.Join(c.Scopes, " "), TokenType: "api_key", Sub: c.IdentityID, Iss: b.issuer,
			Iat: c.CreatedAt.Unix(), CredentialID: c.ID}
		if c.ExpiresAt != nil {
			out.Exp = c.ExpiresAt.Unix()
		}
		return out, nil
	case looksLikeJWT(tok):
		v, err := b.verifyAccessToken(ctx, tok, steward.RequestSource{}, false)
		if err != nil {
			return nil, err
		}
		if v.outcome != OutcomeOK {
			return inactive, nil
		}
		c := v.claims
		return &Introspection{Active: true, Scope: c.Scope, ClientID: c.ClientID, TokenType: "Bearer", Exp: c.Expiry, Iat: c.IssuedAt,
			Sub: c.Subject, Aud: c.Audience, Iss: c.Issuer, JTI: c.JTI, CredentialID: c.CredentialID, Act: c.Act, Federated: c.Federated}, nil
	}
	return inactive, nil
}

// RevokeToken revokes a token (RFC 7009): an access token goes on the deny
// list until it expires; an API key's credential is revoked. A client may
// revoke only its own tokens; unknown tokens, and tokens of others, are
// ignored (RFC 7009 §2.2 answers 200 either way).
func (b *Broker) RevokeToken(ctx context.Context, caller Caller, tok string) error {
	p := caller.Principal
	if caller.Client != nil {
		p = caller.Client.Principal()
	}
	if p == nil {
		return steward.Errorf(steward.EUNAUTHORIZED, "authentication required")
	}
	// may reports whether the caller may revoke a token of identity id.
	may := func(identityID, clientID string) bool {
		if caller.Client != nil {
			return clientID != "" && caller.Client.Credential.ClientID == clientID
		}
		if p.IsNHI() {
			return p.IdentityID == identityID
		}
		return p.Can(steward.PermWrite)
	}
	switch {
	case strings.HasPrefix(tok, KeyPrefix):
		if !WellFormed(tok) {
			return nil
		}
		c, err := b.store.FindCredentialByDigest(ctx, b.digester.digest(tok))
		if steward.ErrorCode(err) == steward.ENOTFOUND {
			return nil
		}
		if err != nil {
			return err
		}
		if !may(c.IdentityID, c.ClientID) || c.Status == steward.CredentialRevoked {
			return nil
		}
		actor := p
		if p.IsNHI() {
			// The identity revokes its own key; checkOwns does not apply.
			actor = &steward.Principal{Actor: p.Actor, Role: steward.RoleAdmin}
		}
		_, err = b.revoke(steward.WithPrincipal(ctx, actor), actor, c.ID, "revoked through the OAuth2 revocation endpoint")
		if steward.ErrorCode(err) == steward.EFORBIDDEN || steward.ErrorCode(err) == steward.ECONFLICT {
			return nil
		}
		return err
	case looksLikeJWT(tok):
		c, outcome, _ := b.parseJWT(ctx, tok)
		if outcome != OutcomeOK || c.Expiry <= b.now().Unix() || b.denied.has(c.JTI) {
			return nil
		}
		// The person who delegated a token may revoke it too.
		delegator := !p.IsNHI() && p.TokenID != "" && c.Subject == OperatorSubject+p.TokenID
		if !delegator && !may(c.IdentityID(), c.ClientID) {
			return nil
		}
		r := &steward.RevokedJTI{JTI: c.JTI, CredentialID: c.CredentialID, IdentityID: c.IdentityID(), ExpiresAt: time.Unix(c.Expiry, 0).UTC(), RevokedAt: b.now(),
			RevokedWhere: steward.RevokedSteward}
		err := b.update(ctx, func(tx steward.BrokerTx) error {
			if err := tx.RevokeJTI(ctx, r); err != nil {
				return err
			}
			return tx.AppendEvent(ctx, b.newEvent(p, steward.ActionAccessTokenRevoke, steward.SubjectAccessToken, c.JTI, c.IdentityID(), "revoked through the OAuth2 revocation endpoint", nil, r))
		})
		if err != nil {
			return err
		}
		b.denied.add(r.JTI, r.ExpiresAt)
		b.log.InfoContext(ctx, "access token revoked", "jti", c.JTI, "identity_id", c.IdentityID(), "actor", p.Actor)
	}
	return nil
}

// Metadata is the authorization server metadata (RFC 8414). Steward has
// no authorization endpoint, so response_types_supported (required, and
// non-empty) is ["none"]: nothing is issued from an authorization
// endpoint. Introspection and revocation also accept an operator bearer
// token (RFC 7662 §2.1), which has no registered authentication method
// name and so is not listed.
func (b *Broker) Metadata() map[string]any {
	methods := []string{AuthSecretBasic, AuthSecretPost, AuthPrivateKeyJWT}
	algs := []string{}
	for _, a := range assertionAlgs {
		algs = append(algs, string(a))
	}
	return map[string]any{
		"issuer":                                b.issuer,
		"token_endpoint":                        b.issuer + "/oauth2/token",
		"jwks_uri":                              b.issuer + "/.well-known/jwks.json",
		"introspection_endpoint":                b.issuer + "/oauth2/introspect",
		"revocation_endpoint":                   b.issuer + "/oauth2/revoke",
		"grant_types_supported":                 []string{"client_credentials"},
		"response_types_supported":              []string{"none"},
		"token_endpoint_auth_methods_supported": methods,
		"token_endpoint_auth_signing_alg_values_supported":         algs,
		"introspection_endpoint_auth_methods_supported":            methods,
		"introspection_endpoint_auth_signing_alg_values_supported": algs,
		"revocation_endpoint_auth_methods_supported":               methods,
		"revocation_endpoint_auth_signing_alg_values_supported":    algs,
		"access_token_signing_alg_values_supported":                []string{b.alg},
		"scopes_supported": []string{ScopeIntrospect},
	}
}
