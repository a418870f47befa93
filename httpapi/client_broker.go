package httpapi

import (
	"context"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/broker"
)

// BrokerClient calls the credential broker's routes.
type BrokerClient struct{ *Client }

// Issue issues a credential for an identity.
func (c BrokerClient) Issue(ctx context.Context, identityID string, in broker.IssueRequest) (*broker.Issued, error) {
	return call[broker.Issued](ctx, c.Client, "POST", "/api/v1/identities/"+esc(identityID)+"/credentials", in)
}

// Get returns a credential's metadata.
func (c BrokerClient) Get(ctx context.Context, id string) (*steward.BrokerCredential, error) {
	return call[steward.BrokerCredential](ctx, c.Client, "GET", "/api/v1/credentials/"+esc(id), nil)
}

// List lists an identity's credentials.
func (c BrokerClient) List(ctx context.Context, identityID string) ([]*steward.BrokerCredential, error) {
	return list[*steward.BrokerCredential](ctx, c.Client, "/api/v1/identities/"+esc(identityID)+"/credentials")
}

// Rotate rotates a credential.
func (c BrokerClient) Rotate(ctx context.Context, id string, in broker.RotateRequest) (*broker.Rotated, error) {
	return call[broker.Rotated](ctx, c.Client, "POST", "/api/v1/credentials/"+esc(id)+"/rotate", in)
}

// Revoke revokes a credential.
func (c BrokerClient) Revoke(ctx context.Context, id string, in broker.RevokeRequest) (*steward.BrokerCredential, error) {
	return call[steward.BrokerCredential](ctx, c.Client, "POST", "/api/v1/credentials/"+esc(id)+"/revoke", in)
}

// Extend extends a credential's lifetime.
func (c BrokerClient) Extend(ctx context.Context, id string, in broker.ExtendRequest) (*steward.BrokerCredential, error) {
	return call[steward.BrokerCredential](ctx, c.Client, "POST", "/api/v1/credentials/"+esc(id)+"/extend", in)
}

// ListKeys lists the token signing keys.
func (c BrokerClient) ListKeys(ctx context.Context) ([]*steward.SigningKey, error) {
	return list[*steward.SigningKey](ctx, c.Client, "/api/v1/keys")
}

// RotateKeys rotates the token signing key.
func (c BrokerClient) RotateKeys(ctx context.Context) (*steward.SigningKey, error) {
	return call[steward.SigningKey](ctx, c.Client, "POST", "/api/v1/keys/rotate", nil)
}
