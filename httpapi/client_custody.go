package httpapi

import (
	"context"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/custody"
	"github.com/steward-nhi/steward/rotation"
)

// CustodyClient calls the custody, rotation and lease routes.
type CustodyClient struct{ *Client }

// Custody returns the custody and rotation client.
func (c *Client) Custody() CustodyClient { return CustodyClient{c} }

// Register registers a password credential with its secret in custody.
func (c CustodyClient) Register(ctx context.Context, identityID string, in custody.RegisterRequest) (*custody.Registered, error) {
	return call[custody.Registered](ctx, c.Client, "POST", "/api/v1/identities/"+esc(identityID)+"/credentials", in)
}

// Put stores a new version of a credential's secret.
func (c CustodyClient) Put(ctx context.Context, id string, in custody.PutRequest) (*custody.Registered, error) {
	return call[custody.Registered](ctx, c.Client, "PUT", "/api/v1/credentials/"+esc(id)+"/secret", in)
}

// Read reads a credential's current secret.
func (c CustodyClient) Read(ctx context.Context, id string) (*custody.SecretRead, error) {
	return call[custody.SecretRead](ctx, c.Client, "GET", "/api/v1/credentials/"+esc(id)+"/secret", nil)
}

// Rotate rotates a secret in custody at its provider.
func (c CustodyClient) Rotate(ctx context.Context, id string, in rotation.RotateRequest) (*steward.Rotation, error) {
	return call[steward.Rotation](ctx, c.Client, "POST", "/api/v1/credentials/"+esc(id)+"/rotate", in)
}

// Status returns a credential's custody and latest rotation.
func (c CustodyClient) Status(ctx context.Context, id string) (*rotation.Status, error) {
	return call[rotation.Status](ctx, c.Client, "GET", "/api/v1/credentials/"+esc(id)+"/custody", nil)
}

// History lists a credential's rotations.
func (c CustodyClient) History(ctx context.Context, id string) ([]*steward.Rotation, error) {
	return list[*steward.Rotation](ctx, c.Client, "/api/v1/credentials/"+esc(id)+"/rotations")
}

// CreateRotator creates a rotator.
func (c CustodyClient) CreateRotator(ctx context.Context, in rotation.RotatorRequest) (*steward.Rotator, error) {
	return call[steward.Rotator](ctx, c.Client, "POST", "/api/v1/rotators", in)
}

// GetRotator returns a rotator.
func (c CustodyClient) GetRotator(ctx context.Context, name string) (*steward.Rotator, error) {
	return call[steward.Rotator](ctx, c.Client, "GET", "/api/v1/rotators/"+esc(name), nil)
}

// ListRotators lists the rotators.
func (c CustodyClient) ListRotators(ctx context.Context) ([]*steward.Rotator, error) {
	return list[*steward.Rotator](ctx, c.Client, "/api/v1/rotators")
}

// CreateLease creates a dynamic credential.
func (c CustodyClient) CreateLease(ctx context.Context, in rotation.LeaseRequest) (*rotation.LeaseGrant, error) {
	return call[rotation.LeaseGrant](ctx, c.Client, "POST", "/api/v1/leases", in)
}

// RenewLease renews a lease.
func (c CustodyClient) RenewLease(ctx context.Context, id string, in rotation.RenewRequest) (*rotation.Renewed, error) {
	return call[rotation.Renewed](ctx, c.Client, "POST", "/api/v1/leases/"+esc(id)+"/renew", in)
}

// RevokeLease revokes a lease.
func (c CustodyClient) RevokeLease(ctx context.Context, id string) (*steward.Lease, error) {
	return call[steward.Lease](ctx, c.Client, "POST", "/api/v1/leases/"+esc(id)+"/revoke", nil)
}

// ListLeases lists leases.
func (c CustodyClient) ListLeases(ctx context.Context, identityID, status string) ([]*steward.Lease, error) {
	return list[*steward.Lease](ctx, c.Client, "/api/v1/leases?"+params("identity_id", identityID, "status", status).Encode())
}
