package posture_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/ids"
	"github.com/steward-nhi/steward/posture"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

// TestFederationFindingsFromTheStore runs the federation checks over
// issuers and bindings read from the store: a full run opens them, an
// incremental run after the binding is narrowed and the API key revoked
// resolves them.
func TestFederationFindingsFromTheStore(t *testing.T) {
	for _, eng := range sqltest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			var fs steward.FederationStore
			v := newEnv(t, func(tb testing.TB) steward.Store {
				s := eng.Open(tb)
				fs = s.(steward.FederationStore)
				return s
			}, func(o *posture.Options) { o.Federation = o.Store.(posture.FederationSource) })
			ctx := context.Background()
			now := v.clk.Now().UTC().Truncate(time.Microsecond)
			ada := v.owner("Ada", nil)
			wl := v.identity("billing", ada.ID, func(i *steward.Identity) { i.Kind = steward.KindWorkload })
			clean := v.identity("clean", ada.ID, func(i *steward.Identity) { i.Kind = steward.KindWorkload })
			cred := func(i *steward.Identity, typ string) *steward.BrokerCredential {
				return &steward.BrokerCredential{Credential: steward.Credential{ID: ids.New(ids.Credential, now), IdentityID: i.ID, Type: typ,
					Status: steward.CredentialActive, Scopes: []string{}, CreatedAt: now, Metadata: map[string]string{}}, Digest: ids.New("dg_", now)}
			}
			bind := func(i *steward.Identity, subject string) *steward.FederationBinding {
				c := cred(i, steward.CredentialTypeFederated)
				b := &steward.FederationBinding{ID: c.ID, IdentityID: i.ID, Issuer: "prod-cluster", Subject: subject, Claims: map[string]string{},
					CreatedAt: now, CreatedBy: "op:admin"}
				if err := fs.UpdateFederation(ctx, func(tx steward.FederationTx) error {
					if err := tx.CreateBrokerCredential(ctx, c); err != nil {
						return err
					}
					return tx.CreateFederationBinding(ctx, b)
				}); err != nil {
					t.Fatal(err)
				}
				return b
			}
			key := cred(wl, steward.CredentialTypeAPIKey)
			if err := fs.UpdateFederation(ctx, func(tx steward.FederationTx) error {
				if err := tx.PutTrustedIssuer(ctx, &steward.TrustedIssuer{Name: "prod-cluster", Kind: steward.IssuerKubernetes, Issuer: "https://k8s.example.com",
					JWKS: json.RawMessage(`{"keys":[]}`), Audiences: []string{"https://kubernetes.default.svc"}, Algorithms: []string{"ES256"},
					CreatedAt: now, UpdatedAt: now, UpdatedBy: "op:admin"}); err != nil {
					return err
				}
				return tx.CreateBrokerCredential(ctx, key)
			}); err != nil {
				t.Fatal(err)
			}
			broad := bind(wl, "system:serviceaccount:prod:*")
			bind(clean, "system:serviceaccount:prod:clean")
			v.run()
			for _, c := range []string{"federation.binding_broad", "federation.issuer_unrestricted", "federation.static_secret_retained"} {
				f := v.one(wl.ID, c)
				if f.Remediation == "" || f.OWASP == "" || len(f.CSF) == 0 {
					t.Errorf("%s: %+v lacks remediation or mapping", c, f)
				}
			}
			if f := v.one(wl.ID, "federation.binding_broad"); f.CredentialID != broad.ID {
				t.Errorf("broad binding finding names %s, want %s", f.CredentialID, broad.ID)
			}
			if fs := v.findings(steward.FindingFilter{IdentityID: clean.ID, Check: "federation.binding_broad"}); len(fs) != 0 {
				t.Errorf("the narrow binding has findings: %+v", fs)
			}

			// Narrow the binding, retire the key, restrict the audience.
			bind(wl, "system:serviceaccount:prod:billing")
			if err := fs.UpdateFederation(ctx, func(tx steward.FederationTx) error {
				for _, id := range []string{broad.ID, key.ID} {
					c, err := tx.GetBrokerCredential(ctx, id)
					if err != nil {
						return err
					}
					c.Status, c.RevokedAt = steward.CredentialRevoked, &now
					if err := tx.UpdateBrokerCredential(ctx, c); err != nil {
						return err
					}
				}
				ti, err := tx.GetTrustedIssuer(ctx, "prod-cluster")
				if err != nil {
					return err
				}
				ti.Audiences = []string{"https://steward.example.com"}
				return tx.PutTrustedIssuer(ctx, ti)
			}); err != nil {
				t.Fatal(err)
			}
			if _, err := v.e.Evaluate(v.ctx, []string{wl.ID}); err != nil {
				t.Fatal(err)
			}
			for _, c := range []string{"federation.binding_broad", "federation.issuer_unrestricted", "federation.static_secret_retained"} {
				if f := v.one(wl.ID, c); f.Status != steward.FindingResolved {
					t.Errorf("%s is %s after the fix, want resolved", c, f.Status)
				}
			}
		})
	}
}
