package posture_test

import (
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/ids"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

// TestAgentStandingWriteFromTheStore runs the agent check over
// identities and credentials read from the store: a full run opens the
// finding on the agent whose API key writes (and not on the one whose key
// reads, nor on a service account), an incremental run after the key is
// revoked resolves it.
func TestAgentStandingWriteFromTheStore(t *testing.T) {
	const check = "agent.standing_write_scopes"
	for _, eng := range sqltest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			v := newEnv(t, eng.Open, nil)
			now := v.clk.Now().UTC().Truncate(time.Microsecond)
			ada := v.owner("Ada", nil)
			mk := func(name string, kind steward.Kind, keyScopes ...string) (*steward.Identity, string) {
				i := v.identity(name, ada.ID, func(i *steward.Identity) {
					i.Kind, i.Scopes = kind, []string{"orders:read", "tickets:write"}
				})
				id := ids.New(ids.Credential, now)
				exp := now.Add(60 * 24 * time.Hour)
				if err := v.store.Update(v.ctx, func(tx steward.Tx) error {
					return tx.CreateCredential(v.ctx, &steward.Credential{ID: id, IdentityID: i.ID, Type: steward.CredentialTypeAPIKey, Status: steward.CredentialActive,
						CreatedAt: now, ExpiresAt: &exp, Scopes: keyScopes, Metadata: map[string]string{}})
				}); err != nil {
					t.Fatal(err)
				}
				return i, id
			}
			writer, key := mk("support-agent", steward.KindAIAgent, "orders:read", "tickets:write")
			reader, _ := mk("reading-agent", steward.KindAIAgent, "orders:read")
			service, _ := mk("ticket-sync", steward.KindServiceAccount, "orders:read", "tickets:write")
			v.run()
			f := v.one(writer.ID, check)
			if f.CredentialID != key || f.OWASP != "NHI5" || len(f.CSF) == 0 || f.Remediation == "" || f.Status != steward.FindingOpen {
				t.Fatalf("finding %+v", f)
			}
			for _, i := range []*steward.Identity{reader, service} {
				if fs := v.findings(steward.FindingFilter{IdentityID: i.ID, Check: check}); len(fs) != 0 {
					t.Errorf("%s has %d findings: %+v", i.Name, len(fs), fs[0])
				}
			}

			if err := v.store.Update(v.ctx, func(tx steward.Tx) error {
				c, err := tx.GetCredential(v.ctx, key)
				if err != nil {
					return err
				}
				c.Status, c.RevokedAt = steward.CredentialRevoked, &now
				return tx.UpdateCredential(v.ctx, c)
			}); err != nil {
				t.Fatal(err)
			}
			if _, err := v.e.Evaluate(v.ctx, []string{writer.ID}); err != nil {
				t.Fatal(err)
			}
			if f := v.one(writer.ID, check); f.Status != steward.FindingResolved {
				t.Errorf("after the key is revoked the finding is %s, want resolved", f.Status)
			}
		})
	}
}
