package main

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
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
		return nil, &startError{"master_key", err}
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
	// The checkpoints are kept outside the database too: appended to a file
	// (checkpoint_file, or beside the SQLite database) and pushed to every
	// sink that takes them, so a truncated tail is caught at start.
	var ext *audit.CheckpointFile
	switch {
	case cfg.CheckpointFile != "":
		ext = &audit.CheckpointFile{Path: cfg.CheckpointFile}
	case dataDir != "":
		ext = &audit.CheckpointFile{Path: filepath.Join(dataDir, "audit-checkpoints.jsonl")}
	}
	var cpSinks []audit.CheckpointSink
	onCP := func(c *steward.Checkpoint) {
		if ext != nil {
			if err := ext.Append(c); err != nil {
				a.log.Error("audit: keep checkpoint outside the database", "err", err)
			}
		}
		for _, s := range cpSinks {
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				if err := s.DeliverCheckpoint(ctx, c); err != nil {
					a.log.Error("audit: push checkpoint to a sink", "tree_size", c.TreeSize, "err", err)
				}
			}()
		}
	}
	var latest func() (*steward.Checkpoint, error)
	if ext != nil {
		latest = ext.Latest
	}
	a.audit = audit.NewService(audit.Config{Store: a.store, Signer: a.signer, Logger: a.log, OnCheckpoint: onCP, External: latest})
	a.jobs = append(a.jobs, a.verifyChainAtStart)
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
		if cs, ok := sink.(audit.CheckpointSink); ok {
			cpSinks = append(cpSinks, cs)
		}
		r := &audit.SinkRunner{Name: sc.Name, Store: a.store, Sink: sink, Batch: sc.Batch, Poll: time.Duration(sc.PollInterval),
			MaxBackoff: time.Duration(sc.MaxBackoff), Log: a.log}
		a.jobs = append(a.jobs, r.Run)
	}
	keyID := ""
	if a.signer != nil {
		keyID = a.signer.KeyID()
	}
	extPath := ""
	if ext != nil {
		extPath = ext.Path
	} else if len(cpSinks) == 0 {
		a.log.Warn("audit: checkpoints are kept only in the database; set audit.checkpoint_file or a file or webhook sink so a truncated tail can be detected")
	}
	a.log.Info("audit chain", "signing_key", keyID, "checkpoint_every", cfg.CheckpointEvery, "sinks", len(cfg.Sinks), "external_checkpoints", extPath)
	return nil
}

// verifyChainAtStart verifies the chain against its checkpoints and the
// one kept outside the database. A broken chain is logged as an error,
// raised as a critical alert, and makes /readyz answer 503 (the server
// goes on serving, so the evidence can be examined).
func (a *app) verifyChainAtStart(ctx context.Context) {
	rep, err := a.audit.VerifyAtStart(ctx)
	if err != nil {
		if ctx.Err() == nil {
			a.log.Error("audit: cannot verify the chain at start", "err", err)
		}
		return
	}
	if rep.OK {
		a.log.Info("audit chain verified at start", "entries", rep.Entries, "checkpoints", rep.Checkpoints, "external_checkpoint", rep.External)
		return
	}
	a.log.Error("AUDIT CHAIN TAMPERED WITH: the chain does not verify; /readyz reports unhealthy", "first_bad_seq", rep.FirstBadSeq,
		"kind", rep.Kind, "detail", rep.Detail)
	alert := steward.RaisedAlert{Detector: "audit_chain", Title: "The audit chain does not verify: " + rep.Kind, Severity: steward.SeverityCritical,
		OWASP: "NHI2:2025", CSF: []string{"PR.DS-01", "DE.CM-09", "RS.AN-03"},
		Evidence: map[string]any{"first_bad_seq": rep.FirstBadSeq, "kind": rep.Kind, "detail": rep.Detail, "external_checkpoint": rep.External}}
	switch {
	case a.alerts != nil:
		if _, err := a.alerts.RaiseAlert(ctx, alert); err != nil && ctx.Err() == nil {
			a.log.Error("audit: raise the tampering alert", "err", err)
		}
	case a.notifier != nil:
		_ = a.notifier.Notify(ctx, steward.Notification{Kind: "alert", Severity: string(steward.SeverityCritical), Title: alert.Title,
			Body: rep.Summary(), Time: time.Now().UTC()})
	}
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
		if err := checkSyslog(c.Network, c.Address); err != nil {
			return nil, err
		}
		return &audit.SyslogSink{Network: c.Network, Address: c.Address}, nil
	case "webhook":
		if err := checkHTTPURL(c.URL); err != nil {
			return nil, err
		}
		secret, err := signingSecret(c.SecretEnv, c.SecretFile, getenv)
		if err != nil {
			return nil, err
		}
		if len(secret) == 0 {
			return nil, fmt.Errorf("a webhook sink needs a signing secret: secret_env or secret_file")
		}
		return &audit.WebhookSink{URL: c.URL, Secret: secret, Client: &http.Client{Timeout: 30 * time.Second}, UserAgent: "steward/" + version}, nil
	}
	return nil, fmt.Errorf("type %q is not file, syslog or webhook", c.Type)
}

// checkSyslog checks a syslog sink's network and address (audit and alert
// sinks alike).
func checkSyslog(network, address string) error {
	switch network {
	case "tcp", "udp", "unix":
	default:
		return fmt.Errorf("network %q is not tcp, udp or unix", network)
	}
	if address == "" {
		return fmt.Errorf("address is required for a syslog sink")
	}
	return nil
}

// checkHTTPURL checks that a webhook sink's URL is http(s).
func checkHTTPURL(u string) error {
	if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
		return fmt.Errorf("url %q is not an http(s) URL", u)
	}
	return nil
}
