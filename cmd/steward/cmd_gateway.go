package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/steward-nhi/steward/gateway"
)

func newGatewayCmd(g *globals) *cobra.Command {
	var configPath, listen, logLevel string
	cmd := &cobra.Command{
		Use:   "gateway --config gateway.yaml",
		Short: "Run the credential-injecting gateway apart from the server",
		Long: `Run the credential-injecting gateway as its own process. Callers present a
Steward token; the gateway checks it through the server's introspection
endpoint, asks the server's PDP about each request (and each MCP tool call),
injects the route's upstream secret and forwards the request. Usage events
are sent to the server in batches.

The gateway's own --token (env STEWARD_TOKEN) must be an operator token (or
an NHI credential with scopes oauth2:introspect and authzen:evaluate, which
cannot send usage). The file is watched: route changes apply without a
restart. To run the gateway inside "steward serve" instead, put the same
settings in steward.yaml's gateway section.

gateway.yaml:
  listen: 127.0.0.1:9090
  routes:
    - name: billing
      path_prefix: /billing
      upstream: https://api.billing.example
      credential_file: /run/secrets/billing-key   # or credential_id (custody)
      inject: {type: header, name: X-Api-Key}`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runGateway(cmd.Context(), g, configPath, listen, logLevel)
		},
	}
	f := cmd.Flags()
	f.StringVar(&configPath, "config", "", "gateway configuration file (YAML; required)")
	f.StringVar(&listen, "listen", "", "listen address HOST:PORT (overrides the file's listen)")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
}

func runGateway(ctx context.Context, g *globals, path, listen, level string) error {
	if path == "" {
		return fmt.Errorf("--config: name the gateway's configuration file")
	}
	parse := func(b []byte) (*gateway.Config, error) {
		c, err := gateway.ParseConfig(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return c, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("--config: %w", err)
	}
	cfg, err := parse(b)
	if err != nil {
		return err
	}
	if listen != "" {
		cfg.Listen = listen
	}
	if cfg.Listen == "" {
		return fmt.Errorf("%s: listen: the gateway needs HOST:PORT (or --listen)", path)
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return fmt.Errorf("--log-level: %q is not one of debug, info, warn, error", level)
	}
	log := slog.New(slog.NewJSONHandler(g.stderr, &slog.HandlerOptions{Level: lv})).With("component", "gateway")
	server, token := g.remote()
	if token == "" {
		return fmt.Errorf("--token: the gateway needs its own token to reach the Steward server (env STEWARD_TOKEN)")
	}
	if cfg.AuthorizationServer == "" {
		cfg.AuthorizationServer = server
	}
	remote := gateway.NewRemote(server, token, log)
	gw, err := gateway.New(cfg, gateway.Deps{Auth: remote, Decider: remote, Usage: remote, Logger: log})
	if err != nil {
		return err
	}
	ln, err := listenGateway(cfg.Listen)
	if err != nil {
		return err
	}
	jobs, stop := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); remote.Run(jobs) }()
	go func() { defer wg.Done(); gw.Watch(jobs, path, 2*time.Second, parse) }()
	log.Info("steward server", "url", server)
	err = serveGateway(ctx, gw, ln, 30*time.Second, log)
	stop() // after the last request: its usage event is flushed too
	wg.Wait()
	return err
}
