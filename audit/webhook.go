package audit

import (
	"context"
	"net/http"

	"github.com/steward-nhi/steward"
)

// WebhookSink posts batches of entries as JSON signed with HMAC-SHA256
// (X-Steward-Signature: sha256=<hex>, see WebhookBody); any 2xx answer
// acknowledges the batch.
type WebhookSink struct {
	URL       string
	Secret    []byte
	Client    *http.Client
	UserAgent string
}

// Deliver posts one batch.
func (w *WebhookSink) Deliver(ctx context.Context, evs []*steward.Event) error {
	body, sig, err := WebhookBody(evs, w.Secret)
	if err != nil {
		return err
	}
	return w.post(ctx, body, sig)
}

// Close releases nothing.
func (w *WebhookSink) Close() error { return nil }
