package inventory

import (
	"context"
	"strings"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/ids"
)

// CreateOwner registers a person or team.
func (s *Service) CreateOwner(ctx context.Context, in *steward.Owner) (*steward.Owner, error) {
	p, err := steward.AuthorizeStaff(ctx, steward.PermWrite)
	if err != nil {
		return nil, err
	}
	o := *in
	now := s.clock.Now()
	o.ID = ids.New(ids.Owner, now)
	if o.Kind == "" {
		o.Kind = steward.OwnerPerson
	}
	if o.Status == "" {
		o.Status = steward.OwnerActive
	}
	if o.Status != steward.OwnerActive {
		return nil, steward.FieldError("status", "a new owner is active; use depart to mark one departed")
	}
	o.Normalize()
	o.CreatedAt, o.UpdatedAt, o.Version, o.DepartedAt = now, now, 1, nil
	if err := o.Validate(); err != nil {
		return nil, err
	}
	err = s.store.Update(ctx, func(tx steward.Tx) error {
		if err := checkOwnerRefs(ctx, tx, &o); err != nil {
			return err
		}
		if o.Email != "" {
			dup, err := tx.ListOwners(ctx, steward.OwnerFilter{Email: o.Email, Limit: 1})
			if err != nil {
				return err
			}
			if len(dup.Items) > 0 {
				return steward.Errorf(steward.ECONFLICT, "an owner with email %s already exists (%s)", o.Email, dup.Items[0].ID)
			}
		}
		if err := tx.CreateOwner(ctx, &o); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, s.newEvent(p, steward.ActionOwnerCreate, steward.SubjectOwner, o.ID, "", "", nil, &o))
	})
	if err != nil {
		return nil, err
	}
	return &o, nil
}

func checkOwnerRefs(ctx context.Context, r steward.Reader, o *steward.Owner) error {
	for field, id := range map[string]string{"backup_owner_id": o.BackupOwnerID, "manager_id": o.ManagerID} {
		if id == "" {
			continue
		}
		if _, err := r.GetOwner(ctx, id); err != nil {
			if steward.ErrorCode(err) == steward.ENOTFOUND {
				return steward.FieldError(field, "owner %q does not exist", id)
			}
			return err
		}
	}
	return nil
}

// GetOwner returns one owner.
func (s *Service) GetOwner(ctx context.Context, id string) (*steward.Owner, error) {
	if _, err := steward.Authorize(ctx, steward.PermRead); err != nil {
		return nil, err
	}
	return s.store.GetOwner(ctx, id)
}

// ListOwners returns a page of owners.
func (s *Service) ListOwners(ctx context.Context, f steward.OwnerFilter) (*steward.Page[*steward.Owner], error) {
	if _, err := steward.Authorize(ctx, steward.PermRead); err != nil {
		return nil, err
	}
	return s.store.ListOwners(ctx, f)
}

// UpdateOwner applies a patch to an owner.
func (s *Service) UpdateOwner(ctx context.Context, id string, pt steward.OwnerPatch) (*steward.Owner, error) {
	p, err := steward.AuthorizeStaff(ctx, steward.PermWrite)
	if err != nil {
		return nil, err
	}
	var out *steward.Owner
	err = s.store.Update(ctx, func(tx steward.Tx) error {
		old, err := tx.GetOwner(ctx, id)
		if err != nil {
			return err
		}
		if pt.Version != 0 && pt.Version != old.Version {
			return steward.Errorf(steward.ECONFLICT, "owner %s is at version %d, not %d; reload and retry", id, old.Version, pt.Version)
		}
		n := *old
		for _, f := range []struct {
			o        steward.Opt[string]
			dst      *string
			field    string
			required bool
		}{{pt.Name, &n.Name, "name", true}, {pt.Email, &n.Email, "email", false}, {pt.Team, &n.Team, "team", false},
			{pt.ManagerID, &n.ManagerID, "manager_id", false}, {pt.BackupOwnerID, &n.BackupOwnerID, "backup_owner_id", false},
			{pt.ExternalRef, &n.ExternalRef, "external_ref", false}} {
			if !f.o.Set {
				continue
			}
			if f.o.Null && f.required {
				return steward.FieldError(f.field, "cannot be null")
			}
			*f.dst = strings.TrimSpace(f.o.Value)
		}
		n.Normalize()
		if err := n.Validate(); err != nil {
			return err
		}
		if err := checkOwnerRefs(ctx, tx, &n); err != nil {
			return err
		}
		if n == *old {
			out = old
			return nil
		}
		n.UpdatedAt, n.Version = s.clock.Now(), old.Version+1
		if err := tx.UpdateOwner(ctx, &n); err != nil {
			return err
		}
		out = &n
		return tx.AppendEvent(ctx, s.newEvent(p, steward.ActionOwnerUpdate, steward.SubjectOwner, id, "", "", old, &n))
	})
	if err == nil {
		s.ownerChanged(id)
	}
	return out, err
}

// DepartOwner marks an owner departed and returns the identities it owned,
// which now need a new owner.
func (s *Service) DepartOwner(ctx context.Context, id, reason string) (*steward.Departure, error) {
	p, err := steward.AuthorizeStaff(ctx, steward.PermWrite)
	if err != nil {
		return nil, err
	}
	var dep steward.Departure
	err = s.store.Update(ctx, func(tx steward.Tx) error {
		old, err := tx.GetOwner(ctx, id)
		if err != nil {
			return err
		}
		if old.Status == steward.OwnerDeparted {
			return steward.Errorf(steward.ECONFLICT, "owner %s has already departed", id)
		}
		now := s.clock.Now()
		n := *old
		n.Status, n.DepartedAt, n.UpdatedAt, n.Version = steward.OwnerDeparted, &now, now, old.Version+1
		if err := tx.UpdateOwner(ctx, &n); err != nil {
			return err
		}
		dep.Owner = &n
		if err := tx.AppendEvent(ctx, s.newEvent(p, steward.ActionOwnerDepart, steward.SubjectOwner, id, "", trimReason(reason), old, &n)); err != nil {
			return err
		}
		dep.Identities = []*steward.Identity{}
		f := steward.IdentityFilter{OwnerID: id, Limit: steward.MaxLimit}
		for {
			page, err := tx.ListIdentities(ctx, f)
			if err != nil {
				return err
			}
			dep.Identities = append(dep.Identities, page.Items...)
			if page.NextCursor == "" {
				return nil
			}
			f.Cursor = page.NextCursor
		}
	})
	if err != nil {
		return nil, err
	}
	s.ownerChanged(id)
	return &dep, nil
}
