package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"syscall"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/authz"
	"github.com/steward-nhi/steward/custody"
	"github.com/steward-nhi/steward/rotation"
	"github.com/steward-nhi/steward/rotation/postgres"
	"github.com/steward-nhi/steward/rotation/redis"
	"github.com/steward-nhi/steward/rotation/webhook"
)

// rotationConfig is the rotation section of steward.yaml.
type rotationConfig struct {
	// Disabled turns custody, rotation and leases off.
	Disabled bool `yaml:"disabled"`
	// Node names this server in rotations and their job leases
	// (default: the host name and listen address).
	Node string `yaml:"node"`
	// ResumeInterval is how often a node looks for rotations another node
	// left unfinished (default 15s); LeaseSweep how often expired leases
	// are dropped (default 30s).
	ResumeInterval steward.Duration `yaml:"resume_interval"`
	LeaseSweep     steward.Duration `yaml:"lease_sweep"`
	// Schedule rotates credentials in custody automatically when their
	// tier's rotation period has passed.
	Schedule rotationSchedule `yaml:"schedule"`
}

// rotationSchedule is rotation.schedule in steward.yaml.
type rotationSchedule struct {
	// Enabled turns scheduled rotation on (default off).
	Enabled bool `yaml:"enabled"`
	// DryRun only checks each due credential's rotator and current secret.
	DryRun bool `yaml:"dry_run"`
	// Interval is how often due credentials are looked for (default 1m);
	// Jitter spreads credentials due together over this window (default 10m).
	Interval steward.Duration `yaml:"interval"`
	Jitter   steward.Duration `yaml:"jitter"`
	// BackoffBase and BackoffMax space the retries of a failing rotation
	// (defaults 5m and 6h, doubling).
	BackoffBase steward.Duration `yaml:"backoff_base"`
	BackoffMax  steward.Duration `yaml:"backoff_max"`
}

// validate refuses durations the schedule cannot use: a negative one is
// a mistake, not a request for the default (zero is).
func (sc rotationSchedule) validate() error {
	for _, d := range []struct {
		key string
		v   steward.Duration
	}{{"interval", sc.Interval}, {"jitter", sc.Jitter}, {"backoff_base", sc.BackoffBase}, {"backoff_max", sc.BackoffMax}} {
		if d.v < 0 {
			return fmt.Errorf("config rotation.schedule.%s: %s is negative (leave it out for the default)", d.key, time.Duration(d.v))
		}
	}
	if sc.BackoffBase > 0 && sc.BackoffMax > 0 && sc.BackoffMax < sc.BackoffBase {
		return fmt.Errorf("config rotation.schedule.backoff_max: %s is below backoff_base %s", time.Duration(sc.BackoffMax), time.Duration(sc.BackoffBase))
	}
	return nil
}

// haltRotationEnv names the step after which a test server kills itself.
const haltRotationEnv = "STEWARD_TEST_HALT_ROTATION_AFTER"

// rotationKinds are the provider implementations, listed explicitly.
func rotationKinds() []rotation.Kind {
	return []rotation.Kind{postgres.Kind(), redis.Kind(), webhook.Kind()}
}

// buildCustody builds custody and rotation (nil while disabled or without a
// master key) and their background jobs.
func (a *app) buildCustody(getenv func(string) string) error {
	c := a.cfg.Rotation
	if c.Disabled {
		return nil
	}
	box, _, _, err := loadMasterKey(a.cfg, getenv)
	if err != nil {
		return fmt.Errorf("custody: %w", err)
	}
	if box == nil {
		a.log.Warn("custody and rotation disabled: set STEWARD_MASTER_KEY or STEWARD_MASTER_KEY_FILE (the same on every node)")
		return nil
	}
	policy, err := a.cfg.lifecyclePolicy()
	if err != nil {
		return err
	}
	cc := custody.Config{Store: a.store, Box: box, Usage: a.usage, Logger: a.log,
		Rotators: func(ctx context.Context, name string) error { return a.rotation.Exists(ctx, name) }}
	if a.pdp != nil {
		cc.Decider = secretDecider{a.pdp}
	}
	if a.custody, err = custody.New(cc); err != nil {
		return err
	}
	node := c.Node
	if node == "" {
		host, _ := os.Hostname()
		node = host + "/" + a.cfg.Addr
	}
	afterStep := a.metrics.ObserveRotationStep
	if halt := getenv(haltRotationEnv); halt != "" {
		// Crash tests: the process dies (SIGKILL, no cleanup) right after
		// the named step is persisted, as a crashed node would.
		a.log.Warn("rotation test hook: this server kills itself after a rotation step", "env", haltRotationEnv, "step", halt)
		afterStep = func(r *steward.Rotation) {
			a.metrics.ObserveRotationStep(r)
			if r.Step == halt && r.Status == steward.RotationRunning {
				_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
				select {}
			}
		}
	}
	if a.rotation, err = rotation.New(rotation.Config{Store: a.store, Custody: a.custody, Kinds: rotationKinds(), Policy: policy, Node: node, Logger: a.log,
		AfterStep: afterStep}); err != nil {
		return err
	}
	a.closers = append(a.closers, a.rotation.Close)
	a.jobs = append(a.jobs, rotationJobs(c, a.custody, a.rotation, a.log)...)
	if sc := c.Schedule; sc.Enabled {
		cfg := rotation.ScheduleConfig{Subjects: a.store, Interval: every(sc.Interval, time.Minute), Jitter: every(sc.Jitter, 10*time.Minute),
			BackoffBase: time.Duration(sc.BackoffBase), BackoffMax: time.Duration(sc.BackoffMax), DryRun: sc.DryRun}
		if a.alerts != nil {
			cfg.Alerts = a.alerts
		}
		rot, log := a.rotation, a.log
		a.jobs = append(a.jobs, func(ctx context.Context) {
			everyTick(ctx, cfg.Interval, func() {
				run, err := rot.RunSchedule(ctx, cfg)
				if err != nil && ctx.Err() == nil {
					log.Error("rotation schedule", "err", err)
				} else if run.Due > 0 {
					log.Info("rotation schedule", "due", run.Due, "rotated", run.Rotated, "failed", run.Failed, "dry_runs", run.DryRuns, "backing_off", run.Backoff)
				}
			})
		})
	}
	return nil
}

func every(d steward.Duration, def time.Duration) time.Duration {
	if d > 0 {
		return time.Duration(d)
	}
	return def
}

// rotationJobs open the rotators' connections at start, resume rotations
// left unfinished, drop expired leases and destroy retired secret versions
// whose overlap ended.
func rotationJobs(c rotationConfig, cus *custody.Service, rot *rotation.Service, log *slog.Logger) []func(ctx context.Context) {
	job := func(name string, d time.Duration, fn func(ctx context.Context) (int, error)) func(ctx context.Context) {
		return func(ctx context.Context) {
			everyTick(ctx, d, func() {
				if n, err := fn(ctx); err != nil && ctx.Err() == nil {
					log.Error(name, "err", err)
				} else if n > 0 {
					log.Info(name, "count", n)
				}
			})
		}
	}
	return []func(ctx context.Context){
		// Once at start: the rotators' connections, so the first leases
		// after a start do not each log in at the provider.
		func(ctx context.Context) {
			if n, err := rot.Warm(ctx); err != nil && ctx.Err() == nil {
				log.Error("warm rotators", "err", err)
			} else if n > 0 {
				log.Info("warm rotators", "count", n)
			}
		},
		job("resume rotations", every(c.ResumeInterval, 15*time.Second), rot.Resume),
		job("lease expiry sweep", every(c.LeaseSweep, 30*time.Second), rot.ExpireDue),
		job("destroy retired secret versions", time.Minute, cus.DestroyDue),
	}
}

// secretDecider asks the PDP whether an identity may read another
// identity's secret: Action::"credential:read_secret" on the credential.
type secretDecider struct{ pdp *authz.PDP }

func (d secretDecider) PermitsReadSecret(ctx context.Context, p *steward.Principal, c *steward.Credential) bool {
	if !p.IsNHI() {
		return false
	}
	req := &authz.Request{Subject: &authz.Entity{Type: string(authz.IdentityType), ID: p.IdentityID},
		Action:   &authz.Action{Name: steward.ActionReadSecretPermission},
		Resource: &authz.Entity{Type: "Credential", ID: c.ID, Properties: map[string]any{"identity_id": c.IdentityID}}}
	if act := p.Delegation.ActContext(); act != nil {
		req.Context = map[string]any{"act": act, "on_behalf_of": p.Delegation.Subject}
	}
	src := steward.RequestSourceFrom(ctx)
	dec, err := d.pdp.Evaluate(steward.WithPrincipal(ctx, steward.SystemPrincipal("custody")), req, authz.Call{Source: src.Addr, UserAgent: src.UserAgent})
	return err == nil && dec.Decision
}
