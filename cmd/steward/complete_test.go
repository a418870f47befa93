package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

// TestShellCompletesEnumValues: the shell is offered the closed values of
// a flag (from its usage or its domain list) and the import formats.
func TestShellCompletesEnumValues(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
		not  []string
	}{
		{[]string{"identity", "list", "--status", ""}, []string{"pending", "active", "suspended", "revoked", "expired"}, nil},
		{[]string{"identity", "create", "--status", ""}, []string{"pending", "active"}, []string{"revoked"}},
		{[]string{"identity", "create", "--kind", ""}, []string{"api_key", "ai_agent", "pat"}, nil},
		{[]string{"identity", "list", "--sensitivity", ""}, []string{"critical", "low"}, nil},
		{[]string{"alerts", "list", "--status", ""}, []string{"open", "false_positive"}, nil},
		{[]string{"findings", "list", "--severity", ""}, []string{"critical", "info"}, nil},
		{[]string{"usage", "list", "--kind", ""}, []string{"auth", "decision", "ingest", "gateway"}, []string{"api_key"}},
		{[]string{"scan", "--output", ""}, []string{"table", "json", "sarif", "csv"}, nil},
		{[]string{"identity", "list", "-o", ""}, []string{"table", "json", "yaml", "csv"}, []string{"sarif"}},
		{[]string{"import", ""}, []string{"aws-credential-report", "kubernetes"}, nil},
		{[]string{"token", "create", "--role", ""}, []string{"admin", "operator", "auditor", "owner"}, nil},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out bytes.Buffer
			root := newRootCmd(func(string) string { return "" }, strings.NewReader(""), &out, &out)
			root.SetArgs(append([]string{"__complete"}, tc.args...))
			if err := root.Execute(); err != nil {
				t.Fatal(err)
			}
			got := strings.Split(out.String(), "\n")
			for _, w := range tc.want {
				if !slices.Contains(got, w) {
					t.Errorf("completion lacks %q: %q", w, out.String())
				}
			}
			for _, w := range tc.not {
				if slices.Contains(got, w) {
					t.Errorf("completion offers %q: %q", w, out.String())
				}
			}
			if !strings.Contains(out.String(), "ShellCompDirectiveNoFileComp") {
				t.Errorf("completion falls back to file names: %q", out.String())
			}
		})
	}
}
