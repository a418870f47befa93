package posture_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/broker"
	"github.com/steward-nhi/steward/internal/ids"
	"github.com/steward-nhi/steward/internal/secretbox"
	"github.com/steward-nhi/steward/posture"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
	"github.com/steward-nhi/steward/usage"
)

// brokerRevoker is the adapter cmd/steward wires: posture revokes one
// credential through the credential broker.
type brokerRevoker struct{ b *broker.Broker }

func (r brokerRevoker) RevokeCredential(ctx context.Context, id, reason string) error {
	_, err := r.b.Revoke(ctx, id, broker.RevokeRequest{Reason: reason})
	return err
}

// An IAM user whose console password was used last month, with one access
// key last used in 2024 and one used last week (sqltest.Base is 2026-01-02).
const iamReport = `user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated
reporting,arn:aws:iam::123456789012:user/reporting,2023-02-01T00:00:00+00:00,true,2025-12-01T09:00:00+00:00,N/A,N/A,true,true,2024-01-10T00:00:00+00:00,2024-11-01T10:00:00+00:00,us-east-1,s3,true,2025-06-01T00:00:00+00:00,2025-12-26T10:00:00+00:00,us-east-1,sqs,false,N/A,false,N/A
`

// TestCredentialDormancy checks that one unused key of an identity in use
// gets its own finding, and that dormancy enforcement revokes that key only
// (after a dry run that changes nothing).
func TestCredentialDormancy(t *testing.T) {
	for _, eng := range sqltest.Engines(t) {
		for _, dry := range []bool{true, false} {
			name := eng.Name + "/" + map[bool]string{true: "dry run only reports", false: "enforcement revokes the dormant key only"}[dry]
			t.Run(name, func(t *testing.T) {
				var rev brokerRevoker
				v := newEnv(t, eng.Open, func(o *posture.Options) {
					o.Dormancy = posture.DormancyPolicy{Enabled: true, DryRun: dry}
					o.Credentials = &rev
				})
				box, err := secretbox.New(bytes.Repeat([]byte{7}, secretbox.KeySize))
				if err != nil {
					t.Fatal(err)
				}
				if rev.b, err = broker.New(context.Background(), broker.Config{Store: v.store.(steward.BrokerStore), Box: box,
					Pepper: []byte("pepper-pepper-pepper-pepper"), Issuer: "https://steward.test", Clock: v.clk}); err != nil {
					t.Fatal(err)
				}
				if _, err := v.svc.Import(v.ctx, "aws-credential-report", strings.NewReader(iamReport), steward.ImportOptions{}); err != nil {
					t.Fatal(err)
				}
				ids, err := v.svc.ListIdentities(v.ctx, steward.IdentityFilter{})
				if err != nil || len(ids.Items) != 1 {
					t.Fatalf("identities %v %v", ids, err)
				}
				i := ids.Items[0]
				creds, err := v.svc.ListCredentials(v.ctx, i.ID)
				if err != nil || len(creds) != 2 {
					t.Fatalf("credentials %v %v", creds, err)
				}
				byRef := map[string]*steward.Credential{}
				for _, c := range creds {
					byRef[c.ExternalRef] = c
				}
				stale, fresh := byRef["access_key_1"], byRef["access_key_2"]

				r := v.run()
				if fs := v.findings(steward.FindingFilter{IdentityID: i.ID, Check: "dormant"}); len(fs) != 0 {
					t.Fatalf("the identity is in use, yet has a dormant finding: %+v", fs[0])
				}
				f := v.one(i.ID, "credential.dormant")
				if f.CredentialID != stale.ID || f.OWASP != "NHI1" || len(f.CSF) == 0 {
					t.Fatalf("finding %+v, want one on %s", f, stale.ID)
				}
				stateOf := func(id string) steward.CredentialStatus {
					cs, _ := v.svc.ListCredentials(v.ctx, i.ID)
					for _, c := range cs {
						if c.ID == id {
							return c.Status
						}
					}
					return ""
				}
				if dry {
					if f.Status != steward.FindingOpen {
						t.Fatalf("dry run: the finding is %s", f.Status)
					}
					if len(r.Actions) != 1 || !strings.HasPrefix(r.Actions[0], "would revoke credential "+stale.ID) {
						t.Fatalf("dry run actions %v", r.Actions)
					}
					if stateOf(stale.ID) != steward.CredentialActive {
						t.Fatal("a dry run revoked the key")
					}
					return
				}
				if len(r.Actions) != 1 || !strings.HasPrefix(r.Actions[0], "revoked credential "+stale.ID) {
					t.Fatalf("actions %v", r.Actions)
				}
				if stateOf(stale.ID) != steward.CredentialRevoked || stateOf(fresh.ID) != steward.CredentialActive {
					t.Fatalf("stale %s, fresh %s; want revoked, active", stateOf(stale.ID), stateOf(fresh.ID))
				}
				if got, _ := v.svc.GetIdentity(v.ctx, i.ID); got.Status != steward.StatusActive {
					t.Fatalf("the identity is %s; only the key should change", got.Status)
				}
				evs, _ := v.store.ListEvents(context.Background(), steward.EventFilter{IdentityID: i.ID, Action: steward.ActionCredentialRevoke})
				if len(evs.Items) != 1 || evs.Items[0].SubjectID != stale.ID || !strings.HasPrefix(evs.Items[0].Reason, "dormant") {
					t.Fatalf("revocation events %+v", evs.Items)
				}
				if f.Status != steward.FindingResolved || f.ResolvedSeq == 0 {
					t.Fatalf("the revocation should resolve the finding: %+v", f)
				}
				v.clk.Advance(time.Minute)
				if r := v.run(); len(r.Actions) != 0 {
					t.Fatalf("a second run acts again: %v", r.Actions)
				}
			})
		}
	}
}

// TestIngestedUsageKeepsCredentialsFromDormancy is issue 14: a key used
// only outside Steward, as a CloudTrail log ingested into Steward shows,
// is in use. Before the ingest both the identity and its key read dormant;
// after it, neither does: the ingest moves the credential's last use as
// well as the identity's, on both engines, through the one-row and the
// bulk (COPY) write paths.
func TestIngestedUsageKeepsCredentialsFromDormancy(t *testing.T) {
	const key = "AKIAOUTSIDESTEWARD01"
	for _, eng := range sqltest.Engines(t) {
		for _, events := range []int{1, 200} {
			t.Run(fmt.Sprintf("%s/%d events", eng.Name, events), func(t *testing.T) {
				v := newEnv(t, eng.Open, nil)
				long := v.clk.Now().AddDate(-1, 0, 0)
				i := v.identity("reporting", "", func(i *steward.Identity) {
					i.Provider, i.ExternalRef, i.Sensitivity, i.LastUsedAt, i.ExpiresAt = "aws", "arn:aws:iam::1:user/reporting", steward.SensitivityMedium, &long, nil
				})
				credID := ids.New(ids.Credential, long)
				if err := v.store.Update(v.ctx, func(tx steward.Tx) error {
					return tx.CreateCredential(v.ctx, &steward.Credential{ID: credID, IdentityID: i.ID, Type: "aws_access_key", ExternalRef: key,
						Status: steward.CredentialActive, CreatedAt: long, LastUsedAt: &long, Scopes: []string{}, Metadata: map[string]string{}})
				}); err != nil {
					t.Fatal(err)
				}
				v.run()
				if fs := v.findings(steward.FindingFilter{IdentityID: i.ID, Check: "dormant", Unresolved: true}); len(fs) != 1 {
					t.Fatalf("before the ingest: %d dormant findings, want 1", len(fs))
				}

				// Yesterday's CloudTrail log: the key called S3.
				used := v.clk.Now().Add(-24 * time.Hour)
				var log strings.Builder
				log.WriteString(`{"Records":[`)
				for n := range events {
					if n > 0 {
						log.WriteByte(',')
					}
					fmt.Fprintf(&log, `{"eventTime":%q,"eventSource":"s3.amazonaws.com","eventName":"GetObject","userIdentity":{"accessKeyId":%q}}`,
						used.Add(-time.Duration(n)*time.Second).Format(time.RFC3339), key)
				}
				log.WriteString(`]}`)
				st := v.store.(steward.Store)
				svc := usage.New(usage.Config{Store: st.(steward.UsageStore), Inventory: st, Credentials: st.(usage.CredentialFinder)})
				sum, err := svc.Ingest(v.ctx, "cloudtrail", strings.NewReader(log.String()), usage.IngestOptions{})
				if err != nil || sum.Matched != events {
					t.Fatalf("ingest %+v %v", sum, err)
				}
				creds, err := v.svc.ListCredentials(v.ctx, i.ID)
				if err != nil || len(creds) != 1 || creds[0].LastUsedAt == nil || !creds[0].LastUsedAt.Equal(used) {
					t.Fatalf("credential %+v %v: last used should be %s", creds, err, used)
				}
				if got, _ := v.svc.GetIdentity(v.ctx, i.ID); got.LastUsedAt == nil || !got.LastUsedAt.Equal(used) {
					t.Fatalf("identity last used %v, want %s", got.LastUsedAt, used)
				}

				v.clk.Advance(time.Minute)
				v.run()
				for _, check := range []string{"dormant", "credential.dormant"} {
					if fs := v.findings(steward.FindingFilter{IdentityID: i.ID, Check: check, Unresolved: true}); len(fs) != 0 {
						t.Fatalf("after the ingest, an open %s finding: %+v", check, fs[0].Evidence)
					}
				}

				// An older log afterwards moves nothing backwards.
				old := `{"eventTime":"2025-01-01T00:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","userIdentity":{"accessKeyId":"` + key + `"}}`
				if _, err := svc.Ingest(v.ctx, "cloudtrail", strings.NewReader(old), usage.IngestOptions{}); err != nil {
					t.Fatal(err)
				}
				if creds, _ := v.svc.ListCredentials(v.ctx, i.ID); !creds[0].LastUsedAt.Equal(used) {
					t.Fatalf("an older log moved the credential's last use back to %s", creds[0].LastUsedAt)
				}
			})
		}
	}
}
