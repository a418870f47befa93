package rotation

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/ids"
)

// LeaseRequest asks for a dynamic credential.
type LeaseRequest struct {
	Rotator            string            `json:"rotator"`
	IdentityID         string            `json:"identity_id"`
	TTL                *steward.Duration `json:"ttl,omitempty"`
	CreationStatements []string          `json:"creation_statements"`
	Reason             string            `json:"reason,omitempty"`
}

// LeaseGrant is a new dynamic credential: the password is shown once.
type LeaseGrant struct {
	ID        string    `json:"id"`
	Username  string    `json:"username"`
	Password  string    `json:"password"`
	ExpiresAt time.Time `json:"expires_at"`
	// TTLCapped says the lifetime was cut to the tier's maximum.
	TTLCapped bool `json:"ttl_capped,omitempty"`
}

// RenewRequest extends a lease from now.
type RenewRequest struct {
	TTL *steward.Duration `json:"ttl,omitempty"`
}

// Renewed is a lease after renewal; Capped says the tier cap cut it (as
// Vault says when a renewal hits the lease's max TTL).
type Renewed struct {
	*steward.Lease
	Capped  bool   `json:"ttl_capped"`
	Warning string `json:"warning,omitempty"`
}

// DefaultLeaseTTL is a lease's lifetime when the request names none.
const DefaultLeaseTTL = time.Hour

// MaxStatements bounds the creation statements of one lease.
const MaxStatements = 16

func (s *Service) dynamic(ctx context.Context, name string) (Dynamic, error) {
	p, _, err := s.provider(ctx, name)
	if err != nil {
		if steward.ErrorCode(err) == steward.ENOTFOUND {
			return nil, steward.FieldError("rotator", "%q is not a rotator", name)
		}
		return nil, err
	}
	d, ok := p.(Dynamic)
	if !ok {
		return nil, steward.FieldError("rotator", "%q cannot create dynamic credentials", name)
	}
	return d, nil
}

// CreateLease creates an account at the provider for an identity and
// returns its password once. The lease is recorded before the account is
// created, so the expiry sweep drops whatever a crash leaves behind.
func (s *Service) CreateLease(ctx context.Context, in LeaseRequest) (*LeaseGrant, error) {
	p, err := require(ctx, steward.PermWrite)
	if err != nil {
		return nil, err
	}
	if len(in.CreationStatements) == 0 || len(in.CreationStatements) > MaxStatements {
		return nil, steward.FieldError("creation_statements", "needs 1 to %d statements", MaxStatements)
	}
	if !strings.Contains(in.CreationStatements[0], "{{name}}") {
		return nil, steward.FieldError("creation_statements[0]", "must create the role {{name}}")
	}
	i, err := s.cfg.Store.GetIdentity(ctx, in.IdentityID)
	if err != nil {
		if steward.ErrorCode(err) == steward.ENOTFOUND {
			return nil, steward.FieldError("identity_id", "%q is not an identity", in.IdentityID)
		}
		return nil, err
	}
	if err := p.CheckOwns(i); err != nil {
		return nil, err
	}
	if i.Status != steward.StatusActive {
		return nil, steward.Errorf(steward.ECONFLICT, "identity %s is %s; only an active identity gets credentials", i.ID, i.Status)
	}
	d, err := s.dynamic(ctx, in.Rotator)
	if err != nil {
		return nil, err
	}
	now := s.now()
	max := now.Add(time.Duration(s.cfg.Policy[i.Sensitivity].MaxLifetime))
	if i.ExpiresAt != nil && i.ExpiresAt.Before(max) {
		max = *i.ExpiresAt
	}
	exp, capped, err := capTTL(now, in.TTL, max)
	if err != nil {
		return nil, err
	}
	password := NewSecret()
	l := &steward.Lease{ID: ids.New("lse_", now), IdentityID: i.ID, Rotator: in.Rotator, Username: "stw_" + strings.ToLower(string(NewSecret()[:16])),
		Fingerprint: steward.Fingerprint(password), Status: steward.LeaseActive, CreatedAt: now, ExpiresAt: exp, MaxExpiresAt: max, Actor: p.Actor}
	if err := s.putLease(ctx, p, l, steward.ActionLeaseCreate, in.Reason); err != nil {
		return nil, err
	}
	if err := d.CreateAccount(ctx, LeaseSpec{Username: l.Username, Password: string(password), Expires: exp, Statements: in.CreationStatements}); err != nil {
		l.Status, l.RevokedAt, l.RevokeError = steward.LeaseRevoked, &now, "creation failed: "+err.Error()
		l.RevokedWhere = steward.RevokedProvider
		_ = s.putLease(ctx, p, l, steward.ActionLeaseRevoke, "creation failed")
		return nil, steward.Errorf(steward.EINVALID, "the provider refused the creation statements: %v", err)
	}
	return &LeaseGrant{ID: l.ID, Username: l.Username, Password: string(password), ExpiresAt: exp, TTLCapped: capped}, nil
}

func capTTL(now time.Time, ttl *steward.Duration, max time.Time) (time.Time, bool, error) {
	d := DefaultLeaseTTL
	if ttl != nil {
		if *ttl <= 0 {
			return time.Time{}, false, steward.FieldError("ttl", "must be positive")
		}
		d = time.Duration(*ttl)
	}
	exp := now.Add(d)
	if exp.After(max) {
		return max, true, nil
	}
	return exp, false, nil
}

func (s *Service) putLease(ctx context.Context, p *steward.Principal, l *steward.Lease, action, reason string) error {
	return s.cfg.Store.UpdateRotations(ctx, func(tx steward.RotationTx) error {
		if err := tx.PutLease(ctx, l); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, steward.NewEvent(s.now(), p, action, steward.SubjectLease, l.ID, l.IdentityID, reason, nil, l))
	})
}

// activeLease returns the caller and an active lease it may change.
func (s *Service) activeLease(ctx context.Context, id string) (*steward.Principal, *steward.Lease, error) {
	p, err := require(ctx, steward.PermWrite)
	if err != nil {
		return nil, nil, err
	}
	l, err := s.cfg.Store.GetLease(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if p.Role == steward.RoleOwner {
		i, err := s.cfg.Store.GetIdentity(ctx, l.IdentityID)
		if err != nil {
			return nil, nil, err
		}
		if err := p.CheckOwns(i); err != nil {
			return nil, nil, err
		}
	}
	if l.Status != steward.LeaseActive {
		return nil, nil, steward.Errorf(steward.ECONFLICT, "lease %s is %s", l.ID, l.Status)
	}
	return p, l, nil
}

// RenewLease extends a lease from now, up to the tier's cap.
func (s *Service) RenewLease(ctx context.Context, id string, in RenewRequest) (*Renewed, error) {
	p, l, err := s.activeLease(ctx, id)
	if err != nil {
		return nil, err
	}
	now := s.now()
	if !now.Before(l.ExpiresAt) {
		return nil, steward.Errorf(steward.ECONFLICT, "lease %s expired at %s", l.ID, l.ExpiresAt.Format(time.RFC3339))
	}
	exp, capped, err := capTTL(now, in.TTL, l.MaxExpiresAt)
	if err != nil {
		return nil, err
	}
	d, err := s.dynamic(ctx, l.Rotator)
	if err != nil {
		return nil, err
	}
	if err := d.ExtendAccount(ctx, l.Username, exp); err != nil {
		return nil, steward.Errorf(steward.EINTERNAL, "lease %s: the provider refused the renewal: %v", l.ID, err)
	}
	l.ExpiresAt = exp
	if err := s.putLease(ctx, p, l, steward.ActionLeaseRenew, ""); err != nil {
		return nil, err
	}
	out := &Renewed{Lease: l, Capped: capped}
	if capped {
		out.Warning = "TTL value is capped by the tier's maximum lifetime: the lease ends at " + l.MaxExpiresAt.Format(time.RFC3339)
	}
	return out, nil
}

// RevokeLease drops the lease's account at the provider now.
func (s *Service) RevokeLease(ctx context.Context, id string) (*steward.Lease, error) {
	p, l, err := s.activeLease(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.drop(ctx, p, l, steward.LeaseRevoked); err != nil {
		return nil, err
	}
	return l, nil
}

// drop drops the account and records where the revocation took effect.
func (s *Service) drop(ctx context.Context, p *steward.Principal, l *steward.Lease, status string) error {
	d, err := s.dynamic(ctx, l.Rotator)
	if err != nil {
		return err
	}
	answer, err := d.DropAccount(ctx, l.Username)
	if err != nil {
		return steward.Errorf(steward.EINTERNAL, "lease %s: the provider did not drop %s (the lease stays active and will be retried): %v", l.ID, l.Username, err)
	}
	now := s.now()
	l.Status, l.RevokedAt, l.RevokedWhere, l.RevokeError = status, &now, steward.RevokedProvider, answer
	return s.putLease(ctx, p, l, steward.ActionLeaseRevoke, status)
}

// LeaseList is a list of leases.
type LeaseList struct {
	Items []*steward.Lease `json:"items"`
}

// ListLeases lists leases, optionally of one identity.
// An owner-role caller sees the leases of its own identities only.
func (s *Service) ListLeases(ctx context.Context, identityID, status string) (*LeaseList, error) {
	p, err := require(ctx, steward.PermRead)
	if err != nil {
		return nil, err
	}
	if p.Role == steward.RoleOwner && identityID != "" {
		i, err := s.cfg.Store.GetIdentity(ctx, identityID)
		if err != nil {
			return nil, err
		}
		if err := p.CheckOwns(i); err != nil {
			return nil, err
		}
	}
	ls, err := s.cfg.Store.ListLeases(ctx, identityID, status, 0)
	if err != nil {
		return nil, err
	}
	if p.Role == steward.RoleOwner && identityID == "" {
		owns := map[string]bool{}
		mine := ls[:0]
		for _, l := range ls {
			ok, seen := owns[l.IdentityID]
			if !seen {
				i, err := s.cfg.Store.GetIdentity(ctx, l.IdentityID)
				ok = err == nil && p.CheckOwns(i) == nil
				owns[l.IdentityID] = ok
			}
			if ok {
				mine = append(mine, l)
			}
		}
		ls = mine
	}
	return &LeaseList{Items: ls}, nil
}

// ExpireDue drops the accounts of expired leases, 8 at a time, and
// returns how many it dropped.
func (s *Service) ExpireDue(ctx context.Context) (int, error) {
	p := steward.SystemPrincipal("lease-expiry")
	total := 0
	for {
		due, err := s.cfg.Store.ListLeasesDue(ctx, s.now(), 500)
		if err != nil || len(due) == 0 {
			return total, err
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		done := make([]*steward.Lease, 0, len(due))
		sem := make(chan struct{}, 8)
		var firstErr error
		for _, l := range due {
			wg.Add(1)
			sem <- struct{}{}
			go func(l *steward.Lease) {
				defer func() { <-sem; wg.Done() }()
				d, err := s.dynamic(ctx, l.Rotator)
				var answer string
				if err == nil {
					answer, err = d.DropAccount(ctx, l.Username)
				}
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					if firstErr == nil {
						firstErr = err
					}
					return
				}
				now := s.now()
				l.Status, l.RevokedAt, l.RevokedWhere, l.RevokeError = steward.LeaseExpired, &now, steward.RevokedProvider, answer
				done = append(done, l)
			}(l)
		}
		wg.Wait()
		if len(done) > 0 {
			err := s.cfg.Store.UpdateRotations(ctx, func(tx steward.RotationTx) error {
				for _, l := range done {
					if err := tx.PutLease(ctx, l); err != nil {
						return err
					}
					if err := tx.AppendEvent(ctx, steward.NewEvent(s.now(), p, steward.ActionLeaseRevoke, steward.SubjectLease, l.ID, l.IdentityID, "expired", nil, l)); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return total, err
			}
		}
		total += len(done)
		if firstErr != nil {
			return total, firstErr
		}
	}
}
