// Command steward is Steward's server and CLI.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/steward-nhi/steward/httpapi"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// exitCoder is an error that chooses the process exit code.
type exitCoder interface{ ExitCode() int }

// Exit statuses (documented in the README). "steward scan" keeps its own:
// 1 (or --exit-code) when findings remain, 2 when the scan fails.
const (
	exitOK      = 0
	exitFailure = 1 // any other failure
	exitUsage   = 2 // an unknown flag or a bad flag value
	exitRefused = 3 // the server refused the request (4xx)
	exitServer  = 4 // the server failed (5xx)
	exitConnect = 5 // the server could not be reached
)

// usageError is a command-line mistake.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// exitCode prints err as one line and returns the exit code for it.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	if msg := err.Error(); msg != "" {
		fmt.Fprintln(stderr, "steward:", msg)
	}
	var ec exitCoder
	var pe *httpapi.ProblemError
	var ue usageError
	var ce *url.Error
	switch {
	case errors.As(err, &ec):
		return ec.ExitCode()
	case errors.As(err, &ue):
		return exitUsage
	case errors.As(err, &pe) && pe.Status >= 400 && pe.Status < 500:
		return exitRefused
	case errors.As(err, &pe) && pe.Status >= 500:
		return exitServer
	case errors.As(err, &ce):
		return exitConnect
	}
	return exitFailure
}

// run is the whole program: tests call it with their own arguments,
// environment and streams.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	root := newRootCmd(getenv, stdin, stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err != nil && strings.HasPrefix(err.Error(), "unknown command ") {
		// cobra's own refusal of an unknown top-level command.
		return usageError{err}
	}
	return err
}
