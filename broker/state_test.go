package broker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/broker"
	"github.com/steward-nhi/steward/evidence"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

// TestCredentialStateReadsRight is issue 14.5 for the broker: state is
// computed on read (before any sweep), an extension never shortens a
// lifetime, the credential list shows the overlap and the client id, and
// the evidence pack sees the successor's fingerprint.
func TestCredentialStateReadsRight(t *testing.T) {
	for _, eng := range sqltest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newEnv(t, envOpts{open: eng.Open})
			ctx := context.Background()
			short := e.issue(e.ident.ID, broker.IssueRequest{TTL: dur(time.Hour)})
			old := e.issue(e.ident.ID, broker.IssueRequest{TTL: dur(30 * 24 * time.Hour)})
			rot, err := e.b.Rotate(e.adminP, old.ID, broker.RotateRequest{Overlap: dur(2 * time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			client := e.issue(e.ident.ID, broker.IssueRequest{Type: steward.CredentialTypeClientSecret})
			e.clk.Advance(3 * time.Hour) // past short's TTL and old's overlap; no sweep ran

			t.Run("status is computed on read", func(t *testing.T) {
				want := map[string]steward.CredentialStatus{short.ID: steward.CredentialExpired, old.ID: steward.CredentialRevoked,
					rot.ID: steward.CredentialActive, client.ID: steward.CredentialActive}
				bcs, err := e.b.List(e.adminP, e.ident.ID)
				if err != nil {
					t.Fatal(err)
				}
				cs, err := e.svc.ListCredentials(e.adminP, e.ident.ID)
				if err != nil {
					t.Fatal(err)
				}
				if len(bcs) != len(want) || len(cs) != len(want) {
					t.Fatalf("%d and %d credentials, want %d", len(bcs), len(cs), len(want))
				}
				for n := range bcs {
					for _, c := range []*steward.Credential{&bcs[n].Credential, cs[n]} {
						if c.Status != want[c.ID] {
							t.Errorf("credential %s reads %s, want %s", c.ID, c.Status, want[c.ID])
						}
					}
				}
				if g, err := e.b.Get(e.adminP, short.ID); err != nil || g.Status != steward.CredentialExpired {
					t.Errorf("get: %v %v", g, err)
				}
			})

			t.Run("the credential list shows the overlap and the client id", func(t *testing.T) {
				r := e.get("/api/v1/identities/"+e.ident.ID+"/credentials", e.admin)
				var out struct {
					Items []map[string]any `json:"items"`
				}
				r.json(t, &out)
				byID := map[string]map[string]any{}
				for _, it := range out.Items {
					byID[it["id"].(string)] = it
				}
				if byID[old.ID]["overlap_until"] == nil || byID[client.ID]["client_id"] != client.ClientID || client.ClientID == "" {
					t.Fatalf("list %s", r.body)
				}
			})

			cases := []struct {
				name string
				ttl  time.Duration
				err  string
			}{
				{"an extension that would shorten the lifetime is refused", time.Hour, "only lengthens"},
				{"an extension capped below the current expiry is refused", 1000 * 24 * time.Hour, "caps it there"},
				{"an extension that lengthens the lifetime is recorded", 60 * 24 * time.Hour, ""},
			}
			// rot expires 30 days after its issue; long gets the tier's
			// maximum of 90 days, so no extension can go further.
			long := e.issue(e.ident.ID, broker.IssueRequest{TTL: dur(90 * 24 * time.Hour)})
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					id := rot.ID
					if strings.Contains(tc.name, "capped") {
						id = long.ID
					}
					before, _ := e.b.Get(e.adminP, id)
					c, err := e.b.Extend(e.adminP, id, broker.ExtendRequest{TTL: steward.Duration(tc.ttl), Reason: "test"})
					if tc.err != "" {
						if steward.ErrorCode(err) != steward.ECONFLICT || !strings.Contains(err.Error(), tc.err) {
							t.Fatalf("extend: %v", err)
						}
						if after, _ := e.b.Get(e.adminP, id); !after.ExpiresAt.Equal(*before.ExpiresAt) {
							t.Fatalf("a refused extension moved the expiry from %v to %v", before.ExpiresAt, after.ExpiresAt)
						}
						return
					}
					if err != nil || !c.ExpiresAt.After(*before.ExpiresAt) {
						t.Fatalf("extend: %v %v", c, err)
					}
				})
			}

			t.Run("the evidence pack records the successor's fingerprint", func(t *testing.T) {
				src, ok := e.store.BrokerStore.(evidence.Source)
				if !ok {
					t.Fatal("the store is not an evidence source")
				}
				d, err := evidence.Collect(ctx, src, t0.Add(-time.Hour), e.clk.Now().Add(time.Hour), e.clk.Now(), nil)
				if err != nil {
					t.Fatal(err)
				}
				if len(d.Rotations) != 1 || d.Rotations[0].OldFingerprint != old.Fingerprint || d.Rotations[0].NewFingerprint != rot.Fingerprint {
					t.Fatalf("rotations %+v", d.Rotations)
				}
			})
		})
	}
}
