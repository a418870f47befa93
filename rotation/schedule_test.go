package rotation_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/custody"
	"github.com/steward-nhi/steward/internal/clock"
	"github.com/steward-nhi/steward/internal/secretbox"
	"github.com/steward-nhi/steward/inventory"
	"github.com/steward-nhi/steward/posture"
	"github.com/steward-nhi/steward/rotation"
	"github.com/steward-nhi/steward/sqlstore"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

var admin = steward.WithPrincipal(context.Background(), &steward.Principal{Actor: "token:admin", Role: steward.RoleAdmin})

// memSystem is the system the secrets live in, in memory: the schedule's
// tests are about when rotations run, not how (rotation/postgres, redis
// and webhook test that against real endpoints).
type memSystem struct {
	mu   sync.Mutex
	live map[string]string
	fail bool
}

type memProvider struct{ m *memSystem }

func (p memProvider) Set(_ context.Context, ref string, secret, _ []byte) (string, error) {
	p.m.mu.Lock()
	defer p.m.mu.Unlock()
	if p.m.fail {
		return "", errors.New("the system is down")
	}
	p.m.live[ref] = string(secret)
	return "set", nil
}

func (p memProvider) Check(_ context.Context, ref string, secret []byte) error {
	p.m.mu.Lock()
	defer p.m.mu.Unlock()
	if p.m.live[ref] != string(secret) {
		return fmt.Errorf("%w: wrong secret", rotation.ErrRefused)
	}
	return nil
}

func (memProvider) Close() {}

type alerts struct {
	mu  sync.Mutex
	got []steward.RaisedAlert
}

func (a *alerts) RaiseAlert(_ context.Context, r steward.RaisedAlert) (*steward.Alert, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.got = append(a.got, r)
	return &steward.Alert{}, nil
}

type schedRig struct {
	store *sqlstore.Store
	clk   *clock.Fake
	sys   *memSystem
	cus   *custody.Service
	node  func(name string) *rotation.Service
	cred  string
	ident string
}

func newSchedRig(t *testing.T) *schedRig {
	t.Helper()
	r := &schedRig{store: sqltest.SQLite(t), clk: clock.NewFake(time.Now()), sys: &memSystem{live: map[string]string{"app": "pw-1"}}}
	box, _ := secretbox.New(make([]byte, 32))
	r.cus, _ = custody.New(custody.Config{Store: r.store, Box: box})
	kind := rotation.Kind{Name: "mem",
		Split: func(cfg map[string]string) (map[string]string, string, []byte, error) { return cfg, "", nil, nil },
		Open: func(context.Context, map[string]string, []byte) (rotation.Provider, error) {
			return memProvider{r.sys}, nil
		}}
	r.node = func(name string) *rotation.Service {
		s, err := rotation.New(rotation.Config{Store: r.store, Custody: r.cus, Kinds: []rotation.Kind{kind}, Clock: r.clk, Node: name})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a := r.node("a")
	if _, err := a.CreateRotator(admin, rotation.RotatorRequest{Name: "mem", Kind: "mem", Config: map[string]string{}}); err != nil {
		t.Fatal(err)
	}
	i, err := inventory.New(inventory.Config{Store: r.store}).CreateIdentity(admin, &steward.Identity{Name: "app", Kind: steward.KindServiceAccount,
		Provider: "vendor:mem", Sensitivity: steward.SensitivityHigh, UnownedReason: "test"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.cus.Register(admin, i.ID, custody.RegisterRequest{Type: "password", ExternalRef: "app", Secret: "pw-1", Rotator: "mem"})
	if err != nil {
		t.Fatal(err)
	}
	r.cred, r.ident = c.ID, i.ID
	return r
}

func TestSchedule(t *testing.T) {
	ctx := context.Background()
	period := time.Duration(steward.DefaultPolicy()[steward.SensitivityHigh].RotationPeriod)
	t.Run("a credential is rotated once it is due (plus its jitter), and not again", func(t *testing.T) {
		r := newSchedRig(t)
		a := r.node("a")
		sc := rotation.ScheduleConfig{Subjects: r.store, Interval: time.Minute, Jitter: time.Hour}
		if run, err := a.RunSchedule(ctx, sc); err != nil || run.Rotated != 0 {
			t.Fatalf("before due: %+v %v", run, err)
		}
		r.clk.Advance(period)
		r.clk.Advance(time.Hour + time.Minute) // past any jitter
		run, err := a.RunSchedule(ctx, sc)
		if err != nil || run.Rotated != 1 {
			t.Fatalf("when due: %+v %v", run, err)
		}
		cur, _ := r.cus.CurrentSecret(ctx, r.cred)
		if r.sys.live["app"] != string(cur) || string(cur) == "pw-1" {
			t.Fatalf("system holds %q, custody %q", r.sys.live["app"], cur)
		}
		i, _ := r.store.GetIdentity(ctx, r.ident)
		if i.LastRotatedAt == nil || !i.LastRotatedAt.Equal(r.clk.Now()) {
			t.Fatalf("identity last rotated %v, want %v", i.LastRotatedAt, r.clk.Now())
		}
		r.clk.Advance(2 * time.Minute)
		if run, err := a.RunSchedule(ctx, sc); err != nil || run.Rotated != 0 || run.Due != 0 {
			t.Fatalf("right after: %+v %v", run, err)
		}
	})
	t.Run("a failing rotation raises an alert and is retried with a growing backoff", func(t *testing.T) {
		r := newSchedRig(t)
		a := r.node("a")
		al := &alerts{}
		sc := rotation.ScheduleConfig{Subjects: r.store, Interval: time.Minute, BackoffBase: 10 * time.Minute, BackoffMax: time.Hour, Alerts: al}
		r.sys.fail = true
		r.clk.Advance(period + time.Minute)
		steps := []struct {
			advance time.Duration
			want    rotation.ScheduleRun
		}{
			{0, rotation.ScheduleRun{Due: 1, Failed: 1}},
			{9 * time.Minute, rotation.ScheduleRun{Due: 1, Backoff: 1}},
			{time.Minute, rotation.ScheduleRun{Due: 1, Failed: 1}},       // 10 min after the first failure
			{19 * time.Minute, rotation.ScheduleRun{Due: 1, Backoff: 1}}, // second backoff: 20 min
			{time.Minute, rotation.ScheduleRun{Due: 1, Failed: 1}},       // third failure
			{39 * time.Minute, rotation.ScheduleRun{Due: 1, Backoff: 1}}, // third backoff: 40 min
			{time.Minute, rotation.ScheduleRun{Due: 1, Failed: 1}},
			{59 * time.Minute, rotation.ScheduleRun{Due: 1, Backoff: 1}}, // fourth: 80 min, capped at 1h
			{time.Minute, rotation.ScheduleRun{Due: 1, Failed: 1}},
		}
		for n, st := range steps {
			r.clk.Advance(st.advance)
			run, err := a.RunSchedule(ctx, sc)
			if err != nil || run != st.want {
				t.Fatalf("step %d: %+v %v, want %+v", n, run, err, st.want)
			}
		}
		if len(al.got) != 5 || al.got[0].Detector != "rotation_failed" || al.got[0].CredentialID != r.cred || al.got[0].Severity != steward.SeverityHigh {
			t.Fatalf("alerts: %+v", al.got)
		}
		if cur, _ := r.cus.CurrentSecret(ctx, r.cred); string(cur) != "pw-1" {
			t.Fatalf("custody after failures: %q", cur)
		}
		r.sys.fail = false
		r.clk.Advance(time.Hour)
		if run, err := a.RunSchedule(ctx, sc); err != nil || run.Rotated != 1 {
			t.Fatalf("after the system came back: %+v %v", run, err)
		}
	})
	t.Run("a failed rotation opens rotation.failed; the next success resolves it and rotation.overdue", func(t *testing.T) {
		r := newSchedRig(t)
		a := r.node("a")
		e := posture.New(posture.Options{Store: r.store, Inventory: inventory.New(inventory.Config{Store: r.store, Clock: r.clk}), Clock: r.clk, Rotations: r.store})
		finding := func(check string) *steward.Finding {
			t.Helper()
			p, err := e.ListFindings(admin, steward.FindingFilter{IdentityID: r.ident, Check: check})
			if err != nil || len(p.Items) != 1 {
				t.Fatalf("%s findings: %+v %v", check, p, err)
			}
			return p.Items[0]
		}
		sc := rotation.ScheduleConfig{Subjects: r.store, Interval: time.Minute, BackoffBase: time.Minute}
		r.sys.fail = true
		r.clk.Advance(period + time.Minute)
		if run, err := a.RunSchedule(ctx, sc); err != nil || run.Failed != 1 {
			t.Fatalf("failing run: %+v %v", run, err)
		}
		if _, err := e.FullRun(ctx); err != nil {
			t.Fatal(err)
		}
		f := finding("rotation.failed")
		if f.Status != steward.FindingOpen || f.CredentialID != r.cred || f.Evidence["failed_step"] != steward.StepSet ||
			f.Evidence["error"] != "set at the provider: the system is down" || f.OWASP != "NHI7" {
			t.Fatalf("rotation.failed: %+v", f)
		}
		if f := finding("rotation.overdue"); f.Status != steward.FindingOpen {
			t.Fatalf("rotation.overdue: %+v", f)
		}
		head, err := r.store.LastEvent(ctx)
		if err != nil {
			t.Fatal(err)
		}
		r.sys.fail = false
		r.clk.Advance(2 * time.Minute)
		if run, err := a.RunSchedule(ctx, sc); err != nil || run.Rotated != 1 {
			t.Fatalf("run after the system came back: %+v %v", run, err)
		}
		// The rotation's events name the identity: the incremental run the
		// posture loop makes on new events resolves both findings.
		if _, err := e.Incremental(ctx, head.Seq); err != nil {
			t.Fatal(err)
		}
		for _, c := range []string{"rotation.failed", "rotation.overdue"} {
			if f := finding(c); f.Status != steward.FindingResolved {
				t.Errorf("%s is %s after the scheduled rotation succeeded, want resolved", c, f.Status)
			}
		}
	})
	t.Run("dry-run mode checks once a day and changes nothing", func(t *testing.T) {
		r := newSchedRig(t)
		a := r.node("a")
		sc := rotation.ScheduleConfig{Subjects: r.store, Interval: time.Minute, DryRun: true}
		r.clk.Advance(period + time.Minute)
		for n, want := range []int{1, 0} {
			run, err := a.RunSchedule(ctx, sc)
			if err != nil || run.DryRuns != want || run.Rotated != 0 {
				t.Fatalf("run %d: %+v %v", n, run, err)
			}
			r.clk.Advance(time.Hour)
		}
		if cur, _ := r.cus.CurrentSecret(ctx, r.cred); string(cur) != "pw-1" || r.sys.live["app"] != "pw-1" {
			t.Fatalf("a dry run changed the secret: %q", cur)
		}
		h, _ := a.History(admin, r.cred)
		if len(h.Items) != 1 || !h.Items[0].DryRun || h.Items[0].Status != steward.RotationSucceeded {
			t.Fatalf("history: %+v", h.Items)
		}
	})
	t.Run("one node at a time runs the schedule", func(t *testing.T) {
		r := newSchedRig(t)
		a, b := r.node("a"), r.node("b")
		sc := rotation.ScheduleConfig{Subjects: r.store, Interval: time.Minute}
		r.clk.Advance(period + time.Minute)
		if run, err := a.RunSchedule(ctx, sc); err != nil || run.Rotated != 1 {
			t.Fatalf("node a: %+v %v", run, err)
		}
		r.clk.Advance(time.Minute)
		if run, err := b.RunSchedule(ctx, sc); err != nil || run != (rotation.ScheduleRun{}) {
			t.Fatalf("node b while a holds the lease: %+v %v", run, err)
		}
	})
}
