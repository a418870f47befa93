package federation

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/broker"
)

// Grant types and token types (RFC 8693, RFC 7523).
const (
	GrantTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	GrantJWTBearer     = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	TokenTypeJWT       = "urn:ietf:params:oauth:token-type:jwt"
	TokenTypeIDToken   = "urn:ietf:params:oauth:token-type:id_token"
	TokenTypeAccess    = "urn:ietf:params:oauth:token-type:access_token"
)

// ActionExchange is the usage action of a token exchange.
const ActionExchange = steward.UsageActionTokenExchange

// ExchangeRequest is a token request with a federated or Steward token as
// the proof (RFC 8693 §2.1, RFC 7523 §2.1).
type ExchangeRequest struct {
	GrantType          string
	SubjectToken       string
	SubjectTokenType   string
	ActorToken         string
	ActorTokenType     string
	Assertion          string
	Scope              string
	Resources          []string
	Audiences          []string
	RequestedTokenType string
}

// Handles reports whether a grant type is federation's.
func Handles(grantType string) bool {
	return grantType == GrantTokenExchange || grantType == GrantJWTBearer
}

// party is the subject or the actor of an exchange once verified.
type party struct {
	identity     *steward.Identity
	credentialID string
	scopes       []string
	fed          *broker.Provenance
	act          *broker.Actor
	links        []broker.Link
	notAfter     time.Time
	// replay is the federated token's issuer and key to remember; empty
	// for a Steward token (its own revocation covers it).
	replayIssuer, replayKey string
	replayUntil             time.Time
}

// Exchange decides a token exchange and has the broker sign the result.
// Every outcome is recorded as a usage event; errors are *broker.OAuthError.
func (s *Service) Exchange(ctx context.Context, req ExchangeRequest, src steward.RequestSource) (*broker.TokenResponse, error) {
	start := time.Now()
	ev := steward.UsageEvent{Kind: steward.UsageAuth, Action: ActionExchange, Source: src.Addr, UserAgent: src.UserAgent}
	a := s.replays.expect()
	defer a.end() // even on a panic, so that no batch waits for it
	out, subj, err := s.exchange(ctx, req, &ev, a)
	a.end()
	ev.Time, ev.LatencyMicro = s.cfg.Clock.Now(), time.Since(start).Microseconds()
	if subj != nil {
		ev.IdentityID, ev.CredentialID, ev.Environment = subj.identity.ID, subj.credentialID, subj.identity.Environment
	}
	var rf *refusal
	switch e := err.(type) {
	case nil:
		ev.Outcome = broker.OutcomeOK
	case *refusal:
		rf = e
		ev.Outcome, ev.Reason = e.outcome, e.reason
	default:
		ev.Outcome, ev.Reason = "error", "internal error"
	}
	s.cfg.Usage.Record(ctx, ev)
	switch {
	case err == nil:
		return out, nil
	case rf != nil:
		s.cfg.Logger.InfoContext(ctx, "token exchange refused", "error", rf.code, "reason", rf.reason, "subject", ev.Subject, "source", src.Addr)
		status := http.StatusBadRequest
		return nil, &broker.OAuthError{Code: rf.code, Description: rf.reason, Status: status}
	}
	if oe, ok := err.(*broker.OAuthError); ok {
		return nil, oe
	}
	s.cfg.Logger.ErrorContext(ctx, "federation: token exchange", "err", err)
	return nil, &broker.OAuthError{Code: "server_error", Description: "the exchange could not be completed", Status: http.StatusInternalServerError}
}

func (s *Service) exchange(ctx context.Context, req ExchangeRequest, ev *steward.UsageEvent, a *arrival) (*broker.TokenResponse, *party, error) {
	subjectTok, subjectType := req.SubjectToken, req.SubjectTokenType
	switch req.GrantType {
	case GrantJWTBearer:
		if req.Assertion == "" {
			return nil, nil, refuse("invalid_request", outcomeRefused, "assertion is required")
		}
		if req.ActorToken != "" || req.SubjectToken != "" {
			return nil, nil, refuse("invalid_request", outcomeRefused, "the jwt-bearer grant takes an assertion, not subject or actor tokens")
		}
		subjectTok, subjectType = req.Assertion, TokenTypeJWT
	case GrantTokenExchange:
		switch {
		case subjectTok == "":
			return nil, nil, refuse("invalid_request", outcomeRefused, "subject_token is required")
		case subjectType == "":
			return nil, nil, refuse("invalid_request", outcomeRefused, "subject_token_type is required")
		case req.ActorToken != "" && req.ActorTokenType == "":
			return nil, nil, refuse("invalid_request", outcomeRefused, "actor_token_type is required with actor_token")
		case req.ActorToken == "" && req.ActorTokenType != "":
			return nil, nil, refuse("invalid_request", outcomeRefused, "actor_token_type without actor_token")
		}
	default:
		return nil, nil, &broker.OAuthError{Code: "unsupported_grant_type", Description: "grant type " + req.GrantType + " is not supported", Status: http.StatusBadRequest}
	}
	if !tokenType(subjectType) || (req.ActorToken != "" && !tokenType(req.ActorTokenType)) {
		return nil, nil, refuse("invalid_request", outcomeRefused, "token types must be %s, %s or %s", TokenTypeJWT, TokenTypeIDToken, TokenTypeAccess)
	}
	if t := req.RequestedTokenType; t != "" && t != TokenTypeAccess && t != TokenTypeJWT {
		return nil, nil, refuse("invalid_request", outcomeRefused, "requested_token_type %q is not supported (an access token is issued)", t)
	}
	aud, rf := target(req)
	if rf != nil {
		return nil, nil, rf
	}
	if strings.HasPrefix(subjectTok, steward.OperatorTokenPrefix) {
		return s.delegateOperator(ctx, req, aud, ev, a)
	}
	subj, rf, err := s.party(ctx, subjectTok, ev)
	if err != nil || rf != nil {
		return nil, nil, orRefusal(err, rf)
	}
	if rf := s.checkIdentity(ctx, subj.identity, "subject"); rf != nil {
		return nil, subj, rf
	}
	g := broker.Grant{Identity: subj.identity, CredentialID: subj.credentialID, Audience: aud, Federated: subj.fed, Act: subj.act,
		Links: subj.links, NotAfter: subj.notAfter}
	ceiling := subj.scopes
	replays := []*party{subj}
	if req.ActorToken != "" {
		act, rf, err := s.party(ctx, req.ActorToken, nil)
		if err != nil || rf != nil {
			return nil, subj, orRefusal(err, rf)
		}
		if act.identity.Kind != steward.KindAIAgent {
			return nil, subj, refuse("invalid_grant", outcomeRefused, "actor %s is of kind %s, not ai_agent: only agents act for others", act.identity.ID, act.identity.Kind)
		}
		if rf := s.checkIdentity(ctx, act.identity, "actor"); rf != nil {
			return nil, subj, rf
		}
		g.Act = &broker.Actor{Subject: act.identity.ID, Issuer: s.cfg.Broker.Issuer(), Act: subj.act}
		if d := g.Act.Depth(); d > s.cfg.MaxDelegationDepth {
			return nil, subj, refuse("invalid_grant", outcomeRefused, "the delegation chain would be %d deep; at most %d", d, s.cfg.MaxDelegationDepth)
		}
		ceiling = intersect(ceiling, act.scopes)
		g.Links = append(slices.Clone(g.Links), act.links...)
		g.Links = append(g.Links, broker.Link{CredentialID: act.credentialID})
		if !act.notAfter.IsZero() && (g.NotAfter.IsZero() || act.notAfter.Before(g.NotAfter)) {
			g.NotAfter = act.notAfter
		}
		replays = append(replays, act)
		ev.Attributes = map[string]string{"act_sub": act.identity.ID}
	}
	return s.issue(ctx, req, g, ceiling, replays, subj, ev, a)
}

// issue narrows the grant's scopes to the request within ceiling,
// remembers the federated tokens of replays (a is the exchange's place in
// the replay batcher), and has the broker sign it.
func (s *Service) issue(ctx context.Context, req ExchangeRequest, g broker.Grant, ceiling []string, replays []*party, subj *party, ev *steward.UsageEvent, a *arrival) (*broker.TokenResponse, *party, error) {
	g.Scopes = ceiling
	if req.Scope != "" {
		g.Scopes = nil
		for _, sc := range strings.Fields(req.Scope) {
			if !slices.Contains(ceiling, sc) {
				return nil, subj, refuse("invalid_scope", outcomeRefused, "scope %q is not held by %s", sc, holders(req.ActorToken != ""))
			}
			if !slices.Contains(g.Scopes, sc) {
				g.Scopes = append(g.Scopes, sc)
			}
		}
	}
	// Remember the federated tokens last, so that a request refused
	// before (signing included) can be retried with the same token. The
	// token is signed before its replay records are durable, but returned
	// only after: signing has no side effect, and a token signed for a
	// replay is dropped unseen. Signing first lets the records of more
	// concurrent exchanges share a write; a replay this node remembers is
	// refused before signing.
	var recs []replayRecord
	for _, p := range replays {
		if p.replayKey != "" {
			recs = append(recs, replayRecord{issuer: "fed:" + p.replayIssuer, key: p.replayKey, until: p.replayUntil})
		}
	}
	replayed := refuse("invalid_grant", outcomeReplay, "the federated token was already exchanged (replay)")
	if s.replays.seenHere(recs) {
		return nil, subj, replayed
	}
	out, claims, err := s.cfg.Broker.IssueGrant(ctx, g)
	if err != nil {
		return nil, subj, err
	}
	err = s.replays.remember(ctx, a, recs)
	if steward.ErrorCode(err) == steward.ECONFLICT {
		return nil, subj, replayed
	}
	if err != nil {
		return nil, subj, err
	}
	attrs := broker.ProvenanceAttributes(claims.Federated, claims.Act)
	if attrs == nil {
		attrs = map[string]string{}
	}
	attrs["jti"], attrs["scope"] = claims.JTI, claims.Scope
	ev.Attributes = attrs
	if req.Scope == "" || claims.Scope == strings.Join(strings.Fields(req.Scope), " ") {
		// RFC 8693 §2.2.1: scope only when it differs from the request.
		out.Scope = claims.Scope
	}
	return out, subj, nil
}

// delegateOperator decides a person's delegation to an agent: the
// subject token is the person's operator token, the actor token the
// agent's Steward access token. The issued token's subject is
// "token:<id>", its act claim the agent, its credential the agent's; it
// depends on both (revoking either ends it), and the person's role is
// its ceiling when it is used.
func (s *Service) delegateOperator(ctx context.Context, req ExchangeRequest, aud string, ev *steward.UsageEvent, a *arrival) (*broker.TokenResponse, *party, error) {
	switch {
	case req.ActorToken == "":
		return nil, nil, refuse("invalid_request", outcomeRefused, "an operator token is exchanged only to delegate to an agent: actor_token is required")
	case req.SubjectTokenType != TokenTypeAccess:
		return nil, nil, refuse("invalid_request", outcomeRefused, "an operator token's subject_token_type is %s", TokenTypeAccess)
	case s.cfg.Operators == nil:
		return nil, nil, refuse("invalid_grant", outcomeRefused, "delegation by operator tokens is not available on this server")
	}
	op, err := s.cfg.Operators.Authenticate(ctx, req.SubjectToken)
	if steward.ErrorCode(err) == steward.EUNAUTHORIZED {
		ev.Subject = "operator token"
		return nil, nil, refuse("invalid_grant", broker.OutcomeRevoked, "the operator token is invalid, expired or revoked")
	}
	if err != nil {
		return nil, nil, err
	}
	ev.Subject = op.Actor
	act, rf, err := s.party(ctx, req.ActorToken, nil)
	if err != nil || rf != nil {
		return nil, nil, orRefusal(err, rf)
	}
	switch {
	case act.identity.Kind != steward.KindAIAgent:
		return nil, act, refuse("invalid_grant", outcomeRefused, "actor %s is of kind %s, not ai_agent: only agents act for others", act.identity.ID, act.identity.Kind)
	case act.act != nil:
		return nil, act, refuse("invalid_grant", outcomeRefused, "the actor token is itself delegated; an operator delegates to an agent's own token")
	}
	if rf := s.checkIdentity(ctx, act.identity, "actor"); rf != nil {
		return nil, act, rf
	}
	g := broker.Grant{Identity: act.identity, Subject: broker.OperatorSubject + op.TokenID, CredentialID: act.credentialID, Audience: aud,
		Act:      &broker.Actor{Subject: act.identity.ID, Issuer: s.cfg.Broker.Issuer()},
		Links:    append(slices.Clone(act.links), broker.Link{CredentialID: act.credentialID}, broker.Link{TokenID: op.TokenID}),
		NotAfter: act.notAfter}
	return s.issue(ctx, req, g, act.scopes, []*party{act}, act, ev, a)
}

func holders(delegated bool) string {
	if delegated {
		return "both the subject and the actor"
	}
	return "the bound identity"
}

func orRefusal(err error, rf *refusal) error {
	if err != nil {
		return err
	}
	return rf
}

func tokenType(t string) bool {
	return t == TokenTypeJWT || t == TokenTypeIDToken || t == TokenTypeAccess
}

// target returns the one audience of the issued token: the resource (an
// absolute URI without fragment, RFC 8707) or the audience parameter.
func target(req ExchangeRequest) (string, *refusal) {
	all := append(slices.Clone(req.Resources), req.Audiences...)
	switch {
	case len(all) == 0:
		return "", nil
	case len(all) > 1:
		return "", refuse("invalid_target", outcomeRefused, "name one resource or audience; a token has one audience")
	}
	for _, r := range req.Resources {
		u, err := url.Parse(r)
		if err != nil || !u.IsAbs() || u.Fragment != "" || strings.Contains(r, "#") {
			return "", refuse("invalid_target", outcomeRefused, "resource %q must be an absolute URI without a fragment", r)
		}
	}
	a := all[0]
	if a == "" || len(a) > 512 || strings.ContainsAny(a, " \t\r\n") {
		return "", refuse("invalid_target", outcomeRefused, "audience must be one name or URI of at most 512 characters")
	}
	return a, nil
}

// party verifies a subject or actor token: a Steward access token, or a
// federated token bound to exactly one identity.
func (s *Service) party(ctx context.Context, raw string, ev *steward.UsageEvent) (*party, *refusal, error) {
	tok, err := parseToken(raw)
	if err != nil {
		return nil, refuse("invalid_request", outcomeRefused, "the token is malformed: %v", err), nil
	}
	c := tok.claims
	if ev != nil {
		ev.Subject = trim(c.Issuer+" "+c.Subject, 256)
	}
	if c.Issuer == s.cfg.Broker.Issuer() {
		claims, ident, reason, err := s.cfg.Broker.VerifyToken(ctx, raw)
		if err != nil {
			return nil, nil, err
		}
		if reason != "" {
			return nil, refuse("invalid_grant", broker.OutcomeRevoked, "the Steward token is not active: %s", reason), nil
		}
		p := &party{identity: ident, credentialID: claims.CredentialID, scopes: strings.Fields(claims.Scope), fed: claims.Federated,
			act: claims.Act, notAfter: time.Unix(claims.Expiry, 0)}
		p.links = append(slices.Clone(claims.Links), broker.Link{JTI: claims.JTI})
		return p, nil, nil
	}
	v, rf, err := s.verify(ctx, tok)
	if err != nil || rf != nil {
		return nil, rf, err
	}
	bs, err := s.bindingsFor(ctx, v.issuer.Name)
	if err != nil {
		return nil, nil, err
	}
	b, ambiguous := Resolve(bs, v.claims.Subject, v.claims.All)
	if ambiguous != "" {
		return nil, refuse("invalid_grant", outcomeRefused, "%s; refused as ambiguous", ambiguous), nil
	}
	if b == nil {
		return nil, refuse("invalid_grant", outcomeRefused, "no binding of issuer %q matches subject %q", v.issuer.Name, v.claims.Subject), nil
	}
	ident, err := s.identity(ctx, b.IdentityID)
	if err != nil {
		return nil, nil, err
	}
	return &party{identity: ident, credentialID: b.ID, scopes: slices.Clone(ident.Scopes),
		fed:          &broker.Provenance{Issuer: v.issuer.Issuer, Subject: v.claims.Subject, IssuerName: v.issuer.Name},
		replayIssuer: v.issuer.Name, replayKey: v.replayKey, replayUntil: v.claims.Expiry.Add(time.Duration(v.issuer.ClockSkew))}, nil, nil
}

// checkIdentity refuses an identity that is not active or has no owner
// in place.
func (s *Service) checkIdentity(ctx context.Context, i *steward.Identity, role string) *refusal {
	if i.Status != steward.StatusActive {
		return refuse("invalid_grant", broker.OutcomeRevoked, "the %s identity %s is %s", role, i.ID, i.Status)
	}
	if i.ExpiresAt != nil && !s.cfg.Clock.Now().Before(*i.ExpiresAt) {
		return refuse("invalid_grant", broker.OutcomeExpired, "the %s identity %s expired", role, i.ID)
	}
	if i.OwnerID == "" {
		return refuse("invalid_grant", outcomeRefused, "the %s identity %s has no owner", role, i.ID)
	}
	o, err := s.owner(ctx, i.OwnerID)
	if err != nil || o.Status != steward.OwnerActive {
		return refuse("invalid_grant", outcomeRefused, "the owner of the %s identity %s is not present", role, i.ID)
	}
	return nil
}

func intersect(a, b []string) []string {
	out := []string{}
	for _, x := range a {
		if slices.Contains(b, x) && !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

func trim(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
