package gateway

import (
	"context"
	"crypto/sha256"
	"os"
	"time"
)

// Watch re-reads the file at path every interval and reloads the routes
// when its content changed; parse extracts the gateway configuration
// from the file. A file that does not parse or validate is logged and
// the routes in force stay. It returns when ctx ends.
func (g *Gateway) Watch(ctx context.Context, path string, every time.Duration, parse func([]byte) (*Config, error)) {
	var last [32]byte
	if b, err := os.ReadFile(path); err == nil {
		last = sha256.Sum256(b)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		b, err := os.ReadFile(path)
		if err != nil {
			g.deps.Logger.Warn("gateway config unreadable; the routes in force stay", "file", path, "err", errNoSecret(err))
			continue
		}
		sum := sha256.Sum256(b)
		if sum == last {
			continue
		}
		last = sum
		cfg, err := parse(b)
		if err == nil {
			if cur := g.Config(); cfg.Listen != cur.Listen {
				g.deps.Logger.Warn("gateway listen address changes only on restart", "listen", cur.Listen, "configured", cfg.Listen)
				cfg.Listen = cur.Listen
			}
			err = g.Reload(cfg)
		}
		if err != nil {
			g.deps.Logger.Error("gateway config refused; the routes in force stay", "file", path, "err", err)
			continue
		}
		g.deps.Logger.Info("gateway routes reloaded", "file", path, "routes", len(cfg.Routes))
	}
}
