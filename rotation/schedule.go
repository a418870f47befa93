package rotation

import (
	"context"
	"hash/fnv"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/posture"
)

// Subjects scans identities with their credentials (the store).
type Subjects interface {
	ScanSubjects(ctx context.Context, ids []string, batch int, fn func(is []*steward.Identity, creds map[string][]*steward.Credential) error) error
}

// ScheduleConfig configures RunSchedule.
type ScheduleConfig struct {
	Subjects Subjects
	// Interval is how often the schedule runs; the job lease lasts two
	// intervals, so one node at a time rotates.
	Interval time.Duration
	// Jitter spreads credentials that fall due together: each credential
	// is rotated a stable offset in [0, Jitter) after it is due.
	Jitter time.Duration
	// BackoffBase and BackoffMax space the retries of a failing
	// credential: base × 2^(failures-1), at most max.
	BackoffBase, BackoffMax time.Duration
	// DryRun only checks each due credential's rotator and current secret
	// (at most once a day), changing nothing.
	DryRun bool
	// Alerts, when set, is told of every failed scheduled rotation.
	Alerts steward.AlertRaiser
}

// ScheduleRun is what one run did.
type ScheduleRun struct {
	Due, Rotated, Failed, DryRuns, Backoff int
}

const scheduleLease = "rotation-schedule"

// RunSchedule rotates every credential in custody with a rotator whose
// tier's rotation period has passed (the earlier of the identity's due time
// as posture computes it and the credential's own last rotation), one node
// at a time (the job lease), with jitter and backoff.
func (s *Service) RunSchedule(ctx context.Context, sc ScheduleConfig) (ScheduleRun, error) {
	var run ScheduleRun
	if sc.Interval <= 0 {
		sc.Interval = time.Minute
	}
	if sc.BackoffBase <= 0 {
		sc.BackoffBase = 5 * time.Minute
	}
	if sc.BackoffMax <= 0 {
		sc.BackoffMax = 6 * time.Hour
	}
	now := s.now()
	var ok bool
	err := s.cfg.Store.UpdateRotations(ctx, func(tx steward.RotationTx) (err error) {
		ok, err = tx.TryLease(ctx, scheduleLease, s.cfg.Node, now, now.Add(2*sc.Interval))
		return err
	})
	if err != nil || !ok {
		return run, err
	}
	type due struct {
		c  *steward.Credential
		at time.Time
	}
	var todo []due
	err = sc.Subjects.ScanSubjects(ctx, nil, 1000, func(is []*steward.Identity, creds map[string][]*steward.Credential) error {
		for _, i := range is {
			tp := s.cfg.Policy[i.Sensitivity]
			if i.Status != steward.StatusActive || tp.RotationPeriod <= 0 {
				continue
			}
			_, idDue := posture.RotationDue(i, tp)
			for _, c := range creds[i.ID] {
				if c.Status != steward.CredentialActive {
					continue
				}
				basis := c.CreatedAt
				if c.LastRotatedAt != nil {
					basis = *c.LastRotatedAt
				}
				at := basis.Add(time.Duration(tp.RotationPeriod))
				if idDue.Before(at) {
					at = idDue
				}
				if at = at.Add(jitter(c.ID, sc.Jitter)); !now.Before(at) {
					todo = append(todo, due{c, at})
				}
			}
		}
		return nil
	})
	if err != nil {
		return run, err
	}
	sys := steward.WithPrincipal(ctx, steward.SystemPrincipal("rotation-schedule"))
	for _, d := range todo {
		cs, err := s.cfg.Store.GetCustodySecret(ctx, d.c.ID)
		if err != nil || cs.Rotator == "" {
			continue // not in custody, or no rotator: posture's finding says it
		}
		run.Due++
		hist, err := s.cfg.Store.ListRotations(ctx, d.c.ID, "", 20)
		if err != nil {
			return run, err
		}
		if wait := backoff(hist, sc); wait.After(now) {
			run.Backoff++
			continue
		}
		if sc.DryRun && len(hist) > 0 && hist[0].DryRun && now.Sub(hist[0].StartedAt) < 24*time.Hour {
			continue
		}
		ro, err := s.Rotate(sys, d.c.ID, RotateRequest{DryRun: sc.DryRun, Reason: "scheduled: due at " + d.at.Format(time.RFC3339)})
		switch {
		case ro != nil && ro.DryRun:
			run.DryRuns++
		case err == nil:
			run.Rotated++
		default:
			run.Failed++
			s.cfg.Logger.Warn("scheduled rotation failed", "credential", d.c.ID, "err", err)
			if sc.Alerts != nil && ro != nil {
				s.alert(ctx, sc.Alerts, ro, err)
			}
		}
	}
	return run, nil
}

func (s *Service) alert(ctx context.Context, a steward.AlertRaiser, ro *steward.Rotation, cause error) {
	_, err := a.RaiseAlert(ctx, steward.RaisedAlert{Detector: "rotation_failed", Title: "Scheduled rotation failed; the old secret is still in force",
		Severity: steward.SeverityHigh, IdentityID: ro.IdentityID, CredentialID: ro.CredentialID, OWASP: "NHI7:2025", CSF: []string{"PR.AA-01"},
		Evidence: map[string]any{"rotation": ro.ID, "rotator": ro.Rotator, "status": ro.Status, "step": ro.Step, "error": cause.Error(), "seqs": ro.Seqs},
		Time:     s.now()})
	if err != nil {
		s.cfg.Logger.Warn("rotation: raise alert", "rotation", ro.ID, "err", err)
	}
}

// backoff returns when a credential whose latest rotations failed may be
// tried again (the zero time when they did not fail).
func backoff(hist []*steward.Rotation, sc ScheduleConfig) time.Time {
	n := 0
	var last *steward.Rotation
	for _, r := range hist {
		if r.DryRun {
			continue
		}
		if r.Status != steward.RotationFailed && r.Status != steward.RotationRolledBack {
			break
		}
		if last == nil {
			last = r
		}
		n++
	}
	if n == 0 || last.FinishedAt == nil {
		return time.Time{}
	}
	wait := sc.BackoffBase
	for range n - 1 {
		if wait *= 2; wait >= sc.BackoffMax {
			wait = sc.BackoffMax
			break
		}
	}
	return last.FinishedAt.Add(wait)
}

// jitter is a stable offset in [0, max) for a credential.
func jitter(id string, max time.Duration) time.Duration {
	if max <= 0 {
		return 0
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(id))
	return time.Duration(h.Sum64() % uint64(max))
}
