package usage_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/ids"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
	"github.com/steward-nhi/steward/usage"
)

var admin = steward.WithPrincipal(context.Background(), &steward.Principal{Actor: "token:admin", Role: steward.RoleAdmin})

type fixture struct {
	store steward.Store
	svc   *usage.Service
	aws   *steward.Identity // credential AKIAEXAMPLE, arn:aws:iam::1:user/ci
	vault *steward.Identity // accessor acc-1, entity ent-1
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	s := sqltest.OpenSQLite(t)
	now := time.Now().UTC().Truncate(time.Microsecond)
	mk := func(name, provider, ref string) *steward.Identity {
		return &steward.Identity{ID: ids.New(ids.Identity, now), Name: name, Kind: steward.KindServiceAccount, Provider: provider, ExternalRef: ref,
			Sensitivity: steward.SensitivityLow, Source: steward.SourceImported, Status: steward.StatusActive, CreatedAt: now, UpdatedAt: now,
			Version: 1, Scopes: []string{"s3:*", "sqs:SendMessage"}, Labels: map[string]string{}}
	}
	f := &fixture{store: s, aws: mk("ci", "aws", "arn:aws:iam::1:user/ci"), vault: mk("app", "vault", "ent-1")}
	ctx := context.Background()
	if err := s.Update(ctx, func(tx steward.Tx) error {
		for _, i := range []*steward.Identity{f.aws, f.vault} {
			if err := tx.CreateIdentity(ctx, i); err != nil {
				return err
			}
		}
		for id, c := range map[string]*steward.Identity{"AKIAEXAMPLE": f.aws, "acc-1": f.vault} {
			if err := tx.CreateCredential(ctx, &steward.Credential{ID: ids.New(ids.Credential, now), IdentityID: c.ID, Type: "key", ExternalRef: id,
				Status: steward.CredentialActive, CreatedAt: now, Scopes: []string{}, Metadata: map[string]string{}}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	f.svc = usage.New(usage.Config{Store: s.(steward.UsageStore), Inventory: s, Credentials: s.(usage.CredentialFinder)})
	return f
}

func TestIngestFormats(t *testing.T) {
	tests := []struct {
		name, format, body string
		opts               usage.IngestOptions
		accepted, matched  int
		rejected           int
		identity           func(f *fixture) string
		action             string
	}{
		{"CloudTrail by access key", "cloudtrail", `{"Records":[{"eventTime":"2026-01-02T03:04:05Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","userIdentity":{"accessKeyId":"AKIAEXAMPLE","arn":"arn:aws:iam::1:user/ci"},"sourceIPAddress":"1.2.3.4","resources":[{"ARN":"arn:aws:s3:::b/k"}]}]}`,
			usage.IngestOptions{}, 1, 1, 0, func(f *fixture) string { return f.aws.ID }, "s3:GetObject"},
		{"CloudTrail by ARN", "cloudtrail", `{"eventTime":"2026-01-02T03:04:05Z","eventSource":"sqs.amazonaws.com","eventName":"SendMessage","userIdentity":{"accessKeyId":"ASIATEMP","arn":"arn:aws:iam::1:user/ci"}}`,
			usage.IngestOptions{}, 1, 1, 0, func(f *fixture) string { return f.aws.ID }, "sqs:SendMessage"},
		{"CloudTrail unknown caller", "cloudtrail", `{"eventTime":"2026-01-02T03:04:05Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","userIdentity":{"accessKeyId":"AKIAGHOST","arn":"arn:aws:iam::9:user/ghost"}}`,
			usage.IngestOptions{}, 1, 0, 0, func(*fixture) string { return "" }, "s3:ListBuckets"},
		{"Vault audit by accessor", "vault", "{\"type\":\"request\",\"request\":{\"path\":\"secret/x\"}}\n{\"time\":\"2026-01-02T03:04:05Z\",\"type\":\"response\",\"auth\":{\"accessor\":\"acc-1\",\"entity_id\":\"ent-1\"},\"request\":{\"operation\":\"read\",\"path\":\"secret/data/app\",\"remote_address\":\"10.0.0.2\"}}\n",
			usage.IngestOptions{}, 1, 1, 0, func(f *fixture) string { return f.vault.ID }, "read"},
		{"OpenBao by entity", "openbao", `{"time":"2026-01-02T03:04:05Z","type":"response","auth":{"accessor":"hmac-x","entity_id":"ent-1"},"request":{"operation":"update","path":"transit/encrypt/k"}}`,
			usage.IngestOptions{}, 1, 1, 0, func(f *fixture) string { return f.vault.ID }, "update"},
		{"OPA decision log", "opa", `{"decision_id":"d1","timestamp":"2026-01-02T03:04:05Z","input":{"subject":{"type":"nhi","id":"ID"},"action":{"name":"charge"},"resource":{"type":"Card","id":"c"}},"result":true}`,
			usage.IngestOptions{}, 1, 1, 0, func(f *fixture) string { return f.aws.ID }, "charge"},
		{"gateway with field names", "gateway", "{\"ts\":\"2026-01-02T03:04:05Z\",\"auth\":{\"key\":\"AKIAEXAMPLE\"},\"route\":\"GET /v1/x\",\"ip\":\"1.1.1.1\"}\n{\"ts\":\"2026-01-02T03:04:06Z\",\"route\":\"GET /v1/y\"}\n",
			usage.IngestOptions{Fields: map[string]string{"time": "ts", "credential": "auth.key", "action": "route", "source": "ip", "subject": "auth.user"}}, 1, 1, 1, func(f *fixture) string { return f.aws.ID }, "GET /v1/x"},
		{"JSON lines with a bad line", "jsonl", "{\"subject\":\"arn:aws:iam::1:user/ci\",\"action\":\"s3:PutObject\",\"time\":\"2026-01-02T03:04:05Z\"}\nnot json\n{\"action\":\"x\"}\n",
			usage.IngestOptions{Provider: "aws"}, 1, 1, 2, func(f *fixture) string { return f.aws.ID }, "s3:PutObject"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			body := strings.ReplaceAll(tc.body, `"ID"`, `"`+f.aws.ID+`"`)
			sum, err := f.svc.Ingest(admin, tc.format, strings.NewReader(body), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Accepted != tc.accepted || sum.Matched != tc.matched || sum.Rejected != tc.rejected {
				t.Fatalf("summary %+v", sum)
			}
			page, err := f.svc.ListUsage(admin, steward.UsageFilter{Kind: steward.UsageIngest})
			if err != nil || len(page.Items) != tc.accepted {
				t.Fatalf("events %+v %v", page, err)
			}
			ev := page.Items[0]
			if ev.IdentityID != tc.identity(f) || ev.Action != tc.action {
				t.Fatalf("event %+v", ev)
			}
			if ev.IdentityID == "" {
				unk, _ := f.svc.UnknownCallers(admin, 10)
				if len(unk) != 1 || unk[0].Value != ev.Subject {
					t.Fatalf("unknown callers %+v", unk)
				}
			}
		})
	}
}

func TestLeastPrivilege(t *testing.T) {
	f := newFixture(t)
	body := `{"Records":[{"eventTime":"2026-01-02T03:04:05Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","userIdentity":{"accessKeyId":"AKIAEXAMPLE"},"sourceIPAddress":"1.2.3.4"},
	{"eventTime":"2026-01-02T03:05:05Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","userIdentity":{"accessKeyId":"AKIAEXAMPLE"},"sourceIPAddress":"1.2.3.5"}]}`
	if _, err := f.svc.Ingest(admin, "cloudtrail", strings.NewReader(body), usage.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	u, err := f.svc.IdentityUsage(admin, f.aws.ID, steward.UsageFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if u.Events != 2 || len(u.Sources) != 2 || u.Actions[0].Count != 2 || strings.Join(u.UnusedScopes, ",") != "sqs:SendMessage" {
		t.Fatalf("usage %+v", u)
	}
	owner := steward.WithPrincipal(context.Background(), &steward.Principal{Actor: "token:o", Role: steward.RoleOwner, OwnerID: "own_other"})
	if _, err := f.svc.IdentityUsage(owner, f.aws.ID, steward.UsageFilter{}); steward.ErrorCode(err) != steward.EFORBIDDEN {
		t.Fatalf("another owner's identity: %v", err)
	}
}

// TestRecorderDropsWhenFull checks that Record never blocks: a full queue
// drops and counts; Flush writes what was queued.
func TestRecorderDropsWhenFull(t *testing.T) {
	s := sqltest.OpenSQLite(t)
	rec := usage.NewRecorder(usage.RecorderConfig{Store: s.(steward.UsageStore), QueueSize: 3, BatchSize: 2})
	for i := range 5 {
		rec.Record(context.Background(), steward.UsageEvent{Kind: steward.UsageDecision, Subject: "u:" + string(rune('a'+i)), Outcome: "allow"})
	}
	if st := rec.Stats(); st.Dropped != 2 || st.Queued != 3 {
		t.Fatalf("stats %+v", st)
	}
	rec.Flush(context.Background())
	if st := rec.Stats(); st.Written != 3 || st.Queued != 0 {
		t.Fatalf("after flush %+v", st)
	}
	page, _ := s.(steward.UsageStore).ListUsage(context.Background(), steward.UsageFilter{})
	if len(page.Items) != 3 {
		t.Fatalf("%d events stored", len(page.Items))
	}
}

// FuzzIngest feeds arbitrary logs to Ingest and checks what it says
// against what it wrote: an accepted ingest writes exactly the events it
// reports accepted, every record is accepted or rejected, the error list
// stays bounded, and a failed ingest wrote only whole batches.
func FuzzIngest(f *testing.F) {
	f.Add("cloudtrail", `{"Records":[{"eventName":"X","userIdentity":{"arn":"a"}}]}`)
	f.Add("vault", `{"type":"response","request":{"path":"p"}}`)
	f.Add("opa", `{"input":{"user":"u"},"result":{"allow":false}}`)
	f.Add("jsonl", "{\"subject\":\"s\"}\n[")
	f.Add("gateway", "{\"s\":\"caller\",\"time\":\"2026-01-02T03:04:05Z\"}\n{\"s\":1}")
	fx := newFixture(f)
	us := fx.store.(steward.UsageStore)
	count := func(t *testing.T) int {
		n := 0
		err := steward.EachPage(func(cursor string) (*steward.Page[*steward.UsageEvent], error) {
			return us.ListUsage(context.Background(), steward.UsageFilter{Limit: steward.MaxLimit, Cursor: cursor})
		}, func(*steward.UsageEvent) error { n++; return nil })
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	f.Fuzz(func(t *testing.T, format, body string) {
		before := count(t)
		sum, err := fx.svc.Ingest(admin, format, strings.NewReader(body), usage.IngestOptions{Fields: map[string]string{"subject": "s"}})
		written := count(t) - before
		if err != nil {
			if sum != nil && (written > sum.Accepted || written%500 != 0) {
				t.Fatalf("failed ingest (%v) wrote %d events, %d accepted", err, written, sum.Accepted)
			}
			if sum == nil && written != 0 {
				t.Fatalf("refused ingest (%v) wrote %d events", err, written)
			}
			return
		}
		if written != sum.Accepted {
			t.Fatalf("summary says %d accepted, %d written", sum.Accepted, written)
		}
		if sum.Accepted+sum.Rejected != sum.Records || sum.Matched+sum.Unknown != sum.Accepted {
			t.Fatalf("summary does not add up: %+v", sum)
		}
		if len(sum.Errors) > usage.MaxIngestErrors || len(sum.Errors) > sum.Rejected {
			t.Fatalf("%d errors listed for %d rejected", len(sum.Errors), sum.Rejected)
		}
	})
}

// TestRecorderWritesAFullBatchBeforeTheTick checks that Run is woken by a
// full batch, not only by its flush interval (an hour here), and that a
// partial batch waits for the tick.
func TestRecorderWritesAFullBatchBeforeTheTick(t *testing.T) {
	s := sqltest.OpenSQLite(t)
	rec := usage.NewRecorder(usage.RecorderConfig{Store: s.(steward.UsageStore), BatchSize: 4, FlushInterval: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { rec.Run(ctx); close(done) }()
	for i := range 7 {
		rec.Record(ctx, steward.UsageEvent{Kind: steward.UsageDecision, Subject: fmt.Sprintf("u:%d", i), Outcome: "allow"})
	}
	deadline := time.Now().Add(5 * time.Second)
	for rec.Stats().Written < 4 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if st := rec.Stats(); st.Written != 4 && st.Written != 7 {
		t.Fatalf("after a full batch: %+v, want its 4 events written without waiting for the tick", st)
	}
	cancel()
	<-done
	if st := rec.Stats(); st.Written != 7 || st.Queued != 0 {
		t.Fatalf("after shutdown: %+v, want every event written", st)
	}
}
