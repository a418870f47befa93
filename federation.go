package steward

import (
	"context"
	"encoding/json"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// TrustedIssuer is an outside token issuer whose signed tokens a workload
// may exchange for a Steward access token: a Kubernetes cluster, GitHub
// Actions, GitLab CI, a SPIFFE trust domain or any OIDC provider. Issuers
// are managed data: every change is a new version recorded as an Event
// with actor and reason.
type TrustedIssuer struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	// Issuer is the "iss" the issuer's tokens carry (for SPIFFE, the trust
	// domain as spiffe://example.org when JWT-SVIDs carry no "iss").
	Issuer string `json:"issuer"`
	// Keys come from exactly one source: OIDC discovery of Issuer, a
	// JWKS URL, an inline JWKS, or a SPIFFE bundle.
	Discovery    bool            `json:"discovery,omitempty"`
	JWKSURI      string          `json:"jwks_uri,omitempty"`
	JWKS         json.RawMessage `json:"jwks,omitempty"`
	SPIFFEBundle json.RawMessage `json:"spiffe_bundle,omitempty"`
	// Audiences the tokens must name one of (default: Steward's issuer
	// URL and its token endpoint).
	Audiences []string `json:"audiences"`
	// Algorithms accepted (RS256, ES256, EdDSA; default all three).
	Algorithms  []string  `json:"algorithms"`
	MaxTokenAge Duration  `json:"max_token_age,omitempty"`
	ClockSkew   Duration  `json:"clock_skew,omitempty"`
	Version     int64     `json:"version"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	UpdatedBy   string    `json:"updated_by"`
	Reason      string    `json:"reason,omitempty"`
}

// Issuer kinds.
const (
	IssuerKubernetes    = "kubernetes"
	IssuerGitHubActions = "github-actions"
	IssuerGitLabCI      = "gitlab-ci"
	IssuerSPIFFE        = "spiffe"
	IssuerOIDC          = "oidc"
)

// IssuerKinds lists the kinds of trusted issuers.
var IssuerKinds = []string{IssuerKubernetes, IssuerGitHubActions, IssuerGitLabCI, IssuerSPIFFE, IssuerOIDC}

// FederationAlgorithms are the only signature algorithms a federated token
// may use: never "none", never an HMAC.
var FederationAlgorithms = []string{"RS256", "ES256", "EdDSA"}

// Federation limits and defaults.
const (
	DefaultIssuerClockSkew   = time.Minute
	MaxIssuerClockSkew       = 10 * time.Minute
	MaxIssuerTokenAge        = 24 * time.Hour
	DefaultExchangedLifetime = 15 * time.Minute
	MaxInlineKeySet          = 64 << 10
	MaxBindingClaims         = 16
	DefaultDelegationDepth   = 2
)

// UsageActionTokenExchange is the usage action of a token exchange
// (RFC 8693 or the RFC 7523 JWT-bearer grant) at /oauth2/token.
const UsageActionTokenExchange = "oauth2.token_exchange"

// Credential type of a federation binding: the identity authenticates
// with a token of a trusted issuer instead of a stored secret.
const CredentialTypeFederated = "federated"

// Event actions and subject types of federation.
const (
	ActionIssuerPut      = "federation.issuer.put"
	ActionIssuerDelete   = "federation.issuer.delete"
	ActionBindingCreate  = "federation.binding.create"
	ActionBindingRemove  = "federation.binding.remove"
	SubjectIssuer        = "federation_issuer"
	SubjectFederationKey = "federation"
)

var issuerNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// Validate checks an issuer's fields, naming the one at fault.
func (t *TrustedIssuer) Validate() error {
	if !issuerNameRE.MatchString(t.Name) {
		return FieldError("name", "%q must be 1-64 lowercase letters, digits, '.', '_' or '-'", t.Name)
	}
	if !slices.Contains(IssuerKinds, t.Kind) {
		return FieldError("kind", "%q is not one of %s", t.Kind, strings.Join(IssuerKinds, ", "))
	}
	u, err := url.Parse(t.Issuer)
	switch {
	case t.Issuer == "" || len(t.Issuer) > 512 || err != nil || u.Host == "":
		return FieldError("issuer", "%q must be an absolute URL", t.Issuer)
	case t.Kind == IssuerSPIFFE && u.Scheme != "spiffe" && u.Scheme != "https":
		return FieldError("issuer", "%q must be spiffe://TRUST-DOMAIN or an https URL for a SPIFFE issuer", t.Issuer)
	case t.Kind != IssuerSPIFFE && u.Scheme != "https" && u.Scheme != "http":
		return FieldError("issuer", "%q must be an https URL", t.Issuer)
	case u.Fragment != "" || u.RawQuery != "":
		return FieldError("issuer", "%q must have no query or fragment", t.Issuer)
	}
	sources := 0
	for _, set := range []bool{t.Discovery, t.JWKSURI != "", len(t.JWKS) > 0, len(t.SPIFFEBundle) > 0} {
		if set {
			sources++
		}
	}
	if sources != 1 {
		return FieldError("jwks", "give exactly one key source: discovery, jwks_uri, jwks or spiffe_bundle (got %d)", sources)
	}
	if t.JWKSURI != "" {
		if u, err := url.Parse(t.JWKSURI); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return FieldError("jwks_uri", "%q must be an https URL", t.JWKSURI)
		}
	}
	if len(t.JWKS) > MaxInlineKeySet || len(t.SPIFFEBundle) > MaxInlineKeySet {
		return FieldError("jwks", "is larger than %d bytes", MaxInlineKeySet)
	}
	if t.Discovery && t.Kind == IssuerSPIFFE && strings.HasPrefix(t.Issuer, "spiffe:") {
		return FieldError("discovery", "needs an https issuer URL")
	}
	if len(t.Audiences) > 16 {
		return FieldError("audiences", "has more than 16 entries")
	}
	for _, a := range t.Audiences {
		if a == "" || len(a) > 512 {
			return FieldError("audiences", "entries must be 1-512 characters")
		}
	}
	for _, a := range t.Algorithms {
		if !slices.Contains(FederationAlgorithms, a) {
			return FieldError("algorithms", "%q is not one of %s (never none or HMAC)", a, strings.Join(FederationAlgorithms, ", "))
		}
	}
	switch {
	case t.MaxTokenAge < 0 || time.Duration(t.MaxTokenAge) > MaxIssuerTokenAge:
		return FieldError("max_token_age", "must be between 0 and %s", MaxIssuerTokenAge)
	case t.ClockSkew < 0 || time.Duration(t.ClockSkew) > MaxIssuerClockSkew:
		return FieldError("clock_skew", "must be between 0 and %s", MaxIssuerClockSkew)
	case len(t.Reason) > MaxTextLen:
		return FieldError("reason", "is longer than %d characters", MaxTextLen)
	}
	return nil
}

// FederationBinding maps verified tokens of one trusted issuer to one
// identity: the subject and the named claims must match its patterns
// (exact, or a glob with * and ?). Its ID is the id of the identity's
// credential of type federated, whose status is the binding's.
type FederationBinding struct {
	ID         string            `json:"id"`
	IdentityID string            `json:"identity_id"`
	Issuer     string            `json:"issuer"`
	Subject    string            `json:"subject"`
	Claims     map[string]string `json:"claims"`
	CreatedAt  time.Time         `json:"created_at"`
	CreatedBy  string            `json:"created_by"`
	Status     CredentialStatus  `json:"status"`
}

// Validate checks a binding's fields.
func (b *FederationBinding) Validate() error {
	switch {
	case b.IdentityID == "":
		return FieldError("identity_id", "is required")
	case !issuerNameRE.MatchString(b.Issuer):
		return FieldError("issuer", "%q is not an issuer name", b.Issuer)
	case b.Subject == "" || len(b.Subject) > 512:
		return FieldError("subject", "is required (a pattern of at most 512 characters)")
	case len(b.Claims) > MaxBindingClaims:
		return FieldError("claims", "has more than %d entries", MaxBindingClaims)
	}
	for k, v := range b.Claims {
		if k == "" || len(k) > 128 || v == "" || len(v) > 512 {
			return FieldError("claims", "names and patterns must be 1-128 and 1-512 characters")
		}
		if k == "sub" || k == "iss" {
			return FieldError("claims", "%q is matched by the issuer and subject fields", k)
		}
	}
	return nil
}

// FederationReader reads trusted issuers and bindings.
type FederationReader interface {
	ListTrustedIssuers(ctx context.Context) ([]*TrustedIssuer, error)
	GetTrustedIssuer(ctx context.Context, name string) (*TrustedIssuer, error)
	// ListFederationBindings returns the bindings of an identity, or of
	// every identity when identityID is "", oldest first, with the status
	// of their credential.
	ListFederationBindings(ctx context.Context, identityID string) ([]*FederationBinding, error)
	// ListBindingsForIssuer returns the active bindings of one issuer.
	ListBindingsForIssuer(ctx context.Context, issuer string) ([]*FederationBinding, error)
}

// FederationTx writes issuers and bindings with their events (and the
// binding's credential) in one transaction.
type FederationTx interface {
	BrokerTx
	FederationReader
	// PutTrustedIssuer creates or replaces the issuer named t.Name.
	PutTrustedIssuer(ctx context.Context, t *TrustedIssuer) error
	DeleteTrustedIssuer(ctx context.Context, name string) error
	CreateFederationBinding(ctx context.Context, b *FederationBinding) error
}

// FederationStore persists federation.
type FederationStore interface {
	BrokerStore
	FederationReader
	UpdateFederation(ctx context.Context, fn func(tx FederationTx) error) error
}
