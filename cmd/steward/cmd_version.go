package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// commit is set at build time with -ldflags "-X main.commit=…".
var commit = ""

func newVersionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and Go toolchain of this binary",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c := commit
			if c == "" {
				c = "unknown"
			}
			_, err := fmt.Fprintf(g.stdout, "steward %s (commit %s, %s, %s/%s)\n", version, c, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return err
		},
	}
}

// newHealthcheckCmd is the container health check: the image has no shell
// and no curl, so the binary asks its own /healthz.
func newHealthcheckCmd(g *globals) *cobra.Command {
	var rawURL string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "healthcheck",
		Short: "Exit 0 when the local server answers /healthz (container health checks)",
		Long: `Ask the server on this machine whether it is alive: GET /healthz on --url, or on
the address of STEWARD_ADDR (a wildcard address is asked on loopback), over
https when STEWARD_TLS_CERT is set. Exits 0 when it answers 200, 1 otherwise.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			u := rawURL
			if u == "" {
				u = localHealthURL(g.getenv)
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
			if err != nil {
				return fmt.Errorf("healthcheck: %w", err)
			}
			res, err := localClient().Do(req)
			if err != nil {
				return fmt.Errorf("healthcheck %s: %w", u, err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				return fmt.Errorf("healthcheck %s: status %d", u, res.StatusCode)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&rawURL, "url", "", "health URL (default: /healthz on STEWARD_ADDR, or 127.0.0.1:8080)")
	cmd.Flags().DurationVar(&timeout, "timeout", 3*time.Second, "how long to wait for the answer")
	return cmd
}

// localHealthURL is /healthz on the configured listen address, asked on
// loopback when the address is a wildcard.
func localHealthURL(getenv func(string) string) string {
	addr := getenv("STEWARD_ADDR")
	if addr == "" {
		addr = defaultConfig().Addr
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		host, port = "127.0.0.1", "8080"
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
		if ip != nil && ip.To4() == nil {
			host = "::1"
		}
	}
	scheme := "http"
	if getenv("STEWARD_TLS_CERT") != "" {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(strings.Trim(host, "[]"), port) + "/healthz"
}
