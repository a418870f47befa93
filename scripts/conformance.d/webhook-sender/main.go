// Command webhook-sender posts one delivery of each kind Steward's sinks
// send (a notification, the same as a CloudEvent, an audit batch and an
// audit checkpoint) through the sinks' own code to a receiver, for
// scripts/conformance to verify with a third-party Standard Webhooks
// verifier.
//
// Usage: webhook-sender URL WHSEC_SECRET
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/audit"
	"github.com/steward-nhi/steward/internal/stdwebhook"
	"github.com/steward-nhi/steward/notify"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "webhook-sender:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: webhook-sender URL WHSEC_SECRET")
	}
	url := args[0]
	key, err := stdwebhook.ParseSecret(args[1])
	if err != nil {
		return err
	}
	ctx := context.Background()
	client := &http.Client{Timeout: 10 * time.Second}
	now := time.Now().UTC()
	n := steward.Notification{Kind: "alert", Severity: "high", Title: "Revoked credential used", Body: "conformance sample",
		IdentityID: "nhi_conformance", Time: now, Fields: map[string]string{"alert_id": "alr_conformance"}}
	for _, envelope := range []string{notify.EnvelopeNone, notify.EnvelopeCloudEvents} {
		w := &notify.Webhook{SinkName: "conformance", URL: url + "/notify", Secret: key, Client: client, Envelope: envelope}
		if err := w.Send(ctx, n); err != nil {
			return fmt.Errorf("notification (envelope %q): %w", envelope, err)
		}
	}
	sink := &audit.WebhookSink{URL: url + "/audit", Secret: key, Client: client, UserAgent: "steward-conformance"}
	evs := []*steward.Event{{Seq: 1, ID: "evt_1", Time: now, Actor: "conformance", Action: "identity.create"},
		{Seq: 2, ID: "evt_2", Time: now, Actor: "conformance", Action: "identity.revoke"}}
	if err := sink.Deliver(ctx, evs); err != nil {
		return fmt.Errorf("audit batch: %w", err)
	}
	cp := &steward.Checkpoint{TreeSize: 2, RootHash: strings.Repeat("a", 64), LastSeq: 2, Time: now, KeyID: "k1"}
	if err := sink.DeliverCheckpoint(ctx, cp); err != nil {
		return fmt.Errorf("audit checkpoint: %w", err)
	}
	return nil
}
