package main

import (
	"bytes"
	"encoding/json"
	"io"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/steward-nhi/steward/httpapi"
)

// cliOf names the CLI command that calls each /api/v1 route.
var cliOf = map[string]string{
	"GET /api/v1/whoami": "", // see cliExceptions
	"GET /api/v1/stats":  "",

	"POST /api/v1/owners":               "owner create",
	"GET /api/v1/owners":                "owner list",
	"GET /api/v1/owners/{id}":           "owner show",
	"PATCH /api/v1/owners/{id}":         "owner update",
	"POST /api/v1/owners/{id}/depart":   "owner depart",
	"POST /api/v1/owners/{id}/reassign": "owner reassign",

	"POST /api/v1/identities": "identity create",

	"PUT /api/v1/credentials/{id}/secret":      "credential store",
	"GET /api/v1/credentials/{id}/secret":      "credential secret",
	"GET /api/v1/credentials/{id}/custody":     "rotation status",
	"GET /api/v1/credentials/{id}/rotations":   "rotation history",
	"POST /api/v1/rotators":                    "rotation add-rotator",
	"GET /api/v1/rotators":                     "rotation rotators",
	"GET /api/v1/rotators/{name}":              "rotation rotator",
	"POST /api/v1/leases":                      "lease create",
	"GET /api/v1/leases":                       "lease list",
	"POST /api/v1/leases/{id}/renew":           "lease renew",
	"POST /api/v1/leases/{id}/revoke":          "lease revoke",
	"GET /api/v1/identities":                   "identity list",
	"GET /api/v1/identities/{id}":              "identity show",
	"PATCH /api/v1/identities/{id}":            "identity update",
	"DELETE /api/v1/identities/{id}":           "identity delete",
	"POST /api/v1/identities/{id}/activate":    "identity activate",
	"POST /api/v1/identities/{id}/suspend":     "identity suspend",
	"POST /api/v1/identities/{id}/resume":      "identity resume",
	"POST /api/v1/identities/{id}/revoke":      "identity revoke",
	"GET /api/v1/identities/{id}/events":       "identity history",
	"GET /api/v1/identities/{id}/credentials":  "credential list",
	"GET /api/v1/events":                       "identity history",
	"POST /api/v1/import/{format}":             "import",
	"POST /api/v1/tokens":                      "token create",
	"GET /api/v1/tokens":                       "token list",
	"DELETE /api/v1/tokens/{id}":               "token revoke",
	"POST /api/v1/identities/{id}/credentials": "credential issue",
	"GET /api/v1/credentials/{id}":             "credential show",
	"POST /api/v1/credentials/{id}/rotate":     "credential rotate",
	"POST /api/v1/credentials/{id}/revoke":     "credential revoke",
	"POST /api/v1/credentials/{id}/extend":     "credential extend",
	"GET /api/v1/keys":                         "keys list",
	"POST /api/v1/keys/rotate":                 "keys rotate",

	"POST /api/v1/discovery/reports": "scan", // scan --push
	"GET /api/v1/discovery":          "discovery list",

	"GET /api/v1/audit":              "audit export",
	"GET /api/v1/audit/verify":       "audit verify",
	"GET /api/v1/audit/checkpoints":  "audit checkpoint",
	"POST /api/v1/audit/checkpoints": "audit checkpoint",
	"GET /api/v1/audit/proof/{seq}":  "audit prove",
	"GET /api/v1/audit/public-key":   "audit public-key",

	"GET /api/v1/policies":                          "policy list",
	"PUT /api/v1/policies/schema":                   "policy apply", // --schema
	"PUT /api/v1/policies/{name}":                   "policy apply",
	"GET /api/v1/policies/{name}":                   "policy show",
	"DELETE /api/v1/policies/{name}":                "policy delete",
	"PUT /api/v1/entities":                          "policy entities",
	"PATCH /api/v1/entities":                        "policy entities", // --upsert
	"GET /api/v1/usage":                             "usage list",
	"POST /api/v1/usage":                            "usage ingest", // jsonl
	"GET /api/v1/usage/unknown":                     "usage unknown",
	"POST /api/v1/usage/import/{format}":            "usage ingest",
	"GET /api/v1/identities/{id}/usage":             "usage show",
	"GET /api/v1/findings":                          "findings list",
	"GET /api/v1/findings/{id}":                     "findings show",
	"POST /api/v1/findings/{id}/acknowledge":        "findings ack",
	"POST /api/v1/findings/{id}/waive":              "findings waive",
	"POST /api/v1/findings/{id}/reopen":             "findings reopen",
	"GET /api/v1/schedules/rotation":                "schedules rotation",
	"GET /api/v1/schedules/expiring":                "schedules expiring",
	"POST /api/v1/posture/run":                      "findings run",
	"POST /api/v1/reviews":                          "review start",
	"GET /api/v1/reviews/{id}":                      "review show",
	"POST /api/v1/reviews/{id}/items/{item}/decide": "review decide",
	"GET /api/v1/reports/evidence":                  "report evidence",

	"GET /api/v1/alerts":                      "alerts list",
	"GET /api/v1/alerts/dead-letters":         "alerts dead-letters",
	"POST /api/v1/alerts/test-notification":   "alerts test",
	"GET /api/v1/alerts/{id}":                 "alerts show",
	"POST /api/v1/alerts/{id}/ack":            "alerts ack",
	"POST /api/v1/alerts/{id}/resolve":        "alerts resolve",
	"POST /api/v1/alerts/{id}/false-positive": "alerts false-positive",

	"POST /api/v1/federation/issuers":                  "federation issuer add",
	"GET /api/v1/federation/issuers":                   "federation issuer list",
	"GET /api/v1/federation/issuers/{id}":              "federation issuer show",
	"PATCH /api/v1/federation/issuers/{id}":            "federation issuer update",
	"DELETE /api/v1/federation/issuers/{id}":           "federation issuer remove",
	"POST /api/v1/identities/{id}/federation/bindings": "federation bind",
	"GET /api/v1/identities/{id}/federation/bindings":  "federation bindings",
	"POST /api/v1/federation/bindings/{id}/remove":     "federation unbind",
}

// cliExceptions are the /api/v1 routes no CLI command calls, and why.
var cliExceptions = map[string]string{
	// Every command already proves the token works; `curl` suffices to
	// see who it is.
	"GET /api/v1/whoami": "diagnostic; every command authenticates",
	// The counts are the console's dashboard and the metrics gauges.
	"GET /api/v1/stats": "console and /metrics read it",
}

// TestEveryRouteHasACommand walks the route table: every authenticated
// /api/v1 route is called by a CLI command that exists, or is an explained
// exception. A new route fails here until it gets one or the other.
func TestEveryRouteHasACommand(t *testing.T) {
	root := newRootCmd(func(string) string { return "" }, strings.NewReader(""), io.Discard, io.Discard)
	for _, rt := range httpapi.Routes() {
		key := rt.Method + " " + rt.Path
		if rt.Public || !strings.HasPrefix(rt.Path, "/api/v1/") {
			continue
		}
		if why, ok := cliExceptions[key]; ok {
			if why == "" {
				t.Errorf("%s: an exception needs a reason", key)
			}
			continue
		}
		name, ok := cliOf[key]
		if !ok || name == "" {
			t.Errorf("%s has no CLI command: add one and name it in cliOf, or explain it in cliExceptions", key)
			continue
		}
		if c, rest, err := root.Find(strings.Fields(name)); err != nil || len(rest) > 0 || c == root {
			t.Errorf("%s: command %q does not exist", key, name)
		}
	}
}

// listCommands returns every command named list, by path.
func listCommands(c *cobra.Command) map[string]*cobra.Command {
	out := map[string]*cobra.Command{}
	for _, sub := range c.Commands() {
		if sub.Name() == "list" {
			out[sub.CommandPath()] = sub
		}
		for k, v := range listCommands(sub) {
			out[k] = v
		}
	}
	return out
}

// pagedLists are the lists the server pages (they take --cursor).
var pagedLists = []string{"steward identity list", "steward owner list", "steward findings list", "steward alerts list",
	"steward usage list", "steward discovery list"}

// TestListCommandsAreAlike: every list command takes --all and --limit,
// the server-paged ones --cursor too.
func TestListCommandsAreAlike(t *testing.T) {
	root := newRootCmd(func(string) string { return "" }, strings.NewReader(""), io.Discard, io.Discard)
	lists := listCommands(root)
	var names []string
	for name, c := range lists {
		names = append(names, name)
		for _, flag := range []string{"all", "limit"} {
			if c.Flags().Lookup(flag) == nil {
				t.Errorf("%s has no --%s", name, flag)
			}
		}
		if paged := slices.Contains(pagedLists, name); paged != (c.Flags().Lookup("cursor") != nil) {
			t.Errorf("%s: --cursor present = %v, want %v (paged by the server)", name, !paged, paged)
		}
	}
	sort.Strings(names)
	if len(names) < 10 {
		t.Fatalf("found only %d list commands: %v", len(names), names)
	}
}

// TestListOutputShape runs list commands against a server and checks the
// one JSON shape: {"items": [...], "next_cursor": "..."}; the table
// output of a list with fixed rows is a golden file.
func TestListOutputShape(t *testing.T) {
	s := startServer(t, map[string]string{"STEWARD_ADMIN_TOKEN": adminToken, "STEWARD_MASTER_KEY": brokerTestMasterKey},
		"--data-dir", filepath.Join(t.TempDir(), "data"))
	var id struct {
		ID string `json:"id"`
	}
	decode(t, s.mustCLI(t, "identity", "create", "--name", "shape-bot", "--kind", "bot", "--unowned-reason", "test", "-o", "json"), &id)
	mustOut(t)(s.credCLI(t, "credential", "issue", id.ID))
	for _, args := range [][]string{
		{"identity", "list", "--limit", "1", "--all"},
		{"owner", "list"},
		{"token", "list"},
		{"credential", "list", id.ID},
		{"keys", "list"},
		{"findings", "list", "--all"},
		{"alerts", "list"},
		{"usage", "list"},
		{"policy", "list"},
		{"discovery", "list"},
	} {
		out, err := s.cli(t, append(args, "-o", "json")...)
		if err != nil {
			if strings.Contains(err.Error(), "501") {
				continue // capability not enabled in this configuration
			}
			t.Fatalf("steward %s: %v", strings.Join(args, " "), err)
		}
		var shape map[string]json.RawMessage
		if err := json.Unmarshal([]byte(out), &shape); err != nil {
			t.Fatalf("steward %s -o json: not an object: %v\n%s", strings.Join(args, " "), err, out)
		}
		if len(shape) != 2 || shape["items"] == nil || shape["next_cursor"] == nil || !bytes.HasPrefix(bytes.TrimSpace(shape["items"]), []byte("[")) {
			t.Errorf("steward %s -o json: keys %v, want items (an array) and next_cursor:\n%s", strings.Join(args, " "), keys(shape), out)
		}
	}
	// --all follows the cursor to the end.
	s.mustCLI(t, "identity", "create", "--name", "shape-bot-2", "--kind", "bot", "--unowned-reason", "test")
	var page struct {
		Items      []json.RawMessage `json:"items"`
		NextCursor string            `json:"next_cursor"`
	}
	decode(t, s.mustCLI(t, "identity", "list", "--limit", "1", "--all", "-o", "json"), &page)
	if len(page.Items) != 2 || page.NextCursor != "" {
		t.Fatalf("--all --limit 1: %d items, cursor %q", len(page.Items), page.NextCursor)
	}
	decode(t, s.mustCLI(t, "identity", "list", "--limit", "1", "-o", "json"), &page)
	if len(page.Items) != 1 || page.NextCursor == "" {
		t.Fatalf("--limit 1: %d items, cursor %q", len(page.Items), page.NextCursor)
	}
}

func keys(m map[string]json.RawMessage) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
