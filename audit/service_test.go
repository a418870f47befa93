package audit_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/audit"
	"github.com/steward-nhi/steward/internal/secretbox"
	"github.com/steward-nhi/steward/internal/stdwebhook/webhooktest"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

func seed(t *testing.T, st steward.Store, n int) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		if err := st.Update(ctx, func(tx steward.Tx) error {
			return tx.AppendEvent(ctx, &steward.Event{ID: fmt.Sprintf("evt_%d_%d", time.Now().UnixNano(), i), Time: sqltest.Base.Add(time.Duration(i) * time.Second),
				Actor: "test", Action: "test.act", After: steward.Snapshot(map[string]int{"i": i})})
		}); err != nil {
			t.Fatal(err)
		}
	}
}

func admin() context.Context {
	return steward.WithPrincipal(context.Background(), &steward.Principal{Actor: "token:a", Role: steward.RoleAdmin})
}

func TestServiceCheckpointsProofsAndRoles(t *testing.T) {
	for _, eng := range sqltest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			st := eng.Store(t)
			box, _ := secretbox.New(make([]byte, 32))
			signer, err := audit.LoadSigner(context.Background(), st, box, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			again, err := audit.LoadSigner(context.Background(), st, box, time.Now())
			if err != nil || again.KeyID() != signer.KeyID() {
				t.Fatalf("second load: %v, %v", again, err)
			}
			var sealed string
			st.DB().QueryRow(`SELECT sealed_private FROM audit_keys`).Scan(&sealed)
			if !strings.HasPrefix(sealed, "sb1:") {
				t.Fatalf("private key stored as %.10q", sealed)
			}
			svc := audit.NewService(audit.Config{Store: st, Signer: signer, TreeBase: 2})
			ctx := admin()
			seed(t, st, 13)
			cp, err := svc.CreateCheckpoint(ctx)
			if err != nil || cp.TreeSize != 13 {
				t.Fatalf("checkpoint = %+v, %v", cp, err)
			}
			seed(t, st, 6)
			if _, err := svc.CreateCheckpoint(ctx); err != nil {
				t.Fatal(err)
			}
			keys := audit.KeyMap(signer.PublicKeyBytes())
			for seq := int64(1); seq <= 19; seq++ {
				p, err := svc.Proof(ctx, seq, 0)
				if err != nil {
					t.Fatalf("proof %d: %v", seq, err)
				}
				if err := audit.VerifyProof(p, keys); err != nil {
					t.Fatalf("proof %d: %v", seq, err)
				}
			}
			if p, err := svc.Proof(ctx, 5, 13); err != nil || p.TreeSize != 13 || audit.VerifyProof(p, keys) != nil {
				t.Fatalf("proof in the older checkpoint: %+v %v", p, err)
			}
			rep, err := svc.VerifyChain(ctx)
			if err != nil || !rep.OK || rep.Checkpoints != 2 || rep.Entries != 19 {
				t.Fatalf("verify: %+v %v", rep, err)
			}
			auditor := steward.WithPrincipal(context.Background(), &steward.Principal{Role: steward.RoleAuditor})
			if _, err := svc.CreateCheckpoint(auditor); steward.ErrorCode(err) != steward.EFORBIDDEN {
				t.Fatalf("auditor checkpoint: %v", err)
			}
			operator := steward.WithPrincipal(context.Background(), &steward.Principal{Role: steward.RoleOperator})
			if _, err := svc.ListAudit(operator, steward.EventFilter{}); steward.ErrorCode(err) != steward.EFORBIDDEN {
				t.Fatalf("operator list: %v", err)
			}
			// A forged checkpoint signature is reported.
			bad := *cp
			bad.RootHash = strings.Repeat("0", 64)
			rep, _ = audit.VerifyStore(ctx, st, []*steward.Checkpoint{&bad}, nil)
			if rep.OK || rep.Kind != steward.TamperSignature {
				t.Fatalf("forged checkpoint: %+v", rep)
			}
		})
	}
}

func TestFileSinkResumesAndRotates(t *testing.T) {
	st := sqltest.SQLite(t)
	seed(t, st, 30)
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	runOnce := func() {
		ctx, cancel := context.WithCancel(context.Background())
		r := &audit.SinkRunner{Name: "file", Store: st, Sink: &audit.FileSink{Path: path, MaxBytes: 2000, MaxFiles: 50}, Batch: 7, Poll: 10 * time.Millisecond}
		done := make(chan struct{})
		go func() { r.Run(ctx); close(done) }()
		for {
			if n, _ := st.SinkCursor(context.Background(), "sink:file"); n == 30 {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
		<-done
	}
	runOnce()
	seed(t, st, 0)
	runOnce() // nothing new: nothing written twice
	var seqs []string
	files, _ := filepath.Glob(path + "*")
	if len(files) < 2 {
		t.Fatalf("no rotation: %v", files)
	}
	for _, f := range files {
		fh, _ := os.Open(f)
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			seqs = append(seqs, sc.Text()[:12])
		}
		fh.Close()
	}
	if len(seqs) != 30 {
		t.Fatalf("%d lines delivered, want 30", len(seqs))
	}
}

func TestSyslogSinkSendsRFC5424(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	s := &audit.SyslogSink{Network: "udp", Address: pc.LocalAddr().String(), Hostname: "host1", AppName: "steward"}
	defer s.Close()
	e := &steward.Event{Seq: 7, ID: "evt_7", Time: sqltest.Base, Actor: `token:"x"]`, Action: "identity.revoke", EntryHash: "abc"}
	if err := s.Deliver(context.Background(), []*steward.Event{e}); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _, err := pc.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	got := string(buf[:n])
	want := fmt.Sprintf(`<110>1 2026-01-02T03:04:05.000000Z host1 steward %d identity.revoke [steward@32473 seq="7" actor="token:\"x\"\]" entry_hash="abc"] {"seq":7,`, os.Getpid())
	if !strings.HasPrefix(got, want) {
		t.Fatalf("message:\n%s\nwant prefix:\n%s", got, want)
	}
}

func TestWebhookSignature(t *testing.T) {
	evs := []*steward.Event{{Seq: 1, ID: "evt_1", Time: sqltest.Base}, {Seq: 2, ID: "evt_2", Time: sqltest.Base}}
	srv := webhooktest.New(t)
	at := time.Unix(1_800_000_000, 0)
	w := &audit.WebhookSink{URL: srv.URL, Secret: []byte("s3cret-0123456789"), Client: srv.Client(), Now: func() time.Time { return at }}
	if err := w.Deliver(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	body, hdr := srv.Last()
	for _, tt := range []struct {
		name   string
		secret string
		now    time.Time
		ok     bool
	}{
		{"the secret verifies", "s3cret-0123456789", at.Add(time.Minute), true},
		{"another secret does not", "other", at, false},
		{"a replay an hour later does not", "s3cret-0123456789", at.Add(time.Hour), false},
	} {
		if got := audit.CheckWebhookSignature([]byte(tt.secret), hdr, body, tt.now); got != tt.ok {
			t.Errorf("%s: verified = %v", tt.name, got)
		}
	}
	if hdr.Get("webhook-id") != "aud_1-2" {
		t.Fatalf("webhook-id %q", hdr.Get("webhook-id"))
	}
	if !strings.HasPrefix(string(body), `{"first_seq":1,"last_seq":2,"entries":[`) {
		t.Fatalf("body %s", body)
	}
}
