package federation

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/steward-nhi/steward"
)

// MaxTokenSize bounds a presented token.
const MaxTokenSize = 16 << 10

// refusal is why a token exchange is refused: the RFC 6749 error code,
// the usage outcome and the reason recorded and returned.
type refusal struct {
	code    string
	outcome string
	reason  string
}

func (r *refusal) Error() string { return r.code + ": " + r.reason }

func refuse(code, outcome, format string, args ...any) *refusal {
	return &refusal{code: code, outcome: outcome, reason: fmt.Sprintf(format, args...)}
}

// Usage outcomes of refused exchanges beyond the broker's.
const (
	outcomeRefused = "refused"
	outcomeReplay  = "replayed"
)

// Header is the part of a JWS header the parser reads before verifying.
type Header struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ"`
}

// Claims are the registered claims of a federated token.
type Claims struct {
	Issuer    string
	Subject   string
	Audience  []string
	Expiry    time.Time
	NotBefore time.Time
	IssuedAt  time.Time
	JTI       string
	// All holds every claim (numbers as json.Number) for binding matches.
	All map[string]any
}

// ParseUnverified splits a compact JWS and decodes its header and claims
// without checking the signature: the first step of verification, and
// the input the fuzz target feeds. It refuses what is not a JWT.
func ParseUnverified(raw string) (*Header, *Claims, error) {
	t, err := parseToken(raw)
	if err != nil {
		return nil, nil, err
	}
	return &t.header, t.claims, nil
}

// token is a compact JWS parsed once, before its signature is checked:
// verify checks the signature over the same payload bytes and then trusts
// the claims decoded here instead of decoding them again.
type token struct {
	raw     string
	header  Header
	claims  *Claims
	payload []byte
}

func parseToken(raw string) (*token, error) {
	if len(raw) > MaxTokenSize {
		return nil, fmt.Errorf("token is larger than %d bytes", MaxTokenSize)
	}
	head, rest, ok := strings.Cut(raw, ".")
	body, sig, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 || strings.Contains(sig, ".") {
		return nil, errors.New("not a compact JWS (three dot-separated parts)")
	}
	t := &token{raw: raw}
	hb, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return nil, errors.New("header is not base64url")
	}
	if err := json.Unmarshal(hb, &t.header); err != nil {
		return nil, errors.New("header is not a JSON object")
	}
	if t.payload, err = base64.RawURLEncoding.DecodeString(body); err != nil {
		return nil, errors.New("payload is not base64url")
	}
	if t.claims, err = decodeClaims(t.payload); err != nil {
		return nil, err
	}
	return t, nil
}

func decodeClaims(payload []byte) (*Claims, error) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var all map[string]any
	if err := dec.Decode(&all); err != nil || all == nil {
		return nil, errors.New("claims are not a JSON object")
	}
	c := &Claims{All: all}
	var ok bool
	if v, has := all["iss"]; has {
		if c.Issuer, ok = v.(string); !ok {
			return nil, errors.New("iss is not a string")
		}
	}
	if v, has := all["sub"]; has {
		if c.Subject, ok = v.(string); !ok {
			return nil, errors.New("sub is not a string")
		}
	}
	if v, has := all["jti"]; has {
		if c.JTI, ok = v.(string); !ok {
			return nil, errors.New("jti is not a string")
		}
	}
	switch a := all["aud"].(type) {
	case nil:
	case string:
		c.Audience = []string{a}
	case []any:
		for _, x := range a {
			s, ok := x.(string)
			if !ok {
				return nil, errors.New("aud is not a string or an array of strings")
			}
			c.Audience = append(c.Audience, s)
		}
	default:
		return nil, errors.New("aud is not a string or an array of strings")
	}
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"exp", &c.Expiry}, {"nbf", &c.NotBefore}, {"iat", &c.IssuedAt}} {
		v, has := all[f.name]
		if !has {
			continue
		}
		n, ok := v.(json.Number)
		if !ok {
			return nil, fmt.Errorf("%s is not a number", f.name)
		}
		x, err := n.Float64()
		if err != nil || math.IsNaN(x) || x < 0 || x > 1<<40 {
			return nil, fmt.Errorf("%s is not a time", f.name)
		}
		*f.dst = time.Unix(int64(x), 0).UTC()
	}
	return c, nil
}

// verified is a federated token that passed every check.
type verified struct {
	issuer *steward.TrustedIssuer
	claims *Claims
	// replayKey is the token's jti, or a digest of the token without one.
	replayKey string
}

// findIssuer picks the trusted issuer a token names: by its iss, or for a
// JWT-SVID without iss, by the trust domain of its SPIFFE ID.
func findIssuer(byURL map[string]*issuerState, c *Claims) (*issuerState, *refusal) {
	if st := byURL[c.Issuer]; st != nil && c.Issuer != "" {
		return st, nil
	}
	for url, st := range byURL {
		if c.Issuer != "" && strings.TrimRight(url, "/") == strings.TrimRight(c.Issuer, "/") {
			return nil, refuse("invalid_grant", outcomeRefused, "iss %q does not match the URL of trusted issuer %q (%s)", c.Issuer, st.ti.Name, url)
		}
	}
	if td, ok := trustDomain(c.Subject); ok {
		for _, st := range byURL {
			if st.ti.Kind == steward.IssuerSPIFFE && strings.TrimRight(st.ti.Issuer, "/") == td {
				if c.Issuer != "" {
					return nil, refuse("invalid_grant", outcomeRefused, "iss %q does not match the URL of trusted issuer %q (%s)", c.Issuer, st.ti.Name, st.ti.Issuer)
				}
				return st, nil
			}
		}
	}
	if c.Issuer == "" {
		return nil, refuse("invalid_grant", OutcomeUnknownIssuer, "the token names no issuer")
	}
	return nil, refuse("invalid_grant", OutcomeUnknownIssuer, "issuer %q is not trusted", c.Issuer)
}

// OutcomeUnknownIssuer is the usage outcome of a token from an issuer
// Steward does not trust.
const OutcomeUnknownIssuer = "unknown_issuer"

func trustDomain(sub string) (string, bool) {
	rest, ok := strings.CutPrefix(sub, "spiffe://")
	if !ok {
		return "", false
	}
	td, _, _ := strings.Cut(rest, "/")
	if td == "" {
		return "", false
	}
	return "spiffe://" + td, true
}

var allowedAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA}

// verify checks a federated token completely: algorithm, issuer, key,
// signature, times and audience. Replay is checked when the exchange
// commits.
func (s *Service) verify(ctx context.Context, tok *token) (*verified, *refusal, error) {
	h, c, raw := &tok.header, tok.claims, tok.raw
	switch {
	case strings.EqualFold(h.Alg, "none"):
		return nil, refuse("invalid_grant", "bad_signature", "alg none is never accepted"), nil
	case strings.HasPrefix(strings.ToUpper(h.Alg), "HS"):
		return nil, refuse("invalid_grant", "bad_signature", "HMAC algorithm %s is never accepted for federated tokens", h.Alg), nil
	case !slices.Contains(steward.FederationAlgorithms, h.Alg):
		return nil, refuse("invalid_grant", "bad_signature", "alg %q is not accepted (RS256, ES256, EdDSA)", h.Alg), nil
	}
	_, byURL, err := s.snapshot(ctx)
	if err != nil {
		return nil, nil, err
	}
	st, rf := findIssuer(byURL, c)
	if rf != nil {
		return nil, rf, nil
	}
	ti := st.ti
	if !slices.Contains(ti.Algorithms, h.Alg) {
		return nil, refuse("invalid_grant", "bad_signature", "alg %s is not allowed for issuer %q", h.Alg, ti.Name), nil
	}
	jws, err := jose.ParseSignedCompact(raw, allowedAlgs)
	if err != nil || len(jws.Signatures) != 1 {
		return nil, refuse("invalid_request", outcomeRefused, "the token is not a single-signature JWS"), nil
	}
	key, err := st.keys.lookup(ctx, h.Kid)
	if err != nil {
		s.cfg.Logger.WarnContext(ctx, "federation: issuer keys unavailable", "issuer", ti.Name, "err", err)
		return nil, refuse("invalid_grant", "unknown_key", "the keys of issuer %q could not be fetched", ti.Name), nil
	}
	if key == nil {
		return nil, refuse("invalid_grant", "unknown_key", "kid %q is not among the keys of issuer %q, even after a refresh", h.Kid, ti.Name), nil
	}
	if key.Algorithm != "" && key.Algorithm != h.Alg {
		return nil, refuse("invalid_grant", "bad_signature", "key %q is for %s, not %s", h.Kid, key.Algorithm, h.Alg), nil
	}
	payload, err := jws.Verify(key.Key)
	if err != nil {
		return nil, refuse("invalid_grant", "bad_signature", "the signature does not verify with key %q of issuer %q", h.Kid, ti.Name), nil
	}
	if !bytes.Equal(payload, tok.payload) {
		// The signature covers the payload parsed before: never the case
		// for a compact JWS, refused rather than trusting the claims.
		return nil, refuse("invalid_grant", "bad_signature", "the signed payload is not the token's payload"), nil
	}
	now := s.cfg.Clock.Now()
	skew := time.Duration(ti.ClockSkew)
	switch {
	case c.Subject == "":
		return nil, refuse("invalid_grant", outcomeRefused, "the token has no sub"), nil
	case c.Expiry.IsZero():
		return nil, refuse("invalid_grant", outcomeRefused, "the token has no exp"), nil
	case !now.Before(c.Expiry.Add(skew)):
		return nil, refuse("invalid_grant", "expired", "the token expired at %s", c.Expiry.Format(time.RFC3339)), nil
	case !c.NotBefore.IsZero() && now.Add(skew).Before(c.NotBefore):
		return nil, refuse("invalid_grant", "expired", "the token is not valid before %s", c.NotBefore.Format(time.RFC3339)), nil
	case !c.IssuedAt.IsZero() && now.Add(skew).Before(c.IssuedAt):
		return nil, refuse("invalid_grant", "expired", "the token is issued in the future (%s)", c.IssuedAt.Format(time.RFC3339)), nil
	case ti.MaxTokenAge > 0 && !c.IssuedAt.IsZero() && now.Sub(c.IssuedAt) > time.Duration(ti.MaxTokenAge)+skew:
		return nil, refuse("invalid_grant", "expired", "the token is older than issuer %q allows (%s)", ti.Name, time.Duration(ti.MaxTokenAge)), nil
	case ti.MaxTokenAge > 0 && c.Expiry.Sub(now) > time.Duration(ti.MaxTokenAge)+skew:
		return nil, refuse("invalid_grant", outcomeRefused, "the token lives longer than issuer %q allows (%s)", ti.Name, time.Duration(ti.MaxTokenAge)), nil
	}
	accepted := ti.Audiences
	if len(accepted) == 0 {
		iss := s.cfg.Broker.Issuer()
		accepted = []string{iss, iss + "/oauth2/token"}
	}
	if !slices.ContainsFunc(c.Audience, func(a string) bool { return slices.Contains(accepted, a) }) {
		return nil, refuse("invalid_grant", outcomeRefused, "the token's audience %q is not one issuer %q accepts (%s)", c.Audience, ti.Name, strings.Join(accepted, ", ")), nil
	}
	key2 := c.JTI
	if key2 == "" || len(key2) > 200 {
		sum := sha256.Sum256([]byte(raw))
		key2 = "sha256:" + hex.EncodeToString(sum[:])
	}
	return &verified{issuer: ti, claims: c, replayKey: key2}, nil, nil
}
