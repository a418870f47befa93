package audit

import (
	"context"
	"net/http"
	"time"

	"github.com/steward-nhi/steward"
)

// WebhookSink posts batches of entries as JSON signed as Standard Webhooks
// define (webhook-id, webhook-timestamp, webhook-signature: see
// internal/stdwebhook), so a receiver can refuse a replay; any 2xx answer
// acknowledges the batch.
type WebhookSink struct {
	URL string
	// Secret is the HMAC key (stdwebhook.ParseSecret of the configured
	// secret).
	Secret    []byte
	Client    *http.Client
	UserAgent string
	// Now is the clock of the timestamps (tests).
	Now func() time.Time
}

// Deliver posts one batch.
func (w *WebhookSink) Deliver(ctx context.Context, evs []*steward.Event) error {
	body, id, err := WebhookBody(evs)
	if err != nil {
		return err
	}
	return w.post(ctx, id, body)
}

// Close releases nothing.
func (w *WebhookSink) Close() error { return nil }
