package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/stdwebhook"
)

// CheckpointFile keeps the signed checkpoints outside the database, one
// JSON line each, appended and synced as they are made. A database
// administrator who truncates the chain's tail and deletes the checkpoints
// that covered it is caught by the newest line here (Latest), which the
// database alone cannot give.
type CheckpointFile struct {
	Path string
	mu   sync.Mutex
}

// Append adds c and syncs the file.
func (f *CheckpointFile) Append(c *steward.Checkpoint) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	fh, err := os.OpenFile(f.Path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("checkpoint file %s: %w", f.Path, err)
	}
	if _, err := fh.Write(append(b, '\n')); err != nil {
		fh.Close()
		return fmt.Errorf("checkpoint file %s: %w", f.Path, err)
	}
	if err := fh.Sync(); err != nil {
		fh.Close()
		return fmt.Errorf("checkpoint file %s: %w", f.Path, err)
	}
	return fh.Close()
}

// Latest returns the checkpoint of the largest tree in the file, or nil
// when the file does not exist yet. A line that does not parse is an
// error naming the line: the file is evidence, not a cache.
func (f *CheckpointFile) Latest() (*steward.Checkpoint, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, err := os.ReadFile(f.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("checkpoint file %s: %w", f.Path, err)
	}
	var latest *steward.Checkpoint
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var c steward.Checkpoint
		if err := json.Unmarshal(line, &c); err != nil {
			return nil, fmt.Errorf("checkpoint file %s line %d: %w", f.Path, n, err)
		}
		if latest == nil || c.TreeSize >= latest.TreeSize {
			latest = &c
		}
	}
	return latest, sc.Err()
}

// CheckpointSink is a sink that also takes each signed checkpoint as it
// is made, so the checkpoints live outside the database too.
type CheckpointSink interface {
	DeliverCheckpoint(ctx context.Context, c *steward.Checkpoint) error
}

// CheckpointLine is how a checkpoint appears among the entries a sink
// receives: {"type":"checkpoint","checkpoint":{…}}.
type CheckpointLine struct {
	Type       string              `json:"type"`
	Checkpoint *steward.Checkpoint `json:"checkpoint"`
}

// DeliverCheckpoint appends the checkpoint as a line of its own.
func (s *FileSink) DeliverCheckpoint(ctx context.Context, c *steward.Checkpoint) error {
	b, err := json.Marshal(CheckpointLine{Type: "checkpoint", Checkpoint: c})
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.open(); err != nil {
		return err
	}
	n, err := s.f.Write(append(b, '\n'))
	s.size += int64(n)
	if err != nil {
		return err
	}
	return s.f.Sync()
}

// DeliverCheckpoint posts {"type":"checkpoint","checkpoint":{…}}, signed
// like the batches.
func (w *WebhookSink) DeliverCheckpoint(ctx context.Context, c *steward.Checkpoint) error {
	body, err := json.Marshal(CheckpointLine{Type: "checkpoint", Checkpoint: c})
	if err != nil {
		return err
	}
	return w.post(ctx, fmt.Sprintf("ckp_%d_%s", c.TreeSize, c.RootHash), body)
}

var (
	_ CheckpointSink = (*FileSink)(nil)
	_ CheckpointSink = (*WebhookSink)(nil)
)

// post sends one signed body.
func (w *WebhookSink) post(ctx context.Context, id string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, "POST", w.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if w.UserAgent != "" {
		req.Header.Set("User-Agent", w.UserAgent)
	}
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	stdwebhook.SetHeaders(req.Header, w.Secret, id, now(), body)
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
