package main

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/steward-nhi/steward/internal/golden"

	"github.com/spf13/cobra"

	"github.com/steward-nhi/steward"
)

// TestListOutputGolden prints one list, fetched over two pages with --all,
// in every output format and compares each with its golden file.
func TestListOutputGolden(t *testing.T) {
	pages := map[string]*steward.Page[*steward.Owner]{
		"":   {Items: []*steward.Owner{{ID: "own_1", Name: "Dana Scully", Email: "dana@example.com", Kind: "person", Team: "payments", Status: "active"}}, NextCursor: "c2"},
		"c2": {Items: []*steward.Owner{{ID: "own_2", Name: "Platform", Kind: "team", Team: "platform", Status: "departed", BackupOwnerID: "own_1"}}},
	}
	for _, format := range []string{"table", "json", "yaml", "csv"} {
		for _, all := range []bool{false, true} {
			name := "owner-list." + format
			args := []string{"-o", format}
			if all {
				name = "owner-list-all." + format
				args = append(args, "--all")
			}
			t.Run(name, func(t *testing.T) {
				var stdout, stderr bytes.Buffer
				g := &globals{stdout: &stdout, stderr: &stderr}
				cmd := listCmd(g, "list", "List owners", cobra.NoArgs, true, ownerColumns, ownerRow,
					func(_ context.Context, _ []string, _ int, cursor string) (*steward.Page[*steward.Owner], error) {
						return pages[cursor], nil
					})
				cmd.Flags().StringVarP(&g.output, "output", "o", "table", "")
				cmd.SetArgs(args)
				if err := cmd.Execute(); err != nil {
					t.Fatal(err)
				}
				got := append(stdout.Bytes(), []byte("--- stderr\n"+stderr.String())...)
				golden.Check(t, filepath.Join("testdata", name+".golden"), got)
			})
		}
	}
}
