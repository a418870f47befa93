package inventory

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/ids"
)

// CreateIdentity registers an identity by hand. Status may be pending or
// active (default active); owner-role callers create identities they own.
// An identity needs an owner unless UnownedReason says why not; the reason is
// recorded in the creation event.
func (s *Service) CreateIdentity(ctx context.Context, in *steward.Identity) (*steward.Identity, error) {
	p, err := steward.Authorize(ctx, steward.PermWrite)
	if err != nil {
		return nil, err
	}
	i := *in
	now := s.clock.Now()
	if p.Role == steward.RoleOwner {
		if i.OwnerID != "" && i.OwnerID != p.OwnerID {
			return nil, steward.FieldError("owner_id", "an owner token can only create identities it owns")
		}
		i.OwnerID = p.OwnerID
	}
	if i.Source == "" {
		i.Source = steward.SourceRegistered
	}
	if i.Provider == "" {
		i.Provider = "steward"
	}
	if i.Sensitivity == "" {
		i.Sensitivity = steward.SensitivityMedium
	}
	switch i.Status {
	case "":
		i.Status = steward.StatusActive
	case steward.StatusPending, steward.StatusActive:
	default:
		return nil, steward.FieldError("status", "a new identity is pending or active, not %q", i.Status)
	}
	i.Normalize()
	i.ID = ids.New(ids.Identity, now)
	i.CreatedAt, i.UpdatedAt, i.Version = now, now, 1
	if err := i.Validate(); err != nil {
		return nil, err
	}
	if err := s.policy.CheckExpiry(i.Sensitivity, i.ExpiresAt, i.Exception, now); err != nil {
		return nil, err
	}
	if err := i.CheckRegisteredOwner(); err != nil {
		return nil, err
	}
	var reason string
	if i.UnownedReason != "" {
		reason = "registered without an owner: " + i.UnownedReason
	}
	err = s.store.Update(ctx, func(tx steward.Tx) error {
		if err := checkOwnerUsable(ctx, tx, i.OwnerID); err != nil {
			return err
		}
		if err := tx.CreateIdentity(ctx, &i); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, s.newEvent(p, steward.ActionIdentityCreate, steward.SubjectIdentity, i.ID, i.ID, reason, nil, &i))
	})
	if err != nil {
		return nil, err
	}
	return &i, nil
}

// checkOwnerUsable refuses an unknown or departed owner.
func checkOwnerUsable(ctx context.Context, r steward.Reader, ownerID string) error {
	if ownerID == "" {
		return nil
	}
	o, err := r.GetOwner(ctx, ownerID)
	if steward.ErrorCode(err) == steward.ENOTFOUND {
		return steward.FieldError("owner_id", "owner %q does not exist", ownerID)
	}
	if err != nil {
		return err
	}
	if o.Status != steward.OwnerActive {
		return steward.FieldError("owner_id", "owner %q has departed; choose an active owner", ownerID)
	}
	return nil
}

// GetIdentity returns one identity.
func (s *Service) GetIdentity(ctx context.Context, id string) (*steward.Identity, error) {
	p, err := steward.Authorize(ctx, steward.PermRead)
	if err != nil {
		return nil, err
	}
	i, err := s.store.GetIdentity(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := checkOwns(p, i); err != nil {
		return nil, err
	}
	return i, nil
}

// ListIdentities returns a page of identities; owner-role callers see their own.
func (s *Service) ListIdentities(ctx context.Context, f steward.IdentityFilter) (*steward.Page[*steward.Identity], error) {
	p, err := steward.Authorize(ctx, steward.PermRead)
	if err != nil {
		return nil, err
	}
	if p.Role == steward.RoleOwner {
		f.OwnedBy = p.OwnerID
	}
	return s.store.ListIdentities(ctx, f)
}

// ListCredentials returns an identity's credentials (metadata only), each
// with the status it has now (an expiry or the end of a rotation overlap
// counts before the sweep records it).
func (s *Service) ListCredentials(ctx context.Context, identityID string) ([]*steward.Credential, error) {
	if _, err := s.GetIdentity(ctx, identityID); err != nil {
		return nil, err
	}
	var out []*steward.Credential
	if s.creds != nil {
		bcs, err := s.creds.ListBrokerCredentials(ctx, identityID)
		if err != nil {
			return nil, err
		}
		out = make([]*steward.Credential, len(bcs))
		for n, bc := range bcs {
			out[n] = &bc.Credential
		}
	} else {
		var err error
		if out, err = s.store.ListCredentials(ctx, identityID); err != nil {
			return nil, err
		}
	}
	now := s.clock.Now()
	for _, c := range out {
		c.Effective(now)
	}
	return out, nil
}

// UpdateIdentity applies a patch; the lifecycle status changes only through
// TransitionIdentity.
func (s *Service) UpdateIdentity(ctx context.Context, id string, pt steward.IdentityPatch) (*steward.Identity, error) {
	p, err := steward.Authorize(ctx, steward.PermWrite)
	if err != nil {
		return nil, err
	}
	var out *steward.Identity
	err = s.store.Update(ctx, func(tx steward.Tx) error {
		old, err := tx.GetIdentity(ctx, id)
		if err != nil {
			return err
		}
		if err := checkOwns(p, old); err != nil {
			return err
		}
		if pt.Version != 0 && pt.Version != old.Version {
			return steward.Errorf(steward.ECONFLICT, "identity %s is at version %d, not %d; reload and retry", id, old.Version, pt.Version)
		}
		if old.Status == steward.StatusRevoked {
			return steward.Errorf(steward.ECONFLICT, "identity %s is revoked; a revoked identity cannot be changed", id)
		}
		n, err := applyIdentityPatch(old, pt)
		if err != nil {
			return err
		}
		if p.Role == steward.RoleOwner && n.OwnerID != old.OwnerID {
			return steward.FieldError("owner_id", "an owner token cannot reassign identities")
		}
		now := s.clock.Now()
		n.Normalize()
		if err := n.Validate(); err != nil {
			return err
		}
		if !expiryEqual(n.ExpiresAt, old.ExpiresAt) || n.Sensitivity != old.Sensitivity || n.Exception != old.Exception {
			if err := s.policy.CheckExpiry(n.Sensitivity, n.ExpiresAt, n.Exception, now); err != nil {
				return err
			}
		}
		if n.OwnerID != old.OwnerID {
			if err := checkOwnerUsable(ctx, tx, n.OwnerID); err != nil {
				return err
			}
		}
		if identityEqual(old, n) {
			out = old
			return nil
		}
		n.UpdatedAt = now
		n.Version = old.Version + 1
		if err := tx.UpdateIdentity(ctx, n); err != nil {
			return err
		}
		out = n
		return tx.AppendEvent(ctx, s.newEvent(p, steward.ActionIdentityUpdate, steward.SubjectIdentity, id, id, trimReason(pt.Reason), old, n))
	})
	if err != nil {
		return nil, err
	}
	s.identityChanged(id)
	return out, nil
}

func applyIdentityPatch(old *steward.Identity, pt steward.IdentityPatch) (*steward.Identity, error) {
	n := *old
	n.Scopes = slices.Clone(old.Scopes)
	n.Labels = maps.Clone(old.Labels)
	if err := setRequired(pt.Name, &n.Name, "name"); err != nil {
		return nil, err
	}
	if err := setRequired(pt.Provider, &n.Provider, "provider"); err != nil {
		return nil, err
	}
	if err := setRequired(pt.Kind, &n.Kind, "kind"); err != nil {
		return nil, err
	}
	if err := setRequired(pt.Sensitivity, &n.Sensitivity, "sensitivity"); err != nil {
		return nil, err
	}
	setOptional(pt.ExternalRef, &n.ExternalRef)
	setOptional(pt.OwnerID, &n.OwnerID)
	setOptional(pt.Team, &n.Team)
	setOptional(pt.Purpose, &n.Purpose)
	setOptional(pt.Environment, &n.Environment)
	if pt.Scopes.Set {
		n.Scopes = pt.Scopes.Value
	}
	if pt.VendorManaged.Set {
		n.VendorManaged = pt.VendorManaged.Value && !pt.VendorManaged.Null
	}
	setTime(pt.ExpiresAt, &n.ExpiresAt)
	setTime(pt.LastRotatedAt, &n.LastRotatedAt)
	if pt.Labels.Set {
		if pt.Labels.Null {
			n.Labels = map[string]string{}
		} else {
			n.Labels = pt.Labels.Value.Apply(old.Labels)
		}
	}
	if pt.Exception.Set {
		if pt.Exception.Null {
			n.Exception = nil
		} else {
			e := pt.Exception.Value
			e.Until = e.Until.UTC().Truncate(time.Microsecond)
			n.Exception = &e
		}
	}
	return &n, nil
}

// setRequired applies a patch field that may be changed but not cleared.
func setRequired[T any](o steward.Opt[T], dst *T, field string) error {
	if !o.Set {
		return nil
	}
	if o.Null {
		return steward.FieldError(field, "cannot be null")
	}
	*dst = o.Value
	return nil
}

// setOptional applies a patch field that null clears.
func setOptional[T any](o steward.Opt[T], dst *T) {
	if o.Set {
		var zero T
		*dst = zero
		if !o.Null {
			*dst = o.Value
		}
	}
}

// setTime applies a patch field holding a time: null clears it, a time is
// kept in UTC at the store's microsecond precision.
func setTime(o steward.Opt[time.Time], dst **time.Time) {
	switch {
	case !o.Set:
	case o.Null:
		*dst = nil
	default:
		t := o.Value.UTC().Truncate(time.Microsecond)
		*dst = &t
	}
}

func expiryEqual(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

func identityEqual(a, b *steward.Identity) bool {
	return a.Name == b.Name && a.Kind == b.Kind && a.Provider == b.Provider && a.ExternalRef == b.ExternalRef &&
		a.OwnerID == b.OwnerID && a.Team == b.Team && a.Purpose == b.Purpose && a.Environment == b.Environment &&
		slices.Equal(a.Scopes, b.Scopes) && a.Sensitivity == b.Sensitivity && a.VendorManaged == b.VendorManaged &&
		a.Status == b.Status && expiryEqual(a.ExpiresAt, b.ExpiresAt) && expiryEqual(a.LastRotatedAt, b.LastRotatedAt) &&
		expiryEqual(a.LastUsedAt, b.LastUsedAt) && maps.Equal(a.Labels, b.Labels) && exceptionEqual(a.Exception, b.Exception)
}

func exceptionEqual(a, b *steward.Exception) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Reason == b.Reason && a.Until.Equal(b.Until) && a.Approver == b.Approver
}

// DeleteIdentity removes a pending identity; any other must be revoked.
func (s *Service) DeleteIdentity(ctx context.Context, id string) error {
	p, err := steward.Authorize(ctx, steward.PermWrite)
	if err != nil {
		return err
	}
	defer s.identityChanged(id)
	return s.store.Update(ctx, func(tx steward.Tx) error {
		old, err := tx.GetIdentity(ctx, id)
		if err != nil {
			return err
		}
		if err := checkOwns(p, old); err != nil {
			return err
		}
		if old.Status != steward.StatusPending {
			return steward.Errorf(steward.ECONFLICT, "identity %s is %s; only a pending identity can be deleted, revoke it instead", id, old.Status)
		}
		if err := tx.DeleteIdentity(ctx, id); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, s.newEvent(p, steward.ActionIdentityDelete, steward.SubjectIdentity, id, id, "", old, nil))
	})
}

// TransitionIdentity applies a lifecycle operation. Revoking an identity
// revokes its active credentials in the same transaction.
func (s *Service) TransitionIdentity(ctx context.Context, id string, t steward.Transition, r steward.TransitionRequest) (*steward.Identity, error) {
	p, err := steward.Authorize(ctx, steward.PermWrite)
	if err != nil {
		return nil, err
	}
	if err := r.Validate(t); err != nil {
		return nil, err
	}
	var out *steward.Identity
	err = s.store.Update(ctx, func(tx steward.Tx) error {
		var err error
		out, err = s.transition(ctx, tx, p, id, t, r)
		return err
	})
	if err != nil {
		return nil, err
	}
	// Final on this node before the caller hears of it.
	s.identityChanged(id)
	return out, nil
}

func (s *Service) transition(ctx context.Context, tx steward.Tx, p *steward.Principal, id string, t steward.Transition, r steward.TransitionRequest) (*steward.Identity, error) {
	old, err := tx.GetIdentity(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := checkOwns(p, old); err != nil {
		return nil, err
	}
	to, err := steward.Next(old.Status, t)
	if err != nil {
		return nil, fmt.Errorf("identity %s: %w", id, err)
	}
	now := s.clock.Now()
	n := *old
	n.Status, n.UpdatedAt, n.Version = to, now, old.Version+1
	if err := tx.UpdateIdentity(ctx, &n); err != nil {
		return nil, err
	}
	reason := r.Reason
	if r.Note != "" {
		reason = fmt.Sprintf("%s: %s", r.Reason, trimReason(r.Note))
		if r.Reason == "" {
			reason = trimReason(r.Note)
		}
	}
	if err := tx.AppendEvent(ctx, s.newEvent(p, steward.IdentityAction(t), steward.SubjectIdentity, id, id, reason, old, &n)); err != nil {
		return nil, err
	}
	if t == steward.TransitionRevoke {
		creds, err := tx.ListCredentials(ctx, id)
		if err != nil {
			return nil, err
		}
		for _, c := range creds {
			if c.Status != steward.CredentialActive && c.Status != steward.CredentialInactive {
				continue
			}
			before := *c
			c.Status, c.RevokedAt, c.RevokedWhere = steward.CredentialRevoked, &now, revokedWhere(&n, c)
			if err := tx.UpdateCredential(ctx, c); err != nil {
				return nil, err
			}
			if err := tx.AppendEvent(ctx, s.newEvent(p, "credential.revoke", steward.SubjectCredential, c.ID, id, reason, &before, c)); err != nil {
				return nil, err
			}
		}
	}
	return &n, nil
}

// ListEvents returns events; owner-role callers see events of their identities.
func (s *Service) ListEvents(ctx context.Context, f steward.EventFilter) (*steward.Page[*steward.Event], error) {
	p, err := steward.Authorize(ctx, steward.PermRead)
	if err != nil {
		return nil, err
	}
	if p.Role == steward.RoleOwner {
		if f.IdentityID != "" {
			if _, err := s.GetIdentity(ctx, f.IdentityID); err != nil {
				return nil, err
			}
		} else {
			owned, err := s.ownedIDs(ctx, p.OwnerID)
			if err != nil {
				return nil, err
			}
			f.IdentityIDs = owned
		}
	}
	return s.store.ListEvents(ctx, f)
}

func (s *Service) ownedIDs(ctx context.Context, ownerID string) ([]string, error) {
	out := []string{}
	f := steward.IdentityFilter{OwnedBy: ownerID, Limit: steward.MaxLimit}
	for {
		page, err := s.store.ListIdentities(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, i := range page.Items {
			out = append(out, i.ID)
		}
		if page.NextCursor == "" {
			return out, nil
		}
		f.Cursor = page.NextCursor
	}
}

// ExpireDue moves active identities whose expiry has passed to expired,
// recording each with the system actor. It returns how many it expired.
func (s *Service) ExpireDue(ctx context.Context) (int, error) {
	now := s.clock.Now()
	p := steward.SystemPrincipal("expiry")
	n := 0
	for {
		page, err := s.store.ListIdentities(ctx, steward.IdentityFilter{Status: steward.StatusActive, ExpiresBefore: &now, Limit: 200})
		if err != nil {
			return n, err
		}
		if len(page.Items) == 0 {
			return n, nil
		}
		err = s.store.Update(ctx, func(tx steward.Tx) error {
			defer func() {
				for _, i := range page.Items {
					s.identityChanged(i.ID)
				}
			}()
			for _, i := range page.Items {
				if _, err := s.transition(ctx, tx, p, i.ID, steward.TransitionExpire, steward.TransitionRequest{Reason: "expired"}); err != nil {
					if steward.ErrorCode(err) == steward.ECONFLICT {
						continue
					}
					return err
				}
				n++
			}
			return nil
		})
		if err != nil {
			return n, err
		}
	}
}

// revokedWhere says where revoking identity i's credential c takes effect:
// Steward refuses every credential of a revoked identity that it verifies
// itself (what it issued, federation bindings); for the others (imported,
// or a password in custody) the revocation is only marked here.
func revokedWhere(i *steward.Identity, c *steward.Credential) string {
	switch {
	case c.Type == steward.CredentialTypeFederated:
		return steward.RevokedSteward
	case i.Provider == "steward" && (c.Type == steward.CredentialTypeAPIKey || c.Type == steward.CredentialTypeClientSecret || c.Type == steward.CredentialTypePrivateKeyJWT):
		return steward.RevokedSteward
	}
	return steward.RevokedInventoryOnly
}
