package posture

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/steward-nhi/steward"
)

// LoopOptions configure Run.
type LoopOptions struct {
	// Poll is how often the event chain head is checked (at most 2 s, so
	// posture follows a change within 5 s).
	Poll time.Duration
	// Interval is how often a full evaluation and the sweeps run.
	Interval time.Duration
	// Digest is how often owners get a digest (0: never).
	Digest time.Duration
	// Holder names this node for the job lease.
	Holder string
}

// Run evaluates posture until ctx ends: a full run at start and every
// Interval (with the enforcement sweeps), and an incremental run of the
// identities named by new events within Poll of a change. Across several
// nodes a lease row lets one node run at a time.
func (e *Engine) Run(ctx context.Context, lo LoopOptions) {
	if lo.Poll <= 0 || lo.Poll > 2*time.Second {
		lo.Poll = time.Second
	}
	if lo.Interval <= 0 {
		lo.Interval = time.Hour
	}
	if lo.Holder == "" {
		h, _ := os.Hostname()
		lo.Holder = fmt.Sprintf("%s/%d/%d", h, os.Getpid(), time.Now().UnixNano())
	}
	var lastSeq int64
	var lastFull, lastDigest time.Time
	poll := time.NewTicker(lo.Poll)
	defer poll.Stop()
	for {
		if e.lease(ctx, lo) {
			now := time.Now()
			if lastFull.IsZero() || now.Sub(lastFull) >= lo.Interval {
				head, err := e.o.Store.LastEvent(ctx)
				if err == nil {
					if head != nil {
						lastSeq = head.Seq
					}
					if run, err := e.FullRun(ctx); err != nil {
						e.logErr(ctx, "posture: full run", err)
					} else {
						e.log.Info("posture: full run", "identities", run.Identities, "opened", run.Opened, "resolved", run.Resolved,
							"reopened", run.Reopened, "duration", run.Duration, "actions", len(run.Actions))
					}
					lastFull = now
				}
			} else if seq, err := e.Incremental(ctx, lastSeq); err != nil {
				e.logErr(ctx, "posture: incremental run", err)
			} else {
				lastSeq = seq
			}
			if lo.Digest > 0 && now.Sub(lastDigest) >= lo.Digest {
				if err := e.SendDigests(ctx); err != nil {
					e.logErr(ctx, "posture: digest", err)
				}
				lastDigest = now
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-poll.C:
		}
	}
}

func (e *Engine) logErr(ctx context.Context, msg string, err error) {
	if ctx.Err() == nil {
		e.log.Error(msg, "err", err)
	}
}

func (e *Engine) lease(ctx context.Context, lo LoopOptions) bool {
	now := time.Now()
	var ok bool
	err := e.o.Store.UpdatePosture(ctx, func(tx steward.PostureTx) error {
		var err error
		ok, err = tx.TryLease(ctx, "posture", lo.Holder, now, now.Add(3*lo.Poll+5*time.Second))
		return err
	})
	if err != nil {
		e.logErr(ctx, "posture: lease", err)
		return false
	}
	return ok
}

// Incremental re-evaluates the identities touched by events after
// afterSeq (owner changes reach every identity of the owner), starts
// offboarding for owners that departed, and re-evaluates findings whose
// waiver expired. It returns the new head.
func (e *Engine) Incremental(ctx context.Context, afterSeq int64) (int64, error) {
	changes, head, err := e.o.Store.PostureChanges(ctx, afterSeq, 10000)
	if err != nil {
		return afterSeq, err
	}
	set := map[string]bool{}
	var departed []string
	for _, c := range changes {
		if c.IdentityID != "" {
			set[c.IdentityID] = true
		}
		if c.SubjectType == steward.SubjectOwner && c.Action != steward.ActionOffboardingStart && c.Action != steward.ActionOwnerReassign {
			owned, err := e.ownedIdentities(ctx, c.SubjectID)
			if err != nil {
				return afterSeq, err
			}
			for _, i := range owned {
				set[i.ID] = true
			}
			if c.Action == steward.ActionOwnerDepart {
				departed = append(departed, c.SubjectID)
			}
		}
	}
	expired, err := e.expiredWaivers(ctx)
	if err != nil {
		return afterSeq, err
	}
	for _, id := range expired {
		set[id] = true
	}
	if len(set) > 0 {
		if _, err := e.Evaluate(ctx, sortedKeys(set)); err != nil {
			return afterSeq, err
		}
	}
	for _, o := range departed {
		if _, err := e.Offboard(ctx, o, "event"); err != nil && steward.ErrorCode(err) != steward.ECONFLICT {
			return head, err
		}
	}
	return head, nil
}

// expiredWaivers returns identities of waived findings whose waiver ended.
func (e *Engine) expiredWaivers(ctx context.Context) ([]string, error) {
	now := e.o.Clock.Now()
	var out []string
	f := steward.FindingFilter{Status: steward.FindingWaived, Limit: steward.MaxLimit}
	for {
		p, err := e.o.Store.ListFindings(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, fd := range p.Items {
			if fd.Waiver != nil && !fd.Waiver.Until.After(now) {
				out = append(out, fd.IdentityID)
			}
		}
		if p.NextCursor == "" {
			return out, nil
		}
		f.Cursor = p.NextCursor
	}
}

// SendDigests sends each owner a digest of their unresolved findings and
// rotations due within 7 days.
func (e *Engine) SendDigests(ctx context.Context) error {
	if e.o.Notifier == nil {
		return nil
	}
	per := map[string]map[string]int{}
	f := steward.FindingFilter{Unresolved: true, Limit: steward.MaxLimit}
	for {
		p, err := e.o.Store.ListFindings(ctx, f)
		if err != nil {
			return err
		}
		for _, fd := range p.Items {
			if fd.OwnerID == "" {
				continue
			}
			if per[fd.OwnerID] == nil {
				per[fd.OwnerID] = map[string]int{}
			}
			per[fd.OwnerID][string(fd.Severity)]++
		}
		if p.NextCursor == "" {
			break
		}
		f.Cursor = p.NextCursor
	}
	for _, o := range sortedKeys(per) {
		total := 0
		for _, n := range per[o] {
			total += n
		}
		err := e.notifyOwners(ctx, ownerNote{kind: "digest", owners: []string{o}, title: fmt.Sprintf("Steward: %d open findings on your identities", total),
			body: "Review them with: steward findings list --owner " + o, data: map[string]any{"by_severity": per[o]}})
		if err != nil {
			return err
		}
	}
	return nil
}
