package audit_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/audit"
	"github.com/steward-nhi/steward/internal/stdwebhook/webhooktest"
)

// TestCheckpointsLeaveTheDatabase: the checkpoint file keeps every
// checkpoint and answers the largest; file and webhook sinks take each
// checkpoint as a line of its own, the webhook's signed like its batches.
func TestCheckpointsLeaveTheDatabase(t *testing.T) {
	dir := t.TempDir()
	cp := func(n int64) *steward.Checkpoint {
		return &steward.Checkpoint{TreeSize: n, RootHash: strings.Repeat("a", 64), KeyID: "k1", Time: time.Unix(1700000000+n, 0).UTC()}
	}

	t.Run("the file answers the largest checkpoint, and nothing before the first", func(t *testing.T) {
		f := &audit.CheckpointFile{Path: filepath.Join(dir, "cps.jsonl")}
		if got, err := f.Latest(); got != nil || err != nil {
			t.Fatalf("empty: %+v %v", got, err)
		}
		for _, n := range []int64{10, 30, 20} {
			if err := f.Append(cp(n)); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := f.Latest(); err != nil || got.TreeSize != 30 {
			t.Fatalf("latest %+v %v, want tree size 30", got, err)
		}
	})

	t.Run("a damaged line is an error naming it", func(t *testing.T) {
		path := filepath.Join(dir, "bad.jsonl")
		if err := os.WriteFile(path, []byte(`{"tree_size":1}`+"\n{not json\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := (&audit.CheckpointFile{Path: path}).Latest(); err == nil || !strings.Contains(err.Error(), "line 2") {
			t.Fatalf("error %v does not name line 2", err)
		}
	})

	t.Run("a file sink appends the checkpoint as a typed line", func(t *testing.T) {
		s := &audit.FileSink{Path: filepath.Join(dir, "audit.jsonl")}
		defer s.Close()
		if err := s.DeliverCheckpoint(context.Background(), cp(7)); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(s.Path)
		if err != nil {
			t.Fatal(err)
		}
		var line audit.CheckpointLine
		if err := json.Unmarshal(b, &line); err != nil || line.Type != "checkpoint" || line.Checkpoint.TreeSize != 7 {
			t.Fatalf("line %s: %+v %v", b, line, err)
		}
	})

	t.Run("a webhook sink posts it signed", func(t *testing.T) {
		secret := []byte("webhook-secret-0123456789")
		srv := webhooktest.New(t)
		w := &audit.WebhookSink{URL: srv.URL, Secret: secret, Client: srv.Client()}
		if err := w.DeliverCheckpoint(context.Background(), cp(9)); err != nil {
			t.Fatal(err)
		}
		body, hdr := srv.Last()
		if !audit.CheckWebhookSignature(secret, hdr, body, time.Now()) || !strings.Contains(string(body), `"type":"checkpoint"`) ||
			!strings.HasPrefix(hdr.Get("webhook-id"), "ckp_9_") {
			t.Fatalf("body %s headers %v", body, hdr)
		}
	})
}
