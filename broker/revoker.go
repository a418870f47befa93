package broker

import "context"

// RevokeCredential revokes one credential with a reason, as Steward's own
// jobs do (dormancy enforcement, alert responses); the caller's principal
// is in ctx.
func (b *Broker) RevokeCredential(ctx context.Context, id, reason string) error {
	_, err := b.Revoke(ctx, id, RevokeRequest{Reason: reason})
	return err
}
