package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/steward-nhi/steward/gateway"
)

// newGateway builds the credential-injecting gateway of the serve process
// from steward.yaml's gateway section (nil without one): the broker
// authenticates callers, the PDP decides, and every request goes into the
// one usage pipeline. Routes name their upstream secret by credential_id
// (read from custody on every request, so a rotated secret is used from
// the next one) or, without custody, by credential_file.
func newGateway(cfg *gateway.Config, a *app) (*gateway.Gateway, error) {
	if cfg == nil {
		return nil, nil
	}
	switch {
	case cfg.Listen == "":
		return nil, fmt.Errorf("config gateway.listen: the gateway needs its own HOST:PORT")
	case a.broker == nil:
		return nil, fmt.Errorf("config gateway: the gateway authenticates callers with the credential broker, which needs a master key (STEWARD_MASTER_KEY)")
	case a.pdp == nil:
		return nil, fmt.Errorf("config gateway: the gateway needs the policy decision point (authz.disabled is set)")
	}
	if cfg.AuthorizationServer == "" {
		cfg.AuthorizationServer = a.broker.Issuer()
	}
	deps := gateway.Deps{Auth: a.broker, Decider: a.pdp, Usage: a.usage, Observe: a.metrics.ObserveGateway, Logger: a.log.With("component", "gateway")}
	if a.custody != nil {
		deps.Secrets = a.custody
	}
	g, err := gateway.New(cfg, deps)
	if err != nil {
		return nil, fmt.Errorf("config gateway: %w", err)
	}
	return g, nil
}

// gatewaySection reads the gateway section of a steward.yaml (for hot
// reload), as strictly as the whole file is read at start.
func gatewaySection(b []byte) (*gateway.Config, error) {
	var f struct {
		Gateway yaml.Node `yaml:"gateway"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("config file: %s", yamlMessage(err))
	}
	if f.Gateway.Kind == 0 {
		return nil, fmt.Errorf("config file: the gateway section is gone; the gateway stops only on restart")
	}
	sec, err := yaml.Marshal(&f.Gateway)
	if err != nil {
		return nil, err
	}
	return gateway.ParseConfig(sec)
}

// listenGateway opens the gateway's listener.
func listenGateway(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("gateway: listen on %s: %w", addr, err)
	}
	return ln, nil
}

// serveGateway serves g on ln (HTTP/1.1 and cleartext HTTP/2) until ctx
// ends, then drains requests in flight for up to grace.
func serveGateway(ctx context.Context, g *gateway.Gateway, ln net.Listener, grace time.Duration, log *slog.Logger) error {
	hs := &http.Server{
		Handler:           g,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	hs.Protocols = new(http.Protocols)
	hs.Protocols.SetHTTP1(true)
	hs.Protocols.SetUnencryptedHTTP2(true)
	log.Info("gateway listening", "addr", ln.Addr().String(), "routes", len(g.Config().Routes))
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("gateway: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("gateway shutdown: %w", err)
	}
	return nil
}
