package steward

import (
	"context"
	"slices"
	"strings"
	"time"
)

// Role is what an operator token may do.
type Role string

// Roles.
const (
	RoleAdmin    Role = "admin"    // everything
	RoleOperator Role = "operator" // inventory writes
	RoleAuditor  Role = "auditor"  // read everything, write nothing
	RoleOwner    Role = "owner"    // read and act on its own identities only
)

// Roles lists every role.
var Roles = []Role{RoleAdmin, RoleOperator, RoleAuditor, RoleOwner}

// ValidRole reports whether r is a role.
func ValidRole(r Role) bool { return slices.Contains(Roles, r) }

// OperatorTokenPrefix starts every operator token's secret.
const OperatorTokenPrefix = "stwo_"

// OperatorToken is a bearer token for the API. Only its digest is stored.
type OperatorToken struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Role       Role       `json:"role"`
	OwnerID    string     `json:"owner_id"`
	Digest     string     `json:"-"`
	CreatedAt  time.Time  `json:"created_at"`
	CreatedBy  string     `json:"created_by"`
	ExpiresAt  *time.Time `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

// TokenCreate is a request to mint an operator token.
type TokenCreate struct {
	Name    string    `json:"name"`
	Role    Role      `json:"role"`
	OwnerID string    `json:"owner_id"`
	TTL     *Duration `json:"ttl"`
}

// Validate checks the request.
func (t *TokenCreate) Validate() error {
	switch {
	case !ValidRole(t.Role):
		return FieldError("role", "%q is not one of admin, operator, auditor, owner", t.Role)
	case t.Role == RoleOwner && t.OwnerID == "":
		return FieldError("owner_id", "is required for an owner token")
	case t.Role != RoleOwner && t.OwnerID != "":
		return FieldError("owner_id", "only an owner token is bound to an owner")
	case len(t.Name) > MaxNameLen:
		return FieldError("name", "is longer than %d characters", MaxNameLen)
	case t.TTL != nil && *t.TTL <= 0:
		return FieldError("ttl", "must be positive")
	}
	return nil
}

// CreatedToken is a minted token: the secret is shown once.
type CreatedToken struct {
	OperatorToken
	Token string `json:"token"`
}

// Principal is the authenticated caller of a request: an operator (a
// person or tool holding an operator token, with a Role) or a non-human
// identity holding a Steward-issued credential (IdentityID set, no Role).
type Principal struct {
	Actor   string // recorded in events: "token:<id>", "nhi:<identity id>" or "system:<what>"
	Role    Role
	OwnerID string
	TokenID string
	// For an NHI caller: the identity, the credential used and its scopes.
	IdentityID   string
	CredentialID string
	Scopes       []string
	// Delegation is set for a delegated token (RFC 8693 token exchange
	// with an actor token): Actor is then the agent acting, and the
	// delegation names on whose behalf it acts.
	Delegation *Delegation
}

// Delegation is who a delegated token's holder acts for: an agent (the
// principal's Actor) acting on behalf of Subject. Actors is the act
// claim's chain as identity ids, the current actor first; only the first
// matters for decisions, the rest is history for the audit.
type Delegation struct {
	// Subject is on whose behalf: "token:<id>" for a person holding an
	// operator token, "nhi:<id>" for an identity.
	Subject string   `json:"subject"`
	Actors  []string `json:"actors"`
}

// OnBehalfOf names the subject a delegated principal acts for, or "".
func (p *Principal) OnBehalfOf() string {
	if p == nil || p.Delegation == nil {
		return ""
	}
	return p.Delegation.Subject
}

// UsageAttributes are the usage-event attributes of a delegated
// principal's acts: act_sub (the current actor), act_chain (every actor,
// current first, comma-separated) and on_behalf_of. Nil otherwise.
func (d *Delegation) UsageAttributes() map[string]string {
	if d == nil {
		return nil
	}
	m := map[string]string{"on_behalf_of": d.Subject}
	if len(d.Actors) > 0 {
		m["act_sub"] = d.Actors[0]
		m["act_chain"] = strings.Join(d.Actors, ",")
	}
	return m
}

// ActContext is the delegation chain as the PDP sees it in context.act:
// RFC 8693's nested act claim, {"sub": current actor, "act": {...}}, with
// Steward identity ids. Nil for a principal acting for itself.
func (d *Delegation) ActContext() map[string]any {
	if d == nil {
		return nil
	}
	var act map[string]any
	for i := len(d.Actors) - 1; i >= 0; i-- {
		m := map[string]any{"sub": d.Actors[i]}
		if act != nil {
			m["act"] = act
		}
		act = m
	}
	return act
}

// IsNHI reports whether the caller is a non-human identity.
func (p *Principal) IsNHI() bool { return p != nil && p.IdentityID != "" }

// HasScope reports whether an NHI caller's credential holds scope s.
func (p *Principal) HasScope(s string) bool { return p != nil && slices.Contains(p.Scopes, s) }

// Permission names what a caller wants to do.
type Permission int

// Permissions.
const (
	PermRead       Permission = iota // read inventory, events
	PermWrite                        // change inventory
	PermAdmin                        // tokens, configuration
	PermReadTokens                   // list operator tokens
)

// Can reports whether the principal's role allows p (ownership checks aside).
func (p *Principal) Can(perm Permission) bool {
	if p == nil {
		return false
	}
	switch p.Role {
	case RoleAdmin:
		return true
	case RoleOperator:
		return perm == PermRead || perm == PermWrite
	case RoleAuditor:
		return perm == PermRead || perm == PermReadTokens
	case RoleOwner:
		return perm == PermRead || perm == PermWrite
	}
	return false
}

// Authorize returns the caller in ctx when its role grants perm: an
// EUNAUTHORIZED error without a caller, EFORBIDDEN for a role (or an NHI
// credential, which has none) that may not.
func Authorize(ctx context.Context, perm Permission) (*Principal, error) {
	p := PrincipalFrom(ctx)
	switch {
	case p == nil:
		return nil, Errorf(EUNAUTHORIZED, "authentication required")
	case p.IsNHI() && !p.Can(perm):
		return nil, Errorf(EFORBIDDEN, "an NHI credential may not do this; use an operator token")
	case !p.Can(perm):
		return nil, Errorf(EFORBIDDEN, "role %s may not do this", p.Role)
	}
	return p, nil
}

// AuthorizeOwnRead authorizes a read of records that an owner-role caller
// sees only for its own identities: for such a caller, *ownerID (the read's
// owner filter) becomes the caller's owner id. When what is set, a filter
// naming another owner is refused (EFORBIDDEN, naming what); otherwise it
// is replaced.
func AuthorizeOwnRead(ctx context.Context, ownerID *string, what string) (*Principal, error) {
	p, err := Authorize(ctx, PermRead)
	if err != nil {
		return nil, err
	}
	if p.Role == RoleOwner {
		if what != "" && *ownerID != "" && *ownerID != p.OwnerID {
			return nil, Errorf(EFORBIDDEN, "an owner token sees its own %s only", what)
		}
		*ownerID = p.OwnerID
	}
	return p, nil
}

// AuthorizeStaff is Authorize for acts the owner role never has.
func AuthorizeStaff(ctx context.Context, perm Permission) (*Principal, error) {
	p, err := Authorize(ctx, perm)
	if err == nil && p.Role == RoleOwner {
		return nil, Errorf(EFORBIDDEN, "role owner may not do this")
	}
	return p, err
}

// SystemPrincipal returns an admin principal for Steward's own jobs.
func SystemPrincipal(what string) *Principal {
	return &Principal{Actor: "system:" + what, Role: RoleAdmin}
}

type principalKey struct{}

// WithPrincipal returns ctx carrying the caller.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the caller in ctx, or nil.
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// Require returns the caller in ctx when its role allows perm; what names
// the act in the refusal ("manage credentials").
func Require(ctx context.Context, perm Permission, what string) (*Principal, error) {
	p := PrincipalFrom(ctx)
	if p == nil {
		return nil, Errorf(EUNAUTHORIZED, "authentication required")
	}
	if !p.Can(perm) {
		if p.IsNHI() {
			return nil, Errorf(EFORBIDDEN, "a non-human identity may not %s", what)
		}
		return nil, Errorf(EFORBIDDEN, "role %s may not do this", p.Role)
	}
	return p, nil
}

// CheckOwns refuses an owner-role caller acting on another owner's identity.
func (p *Principal) CheckOwns(i *Identity) error {
	if p.Role == RoleOwner && i.OwnerID != p.OwnerID {
		return Errorf(EFORBIDDEN, "identity %s is not owned by owner %s", i.ID, p.OwnerID)
	}
	return nil
}
