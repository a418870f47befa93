package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/audit"
	"github.com/steward-nhi/steward/internal/secretbox"
)

// auditConfig is the audit section of steward.yaml.
//
//	audit:
//	  checkpoint_every: 1000      # sign a checkpoint every N new entries
//	  checkpoint_interval: 1h     # … or after this long with new entries
//	  checkpoint_file: /var/log/steward/checkpoints.jsonl  # append each one here too
//	  sinks:
//	    - {name: local, type: file, path: /var/log/steward/audit.jsonl, max_bytes: 104857600, max_files: 10}
//	    - {name: siem, type: syslog, network: tcp, address: siem:6514}
//	    - {name: hook, type: webhook, url: https://example/hook, secret_env: HOOK_SECRET}
type auditConfig struct {
	CheckpointEvery    int64             `yaml:"checkpoint_every"`
	CheckpointInterval steward.Duration  `yaml:"checkpoint_interval"`
	CheckpointFile     string            `yaml:"checkpoint_file"`
	Sinks              []auditSinkConfig `yaml:"sinks"`
}

type auditSinkConfig struct {
	Name         string           `yaml:"name"`
	Type         string           `yaml:"type"` // file, syslog, webhook
	Path         string           `yaml:"path"`
	MaxBytes     int64            `yaml:"max_bytes"`
	MaxFiles     int              `yaml:"max_files"`
	Network      string           `yaml:"network"`
	Address      string           `yaml:"address"`
	URL          string           `yaml:"url"`
	SecretEnv    string           `yaml:"secret_env"`
	SecretFile   string           `yaml:"secret_file"`
	Batch        int              `yaml:"batch"`
	PollInterval steward.Duration `yaml:"poll_interval"`
	MaxBackoff   steward.Duration `yaml:"max_backoff"`
}

func (c auditConfig) withDefaults() auditConfig {
	if c.CheckpointEvery == 0 {
		c.CheckpointEvery = 1000
	}
	if c.CheckpointInterval == 0 {
		c.CheckpointInterval = steward.Duration(time.Hour)
	}
	return c
}

// masterBox opens the envelope-encryption box from STEWARD_MASTER_KEY,
// STEWARD_MASTER_KEY_FILE or (SQLite only) DATA_DIR/master.key.
func masterBox(getenv func(string) string, dataDir string) (*secretbox.Box, error) {
	key, _, err := secretbox.Load(secretbox.Source{Env: getenv("STEWARD_MASTER_KEY"), File: getenv("STEWARD_MASTER_KEY_FILE"), DataDir: dataDir})
	if err != nil {
		return nil, err
	}
	return secretbox.New(key)
}

// buildAudit builds the audit service behind /api/v1/audit, its signing
// key (when a master key exists), the checkpoint job and the sinks.
func (a *app) buildAudit(ctx context.Context, getenv func(string) string) error {
	cfg := a.cfg.Audit.withDefaults()
	dataDir := ""
	if a.cfg.DB == "" {
		dataDir = a.cfg.DataDir
	}
	box, err := masterBox(getenv, dataDir)
	switch {
	case err != nil && dataDir == "" && getenv("STEWARD_MASTER_KEY") == "" && getenv("STEWARD_MASTER_KEY_FILE") == "":
		// PostgreSQL without a master key: the chain is kept and verified,
		// but no checkpoint can be signed.
		a.log.Warn("audit: no master key (STEWARD_MASTER_KEY or STEWARD_MASTER_KEY_FILE); signed checkpoints are disabled")
	case err != nil:
		return fmt.Errorf("audit: %w", err)
	default:
		if a.signer, err = audit.LoadSigner(ctx, a.store, box, time.Now()); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
	}
	var onCP func(c *steward.Checkpoint)
	if cfg.CheckpointFile != "" {
		var mu sync.Mutex
		path := cfg.CheckpointFile
		onCP = func(c *steward.Checkpoint) {
			mu.Lock()
			defer mu.Unlock()
			if err := appendJSONLine(path, c); err != nil {
				a.log.Error("audit: export checkpoint", "file", path, "err", err)
			}
		}
	}
	a.audit = audit.NewService(audit.Config{Store: a.store, Signer: a.signer, Logger: a.log, OnCheckpoint: onCP})
	if a.signer != nil {
		a.jobs = append(a.jobs, func(ctx context.Context) {
			a.audit.RunCheckpoints(ctx, cfg.CheckpointEvery, time.Duration(cfg.CheckpointInterval))
		})
	}
	seen := map[string]bool{}
	for i, sc := range cfg.Sinks {
		sink, err := newSink(sc, getenv)
		if err != nil {
			return fmt.Errorf("config audit.sinks[%d]: %w", i, err)
		}
		if seen[sc.Name] {
			return fmt.Errorf("config audit.sinks[%d]: name %q is used twice", i, sc.Name)
		}
		seen[sc.Name] = true
		r := &audit.SinkRunner{Name: sc.Name, Store: a.store, Sink: sink, Batch: sc.Batch, Poll: time.Duration(sc.PollInterval),
			MaxBackoff: time.Duration(sc.MaxBackoff), Log: a.log}
		a.jobs = append(a.jobs, r.Run)
	}
	keyID := ""
	if a.signer != nil {
		keyID = a.signer.KeyID()
	}
	a.log.Info("audit chain", "signing_key", keyID, "checkpoint_every", cfg.CheckpointEvery, "sinks", len(cfg.Sinks))
	return nil
}

func appendJSONLine(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func newSink(c auditSinkConfig, getenv func(string) string) (audit.Sink, error) {
	if c.Name == "" {
		return nil, fmt.Errorf("name is required")
	}
	switch c.Type {
	case "file":
		if c.Path == "" {
			return nil, fmt.Errorf("path is required for a file sink")
		}
		maxBytes := c.MaxBytes
		if maxBytes == 0 {
			maxBytes = 100 << 20
		}
		return &audit.FileSink{Path: c.Path, MaxBytes: maxBytes, MaxFiles: max(c.MaxFiles, 5)}, nil
	case "syslog":
		switch c.Network {
		case "tcp", "udp", "unix":
		default:
			return nil, fmt.Errorf("network %q is not tcp, udp or unix", c.Network)
		}
		if c.Address == "" {
			return nil, fmt.Errorf("address is required for a syslog sink")
		}
		return &audit.SyslogSink{Network: c.Network, Address: c.Address}, nil
	case "webhook":
		if !strings.HasPrefix(c.URL, "https://") && !strings.HasPrefix(c.URL, "http://") {
			return nil, fmt.Errorf("url %q is not an http(s) URL", c.URL)
		}
		var secret []byte
		switch {
		case c.SecretEnv != "":
			secret = []byte(getenv(c.SecretEnv))
		case c.SecretFile != "":
			b, err := os.ReadFile(c.SecretFile)
			if err != nil {
				return nil, fmt.Errorf("secret_file: %w", err)
			}
			secret = bytes.TrimSpace(b)
		}
		if len(secret) == 0 {
			return nil, fmt.Errorf("a webhook sink needs a signing secret: secret_env or secret_file")
		}
		return &audit.WebhookSink{URL: c.URL, Secret: secret, Client: &http.Client{Timeout: 30 * time.Second}, UserAgent: "steward/" + version}, nil
	}
	return nil, fmt.Errorf("type %q is not file, syslog or webhook", c.Type)
}
