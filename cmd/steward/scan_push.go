package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/discovery"
	"github.com/steward-nhi/steward/scan"
)

// pushFindings sends the findings' fingerprints and locations to the
// server, which links them to the inventory. Secrets never leave the machine.
func pushFindings(ctx context.Context, g *globals, root, repository string, fs []scan.Finding, stderr io.Writer) error {
	if repository == "" {
		repository = repoName(ctx, root)
	}
	co := loadCodeOwners(root)
	rep := steward.DiscoveryReport{Source: "steward-scan", Repository: repository, Items: make([]steward.DiscoveryItem, 0, len(fs))}
	for _, f := range fs {
		it := steward.DiscoveryItem{Rule: f.Rule, File: f.File, Line: f.Line, Column: f.Column, Commit: f.Commit, Author: f.Author,
			Email: f.Email, Context: f.Context, Severity: f.Severity, Fingerprint: f.Fingerprint, OwnerHint: co.Email(f.File)}
		if t, err := time.Parse(time.RFC3339, f.Date); err == nil {
			it.Date = &t
		}
		rep.Items = append(rep.Items, it)
	}
	sum, err := g.client().Discovery().Ingest(ctx, &rep)
	if err != nil {
		return fmt.Errorf("push findings: %w", err)
	}
	fmt.Fprintf(stderr, "pushed %d findings to %s: %d new, %d leaked managed credentials, %d unmanaged (%d new discovered identities), %d revoked automatically\n",
		sum.Findings, g.client().BaseURL, sum.New, sum.ManagedLeaks, sum.Unmanaged, sum.IdentitiesNew, sum.AutoRevoked)
	return nil
}

// repoName is the git remote origin without credentials, else the
// directory's name.
func repoName(ctx context.Context, root string) string {
	cmd := exec.CommandContext(ctx, "git", "-C", root, "config", "--get", "remote.origin.url")
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1")
	if out, err := cmd.Output(); err == nil {
		u := strings.TrimSpace(string(out))
		if i := strings.Index(u, "@"); i >= 0 && strings.Contains(u[:i], "://") {
			u = u[:strings.Index(u, "://")+3] + u[i+1:]
		}
		if u != "" {
			return u
		}
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return root
	}
	return filepath.Base(abs)
}

func loadCodeOwners(root string) *discovery.CodeOwners {
	for _, p := range []string{".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS", ".gitlab/CODEOWNERS"} {
		f, err := os.Open(filepath.Join(root, p))
		if err != nil {
			continue
		}
		defer f.Close()
		return discovery.ParseCodeOwners(f)
	}
	return nil
}
