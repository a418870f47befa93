package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/steward-nhi/steward"
)

func TestScanPushLinksALeakedKeyToItsIdentity(t *testing.T) {
	s := startServer(t, map[string]string{"STEWARD_ADMIN_TOKEN": adminToken}, "--data-dir", filepath.Join(t.TempDir(), "data"))
	var id steward.Identity
	decode(t, s.mustCLI(t, "identity", "create", "--name", "billing-api", "--kind", "api_key", "--unowned-reason", "test fixture", "--scope", "billing:read", "-o", "json"), &id)

	// Issue a Steward API key through the API.
	code, raw := httpDo(t, "POST", s.url+"/api/v1/identities/"+id.ID+"/credentials", adminToken, "application/json",
		`{"type":"api_key","ttl":"24h","scopes":["billing:read"]}`)
	var issued struct{ ID, Secret string }
	json.Unmarshal(raw, &issued)
	if code != 201 || !strings.HasPrefix(issued.Secret, "stw_") {
		t.Fatalf("issue: %d %+v", code, issued)
	}

	// Someone commits it, along with an unknown AWS key.
	repo := t.TempDir()
	os.WriteFile(filepath.Join(repo, "config.env"), []byte("BILLING_KEY="+issued.Secret+"\n"), 0o600)
	os.WriteFile(filepath.Join(repo, "CODEOWNERS"), []byte("* dana@example.com\n"), 0o600)
	os.WriteFile(filepath.Join(repo, "deploy.sh"), []byte("export AWS_ACCESS_KEY_ID=AKIAQYLPMN5HFIQR7XYA\nexport AWS_SECRET_ACCESS_KEY=ZyxWvuTsrqPonMlkJihGfeDcbA0123456789abcd\n"), 0o600)

	var out, errb bytes.Buffer
	env := map[string]string{"STEWARD_SERVER": s.url, "STEWARD_TOKEN": adminToken}
	err := run(context.Background(), []string{"scan", repo, "--push", "--repository", "acme/billing", "-f", "json", "--no-progress"},
		func(k string) string { return env[k] }, nil, &out, &errb)
	var ec exitCoder
	if !errors.As(err, &ec) || ec.ExitCode() != 1 {
		t.Fatalf("scan exit: %v\n%s", err, errb.String())
	}
	if !strings.Contains(errb.String(), "1 leaked managed credentials") {
		t.Fatalf("push summary: %s", errb.String())
	}
	if strings.Contains(out.String(), issued.Secret) {
		t.Fatal("the report shows the secret")
	}

	var page steward.Page[*steward.Sighting]
	_, raw = httpDo(t, "GET", s.url+"/api/v1/discovery?identity_id="+id.ID, adminToken, "", "")
	json.Unmarshal(raw, &page)
	if len(page.Items) != 1 || !page.Items[0].Managed || page.Items[0].CredentialID != issued.ID || page.Items[0].Repository != "acme/billing" {
		t.Fatalf("sightings: %+v", page.Items)
	}
	hist := s.mustCLI(t, "identity", "history", id.ID)
	if !strings.Contains(hist, "discovery.leak") {
		t.Fatalf("history lacks the leak:\n%s", hist)
	}
	discovered := s.mustCLI(t, "identity", "list", "--source", "discovered", "-o", "json")
	if !strings.Contains(discovered, `"provider": "aws"`) || !strings.Contains(discovered, "dana@example.com") {
		t.Fatalf("discovered identities:\n%s", discovered)
	}
	// The server never received a secret.
	if strings.Contains(s.logs.String(), issued.Secret) {
		t.Fatal("the secret reached the server log")
	}
}
