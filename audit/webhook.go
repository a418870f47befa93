package audit

import (
	"bytes"
	"context"
	"fmt"
	"io"
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
	req, err := http.NewRequestWithContext(ctx, "POST", w.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if w.UserAgent != "" {
		req.Header.Set("User-Agent", w.UserAgent)
	}
	req.Header.Set("X-Steward-Signature", sig)
	resp, err := w.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook answered %s", resp.Status)
	}
	return nil
}

// Close releases nothing.
func (w *WebhookSink) Close() error { return nil }
