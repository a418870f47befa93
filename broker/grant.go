package broker

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
)

// Actor is the RFC 8693 "act" claim: who acts for the token's subject.
// A chain nests: the outermost actor is the current one, its own Act the
// one before.
type Actor struct {
	Subject string `json:"sub"`
	Issuer  string `json:"iss,omitempty"`
	Act     *Actor `json:"act,omitempty"`
}

// Depth is the number of actors in the chain.
func (a *Actor) Depth() int {
	n := 0
	for ; a != nil; a = a.Act {
		n++
	}
	return n
}

// Provenance names the federated token a Steward token was exchanged for.
type Provenance struct {
	Issuer     string `json:"iss"`
	Subject    string `json:"sub"`
	IssuerName string `json:"name,omitempty"`
}

// Link is a credential or token a derived token depends on: revoking the
// credential (or its identity) or the token makes the derived token
// inactive.
type Link struct {
	CredentialID string `json:"cid,omitempty"`
	JTI          string `json:"jti,omitempty"`
	// TokenID is the operator token of a person who delegated to an
	// agent: revoking it (or its expiry) ends the delegation.
	TokenID string `json:"tok,omitempty"`
}

// OperatorSubject is the "sub" prefix of a token delegated by a person
// holding an operator token: "token:<id>". Its credential and identity
// are the agent's (the act claim's subject).
const OperatorSubject = "token:"

// IdentityID is the identity whose credential backs the token: the
// subject, or for a token a person delegated to an agent, the agent.
func (c *AccessClaims) IdentityID() string {
	if strings.HasPrefix(c.Subject, OperatorSubject) && c.Act != nil {
		return c.Act.Subject
	}
	return c.Subject
}

// Actors lists the act claim's chain, current actor first.
func (a *Actor) Actors() []string {
	var out []string
	for ; a != nil; a = a.Act {
		out = append(out, a.Subject)
	}
	return out
}

// Grant is what the federation service decided to issue; the broker signs
// it. CredentialID is the credential the subject authenticated with (the
// federation binding, or the credential of the subject's Steward token).
//
// Subject, when set, is the token's "sub" instead of the identity's id:
// OperatorSubject + the token id of a person delegating to an agent, whose
// identity and credential then back the token.
type Grant struct {
	Identity     *steward.Identity
	Subject      string
	CredentialID string
	ClientID     string
	Scopes       []string
	Audience     string
	// TTL is the wanted lifetime (default and most: 15 minutes), capped by
	// the identity's tier and by NotAfter when set.
	TTL       time.Duration
	NotAfter  time.Time
	Federated *Provenance
	Act       *Actor
	Links     []Link
}

// IssuedTokenType is RFC 8693's URI of an access token.
const IssuedTokenType = "urn:ietf:params:oauth:token-type:access_token"

// IssueGrant signs an access token for a grant that federation decided.
func (b *Broker) IssueGrant(ctx context.Context, g Grant) (*TokenResponse, *AccessClaims, error) {
	now := b.now()
	ttl := g.TTL
	if ttl <= 0 || ttl > steward.DefaultExchangedLifetime {
		ttl = steward.DefaultExchangedLifetime
	}
	if tier := time.Duration(b.policy[g.Identity.Sensitivity].MaxLifetime); tier > 0 && tier < ttl {
		ttl = tier
	}
	if !g.NotAfter.IsZero() && g.NotAfter.Sub(now) < ttl {
		ttl = g.NotAfter.Sub(now)
	}
	ttl = ttl.Truncate(time.Second)
	if ttl < time.Second {
		return nil, nil, oauthErr(http.StatusBadRequest, "invalid_grant", "the token it derives from is about to expire")
	}
	aud := g.Audience
	if aud == "" {
		aud = b.audience
	}
	sub := g.Identity.ID
	if g.Subject != "" {
		sub = g.Subject
	}
	claims := &AccessClaims{Issuer: b.issuer, Subject: sub, Audience: audience{aud}, ClientID: g.ClientID,
		Scope: strings.Join(g.Scopes, " "), JTI: newJTI(), IssuedAt: now.Unix(), Expiry: now.Add(ttl).Unix(), CredentialID: g.CredentialID,
		Act: g.Act, Federated: g.Federated, Links: g.Links}
	tok, err := b.sign(claims)
	if err != nil {
		b.log.ErrorContext(ctx, "broker: sign exchanged token", "err", err)
		return nil, nil, oauthErr(http.StatusInternalServerError, "server_error", "the token could not be signed")
	}
	return &TokenResponse{AccessToken: tok, TokenType: "Bearer", ExpiresIn: int64(ttl / time.Second), Scope: claims.Scope,
		IssuedTokenType: IssuedTokenType}, claims, nil
}

// VerifyToken checks a Steward access token presented as the subject or
// actor of a token exchange: signature, expiry, revocation of the token
// and of every link, and its identity's state. It returns the claims and
// the identity, or a reason it is refused.
func (b *Broker) VerifyToken(ctx context.Context, raw string) (*AccessClaims, *steward.Identity, string, error) {
	v, err := b.verifyAccessToken(ctx, raw, steward.RequestSource{}, false)
	if err != nil {
		return nil, nil, "", err
	}
	if v.outcome != OutcomeOK {
		return nil, nil, v.reason, nil
	}
	return v.claims, v.entry.identity, "", nil
}

// checkLinks refuses a derived token when any credential or token it
// depends on was revoked, or its identity is no longer active. It
// returns the operator token of a person who delegated, read afresh (its
// role is the token's ceiling).
func (b *Broker) checkLinks(ctx context.Context, c *AccessClaims) (string, string, *steward.OperatorToken, error) {
	var op *steward.OperatorToken
	for _, l := range c.Links {
		if l.JTI != "" && b.denied.has(l.JTI) {
			return OutcomeRevoked, "a token of the delegation chain was revoked", nil, nil
		}
		if l.TokenID != "" {
			t, err := b.store.GetToken(ctx, l.TokenID)
			switch {
			case steward.ErrorCode(err) == steward.ENOTFOUND:
				return OutcomeRevoked, "the operator token that delegated no longer exists", nil, nil
			case err != nil:
				return "", "", nil, err
			case t.RevokedAt != nil:
				return OutcomeRevoked, "the operator token that delegated was revoked", nil, nil
			case t.ExpiresAt != nil && !b.now().Before(*t.ExpiresAt):
				return OutcomeExpired, "the operator token that delegated expired", nil, nil
			}
			op = t
		}
		if l.CredentialID == "" {
			continue
		}
		e, err := b.credByID(ctx, l.CredentialID)
		if steward.ErrorCode(err) == steward.ENOTFOUND {
			return OutcomeRevoked, "a credential of the delegation chain no longer exists", nil, nil
		}
		if err != nil {
			return "", "", nil, err
		}
		switch {
		case e.cred.Status == steward.CredentialRevoked || e.cred.RevokedAt != nil:
			return OutcomeRevoked, "a credential of the delegation chain was revoked", nil, nil
		case e.identity.Status != steward.StatusActive:
			return OutcomeRevoked, "identity " + e.identity.ID + " of the delegation chain is " + string(e.identity.Status), nil, nil
		}
	}
	if strings.HasPrefix(c.Subject, OperatorSubject) && (op == nil || OperatorSubject+op.ID != c.Subject) {
		return OutcomeUnknown, "a delegated token names an operator it does not depend on", nil, nil
	}
	return OutcomeOK, "", op, nil
}

// ProvenanceAttributes are the usage-event attributes that record where an
// exchanged token came from: the federated issuer and subject, and the
// current actor of a delegated token. Nil when there is nothing to say.
func ProvenanceAttributes(f *Provenance, act *Actor) map[string]string {
	if f == nil && act == nil {
		return nil
	}
	m := map[string]string{}
	if f != nil {
		m["federated_iss"], m["federated_sub"] = f.Issuer, f.Subject
	}
	if act != nil {
		m["act_sub"] = act.Subject
	}
	return m
}
