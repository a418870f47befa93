package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestAnEmptyIDIsAUsageError: an empty or blank id argument exits 2 with
// a message naming the argument, and no request reaches the server (an
// empty id would turn "GET /identities/" into the list route).
func TestAnEmptyIDIsAUsageError(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(w, "unexpected call", http.StatusTeapot)
	}))
	defer srv.Close()
	env := map[string]string{"STEWARD_SERVER": srv.URL, "STEWARD_TOKEN": "stw_test"}
	for _, tt := range []struct {
		name string
		args []string
		want string // in the message
	}{
		{"identity show with an empty id", []string{"identity", "show", ""}, "steward identity show: ID is empty"},
		{"identity history with an empty id", []string{"identity", "history", ""}, "steward identity history: ID is empty"},
		{"identity revoke with a blank id", []string{"identity", "revoke", "  "}, "steward identity revoke: ID is empty"},
		{"owner show with an empty id", []string{"owner", "show", ""}, "steward owner show: ID is empty"},
		{"credential revoke with an empty id", []string{"credential", "revoke", ""}, "CREDENTIAL_ID is empty"},
		{"usage show with an empty id", []string{"usage", "show", ""}, "IDENTITY_ID is empty"},
		{"review decide with an empty second id", []string{"review", "decide", "c1", ""}, "ITEM is empty"},
		{"policy apply with an empty path among others", []string{"policy", "apply", "a.cedar", ""}, "FILE|DIR is empty"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := calls.Load()
			var out, errb bytes.Buffer
			err := run(context.Background(), tt.args, func(k string) string { return env[k] }, strings.NewReader(""), &out, &errb)
			if code := exitCode(err, &errb); code != exitUsage {
				t.Fatalf("exit %d, want %d (stderr %q)", code, exitUsage, errb.String())
			}
			if !strings.Contains(errb.String(), tt.want) {
				t.Fatalf("stderr %q does not contain %q", errb.String(), tt.want)
			}
			if n := calls.Load() - before; n != 0 {
				t.Fatalf("%d request(s) reached the server", n)
			}
		})
	}
}

func TestArgName(t *testing.T) {
	for _, tt := range []struct {
		use  string
		i    int
		want string
	}{
		{"show ID", 0, "ID"},
		{"decide CAMPAIGN ITEM --decision keep|reduce|revoke|reassign", 1, "ITEM"},
		{"validate FILE|DIR...", 3, "FILE|DIR"},
		{"scan [PATH...]", 0, "PATH"},
		{"create --role ROLE [--owner ID]", 0, "argument 1"},
		{"update ID [flags]", 1, "argument 2"},
	} {
		if got := argName(tt.use, tt.i); got != tt.want {
			t.Errorf("argName(%q, %d) = %q, want %q", tt.use, tt.i, got, tt.want)
		}
	}
}
