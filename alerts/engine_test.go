package alerts_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/alerts"
	"github.com/steward-nhi/steward/internal/testrec"
	"github.com/steward-nhi/steward/inventory"
	"github.com/steward-nhi/steward/sqlstore"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

type notes = testrec.Notifier

type responder struct {
	mu        sync.Mutex
	suspended []string
	done      chan struct{}
}

func (r *responder) SuspendIdentity(_ context.Context, id, note string) error {
	r.mu.Lock()
	r.suspended = append(r.suspended, id)
	r.mu.Unlock()
	r.done <- struct{}{}
	return nil
}

func (r *responder) RevokeCredential(context.Context, string, string) error { return nil }

type env struct {
	t     *testing.T
	store *sqlstore.Store
	svc   *inventory.Service
	notes *notes
	resp  *responder
	id    *steward.Identity
}

var admin = steward.WithPrincipal(context.Background(), steward.SystemPrincipal("test"))

func newEnv(t *testing.T) *env {
	t.Helper()
	st := sqltest.SQLite(t)
	e := &env{t: t, store: st, svc: inventory.New(inventory.Config{Store: st}), notes: &notes{}, resp: &responder{done: make(chan struct{}, 4)}}
	var err error
	e.id, err = e.svc.CreateIdentity(admin, &steward.Identity{Name: "reporter", Kind: steward.KindWorkload, Environment: "prod", Team: "data", UnownedReason: "test fixture"})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// start runs an engine until the test ends (or stop is called).
func (e *env) start(mod func(c *alerts.Config)) (*alerts.Engine, func()) {
	e.t.Helper()
	cfg := alerts.Config{Store: e.store, Inventory: e.store, Notifier: e.notes, Responder: e.resp, LearningPeriod: 24 * time.Hour, MinEvents: 50,
		FlushInterval: 10 * time.Millisecond, BaselineInterval: time.Hour}
	if mod != nil {
		mod(&cfg)
	}
	eng, err := alerts.New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := eng.Load(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { eng.Run(ctx); close(done) }()
	stop := func() { cancel(); <-done }
	e.t.Cleanup(func() {
		select {
		case <-done:
		default:
			stop()
		}
	})
	return eng, stop
}

func (e *env) alerts(eng *alerts.Engine) []*steward.Alert {
	e.t.Helper()
	if err := eng.Sync(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	p, err := e.store.ListAlerts(context.Background(), steward.AlertFilter{IdentityID: e.id.ID})
	if err != nil {
		e.t.Fatal(err)
	}
	return p.Items
}

var day0 = time.Date(2026, 5, 4, 0, 0, 0, 0, time.UTC)

// teach feeds two days of ordinary use.
func (e *env) teach(eng *alerts.Engine) {
	for m := 0; m < 2*24*60; m += 15 {
		eng.Record(context.Background(), steward.UsageEvent{Time: day0.Add(time.Duration(m) * time.Minute), Kind: "decision", IdentityID: e.id.ID,
			Action: "read", Resource: "reports", Source: "10.0.0.5", UserAgent: "Go-http-client/1.1", Environment: "prod", Outcome: "allow"})
	}
}

func TestRevokedUseIsAlertedOnceAndGrouped(t *testing.T) {
	e := newEnv(t)
	eng, _ := e.start(nil)
	for i := range 3 {
		eng.Record(context.Background(), steward.UsageEvent{Time: day0.Add(time.Duration(i) * time.Second), Kind: "auth", IdentityID: e.id.ID,
			CredentialID: "crd_x", Outcome: "revoked", Source: "203.0.113.5"})
	}
	as := e.alerts(eng)
	if len(as) != 1 || as[0].Detector != alerts.DetRevokedUse || as[0].Severity != steward.SeverityCritical || as[0].Count != 3 ||
		as[0].OWASP != "NHI2:2025" || as[0].Team != "data" || as[0].Status != steward.AlertOpen {
		t.Fatalf("alerts: %+v", as)
	}
	if len(e.notes.All()) != 1 {
		t.Fatalf("notifications: %d, want one for the group", len(e.notes.All()))
	}
	// After the grouping window a new alert opens.
	eng.Record(context.Background(), steward.UsageEvent{Time: day0.Add(2 * time.Hour), Kind: "auth", IdentityID: e.id.ID, Outcome: "revoked"})
	if as := e.alerts(eng); len(as) != 2 {
		t.Fatalf("after the window: %d alerts", len(as))
	}
}

func TestFalsePositiveTeachesTheBaselineAndRestartsKeepIt(t *testing.T) {
	e := newEnv(t)
	eng, stop := e.start(nil)
	e.teach(eng)
	if as := e.alerts(eng); len(as) != 0 {
		t.Fatalf("ordinary use alerted: %+v", as[0])
	}
	newNet := steward.UsageEvent{Time: day0.Add(50 * time.Hour), Kind: "decision", IdentityID: e.id.ID, Action: "read", Resource: "reports",
		Source: "198.51.100.20", UserAgent: "Go-http-client/1.1", Environment: "prod", Outcome: "allow"}
	eng.Record(context.Background(), newNet)
	as := e.alerts(eng)
	if len(as) != 1 || as[0].Detector != alerts.DetNewNetwork || as[0].Evidence["new_network"] != "198.51.100.0/24" {
		t.Fatalf("alerts: %+v", as)
	}
	a, err := eng.ActOnAlert(admin, as[0].ID, steward.AlertActFalsePositive, steward.AlertActionRequest{Note: "new NAT gateway"})
	if err != nil || a.Status != steward.AlertFalsePositive {
		t.Fatalf("false positive: %v %+v", err, a)
	}
	if _, err := eng.ActOnAlert(admin, as[0].ID, steward.AlertActAck, steward.AlertActionRequest{}); steward.ErrorCode(err) != steward.ECONFLICT {
		t.Fatalf("ack after false positive: %v", err)
	}
	evs, _ := e.store.ListEvents(context.Background(), steward.EventFilter{Action: steward.ActionAlertFalsePositive})
	if len(evs.Items) != 1 || evs.Items[0].SubjectID != a.ID {
		t.Fatalf("audit events: %+v", evs.Items)
	}
	stop() // writes the baselines
	eng2, _ := e.start(nil)
	newNet.Time = newNet.Time.Add(3 * time.Hour)
	eng2.Record(context.Background(), newNet)
	other := newNet
	other.Source = "192.0.2.9"
	eng2.Record(context.Background(), other)
	as = e.alerts(eng2)
	if len(as) != 2 || as[0].Evidence["new_network"] != "192.0.2.0/24" {
		t.Fatalf("after the restart the taught network alerted or the learned baseline was lost: %+v", as[0])
	}
}

func TestHoneytokenSuspendsByRule(t *testing.T) {
	e := newEnv(t)
	decoy, err := e.svc.CreateIdentity(admin, &steward.Identity{Name: "aws-backup-admin", Kind: steward.KindAPIKey, Labels: map[string]string{"honeytoken": "true"}, UnownedReason: "test fixture"})
	if err != nil {
		t.Fatal(err)
	}
	eng, _ := e.start(func(c *alerts.Config) {
		c.Rules = []steward.AlertRule{{Name: "contain decoys", Detectors: []string{alerts.DetHoneytoken}, Response: steward.ResponseSuspend}}
	})
	eng.Record(context.Background(), steward.UsageEvent{Time: day0, Kind: "ingest", IdentityID: decoy.ID, Action: "s3:ListBuckets", Outcome: "ok", Source: "203.0.113.80"})
	select {
	case <-e.resp.done:
	case <-time.After(10 * time.Second):
		t.Fatal("no automatic response")
	}
	if e.resp.suspended[0] != decoy.ID {
		t.Fatalf("suspended %v", e.resp.suspended)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_ = eng.Sync(context.Background())
		p, _ := e.store.ListAlerts(context.Background(), steward.AlertFilter{IdentityID: decoy.ID})
		if len(p.Items) == 1 && p.Items[0].Response != "" {
			if p.Items[0].Detector != alerts.DetHoneytoken || p.Items[0].Severity != steward.SeverityCritical {
				t.Fatalf("alert %+v", p.Items[0])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("response not recorded: %+v", p.Items)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRolesOnAlerts(t *testing.T) {
	e := newEnv(t)
	eng, _ := e.start(nil)
	eng.Record(context.Background(), steward.UsageEvent{Time: day0, Kind: "auth", IdentityID: e.id.ID, Outcome: "revoked"})
	as := e.alerts(eng)
	auditor := steward.WithPrincipal(context.Background(), &steward.Principal{Actor: "token:a", Role: steward.RoleAuditor})
	owner := steward.WithPrincipal(context.Background(), &steward.Principal{Actor: "token:o", Role: steward.RoleOwner, OwnerID: "own_other"})
	nhi := steward.WithPrincipal(context.Background(), &steward.Principal{Actor: "nhi:x", IdentityID: "nhi_x"})
	tests := []struct {
		name string
		do   func() error
		code string
	}{
		{"an auditor may list", func() error { _, err := eng.ListAlerts(auditor, steward.AlertFilter{}); return err }, ""},
		{"an auditor may not acknowledge", func() error {
			_, err := eng.ActOnAlert(auditor, as[0].ID, steward.AlertActAck, steward.AlertActionRequest{})
			return err
		}, steward.EFORBIDDEN},
		{"an owner does not see other owners' alerts", func() error { _, err := eng.GetAlert(owner, as[0].ID); return err }, steward.ENOTFOUND},
		{"an NHI may not list", func() error { _, err := eng.ListAlerts(nhi, steward.AlertFilter{}); return err }, steward.EFORBIDDEN},
		{"only an admin sends test notifications", func() error { _, err := eng.TestNotification(auditor, nil); return err }, steward.EFORBIDDEN},
		{"nobody without a principal", func() error { _, err := eng.ListAlerts(context.Background(), steward.AlertFilter{}); return err }, steward.EUNAUTHORIZED},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := steward.ErrorCode(tc.do()); got != tc.code {
				t.Fatalf("code %q, want %q", got, tc.code)
			}
		})
	}
}

func TestRecordNeverBlocks(t *testing.T) {
	e := newEnv(t)
	eng, err := alerts.New(alerts.Config{Store: e.store, Inventory: e.store, QueueSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		eng.Record(context.Background(), steward.UsageEvent{IdentityID: e.id.ID})
	}
	if st := eng.Stats(); st.Dropped != 3 || st.Queued != 2 || st.Received != 5 {
		t.Fatalf("stats %+v", st)
	}
}

func TestAnUnjudgedNewValueAlertsOnce(t *testing.T) {
	e := newEnv(t)
	eng, _ := e.start(nil)
	e.teach(eng)
	ev := steward.UsageEvent{Kind: "decision", IdentityID: e.id.ID, Action: "read", Resource: "reports", Source: "10.99.0.4",
		UserAgent: "Go-http-client/1.1", Environment: "prod", Outcome: "allow"}
	// The same new network every three hours for a day: beyond the
	// grouping window, yet one alert while nobody has judged it.
	for h := 0; h < 24; h += 3 {
		ev.Time = day0.Add(50*time.Hour + time.Duration(h)*time.Hour)
		eng.Record(context.Background(), ev)
	}
	as := e.alerts(eng)
	if len(as) != 1 || as[0].Count != 8 {
		t.Fatalf("alerts: %d (count %d), want one counting 8", len(as), as[0].Count)
	}
	// Resolved as a real incident, the network is still unknown: it alerts again.
	if _, err := eng.ActOnAlert(admin, as[0].ID, steward.AlertActResolve, steward.AlertActionRequest{Note: "blocked"}); err != nil {
		t.Fatal(err)
	}
	_ = eng.Sync(context.Background())
	ev.Time = ev.Time.Add(time.Hour)
	eng.Record(context.Background(), ev)
	if as := e.alerts(eng); len(as) != 2 {
		t.Fatalf("after the resolution: %d alerts, want 2", len(as))
	}
}

// TestEngineWakesOnAFullQueue checks that the detectors take queued
// events when enough are waiting, without waiting for their tick (an hour
// here), and not one by one.
func TestEngineWakesOnAFullQueue(t *testing.T) {
	e := newEnv(t)
	eng, _ := e.start(func(c *alerts.Config) { c.ExamineInterval = time.Hour })
	now := time.Now()
	for k := range 255 {
		eng.Record(context.Background(), steward.UsageEvent{Time: now, Kind: steward.UsageIngest, IdentityID: e.id.ID, Action: fmt.Sprint("a", k%3), Outcome: "ok"})
	}
	time.Sleep(50 * time.Millisecond)
	if st := eng.Stats(); st.Processed != 0 {
		t.Fatalf("%d events examined before the queue held a batch or the tick came", st.Processed)
	}
	eng.Record(context.Background(), steward.UsageEvent{Time: now, Kind: steward.UsageIngest, IdentityID: e.id.ID, Action: "a0", Outcome: "ok"})
	deadline := time.Now().Add(5 * time.Second)
	for eng.Stats().Processed < 256 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if st := eng.Stats(); st.Processed != 256 {
		t.Fatalf("after the 256th event: %+v", st)
	}
}
