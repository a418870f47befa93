package inventory

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/importer"
	"github.com/steward-nhi/steward/internal/ids"
)

// Import reads a provider export and upserts its identities by provider and
// external reference. Without opts.Partial one bad record rejects the whole
// file and nothing is written; the summary then lists every bad record.
func (s *Service) Import(ctx context.Context, format string, r io.Reader, opts steward.ImportOptions) (*steward.ImportSummary, error) {
	p, err := steward.AuthorizeStaff(ctx, steward.PermWrite)
	if err != nil {
		return nil, err
	}
	f, ok := importer.Lookup(format)
	if !ok {
		names := []string{}
		for _, f := range importer.Formats() {
			names = append(names, f.Name)
		}
		return nil, steward.FieldError("format", "%q is not a known import format (%v)", format, names)
	}
	if opts.Sensitivity != "" && !steward.ValidSensitivity(opts.Sensitivity) {
		return nil, steward.FieldError("sensitivity", "%q is not one of critical, high, medium, low", opts.Sensitivity)
	}
	res, err := f.Parse(r)
	if err != nil {
		return nil, steward.FieldError("file", "%s: %s", format, err.Error())
	}
	sum := &steward.ImportSummary{Format: format, Records: len(res.Records) + len(res.Bad), Errors: []steward.RecordError{}}
	sum.Errors = append(sum.Errors, res.Bad...)
	now := s.clock.Now()

	// Validate every record before writing anything.
	type prepared struct {
		rec steward.ImportRecord
		n   int
	}
	var good []prepared
	for n, rec := range res.Records {
		i := &rec.Identity
		i.Source = steward.SourceImported
		if i.Sensitivity == "" {
			i.Sensitivity = opts.Sensitivity
			if i.Sensitivity == "" {
				i.Sensitivity = s.DefaultSensitivity
			}
		}
		if i.Environment == "" {
			i.Environment = opts.Environment
		}
		if i.Status == "" {
			i.Status = steward.StatusActive
		}
		i.Normalize()
		if i.CreatedAt.IsZero() || i.CreatedAt.After(now) {
			i.CreatedAt = now
		}
		i.UpdatedAt = now
		if err := i.Validate(); err != nil {
			sum.Errors = append(sum.Errors, steward.RecordError{Record: n + 1, Line: rec.Line, Ref: i.ExternalRef, Field: steward.ErrorField(err), Message: steward.ErrorMessage(err)})
			continue
		}
		if i.ExternalRef == "" {
			sum.Errors = append(sum.Errors, steward.RecordError{Record: n + 1, Line: rec.Line, Field: "external_ref", Message: "an imported identity needs an external reference"})
			continue
		}
		good = append(good, prepared{rec: rec, n: n + 1})
	}
	sum.Rejected = len(sum.Errors)
	slices.SortStableFunc(sum.Errors, func(a, b steward.RecordError) int { return a.Record - b.Record })
	if sum.Rejected > 0 && !opts.Partial {
		first := sum.Errors[0]
		where := fmt.Sprintf("record %d", first.Record)
		if first.Line > 0 {
			where += fmt.Sprintf(" (line %d)", first.Line)
		}
		msg := first.Message
		if first.Field != "" && !strings.HasPrefix(msg, first.Field) {
			msg = first.Field + ": " + msg
		}
		return sum, &steward.Error{Code: steward.EINVALID, Field: "file", Message: fmt.Sprintf("%s: %s; %d bad record(s), nothing imported (use partial to import the good ones)", where, msg, sum.Rejected)}
	}

	err = s.store.Update(ctx, func(tx steward.Tx) error {
		ownerByEmail := map[string]string{}
		for _, pr := range good {
			changed, created, owner, err := s.upsert(ctx, tx, p, pr.rec, opts, ownerByEmail, now)
			if err != nil {
				return fmt.Errorf("record %d: %w", pr.n, err)
			}
			if owner == "" {
				sum.Unowned++
			}
			switch {
			case created:
				sum.Created++
			case changed:
				sum.Updated++
			default:
				sum.Unchanged++
			}
		}
		after := map[string]any{"format": format, "records": sum.Records, "created": sum.Created, "updated": sum.Updated, "unchanged": sum.Unchanged, "rejected": sum.Rejected}
		return tx.AppendEvent(ctx, s.newEvent(p, steward.ActionImport, steward.SubjectImport, format, "", "", nil, after))
	})
	if err != nil {
		return nil, err
	}
	if sum.Created+sum.Updated > 1000 {
		if o, ok := s.store.(interface{ Optimize(context.Context) error }); ok {
			if err := o.Optimize(ctx); err != nil {
				s.log.WarnContext(ctx, "refresh planner statistics after import", "err", err)
			}
		}
	}
	return sum, nil
}

func (s *Service) upsert(ctx context.Context, tx steward.Tx, p *steward.Principal, rec steward.ImportRecord, opts steward.ImportOptions, owners map[string]string, now time.Time) (changed, created bool, owner string, err error) {
	in := rec.Identity
	if in.OwnerID == "" && rec.OwnerEmail != "" {
		id, ok := owners[rec.OwnerEmail]
		if !ok {
			page, err := tx.ListOwners(ctx, steward.OwnerFilter{Email: rec.OwnerEmail, Status: steward.OwnerActive, Limit: 1})
			if err != nil {
				return false, false, "", err
			}
			if len(page.Items) > 0 {
				id = page.Items[0].ID
			}
			owners[rec.OwnerEmail] = id
		}
		in.OwnerID = id
	}
	if in.OwnerID == "" {
		in.OwnerID = opts.OwnerID
	}
	old, err := tx.FindIdentityByRef(ctx, in.Provider, in.ExternalRef)
	switch {
	case steward.ErrorCode(err) == steward.ENOTFOUND:
		in.ID = ids.New(ids.Identity, now)
		in.Version = 1
		if err := tx.CreateIdentity(ctx, &in); err != nil {
			return false, false, "", err
		}
		if err := tx.AppendEvent(ctx, s.newEvent(p, steward.ActionIdentityImport, steward.SubjectIdentity, in.ID, in.ID, "", nil, &in)); err != nil {
			return false, false, "", err
		}
		for _, c := range rec.Credentials {
			if _, err := s.upsertCredential(ctx, tx, p, in.ID, c, now, true); err != nil {
				return false, false, "", err
			}
		}
		return true, true, in.OwnerID, nil
	case err != nil:
		return false, false, "", err
	}
	// Existing identity: the export owns the provider-side facts; Steward
	// keeps what people set (owner, team, purpose, tier, environment).
	n := *old
	n.Name, n.Kind = in.Name, in.Kind
	n.Scopes = in.Scopes
	n.ExpiresAt, n.LastRotatedAt = in.ExpiresAt, in.LastRotatedAt
	if in.LastUsedAt != nil && (n.LastUsedAt == nil || in.LastUsedAt.After(*n.LastUsedAt)) {
		n.LastUsedAt = in.LastUsedAt
	}
	n.VendorManaged = in.VendorManaged
	n.Labels = maps.Clone(old.Labels)
	maps.Copy(n.Labels, in.Labels)
	if n.OwnerID == "" {
		n.OwnerID = in.OwnerID
	}
	if n.Status != steward.StatusRevoked && in.Status != n.Status && (in.Status == steward.StatusExpired || in.Status == steward.StatusSuspended || (in.Status == steward.StatusActive && n.Status != steward.StatusPending)) {
		n.Status = in.Status
	}
	credChanged := false
	for _, c := range rec.Credentials {
		ch, err := s.upsertCredential(ctx, tx, p, old.ID, c, now, false)
		if err != nil {
			return false, false, "", err
		}
		credChanged = credChanged || ch
	}
	if identityEqual(old, &n) {
		return credChanged, false, n.OwnerID, nil
	}
	n.UpdatedAt, n.Version = now, old.Version+1
	if err := tx.UpdateIdentity(ctx, &n); err != nil {
		return false, false, "", err
	}
	if err := tx.AppendEvent(ctx, s.newEvent(p, steward.ActionIdentityUpdate, steward.SubjectIdentity, n.ID, n.ID, "import", old, &n)); err != nil {
		return false, false, "", err
	}
	return true, false, n.OwnerID, nil
}

// upsertCredential creates or updates an imported credential; fresh says
// the identity was created in this transaction, so nothing can match.
func (s *Service) upsertCredential(ctx context.Context, tx steward.Tx, p *steward.Principal, identityID string, c steward.Credential, now time.Time, fresh bool) (bool, error) {
	c.IdentityID = identityID
	if c.Status == "" {
		c.Status = steward.CredentialActive
	}
	if c.Scopes == nil {
		c.Scopes = []string{}
	}
	if c.Metadata == nil {
		c.Metadata = map[string]string{}
	}
	c.Normalize()
	if err := c.Validate(); err != nil {
		return false, err
	}
	var old *steward.Credential
	if c.ExternalRef != "" && !fresh {
		o, err := tx.FindCredentialByRef(ctx, identityID, c.ExternalRef)
		switch {
		case err == nil:
			old = o
		case steward.ErrorCode(err) != steward.ENOTFOUND:
			return false, err
		}
	}
	if old == nil {
		c.ID = ids.New(ids.Credential, now)
		if c.CreatedAt.IsZero() {
			c.CreatedAt = now
		}
		if err := tx.CreateCredential(ctx, &c); err != nil {
			return false, err
		}
		return true, tx.AppendEvent(ctx, s.newEvent(p, steward.ActionCredentialCreate, steward.SubjectCredential, c.ID, identityID, "import", nil, &c))
	}
	c.ID = old.ID
	if c.CreatedAt.IsZero() {
		c.CreatedAt = old.CreatedAt
	}
	if c.RevokedAt == nil {
		c.RevokedAt = old.RevokedAt
	}
	if credentialEqual(old, &c) {
		return false, nil
	}
	if err := tx.UpdateCredential(ctx, &c); err != nil {
		return false, err
	}
	return true, tx.AppendEvent(ctx, s.newEvent(p, steward.ActionCredentialUpdate, steward.SubjectCredential, c.ID, identityID, "import", old, &c))
}

func credentialEqual(a, b *steward.Credential) bool {
	return a.Type == b.Type && a.ExternalRef == b.ExternalRef && a.Fingerprint == b.Fingerprint && a.Hint == b.Hint &&
		a.Status == b.Status && slices.Equal(a.Scopes, b.Scopes) && a.CreatedAt.Equal(b.CreatedAt) &&
		expiryEqual(a.ExpiresAt, b.ExpiresAt) && expiryEqual(a.LastRotatedAt, b.LastRotatedAt) &&
		expiryEqual(a.LastUsedAt, b.LastUsedAt) && expiryEqual(a.RevokedAt, b.RevokedAt) && maps.Equal(a.Metadata, b.Metadata)
}
