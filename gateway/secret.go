package gateway

import (
	"bytes"
	"context"
	"os"

	"github.com/steward-nhi/steward"
)

// SecretSource gives the current value of an upstream secret held in
// custody. The gateway calls it on every request, so a rotated secret is
// used from the next request on. The returned slice belongs to the
// caller; the gateway never logs it, counts it or returns it in an error.
type SecretSource interface {
	CurrentSecret(ctx context.Context, credentialID string) ([]byte, error)
}

// fileSecret is the option without custody (credential_file): the secret
// is the file's content, trailing newlines removed, read on every request
// so that replacing the file rotates it. It is meant for running the
// gateway before custody holds the secret; custody keeps the secret
// encrypted and audited, a file does neither.
type fileSecret string

func (f fileSecret) read() ([]byte, error) {
	b, err := os.ReadFile(string(f))
	if err != nil {
		// The path is configuration, not the secret: name it, keep the cause.
		return nil, steward.Errorf(steward.EINTERNAL, "read credential_file %s: %v", string(f), errNoSecret(err))
	}
	b = bytes.TrimRight(b, "\r\n")
	if len(b) == 0 {
		return nil, steward.Errorf(steward.EINTERNAL, "credential_file %s is empty", string(f))
	}
	return b, nil
}

// errNoSecret keeps only the kind of an os error (never file content).
func errNoSecret(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err.Error()
	}
	return "unreadable"
}

// secretFor reads route r's current secret.
func (g *Gateway) secretFor(ctx context.Context, r *route) ([]byte, error) {
	if r.cfg.CredentialFile != "" {
		return fileSecret(r.cfg.CredentialFile).read()
	}
	if g.deps.Secrets == nil {
		return nil, steward.Errorf(steward.ENOTIMPLEMENTED, "route %s names credential %s but no secret custody is configured", r.cfg.Name, r.cfg.CredentialID)
	}
	b, err := g.deps.Secrets.CurrentSecret(ctx, r.cfg.CredentialID)
	if err != nil {
		return nil, err
	}
	if len(b) == 0 {
		return nil, steward.Errorf(steward.EINTERNAL, "credential %s has no current secret", r.cfg.CredentialID)
	}
	return b, nil
}
