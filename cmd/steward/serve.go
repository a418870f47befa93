package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/steward-nhi/steward/httpapi"
	"github.com/steward-nhi/steward/internal/demo"
	"github.com/steward-nhi/steward/inventory"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "0.0.0-dev"

func newServeCmd(g *globals) *cobra.Command {
	var configPath string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the Steward server (REST API, metrics, health)",
		Long: `Run the Steward server. With no database flags it keeps an embedded SQLite
database in --data-dir; with --db postgres://… several servers can share one
PostgreSQL. Configuration: flags > STEWARD_* environment > steward.yaml > defaults.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadServerConfig(cmd, g, configPath)
			if err != nil {
				return err
			}
			return explain(serve(cmd.Context(), cfg, g), cfg)
		},
	}
	addServerFlags(cmd, &configPath)
	return cmd
}

// loadServerConfig loads the configuration of serve and doctor.
func loadServerConfig(cmd *cobra.Command, g *globals, configPath string) (Config, error) {
	if configPath == "" {
		configPath = g.getenv("STEWARD_CONFIG")
	}
	return loadConfig(configPath, g.getenv, cmd.Flags())
}

// addServerFlags declares the flags of the server's configuration (serve
// and doctor take the same).
func addServerFlags(cmd *cobra.Command, configPath *string) {
	f := cmd.Flags()
	d := defaultConfig()
	f.StringVar(configPath, "config", "", "config file (default ./steward.yaml when present; env STEWARD_CONFIG)")
	f.String("addr", d.Addr, "listen address HOST:PORT (env STEWARD_ADDR)")
	f.String("data-dir", d.DataDir, "directory of the embedded SQLite database (env STEWARD_DATA_DIR)")
	f.String("db", "", "PostgreSQL URL postgres://… instead of SQLite (env STEWARD_DB)")
	f.String("tls-cert", "", "TLS certificate file (env STEWARD_TLS_CERT)")
	f.String("tls-key", "", "TLS private key file (env STEWARD_TLS_KEY)")
	f.String("log-level", d.LogLevel, "debug, info, warn or error (env STEWARD_LOG_LEVEL)")
	f.String("log-format", d.LogFormat, "auto (text on a terminal, else JSON), json or text (env STEWARD_LOG_FORMAT; NO_COLOR turns colour off)")
	f.Float64("rate-limit", d.RateLimit, "requests per second allowed per token, 0 for no limit (env STEWARD_RATE_LIMIT)")
	f.String("shutdown-timeout", d.ShutdownTimeout.String(), "how long to wait for requests in flight on shutdown")
	f.String("default-sensitivity", d.DefaultSensitivity, "tier of imported identities whose export does not say")
	f.Bool("demo", false, "seed a realistic synthetic organisation into an empty inventory")
}

func serve(ctx context.Context, cfg Config, g *globals) error {
	log := newLogger(cfg, g.stderr, isTerminal(g.stderr), g.getenv)
	slog.SetDefault(log)
	tracer, shutdownTracing, err := setupTracing(ctx, g.getenv)
	if err != nil {
		return err
	}
	defer shutdownTracing()

	a, err := assemble(ctx, cfg, g, log)
	if err != nil {
		return err
	}
	defer a.close()
	if err := bootstrap(ctx, a, g, log); err != nil {
		return err
	}
	srv := httpapi.NewServer(a.httpDeps(tracer))

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return &startError{"listen", fmt.Errorf("listen on %s: %w", cfg.Addr, err)}
	}
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       5 * time.Minute,
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	scheme := "http"
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			ln.Close()
			return fmt.Errorf("load TLS certificate: %w", err)
		}
		hs.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
		ln = tls.NewListener(ln, hs.TLSConfig)
		scheme = "https"
	} else if !isLoopback(ln.Addr()) {
		log.Warn("SERVING PLAIN HTTP ON A NON-LOOPBACK ADDRESS: bearer tokens cross the network in clear text; use --tls-cert/--tls-key or a TLS-terminating proxy", "addr", ln.Addr().String())
	}
	log.Info("listening", "addr", ln.Addr().String(), "url", scheme+"://"+ln.Addr().String(), "version", version)

	jobsCtx, stopJobs := context.WithCancel(ctx)
	jobsDone := make(chan struct{})
	go func() {
		defer close(jobsDone)
		runJobs(jobsCtx, a.inventory, log, a.jobs)
	}()

	errc := make(chan error, 1)
	gwDone := make(chan error, 1)
	if a.gateway != nil {
		gln, err := listenGateway(cfg.Gateway.Listen)
		if err != nil {
			ln.Close()
			stopJobs()
			<-jobsDone
			return err
		}
		gctx, stopGateway := context.WithCancel(ctx)
		defer func() { stopGateway(); <-gwDone }()
		go func() { gwDone <- serveGateway(gctx, a.gateway, gln, time.Duration(cfg.ShutdownTimeout), log) }()
	} else {
		gwDone <- nil
	}
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		stopJobs()
		<-jobsDone
		return fmt.Errorf("server: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing requests in flight")
	stopJobs()
	sctx, cancel := context.WithTimeout(context.Background(), time.Duration(cfg.ShutdownTimeout))
	defer cancel()
	err = hs.Shutdown(sctx)
	<-jobsDone
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

// bootstrap creates the first admin token on an empty database and seeds
// the demo organisation when asked.
func bootstrap(ctx context.Context, a *app, g *globals, log *slog.Logger) error {
	adminToken := g.getenv("STEWARD_ADMIN_TOKEN")
	secret, err := a.inventory.Bootstrap(ctx, adminToken)
	if err != nil {
		return fmt.Errorf("bootstrap admin token: %w", err)
	}
	if secret != "" && adminToken == "" {
		fmt.Fprintf(g.stderr, "\n  First start: an admin token was generated. It is shown once; store it now:\n\n    %s\n\n  Use it with: export STEWARD_TOKEN=<token>\n\n", secret)
	} else if secret != "" {
		log.Info("bootstrap admin token created from STEWARD_ADMIN_TOKEN")
	}
	if !a.cfg.Demo {
		return nil
	}
	st, err := a.stats(ctx)
	if err != nil {
		return err
	}
	if st.Identities != 0 {
		log.Info("demo: the inventory is not empty; nothing seeded", "identities", st.Identities)
		return nil
	}
	sum, err := demo.Seed(ctx, a.store, time.Now().UTC(), 42)
	if err != nil {
		return fmt.Errorf("seed demo data: %w", err)
	}
	log.Info("demo organisation seeded", "summary", sum)
	return nil
}

// runJobs runs the background sweeps until ctx ends; each extension job
// runs in its own goroutine.
func runJobs(ctx context.Context, svc *inventory.Service, log *slog.Logger, jobs []func(ctx context.Context)) {
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			j(ctx)
		}()
	}
	defer wg.Wait()
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		n, err := svc.ExpireDue(ctx)
		if err != nil && ctx.Err() == nil {
			log.Error("expiry sweep", "err", err)
		} else if n > 0 {
			log.Info("expiry sweep", "expired", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func isLoopback(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

func setupTracing(ctx context.Context, getenv func(string) string) (trace.Tracer, func(), error) {
	if getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
		return noop.NewTracerProvider().Tracer("steward"), func() {}, nil
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("OpenTelemetry exporter: %w", err)
	}
	// service.name is steward unless OTEL_SERVICE_NAME or
	// OTEL_RESOURCE_ATTRIBUTES say otherwise (later options win).
	res, err := resource.New(ctx, resource.WithTelemetrySDK(),
		resource.WithAttributes(attribute.String("service.name", "steward"), attribute.String("service.version", version)),
		resource.WithFromEnv())
	if err != nil {
		return nil, nil, fmt.Errorf("OpenTelemetry resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	return tp.Tracer("steward"), func() {
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = tp.Shutdown(c)
	}, nil
}
