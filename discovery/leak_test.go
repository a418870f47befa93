package discovery_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/alerts"
	"github.com/steward-nhi/steward/authz"
	"github.com/steward-nhi/steward/broker"
	"github.com/steward-nhi/steward/discovery"
	"github.com/steward-nhi/steward/internal/clock"
	"github.com/steward-nhi/steward/internal/ids"
	"github.com/steward-nhi/steward/internal/secretbox"
	"github.com/steward-nhi/steward/internal/testrec"
	"github.com/steward-nhi/steward/inventory"
	"github.com/steward-nhi/steward/posture"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

// TestLeakedGovernedCredentialIsAnsweredAtOnce checks that a governed
// credential reported leaked raises a critical alert and its secret.leaked
// finding before Ingest returns (no later posture run), is revoked when
// auto-revoke is on, and that two rules matching the same secret at the
// same place make one sighting, one alert and one finding.
func TestLeakedGovernedCredentialIsAnsweredAtOnce(t *testing.T) {
	tests := []struct {
		name        string
		autoRevoke  bool
		wantFinding bool // a revoked credential no longer stands as a finding
	}{
		{"without auto-revoke the leak is an alert and an open finding at once", false, true},
		{"with auto-revoke the credential is revoked and the alert says so", true, false},
	}
	for _, eng := range sqltest.Engines(t) {
		for _, tc := range tests {
			t.Run(eng.Name+"/"+tc.name, func(t *testing.T) {
				store := eng.Open(t)
				clk := clock.NewFake(sqltest.Base)
				ctx := steward.WithPrincipal(context.Background(), &steward.Principal{Actor: "token:t", Role: steward.RoleAdmin})
				inv := inventory.New(inventory.Config{Store: store, Clock: clk})
				owner, err := inv.CreateOwner(ctx, &steward.Owner{Name: "Kim", Email: "kim@example.com"})
				if err != nil {
					t.Fatal(err)
				}
				id, err := inv.CreateIdentity(ctx, &steward.Identity{Name: "billing", Kind: steward.KindAPIKey, OwnerID: owner.ID, Environment: "prod"})
				if err != nil {
					t.Fatal(err)
				}
				secret := steward.Fingerprint([]byte("stw_leakedsecret"))
				credID := ids.New(ids.Credential, sqltest.Base)
				if err := store.Update(ctx, func(tx steward.Tx) error {
					return tx.CreateCredential(ctx, &steward.Credential{ID: credID, IdentityID: id.ID, Type: "api_key", Fingerprint: secret,
						Status: steward.CredentialActive, CreatedAt: sqltest.Base, Scopes: []string{}, Metadata: map[string]string{}})
				}); err != nil {
					t.Fatal(err)
				}
				pe := posture.New(posture.Options{Store: store.(steward.PostureStore), Inventory: inv, Clock: clk,
					Discovery: &discovery.SightingCache{Reader: store.(steward.DiscoveryReader)}})
				// A posture run before the leak, as the server's loop has done.
				if _, err := pe.FullRun(ctx); err != nil {
					t.Fatal(err)
				}
				notes := &testrec.Notifier{}
				eng, err := alerts.New(alerts.Config{Store: store.(steward.AlertStore), Inventory: store.(alerts.Inventory), Notifier: notes,
					FlushInterval: 10 * time.Millisecond, BaselineInterval: time.Hour})
				if err != nil {
					t.Fatal(err)
				}
				runCtx, stop := context.WithCancel(context.Background())
				done := make(chan struct{})
				go func() { eng.Run(runCtx); close(done) }()
				t.Cleanup(func() { stop(); <-done })
				svc := discovery.New(store.(steward.DiscoveryStore), clk, nil)
				svc.AutoRevoke = tc.autoRevoke
				svc.Revoker = newBroker(t, store, nil, time.Minute)
				svc.Alerts = eng
				svc.Posture = pe

				rep := &steward.DiscoveryReport{Source: "gitleaks", Repository: "acme/api", Items: []steward.DiscoveryItem{
					{Rule: "stw-api-key", File: "deploy/values.yaml", Line: 12, Column: 9, Commit: "0123456789abcdef", Fingerprint: secret},
					{Rule: "generic-api-key", File: "deploy/values.yaml", Line: 12, Column: 3, Commit: "0123456789abcdef", Fingerprint: secret},
				}}
				sum, err := svc.Ingest(ctx, rep)
				if err != nil {
					t.Fatal(err)
				}
				if sum.Findings != 1 || sum.Duplicates != 1 || sum.New != 1 || sum.ManagedLeaks != 1 {
					t.Fatalf("summary %+v: two rules on one secret at one place are one finding", sum)
				}
				sightings, err := svc.ListSightings(ctx, steward.SightingFilter{IdentityID: id.ID})
				if err != nil || len(sightings.Items) != 1 || sightings.Items[0].Occurrences != 1 {
					t.Fatalf("sightings %+v %v", sightings, err)
				}

				al, err := store.(steward.AlertStore).ListAlerts(ctx, steward.AlertFilter{IdentityID: id.ID})
				if err != nil || len(al.Items) != 1 {
					t.Fatalf("alerts %+v %v, want one", al, err)
				}
				a := al.Items[0]
				if a.Severity != steward.SeverityCritical || a.Detector != discovery.DetSecretLeaked || a.CredentialID != credID || a.OwnerID != owner.ID {
					t.Fatalf("alert %+v", a)
				}
				if a.Evidence["auto_revoked"] != tc.autoRevoke {
					t.Fatalf("alert evidence %v with auto-revoke %v", a.Evidence, tc.autoRevoke)
				}
				if got := notes.All(); len(got) != 1 || got[0].Severity != "critical" || got[0].Kind != "alert" {
					t.Fatalf("notifications %+v, want one critical alert", got)
				}

				creds, _ := store.ListCredentials(ctx, id.ID)
				if revoked := creds[0].Status == steward.CredentialRevoked; revoked != tc.autoRevoke {
					t.Fatalf("credential %s with auto-revoke %v", creds[0].Status, tc.autoRevoke)
				}
				// No posture run in between: the finding is there already.
				fs, err := pe.ListFindings(ctx, steward.FindingFilter{IdentityID: id.ID, Check: "secret.leaked", Unresolved: true})
				if err != nil {
					t.Fatal(err)
				}
				if got := len(fs.Items) == 1; got != tc.wantFinding || len(fs.Items) > 1 {
					t.Fatalf("%d open secret.leaked findings, want finding %v", len(fs.Items), tc.wantFinding)
				}
				if tc.wantFinding && (fs.Items[0].Severity != steward.SeverityCritical || fs.Items[0].CredentialID != credID) {
					t.Fatalf("finding %+v", fs.Items[0])
				}

				// The same report again raises nothing new.
				if _, err := svc.Ingest(ctx, rep); err != nil {
					t.Fatal(err)
				}
				if al, _ := store.(steward.AlertStore).ListAlerts(ctx, steward.AlertFilter{IdentityID: id.ID}); len(al.Items) != 1 {
					t.Fatalf("a re-reported leak raised %d alerts", len(al.Items))
				}
			})
		}
	}
}

// TestAutoRevokedLeakIsRefusedAtOnce is issue 14: a leaked Steward key
// that discovery revokes automatically is refused by authentication and
// by the PDP as soon as Ingest returns, although both had cached it as
// valid and neither polls the database within the test (cache lifetimes
// of an hour): the revocation goes through the broker, which publishes
// the change to the node's caches.
func TestAutoRevokedLeakIsRefusedAtOnce(t *testing.T) {
	for _, eng := range sqltest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			store := eng.Open(t)
			changes := steward.NewChanges()
			admin := steward.WithPrincipal(context.Background(), &steward.Principal{Actor: "token:t", Role: steward.RoleAdmin})
			inv := inventory.New(inventory.Config{Store: store, Changes: changes, Credentials: store.(steward.BrokerStore)})
			b := newBroker(t, store, changes, time.Hour)
			pdp, err := authz.New(admin, authz.Config{Inventory: store, Store: store.(steward.AuthzStore), PollInterval: time.Hour,
				IdentityTTL: time.Hour, Changes: changes})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := pdp.PutPolicy(admin, "all", `permit (principal, action, resource);`, "test"); err != nil {
				t.Fatal(err)
			}
			id, err := inv.CreateIdentity(admin, &steward.Identity{Name: "billing", Kind: steward.KindAPIKey, Provider: "steward",
				Sensitivity: steward.SensitivityMedium, Scopes: []string{"read"}, UnownedReason: "test fixture"})
			if err != nil {
				t.Fatal(err)
			}
			key, err := b.Issue(admin, id.ID, broker.IssueRequest{})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			allowed := func() bool {
				d, err := pdp.Evaluate(admin, &authz.Request{Subject: &authz.Entity{Type: "nhi", ID: id.ID}, Action: &authz.Action{Name: "read"},
					Resource: &authz.Entity{Type: "Doc", ID: "d"}, Context: map[string]any{"credential_id": key.ID}}, authz.Call{})
				if err != nil {
					t.Fatal(err)
				}
				return d.Decision
			}
			// Both caches hold the key as valid.
			if _, err := b.Authenticate(ctx, key.Secret); err != nil {
				t.Fatalf("first use: %v", err)
			}
			if !allowed() {
				t.Fatal("the PDP denies before the leak")
			}

			svc := discovery.New(store.(steward.DiscoveryStore), nil, nil)
			svc.AutoRevoke, svc.Revoker = true, b
			sum, err := svc.Ingest(admin, &steward.DiscoveryReport{Source: "gitleaks", Repository: "acme/api", Items: []steward.DiscoveryItem{
				{Rule: "stw-api-key", File: "deploy/values.yaml", Line: 12, Fingerprint: key.Fingerprint}}})
			if err != nil {
				t.Fatal(err)
			}
			if sum.ManagedLeaks != 1 || sum.AutoRevoked != 1 {
				t.Fatalf("summary %+v, want one leak revoked", sum)
			}
			if _, err := b.Authenticate(ctx, key.Secret); steward.ErrorCode(err) != steward.EUNAUTHORIZED {
				t.Fatalf("the auto-revoked key still authenticates right after the ingest: %v", err)
			}
			if allowed() {
				t.Fatal("the PDP still permits a request with the auto-revoked key right after the ingest")
			}
			events, err := store.ListEvents(ctx, steward.EventFilter{IdentityID: id.ID})
			if err != nil {
				t.Fatal(err)
			}
			revokes := 0
			for _, e := range events.Items {
				if e.Action == steward.ActionCredentialRevoke && strings.HasPrefix(e.Reason, "incident: automatically revoked, leaked at acme/api:deploy/values.yaml:12") {
					revokes++
				}
			}
			if revokes != 1 {
				t.Fatalf("%d auto-revocation events, want one naming the leak", revokes)
			}
		})
	}
}

// TestAutoRevokeNeedsARevoker checks that auto-revoke without the broker
// to revoke through refuses the ingest and writes nothing.
func TestAutoRevokeNeedsARevoker(t *testing.T) {
	store := sqltest.SQLite(t)
	admin := steward.WithPrincipal(context.Background(), &steward.Principal{Actor: "token:t", Role: steward.RoleAdmin})
	svc := discovery.New(store, nil, nil)
	svc.AutoRevoke = true
	_, err := svc.Ingest(admin, &steward.DiscoveryReport{Repository: "acme/api", Items: []steward.DiscoveryItem{
		{Rule: "stw-api-key", File: "a.yaml", Line: 1, Fingerprint: strings.Repeat("a", 64)}}})
	if steward.ErrorCode(err) != steward.EINTERNAL {
		t.Fatalf("err = %v, want EINTERNAL", err)
	}
	if page, err := store.ListSightings(admin, steward.SightingFilter{}); err != nil || len(page.Items) != 0 {
		t.Fatalf("sightings %+v %v, want none", page, err)
	}
}

// newBroker returns a credential broker on store that keeps verified
// credentials for cacheTTL and publishes its changes to changes.
func newBroker(t *testing.T, store steward.Store, changes *steward.Changes, cacheTTL time.Duration) *broker.Broker {
	t.Helper()
	box, err := secretbox.New(bytes.Repeat([]byte{7}, secretbox.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	b, err := broker.New(context.Background(), broker.Config{Store: store.(steward.BrokerStore), Box: box, Pepper: []byte("pepper-pepper-pepper-pepper"),
		DefaultIssuer: "http://steward.test", CacheTTL: cacheTTL, FailureRate: 1e9, Changes: changes})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestScannerReportErrorsAreBounded checks that a scanner report of many
// unreadable items lists the first steward.MaxImportErrors with their lines
// and counts the rest.
func TestScannerReportErrorsAreBounded(t *testing.T) {
	tests := []struct {
		name, format string
		report       func(n int) string
	}{
		{"trufflehog lines without a raw secret", "trufflehog", func(n int) string {
			return strings.Repeat(`{"DetectorName":"AWS","Raw":""}`+"\n", n)
		}},
		{"redacted gitleaks findings", "gitleaks", func(n int) string {
			return "[" + strings.TrimSuffix(strings.Repeat(`{"RuleID":"aws","File":"a.env","Secret":"REDACTED"},`, n), ",") + "]"
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			const n = 20_000
			rep, bad, err := discovery.Parse(tc.format, strings.NewReader(tc.report(n)))
			if err != nil {
				t.Fatal(err)
			}
			if len(bad) != steward.MaxImportErrors || rep.Rejected != n || len(rep.Items) != 0 {
				t.Fatalf("listed %d, counted %d, items %d; want %d listed and %d counted", len(bad), rep.Rejected, len(rep.Items), steward.MaxImportErrors, n)
			}
			if bad[0].Record != 1 || bad[len(bad)-1].Record != steward.MaxImportErrors {
				t.Fatalf("not the first errors: %+v … %+v", bad[0], bad[len(bad)-1])
			}
		})
	}
}
