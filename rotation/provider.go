// Package rotation performs the rotation of secrets in custody against the
// systems that honour them, as a state machine whose steps are persisted
// (create the pending secret, set it at the provider, test it, finish by
// promoting it and proving the old one refused), so that a crash or a
// provider failure between steps never loses the only working secret and
// a rerun resumes. It also hands out dynamic credentials (leases) for
// providers that can create and drop accounts. One sub-package per
// provider implements Provider; cmd/steward lists them explicitly.
package rotation

import (
	"context"
	"errors"
	"time"
)

// ErrRefused says the provider refused a secret: the answer a revocation
// proof waits for.
var ErrRefused = errors.New("refused by the provider")

// Provider rotates the secret of one account at one system.
type Provider interface {
	// Set makes secret the one the provider honours for the account ref
	// (old is the secret in force, for providers that need it; nil when
	// Set restores the old secret after a failed rotation, and the
	// provider should then honour secret alone); answer is what the
	// provider said, recorded in the rotation's events.
	Set(ctx context.Context, ref string, secret, old []byte) (answer string, err error)
	// Check authenticates as ref with secret: nil when accepted, an error
	// wrapping ErrRefused when refused, any other error when it could not
	// tell (unreachable).
	Check(ctx context.Context, ref string, secret []byte) error
	Close()
}

// Retirer is a provider that honours the old and the new secret side by
// side after Set (Redis ACL users hold several passwords, an owner's
// webhook may keep both): Retire, in the finish step, withdraws the old
// one before the proof that it is refused.
type Retirer interface {
	Retire(ctx context.Context, ref string, old []byte) (answer string, err error)
}

// LeaseSpec is what a dynamic credential is created from.
type LeaseSpec struct {
	Username   string
	Password   string
	Expires    time.Time
	Statements []string
}

// Dynamic is a provider that creates and drops accounts for leases.
type Dynamic interface {
	Provider
	CreateAccount(ctx context.Context, spec LeaseSpec) error
	// ExtendAccount moves the account's expiry at the provider.
	ExtendAccount(ctx context.Context, username string, expires time.Time) error
	// DropAccount ends the account's sessions and drops it (and what it
	// owns); an account already gone is not an error. answer says what
	// the provider did.
	DropAccount(ctx context.Context, username string) (answer string, err error)
}

// Warmer is a provider that can open its connections ahead of use, so
// that the first requests after a start do not each pay a login at the
// provider (for PostgreSQL a SCRAM exchange per connection).
type Warmer interface {
	Warm(ctx context.Context, conns int) error
}

// Kind is one provider implementation: how to split a rotator's
// configuration into public settings and the admin secret kept in
// custody, and how to open the provider.
type Kind struct {
	Name string
	// Split returns the configuration without secrets, the admin account
	// (recorded as the custody credential's reference) and the admin
	// secret (nil when there is none).
	Split func(cfg map[string]string) (public map[string]string, account string, secret []byte, err error)
	// Open connects to the provider with the public configuration and the
	// admin secret from custody.
	Open func(ctx context.Context, cfg map[string]string, secret []byte) (Provider, error)
}
