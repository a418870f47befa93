// Command cluster-lb is the load balancer that scripts/cluster starts in
// front of its Steward nodes: round-robin over the healthy ones.
//
//	cluster-lb -addr 127.0.0.1:8080 -backend http://127.0.0.1:8081 -backend http://127.0.0.1:8082
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/steward-nhi/steward/internal/roundrobin"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "cluster-lb:", err)
		os.Exit(1)
	}
}

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func run(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("cluster-lb", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	interval := fs.Duration("health-interval", time.Second, "how often to read each backend's /readyz")
	var backends list
	fs.Var(&backends, "backend", "a backend base URL (repeat)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	lb, err := roundrobin.New(backends, log)
	if err != nil {
		return err
	}
	lb.Check(ctx)
	go lb.Watch(ctx, *interval)
	srv := &http.Server{Addr: *addr, Handler: lb, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("load balancer listening", "addr", *addr, "backends", backends.String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
