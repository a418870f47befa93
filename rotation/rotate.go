package rotation

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/custody"
	"github.com/steward-nhi/steward/internal/ids"
)

// RotateRequest asks for a rotation of a secret in custody.
type RotateRequest struct {
	// Rotator defaults to the one the credential was registered with.
	Rotator string `json:"rotator,omitempty"`
	// Overlap is how long the old version stays readable by the owner
	// (default 0: destroyed at once, after the proof).
	Overlap *steward.Duration `json:"overlap,omitempty"`
	// DryRun checks the rotator and the current secret without changing
	// anything.
	DryRun bool   `json:"dry_run,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// Rotate starts a rotation and runs it to its end on this node. Of two
// requests at once (on two nodes), one runs and the other is told the
// rotation in progress (ECONFLICT).
func (s *Service) Rotate(ctx context.Context, credentialID string, in RotateRequest) (*steward.Rotation, error) {
	p, err := require(ctx, steward.PermWrite)
	if err != nil {
		return nil, err
	}
	overlap := time.Duration(0)
	if in.Overlap != nil {
		overlap = time.Duration(*in.Overlap)
		if overlap < 0 || overlap > steward.MaxCredentialOverlap {
			return nil, steward.FieldError("overlap", "must be between 0s and %s", time.Duration(steward.MaxCredentialOverlap))
		}
	}
	c, err := s.cfg.Store.GetCredential(ctx, credentialID)
	if err != nil {
		return nil, err
	}
	i, err := s.cfg.Store.GetIdentity(ctx, c.IdentityID)
	if err != nil {
		return nil, err
	}
	if err := p.CheckOwns(i); err != nil {
		return nil, err
	}
	cs, err := s.cfg.Store.GetCustodySecret(ctx, credentialID)
	if err != nil {
		return nil, err
	}
	name := in.Rotator
	if name == "" {
		name = cs.Rotator
	}
	if name == "" {
		return nil, steward.FieldError("rotator", "is required: credential %s was registered without one", c.ID)
	}
	if _, err := s.cfg.Store.GetRotator(ctx, name); err != nil {
		if steward.ErrorCode(err) == steward.ENOTFOUND {
			return nil, steward.FieldError("rotator", "%q is not a rotator", name)
		}
		return nil, err
	}
	if c.Status != steward.CredentialActive {
		return nil, steward.Errorf(steward.ECONFLICT, "credential %s is %s; only an active credential is rotated", c.ID, c.Status)
	}
	if in.DryRun {
		return s.dryRun(ctx, p, c, cs, name)
	}
	now := s.now()
	ro := &steward.Rotation{ID: ids.New("rot_", now), CredentialID: c.ID, IdentityID: c.IdentityID, Rotator: name, Status: steward.RotationRunning,
		Overlap: steward.Duration(overlap), OldVersion: cs.CurrentVersion, OldFingerprint: c.Fingerprint, Node: s.cfg.Node, Actor: p.Actor,
		StartedAt: now, UpdatedAt: now}
	err = s.cfg.Store.UpdateRotations(ctx, func(tx steward.RotationTx) error {
		if err := tx.CreateRotation(ctx, ro); err != nil {
			if steward.ErrorCode(err) == steward.ECONFLICT {
				if running, _ := tx.ListRotations(ctx, c.ID, steward.RotationRunning, 1); len(running) == 1 {
					r := running[0]
					return steward.Errorf(steward.ECONFLICT, "credential %s is being rotated already: rotation %s on node %s, step %q done, started %s",
						c.ID, r.ID, r.Node, r.Step, r.StartedAt.Format(time.RFC3339))
				}
			}
			return err
		}
		if _, err := tx.TryLease(ctx, leaseName(ro.ID), s.cfg.Node, now, now.Add(s.cfg.StepLease)); err != nil {
			return err
		}
		return s.event(ctx, tx, ro, steward.ActionRotationStart, in.Reason, map[string]any{"rotation": ro.ID, "rotator": name,
			"old_fingerprint": ro.OldFingerprint, "overlap": ro.Overlap.String()})
	})
	if err != nil {
		return nil, err
	}
	return s.run(ctx, ro)
}

func leaseName(rotationID string) string { return "rotation:" + rotationID }

// dryRun checks that the rotator answers and that the current secret
// works, changing nothing; the check is recorded.
func (s *Service) dryRun(ctx context.Context, p *steward.Principal, c *steward.Credential, cs *steward.CustodySecret, name string) (*steward.Rotation, error) {
	now := s.now()
	ro := &steward.Rotation{ID: ids.New("rot_", now), CredentialID: c.ID, IdentityID: c.IdentityID, Rotator: name, DryRun: true,
		OldVersion: cs.CurrentVersion, OldFingerprint: c.Fingerprint, Node: s.cfg.Node, Actor: p.Actor, StartedAt: now, UpdatedAt: now}
	prov, _, err := s.provider(ctx, name)
	if err == nil {
		var cur []byte
		if cur, err = s.version(ctx, c.ID, cs.CurrentVersion); err == nil {
			err = prov.Check(ctx, c.ExternalRef, cur)
		}
	}
	ro.Status, ro.TestResult = steward.RotationSucceeded, "current secret accepted by the provider; nothing changed (dry run)"
	if err != nil {
		ro.Status, ro.Error = steward.RotationFailed, err.Error()
		ro.TestResult = "dry run failed: " + err.Error()
	}
	ro.FinishedAt = &now
	err = s.cfg.Store.UpdateRotations(ctx, func(tx steward.RotationTx) error {
		if err := tx.CreateRotation(ctx, ro); err != nil {
			return err
		}
		return s.event(ctx, tx, ro, steward.ActionRotationFinish, "dry run", map[string]any{"rotation": ro.ID, "dry_run": true, "result": ro.TestResult})
	})
	return ro, err
}

// version opens one version of a credential's secret.
func (s *Service) version(ctx context.Context, credentialID string, version int64) ([]byte, error) {
	vs, err := s.cfg.Store.ListSecretVersions(ctx, credentialID)
	if err != nil {
		return nil, err
	}
	for _, v := range vs {
		if v.Version == version {
			return s.cfg.Custody.Open(v)
		}
	}
	return nil, steward.Errorf(steward.EINTERNAL, "credential %s has no version %d in custody", credentialID, version)
}

func (s *Service) event(ctx context.Context, tx steward.RotationTx, ro *steward.Rotation, action, reason string, after map[string]any) error {
	p := &steward.Principal{Actor: ro.Actor}
	if p.Actor == "" {
		p.Actor = "system:rotation"
	}
	e := steward.NewEvent(s.now(), p, action, steward.SubjectCredential, ro.CredentialID, ro.IdentityID, reason, nil, after)
	if err := tx.AppendEvent(ctx, e); err != nil {
		return err
	}
	ro.Seqs = append(ro.Seqs, e.Seq)
	return nil
}

// save persists the rotation after a step, with its event.
func (s *Service) save(ctx context.Context, ro *steward.Rotation, action string, after map[string]any, more func(tx steward.RotationTx) error) error {
	ro.UpdatedAt = s.now()
	err := s.cfg.Store.UpdateRotations(ctx, func(tx steward.RotationTx) error {
		if more != nil {
			if err := more(tx); err != nil {
				return err
			}
		}
		if after == nil {
			after = map[string]any{}
		}
		after["rotation"], after["step"] = ro.ID, ro.Step
		if err := s.event(ctx, tx, ro, action, "", after); err != nil {
			return err
		}
		if ro.Status == steward.RotationRunning {
			if ok, err := tx.TryLease(ctx, leaseName(ro.ID), s.cfg.Node, s.now(), s.now().Add(s.cfg.StepLease)); err != nil {
				return err
			} else if !ok {
				return steward.Errorf(steward.ECONFLICT, "rotation %s was taken over by another node", ro.ID)
			}
		}
		return tx.UpdateRotation(ctx, ro)
	})
	if err == nil && s.cfg.AfterStep != nil {
		s.cfg.AfterStep(ro)
	}
	return err
}

// run drives a rotation from its last persisted step to its end.
func (s *Service) run(ctx context.Context, ro *steward.Rotation) (*steward.Rotation, error) {
	ro.Attempts++
	prov, _, err := s.provider(ctx, ro.Rotator)
	if err != nil {
		return s.fail(ctx, ro, nil, err)
	}
	c, err := s.cfg.Store.GetCredential(ctx, ro.CredentialID)
	if err != nil {
		return ro, err
	}
	old, err := s.version(ctx, ro.CredentialID, ro.OldVersion)
	if err != nil {
		// The master key cannot open the secret in force: stop before
		// anything changes at the provider.
		return s.fail(ctx, ro, nil, err)
	}
	for ro.Status == steward.RotationRunning {
		switch ro.Step {
		case "":
			err = s.stepCreate(ctx, ro)
		case steward.StepCreate:
			err = s.stepSet(ctx, ro, prov, c, old)
		case steward.StepSet:
			err = s.stepTest(ctx, ro, prov, c, old)
		case steward.StepTest:
			err = s.stepFinish(ctx, ro, prov, c, old)
		default:
			err = fmt.Errorf("rotation %s: unknown step %q", ro.ID, ro.Step)
		}
		if err != nil {
			return ro, err
		}
	}
	if ro.Status == steward.RotationFailed || ro.Status == steward.RotationRolledBack {
		return ro, steward.Errorf(steward.ECONFLICT, "rotation %s of credential %s %s: %s (the old secret is still in force)",
			ro.ID, ro.CredentialID, ro.Status, ro.Error)
	}
	return ro, nil
}

// stepCreate seals a new random secret as the pending version.
func (s *Service) stepCreate(ctx context.Context, ro *steward.Rotation) error {
	secret := NewSecret()
	ro.NewVersion = ro.OldVersion + 1
	ro.NewFingerprint = steward.Fingerprint(secret)
	sealed, err := s.cfg.Custody.Seal(ro.IdentityID, ro.CredentialID, ro.NewVersion, secret)
	if err != nil {
		return err
	}
	ro.Step = steward.StepCreate
	return s.save(ctx, ro, steward.ActionRotationStep, map[string]any{"new_fingerprint": ro.NewFingerprint, "version": ro.NewVersion},
		func(tx steward.RotationTx) error {
			return tx.PutSecretVersion(ctx, &steward.SecretVersion{CredentialID: ro.CredentialID, IdentityID: ro.IdentityID, Version: ro.NewVersion,
				Sealed: sealed, Fingerprint: ro.NewFingerprint, State: steward.SecretPending, CreatedAt: s.now()})
		})
}

// stepSet sets the pending secret at the provider; in the same
// transaction that records it, the pending version becomes current and
// the old one previous, so custody always holds what the provider honours.
func (s *Service) stepSet(ctx context.Context, ro *steward.Rotation, prov Provider, c *steward.Credential, old []byte) error {
	secret, err := s.version(ctx, ro.CredentialID, ro.NewVersion)
	if err != nil {
		_, err = s.fail(ctx, ro, nil, err)
		return err
	}
	answer, err := prov.Set(ctx, c.ExternalRef, secret, old)
	if err != nil {
		// Nothing changed at the provider (or, if it did, the old secret
		// is put back): the old version stays current.
		_, err = s.fail(ctx, ro, prov, fmt.Errorf("set at the provider: %w", err))
		return err
	}
	ro.ProviderAnswer, ro.Step = answer, steward.StepSet
	return s.save(ctx, ro, steward.ActionRotationStep, map[string]any{"provider_answer": answer}, func(tx steward.RotationTx) error {
		return s.promote(ctx, tx, ro, ro.NewVersion, ro.OldVersion)
	})
}

// promote makes version cur current and prev previous.
func (s *Service) promote(ctx context.Context, tx steward.RotationTx, ro *steward.Rotation, cur, prev int64) error {
	vs, err := tx.ListSecretVersions(ctx, ro.CredentialID)
	if err != nil {
		return err
	}
	cs, err := tx.GetCustodySecret(ctx, ro.CredentialID)
	if err != nil {
		return err
	}
	for _, v := range vs {
		switch v.Version {
		case cur:
			v.State, v.RetireAt = steward.SecretCurrent, nil
		case prev:
			// No retirement date while the rotation runs: the destruction
			// sweep must leave the old version alone until finish has
			// used it for the proof (a node killed after set, restarted,
			// would otherwise destroy it before the rotation resumes).
			// Finish dates it (overlap) or destroys it (none).
			v.State, v.RetireAt = steward.SecretPrevious, nil
			if ro.Status != steward.RotationRunning {
				retire := s.now().Add(time.Duration(ro.Overlap))
				v.RetireAt = &retire
			}
		default:
			continue
		}
		if err := tx.PutSecretVersion(ctx, v); err != nil {
			return err
		}
	}
	cs.CurrentVersion, cs.UpdatedAt = cur, s.now()
	return tx.PutCustodySecret(ctx, cs)
}

// stepTest connects with the new secret; a refusal rolls back.
func (s *Service) stepTest(ctx context.Context, ro *steward.Rotation, prov Provider, c *steward.Credential, old []byte) error {
	secret, err := s.version(ctx, ro.CredentialID, ro.NewVersion)
	if err == nil {
		err = prov.Check(ctx, c.ExternalRef, secret)
	}
	if err != nil {
		ro.TestResult = "new secret failed its test: " + err.Error()
		_, err = s.fail(ctx, ro, prov, fmt.Errorf("test of the new secret: %w", err))
		return err
	}
	ro.TestResult, ro.Step = "new secret accepted by the provider", steward.StepTest
	return s.save(ctx, ro, steward.ActionRotationStep, map[string]any{"test_result": ro.TestResult}, nil)
}

// stepFinish records the rotation on the credential, proves the old secret
// refused, and (overlap 0) destroys the old ciphertext.
func (s *Service) stepFinish(ctx context.Context, ro *steward.Rotation, prov Provider, c *steward.Credential, old []byte) error {
	if r, ok := prov.(Retirer); ok {
		// A failure leaves the old secret live: the proof below says so.
		answer, err := r.Retire(ctx, c.ExternalRef, old)
		if err != nil {
			answer = "retiring the old secret failed: " + err.Error()
		}
		ro.ProviderAnswer += "; " + answer
	}
	proofErr := prov.Check(ctx, c.ExternalRef, old)
	proven := errors.Is(proofErr, ErrRefused)
	switch {
	case proven:
		ro.Proof = "old secret refused by the provider: " + proofErr.Error()
	case proofErr == nil:
		ro.Proof = "NOT PROVEN: the provider still accepts the old secret"
	default:
		ro.Proof = "NOT PROVEN: could not check the old secret: " + proofErr.Error()
	}
	// Where the old secret's revocation took effect: at the provider when
	// it refused the old secret; otherwise it is only recorded here.
	where := steward.RevokedInventoryOnly
	if proven {
		where = steward.RevokedProvider
	}
	now := s.now()
	ro.Step, ro.Status, ro.FinishedAt = steward.StepFinish, steward.RotationSucceeded, &now
	return s.save(ctx, ro, steward.ActionRotationFinish, map[string]any{"old_fingerprint": ro.OldFingerprint, "new_fingerprint": ro.NewFingerprint,
		"provider_answer": ro.ProviderAnswer, "test_result": ro.TestResult, "proof": ro.Proof, "proven": proven, "old_revoked_where": where},
		func(tx steward.RotationTx) error {
			cur, err := tx.GetCredential(ctx, ro.CredentialID)
			if err != nil {
				return err
			}
			cur.Fingerprint, cur.LastRotatedAt = ro.NewFingerprint, &now
			if err := tx.UpdateCredential(ctx, cur); err != nil {
				return err
			}
			// The identity's last rotation is what posture's rotation.overdue
			// and the schedule count from.
			if i, err := tx.GetIdentity(ctx, ro.IdentityID); err != nil {
				return err
			} else if i.LastRotatedAt == nil || i.LastRotatedAt.Before(now) {
				i.LastRotatedAt, i.UpdatedAt = &now, now
				i.Version++
				if err := tx.UpdateIdentity(ctx, i); err != nil {
					return err
				}
			}
			e := steward.NewEvent(now, &steward.Principal{Actor: ro.Actor}, steward.ActionCredentialRotate, steward.SubjectCredential, ro.CredentialID, ro.IdentityID, "",
				map[string]any{"fingerprint": ro.OldFingerprint}, map[string]any{"fingerprint": ro.NewFingerprint, "rotation": ro.ID, "rotator": ro.Rotator,
					"provider_answer": ro.ProviderAnswer, "test_result": ro.TestResult})
			if err := tx.AppendEvent(ctx, e); err != nil {
				return err
			}
			ro.Seqs = append(ro.Seqs, e.Seq)
			if proven {
				pe := steward.NewEvent(now, &steward.Principal{Actor: ro.Actor}, steward.ActionRevocationProven, steward.SubjectCredential, ro.CredentialID, ro.IdentityID, "",
					nil, map[string]any{"fingerprint": ro.OldFingerprint, "where": steward.RevokedProvider, "rotation": ro.ID, "proof": ro.Proof})
				if err := tx.AppendEvent(ctx, pe); err != nil {
					return err
				}
				ro.Seqs = append(ro.Seqs, pe.Seq)
			}
			vs, err := tx.ListSecretVersions(ctx, ro.CredentialID)
			if err != nil {
				return err
			}
			for _, v := range vs {
				if v.Version != ro.OldVersion || v.State == steward.SecretDestroyed {
					continue
				}
				if ro.Overlap == 0 {
					if err := custody.Destroy(ctx, tx, steward.SystemPrincipal("rotation"), v, now, "rotation "+ro.ID+" finished without overlap"); err != nil {
						return err
					}
					continue
				}
				retire := now.Add(time.Duration(ro.Overlap))
				v.RetireAt = &retire
				if err := tx.PutSecretVersion(ctx, v); err != nil {
					return err
				}
			}
			return nil
		})
}

// fail ends a rotation that cannot go on, leaving the old secret in force:
// when the provider may already hold the new secret (set done, or a set
// whose outcome is unknown), the old one is set back first.
func (s *Service) fail(ctx context.Context, ro *steward.Rotation, prov Provider, cause error) (*steward.Rotation, error) {
	ro.Error = cause.Error()
	ro.Status = steward.RotationFailed
	restored := ro.Step == "" || ro.Step == steward.StepCreate && prov == nil
	if prov != nil && (ro.Step == steward.StepCreate || ro.Step == steward.StepSet) {
		if old, err := s.version(ctx, ro.CredentialID, ro.OldVersion); err == nil {
			if _, err := prov.Set(ctx, s.credRef(ctx, ro.CredentialID), old, nil); err == nil {
				restored = true
				ro.Status = steward.RotationRolledBack
			} else if ro.Step == steward.StepCreate {
				// The set failed and so did the restore: the provider most
				// likely still holds the old secret (the set did not apply).
				restored = true
			} else {
				ro.Error += "; restoring the old secret also failed: " + err.Error()
			}
		}
	}
	now := s.now()
	ro.FinishedAt = &now
	err := s.save(ctx, ro, steward.ActionRotationFail, map[string]any{"error": ro.Error, "old_secret_in_force": restored, "status": ro.Status},
		func(tx steward.RotationTx) error {
			if ro.NewVersion == 0 {
				return nil
			}
			if ro.Step == steward.StepSet && restored {
				if err := s.promote(ctx, tx, ro, ro.OldVersion, ro.NewVersion); err != nil {
					return err
				}
			}
			vs, err := tx.ListSecretVersions(ctx, ro.CredentialID)
			if err != nil {
				return err
			}
			for _, v := range vs {
				if v.Version == ro.NewVersion && restored && v.State != steward.SecretDestroyed {
					if err := custody.Destroy(ctx, tx, steward.SystemPrincipal("rotation"), v, now, "rotation "+ro.ID+" failed"); err != nil {
						return err
					}
				}
			}
			return nil
		})
	if err != nil {
		return ro, err
	}
	s.cfg.Logger.Warn("rotation failed", "rotation", ro.ID, "credential", ro.CredentialID, "status", ro.Status, "err", ro.Error)
	return ro, nil
}

func (s *Service) credRef(ctx context.Context, id string) string {
	c, err := s.cfg.Store.GetCredential(ctx, id)
	if err != nil {
		return ""
	}
	return c.ExternalRef
}

// Resume takes over running rotations whose node stopped (its job lease
// ran out) and drives them to their end; it returns how many it ran.
func (s *Service) Resume(ctx context.Context) (int, error) {
	running, err := s.cfg.Store.ListRotations(ctx, "", steward.RotationRunning, 100)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, ro := range running {
		now := s.now()
		var ok bool
		err := s.cfg.Store.UpdateRotations(ctx, func(tx steward.RotationTx) (err error) {
			ok, err = tx.TryLease(ctx, leaseName(ro.ID), s.cfg.Node, now, now.Add(s.cfg.StepLease))
			return err
		})
		if err != nil || !ok {
			continue
		}
		ro.Node = s.cfg.Node
		if _, err := s.run(ctx, ro); err != nil {
			s.cfg.Logger.Warn("resume rotation", "rotation", ro.ID, "err", err)
		}
		n++
	}
	return n, nil
}

// History is a credential's rotations, newest first.
type History struct {
	Items []*steward.Rotation `json:"items"`
}

// History lists a credential's rotations.
func (s *Service) History(ctx context.Context, credentialID string) (*History, error) {
	p, err := require(ctx, steward.PermRead)
	if err != nil {
		return nil, err
	}
	c, err := s.cfg.Store.GetCredential(ctx, credentialID)
	if err != nil {
		return nil, err
	}
	if p.Role == steward.RoleOwner {
		i, err := s.cfg.Store.GetIdentity(ctx, c.IdentityID)
		if err != nil {
			return nil, err
		}
		if err := p.CheckOwns(i); err != nil {
			return nil, err
		}
	}
	rs, err := s.cfg.Store.ListRotations(ctx, credentialID, "", 100)
	if err != nil {
		return nil, err
	}
	return &History{Items: rs}, nil
}

// Status is a credential's custody and latest rotation.
type Status struct {
	Custody *custody.Status   `json:"custody"`
	Latest  *steward.Rotation `json:"latest,omitempty"`
}

// Status returns a credential's custody state and its latest rotation.
func (s *Service) Status(ctx context.Context, credentialID string) (*Status, error) {
	cs, err := s.cfg.Custody.Status(ctx, credentialID)
	if err != nil {
		return nil, err
	}
	out := &Status{Custody: cs}
	if rs, err := s.cfg.Store.ListRotations(ctx, credentialID, "", 1); err == nil && len(rs) == 1 {
		out.Latest = rs[0]
	}
	return out, nil
}
