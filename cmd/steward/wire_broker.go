package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/broker"
	"github.com/steward-nhi/steward/internal/secretbox"
	"github.com/steward-nhi/steward/sqlstore"
)

// brokerConfig is the broker section of steward.yaml.
type brokerConfig struct {
	// Disabled turns the credential broker off.
	Disabled bool `yaml:"disabled"`
	// Issuer is the public base URL of the cluster (the tokens' "iss").
	// Every node shares one: the configured one is recorded in the
	// database; a node without one takes the recorded issuer, and the
	// first node records its own address. A node configured with another
	// issuer than the recorded configured one refuses to start unless
	// ReplaceIssuer says to move the cluster to it.
	Issuer        string `yaml:"issuer"`
	ReplaceIssuer bool   `yaml:"replace_issuer"`
	// TokenTTL is the lifetime of access tokens (default 10m).
	TokenTTL steward.Duration `yaml:"token_ttl"`
	// Algorithm signs access tokens: EdDSA (default) or ES256.
	Algorithm string `yaml:"algorithm"`
	// PepperFile holds the secret that keys the digests of API keys and
	// client secrets (64 hex characters). Default: STEWARD_BROKER_PEPPER,
	// else derived from the master key.
	PepperFile string `yaml:"pepper_file"`
	// SyncInterval is how often a node reads other nodes' revocations
	// from the event chain (default 200ms).
	SyncInterval steward.Duration `yaml:"sync_interval"`
	// LastUsedFlush is how often batched last-use times are written
	// (default 5s).
	LastUsedFlush steward.Duration `yaml:"last_used_flush"`
	AutoRevoke    struct {
		// Disabled stops the sweep that marks expired credentials and
		// revokes rotated ones whose overlap ended (verification enforces
		// both either way).
		Disabled bool             `yaml:"disabled"`
		Interval steward.Duration `yaml:"interval"` // default 1m
	} `yaml:"auto_revoke"`
}

// newBroker builds the credential broker, or nil when it is off: disabled,
// or on PostgreSQL without a shared master key. Its authentications go
// into the usage pipeline.
func newBroker(ctx context.Context, cfg Config, getenv func(string) string, store *sqlstore.Store, pipeline steward.UsagePipeline,
	changes *steward.Changes, log *slog.Logger) (*broker.Broker, error) {
	c := cfg.Broker
	if c.Disabled {
		log.Info("credential broker disabled")
		return nil, nil
	}
	box, master, origin, err := loadMasterKey(cfg, getenv)
	if err != nil {
		return nil, err
	}
	if box == nil {
		// Several nodes need one shared key, so none is generated; without
		// one the broker stays off (its routes answer 501). A key that is
		// set but unreadable stops the server above.
		log.Warn("credential broker disabled: set STEWARD_MASTER_KEY or STEWARD_MASTER_KEY_FILE (the same on every node) to issue credentials")
		return nil, nil
	}
	pepper, pepperOrigin, err := loadPepper(c, getenv, master)
	if err != nil {
		return nil, err
	}
	// Every node shares one issuer: the configured one, else the one the
	// database recorded, else (first node) this node's own address.
	scheme := "http"
	if cfg.TLSCert != "" {
		scheme = "https"
	}
	policy, err := cfg.lifecyclePolicy()
	if err != nil {
		return nil, err
	}
	b, err := broker.New(ctx, broker.Config{Store: store, Box: box, Pepper: pepper, Issuer: c.Issuer, DefaultIssuer: scheme + "://" + cfg.Addr,
		ReplaceIssuer: c.ReplaceIssuer, TokenTTL: time.Duration(c.TokenTTL), Algorithm: c.Algorithm, Policy: policy, Logger: log, Usage: pipeline, Changes: changes})
	if err != nil {
		return nil, fmt.Errorf("credential broker: %w", err)
	}
	log.Info("credential broker", "issuer", b.Issuer(), "master_key", origin, "master_key_id", box.KeyID(), "pepper", pepperOrigin)
	return b, nil
}

// loadMasterKey reads the master key: from STEWARD_MASTER_KEY or
// STEWARD_MASTER_KEY_FILE, else (SQLite, one node) generated in the data
// directory. On PostgreSQL without a configured key it returns a nil box.
func loadMasterKey(cfg Config, getenv func(string) string) (*secretbox.Box, []byte, string, error) {
	src := secretbox.Source{Env: getenv("STEWARD_MASTER_KEY"), File: getenv("STEWARD_MASTER_KEY_FILE")}
	if cfg.DB == "" {
		src.DataDir = cfg.DataDir
	} else if src.Env == "" && src.File == "" {
		return nil, nil, "", nil
	}
	master, origin, err := secretbox.Load(src)
	if err != nil {
		return nil, nil, "", &startError{"master_key", err}
	}
	box, err := secretbox.New(master)
	if err != nil {
		return nil, nil, "", fmt.Errorf("master key: %w", err)
	}
	return box, master, origin, nil
}

// brokerJobs are the broker's background work: following other nodes'
// revocations, flushing last-use times, and the credential expiry sweep.
func brokerJobs(c brokerConfig, b *broker.Broker, log *slog.Logger) []func(ctx context.Context) {
	jobs := []func(ctx context.Context){func(ctx context.Context) {
		b.Run(ctx, time.Duration(c.SyncInterval), time.Duration(c.LastUsedFlush))
	}}
	if c.AutoRevoke.Disabled {
		return jobs
	}
	every := time.Duration(c.AutoRevoke.Interval)
	if every <= 0 {
		every = time.Minute
	}
	return append(jobs, func(ctx context.Context) {
		everyTick(ctx, every, func() {
			if n, err := b.ExpireDue(ctx); err != nil && ctx.Err() == nil {
				log.Error("credential expiry sweep", "err", err)
			} else if n > 0 {
				log.Info("credential expiry sweep", "credentials", n)
			}
		})
	})
}

// everyTick runs fn at once, then every interval until ctx ends.
func everyTick(ctx context.Context, every time.Duration, fn func()) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		fn()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// loadPepper reads the digest pepper: STEWARD_BROKER_PEPPER, the
// configured file, or a key derived from the master key.
func loadPepper(c brokerConfig, getenv func(string) string, master []byte) ([]byte, string, error) {
	if v := getenv("STEWARD_BROKER_PEPPER"); v != "" {
		p, err := secretbox.ParseKey(v)
		if err != nil {
			return nil, "", fmt.Errorf("STEWARD_BROKER_PEPPER: %w", err)
		}
		return p, "STEWARD_BROKER_PEPPER", nil
	}
	if c.PepperFile != "" {
		b, err := os.ReadFile(c.PepperFile)
		if err != nil {
			return nil, "", fmt.Errorf("broker.pepper_file %s is unreadable, refusing to start: %w", c.PepperFile, err)
		}
		p, err := secretbox.ParseKey(strings.TrimSpace(string(b)))
		if err != nil {
			return nil, "", fmt.Errorf("broker.pepper_file %s: %w", c.PepperFile, err)
		}
		return p, c.PepperFile, nil
	}
	if len(master) == 0 {
		return nil, "", errors.New("no pepper and no master key")
	}
	m := hmac.New(sha256.New, master)
	m.Write([]byte("steward broker digest pepper v1"))
	return m.Sum(nil), "derived from the master key", nil
}
