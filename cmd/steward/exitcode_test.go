package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"testing"

	"github.com/steward-nhi/steward/httpapi"
	"github.com/steward-nhi/steward/scan"
)

// TestExitCodesAreDistinct: a usage error, a refusal by the server, a
// failure of the server and a connection failure each have their own
// exit status, as the README documents.
func TestExitCodesAreDistinct(t *testing.T) {
	problem := func(status int) error {
		return fmt.Errorf("list: %w", &httpapi.ProblemError{Problem: httpapi.Problem{Status: status, Detail: "x"}})
	}
	for _, tt := range []struct {
		name string
		err  error
		want int
	}{
		{"success", nil, exitOK},
		{"a plain failure", errors.New("boom"), exitFailure},
		{"an unknown flag", runErr(t, "identity", "list", "--no-such-flag"), exitUsage},
		{"a bad flag value", runErr(t, "scan", "--max-file-size", "lots"), exitUsage},
		{"an unknown command", runErr(t, "no-such-command"), exitUsage},
		{"an unknown subcommand", runErr(t, "identity", "no-such-command"), exitUsage},
		{"too many arguments", runErr(t, "identity", "show", "a", "b"), exitUsage},
		{"a 404 from the server", problem(404), exitRefused},
		{"a 403 from the server", problem(403), exitRefused},
		{"a 503 from the server", problem(503), exitServer},
		{"no server to reach", fmt.Errorf("cannot reach: %w", &url.Error{Op: "Get", URL: "http://127.0.0.1:1", Err: errors.New("connection refused")}), exitConnect},
		{"scan findings keep their code", scan.ExitError{Code: 1}, 1},
		{"a scan error keeps its code", scan.ExitError{Code: 2, Err: errors.New("x")}, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := exitCode(tt.err, io.Discard); got != tt.want {
				t.Fatalf("exitCode(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}

func runErr(t *testing.T, args ...string) error {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, func(string) string { return "" }, nil, &out, &errb)
	if err == nil {
		t.Fatalf("%v succeeded", args)
	}
	return err
}
