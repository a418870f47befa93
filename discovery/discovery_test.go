package discovery_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/discovery"
	"github.com/steward-nhi/steward/internal/ids"
	"github.com/steward-nhi/steward/inventory"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

func TestIngestLinksFindingsToTheInventory(t *testing.T) {
	for _, eng := range sqltest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			store := eng.Store(t)
			ctx := steward.WithPrincipal(context.Background(), &steward.Principal{Actor: "token:t", Role: steward.RoleOperator})
			inv := inventory.New(inventory.Config{Store: store})
			owner, err := inv.CreateOwner(ctx, &steward.Owner{Name: "Kim", Email: "kim@example.com"})
			if err != nil {
				t.Fatal(err)
			}
			id, _ := inv.CreateIdentity(ctx, &steward.Identity{Name: "billing", Kind: steward.KindAPIKey, OwnerID: owner.ID})
			managed := steward.Fingerprint([]byte("stw_managedsecret"))
			err = store.Update(ctx, func(tx steward.Tx) error {
				return tx.CreateCredential(ctx, &steward.Credential{ID: ids.New(ids.Credential, sqltest.Base), IdentityID: id.ID, Type: "api_key",
					Fingerprint: managed, Status: steward.CredentialActive, CreatedAt: sqltest.Base})
			})
			if err != nil {
				t.Fatal(err)
			}
			svc := discovery.New(store, nil, nil)
			svc.AutoRevoke = true
			svc.Revoker = newBroker(t, store, nil, time.Minute)
			unmanaged := steward.Fingerprint([]byte("AKIAEXAMPLEEXAMPLE"))
			rep := &steward.DiscoveryReport{Repository: "acme/api", Items: []steward.DiscoveryItem{
				{Rule: "stw-api-key", File: "config/app.yaml", Line: 3, Fingerprint: managed},
				{Rule: "aws-access-key", File: ".github/workflows/ci.yml", Line: 10, Fingerprint: unmanaged, Email: "KIM@example.com"},
			}}
			sum, err := svc.Ingest(ctx, rep)
			if err != nil {
				t.Fatal(err)
			}
			if sum.New != 2 || sum.ManagedLeaks != 1 || sum.Unmanaged != 1 || sum.IdentitiesNew != 1 || sum.AutoRevoked != 1 {
				t.Fatalf("summary %+v", sum)
			}
			// The same report again: nothing new.
			sum, err = svc.Ingest(ctx, rep)
			if err != nil || sum.New != 0 || sum.Seen != 2 || sum.IdentitiesNew != 0 {
				t.Fatalf("second ingest %+v %v", sum, err)
			}
			creds, _ := store.ListCredentials(ctx, id.ID)
			if creds[0].Status != steward.CredentialRevoked {
				t.Fatalf("leaked Steward key not revoked: %s", creds[0].Status)
			}
			events, _ := store.ListEvents(ctx, steward.EventFilter{IdentityID: id.ID})
			if !hasAction(events.Items, discovery.ActionLeak) || !hasAction(events.Items, "credential.revoke") {
				t.Fatalf("leak not recorded: %v", events.Items)
			}
			found, _ := store.ListIdentities(ctx, steward.IdentityFilter{Source: steward.SourceDiscovered})
			if len(found.Items) != 1 {
				t.Fatalf("%d discovered identities", len(found.Items))
			}
			d := found.Items[0]
			if d.Provider != "aws" || d.OwnerID != owner.ID || d.Labels["suggested_owner"] != "kim@example.com" {
				t.Fatalf("discovered identity %+v", d)
			}
			page, err := svc.ListSightings(ctx, steward.SightingFilter{IdentityID: id.ID})
			if err != nil || len(page.Items) != 1 || !page.Items[0].Managed || page.Items[0].Occurrences != 2 {
				t.Fatalf("sightings %+v %v", page, err)
			}
		})
	}
}

func hasAction(es []*steward.Event, a string) bool {
	for _, e := range es {
		if e.Action == a {
			return true
		}
	}
	return false
}

func TestIngestRejectsSecretsAndBadInput(t *testing.T) {
	store := sqltest.SQLite(t)
	svc := discovery.New(store, nil, nil)
	op := steward.WithPrincipal(context.Background(), &steward.Principal{Actor: "t", Role: steward.RoleOperator})
	tests := []struct {
		name  string
		ctx   context.Context
		item  steward.DiscoveryItem
		code  string
		field string
	}{
		{"a raw secret instead of a fingerprint", op, steward.DiscoveryItem{Rule: "x", Fingerprint: "ghp_abcdef"}, steward.EINVALID, "findings[0].fingerprint"},
		{"no rule", op, steward.DiscoveryItem{Fingerprint: strings.Repeat("a", 64)}, steward.EINVALID, "findings[0].rule"},
		{"auditor", steward.WithPrincipal(context.Background(), &steward.Principal{Actor: "t", Role: steward.RoleAuditor}), steward.DiscoveryItem{Rule: "x", Fingerprint: strings.Repeat("a", 64)}, steward.EFORBIDDEN, ""},
		{"anonymous", context.Background(), steward.DiscoveryItem{Rule: "x", Fingerprint: strings.Repeat("a", 64)}, steward.EUNAUTHORIZED, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := svc.Ingest(tc.ctx, &steward.DiscoveryReport{Items: []steward.DiscoveryItem{tc.item}})
			if steward.ErrorCode(err) != tc.code || steward.ErrorField(err) != tc.field {
				t.Fatalf("err = %v (%s, %s)", err, steward.ErrorCode(err), steward.ErrorField(err))
			}
		})
	}
}

func TestParseOtherScanners(t *testing.T) {
	tests := []struct {
		format, body string
		items, bad   int
		file         string
	}{
		{"gitleaks", `[{"RuleID":"aws-access-token","File":"a.py","StartLine":3,"Secret":"AKIAXXXXXXXXXXXXXXXX","Commit":"abc"},{"RuleID":"x","File":"b","Secret":"REDACTED"}]`, 1, 1, "a.py"},
		{"trufflehog", "banner line\n" + `{"SourceMetadata":{"Data":{"Git":{"commit":"c1","file":"k.env","email":"a@b.c","line":7}}},"DetectorName":"AWS","Raw":"AKIA1"}` + "\n", 1, 0, "k.env"},
		{"github-secret-scanning", `[{"number":4,"secret_type":"github_personal_access_token","secret":"ghp_x","first_location_detected":{"path":"x.md","start_line":2}},{"number":5}]`, 1, 1, "x.md"},
	}
	for _, tc := range tests {
		t.Run(tc.format, func(t *testing.T) {
			rep, bad, err := discovery.Parse(tc.format, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Items) != tc.items || len(bad) != tc.bad || rep.Items[0].File != tc.file || !steward.ValidFingerprint(rep.Items[0].Fingerprint) {
				t.Fatalf("items %+v bad %+v", rep.Items, bad)
			}
			if strings.Contains(string(steward.Snapshot(rep)), "AKIA") {
				t.Fatal("a secret survived parsing")
			}
		})
	}
	if _, _, err := discovery.Parse("gitleaks", strings.NewReader("{not json")); steward.ErrorField(err) != "file" {
		t.Fatalf("garbage: %v", err)
	}
}

func TestProviderOf(t *testing.T) {
	for rule, want := range map[string]string{"aws-access-key": "aws", "github-pat": "github", "stripe-secret-key": "vendor:stripe",
		"generic-api-key": "other", "gcp-service-account": "gcp", "stw-api-key": "steward", "private-key": "other"} {
		if got := discovery.ProviderOf(rule); got != want {
			t.Errorf("%s: %s, want %s", rule, got, want)
		}
	}
}

func TestCodeOwners(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "CODEOWNERS")
	os.WriteFile(p, []byte("# owners\n*       default@example.com\n/infra/ @acme/platform ops@example.com\n*.tf   tf@example.com\ndocs/** @docs\n"), 0o600)
	f, _ := os.Open(p)
	defer f.Close()
	co := discovery.ParseCodeOwners(f)
	for file, want := range map[string]string{"main.go": "default@example.com", "infra/k8s/secret.yaml": "ops@example.com", "infra/main.tf": "tf@example.com", "docs/a.md": ""} {
		if got := co.Email(file); got != want {
			t.Errorf("%s: %q, want %q", file, got, want)
		}
	}
}
