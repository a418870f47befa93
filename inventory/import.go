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
	// The parser lists at most kit.MaxListedErrors record errors and
	// counts the rest; the summary lists at most as many.
	sum := &steward.ImportSummary{Format: format, Records: len(res.Records) + res.BadCount(), Errors: []steward.RecordError{}, Stopped: res.Stopped}
	sum.Errors = append(sum.Errors, res.Bad...)
	rejected := res.BadCount()
	reject := func(e steward.RecordError) {
		rejected++
		if len(sum.Errors) < steward.MaxImportErrors {
			sum.Errors = append(sum.Errors, e)
		}
	}
	if res.Stopped != "" {
		sum.Rejected = rejected
		return sum, &steward.Error{Code: steward.EINVALID, Field: "file", Message: fmt.Sprintf("%s: %s; %d bad record(s) in the %d read, nothing imported",
			format, res.Stopped, rejected, sum.Records)}
	}
	now := s.clock.Now()

	// Validate every record before writing anything; good holds the
	// records to write (res.Records is not read again, so they are
	// prepared in place rather than copied).
	good := make([]*steward.ImportRecord, 0, len(res.Records))
	for n := range res.Records {
		rec := &res.Records[n]
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
			reject(steward.RecordError{Record: n + 1, Line: rec.Line, Ref: i.ExternalRef, Field: steward.ErrorField(err), Message: steward.ErrorMessage(err)})
			continue
		}
		if i.ExternalRef == "" {
			reject(steward.RecordError{Record: n + 1, Line: rec.Line, Field: "external_ref", Message: "an imported identity needs an external reference"})
			continue
		}
		good = append(good, rec)
	}
	sum.Rejected = rejected
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
		existing, err := findExisting(ctx, tx, good)
		if err != nil {
			return err
		}
		if err := deferIndexes(ctx, tx, good, existing); err != nil {
			return err
		}
		// Importers reject a file that names an identity twice, so each
		// record's stored identity is the one read above.
		b := &importBatch{}
		for _, rec := range good {
			old := existing[refKey{rec.Identity.Provider, rec.Identity.ExternalRef}]
			changed, created, owner, err := s.upsert(ctx, tx, p, rec, opts, ownerByEmail, now, old, b)
			if err != nil {
				return fmt.Errorf("record %d: %w", recordNumber(res.Records, rec), err)
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
			if len(b.identities) >= importBatchSize {
				if err := b.flush(ctx, tx); err != nil {
					return err
				}
			}
		}
		if err := b.flush(ctx, tx); err != nil {
			return err
		}
		after := map[string]any{"format": format, "records": sum.Records, "created": sum.Created, "updated": sum.Updated, "unchanged": sum.Unchanged, "rejected": sum.Rejected}
		return tx.AppendEvent(ctx, s.newEvent(p, steward.ActionImport, steward.SubjectImport, format, "", "", nil, after))
	})
	if err != nil {
		return nil, err
	}
	// An import may change many identities and credentials: caches drop
	// everything.
	s.changes.Publish(steward.Change{Subject: steward.SubjectImport})
	if sum.Created+sum.Updated > 1000 {
		if o, ok := s.store.(interface{ Optimize(context.Context) error }); ok {
			if err := o.Optimize(ctx); err != nil {
				s.log.WarnContext(ctx, "refresh planner statistics after import", "err", err)
			}
		}
	}
	return sum, nil
}

// importBatchSize is how many new identities an import buffers before it
// writes them (with their credentials and events) in multi-row statements.
const importBatchSize = 500

type refKey struct{ provider, ref string }

// importBatch holds the rows of new identities not yet written.
type importBatch struct {
	identities  []*steward.Identity
	credentials []*steward.Credential
	events      []*steward.Event
}

// flush writes the batch: identities, then their credentials, then the
// events in the order they were made.
func (b *importBatch) flush(ctx context.Context, tx steward.Tx) error {
	if err := tx.CreateIdentities(ctx, b.identities); err != nil {
		return err
	}
	if err := tx.CreateCredentials(ctx, b.credentials); err != nil {
		return err
	}
	if err := tx.AppendEvents(ctx, b.events); err != nil {
		return err
	}
	b.identities, b.credentials, b.events = b.identities[:0], b.credentials[:0], b.events[:0]
	return nil
}

// recordNumber is the 1-based position of rec, an element of recs.
func recordNumber(recs []steward.ImportRecord, rec *steward.ImportRecord) int {
	for n := range recs {
		if &recs[n] == rec {
			return n + 1
		}
	}
	return 0
}

// deferIndexes lets the store rebuild the indexes of the tables a large
// import mostly fills instead of maintaining them row by row.
func deferIndexes(ctx context.Context, tx steward.Tx, recs []*steward.ImportRecord, existing map[refKey]*steward.Identity) error {
	identities, credentials := 0, 0
	for _, r := range recs {
		if existing[refKey{r.Identity.Provider, r.Identity.ExternalRef}] == nil {
			identities++
			credentials += len(r.Credentials)
		}
	}
	events := identities + credentials
	if len(existing) > 0 {
		// Updating a stored identity looks its credentials up by
		// reference, which needs the credentials' indexes.
		credentials = 0
	}
	for _, t := range []struct {
		table string
		rows  int
	}{{"identities", identities}, {"credentials", credentials}, {"events", events}} {
		if _, err := tx.DeferIndexes(ctx, t.table, t.rows); err != nil {
			return err
		}
	}
	return nil
}

// findExisting reads the stored identities the records name, per provider
// in a few queries.
func findExisting(ctx context.Context, tx steward.Tx, recs []*steward.ImportRecord) (map[refKey]*steward.Identity, error) {
	refs := map[string][]string{}
	for _, r := range recs {
		refs[r.Identity.Provider] = append(refs[r.Identity.Provider], r.Identity.ExternalRef)
	}
	out := map[refKey]*steward.Identity{}
	for provider, rs := range refs {
		found, err := tx.FindIdentitiesByRefs(ctx, provider, rs)
		if err != nil {
			return nil, err
		}
		for ref, i := range found {
			out[refKey{provider, ref}] = i
		}
	}
	return out, nil
}

// upsert creates (old == nil; the rows go into b) or updates one imported
// identity and its credentials.
func (s *Service) upsert(ctx context.Context, tx steward.Tx, p *steward.Principal, rec *steward.ImportRecord, opts steward.ImportOptions, owners map[string]string, now time.Time, old *steward.Identity, b *importBatch) (changed, created bool, owner string, err error) {
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
	if old == nil {
		in.ID = ids.New(ids.Identity, now)
		in.Version = 1
		b.identities = append(b.identities, &in)
		b.events = append(b.events, s.newEvent(p, steward.ActionIdentityImport, steward.SubjectIdentity, in.ID, in.ID, "", nil, &in))
		for _, c := range rec.Credentials {
			nc, err := s.newCredential(in.ID, c, now)
			if err != nil {
				return false, false, "", err
			}
			b.credentials = append(b.credentials, nc)
			b.events = append(b.events, s.newEvent(p, steward.ActionCredentialCreate, steward.SubjectCredential, nc.ID, in.ID, "import", nil, nc))
		}
		return true, true, in.OwnerID, nil
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
		ch, err := s.upsertCredential(ctx, tx, p, old.ID, c, now)
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

// prepareCredential fills an imported credential's defaults and checks it.
func prepareCredential(identityID string, c *steward.Credential) error {
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
	return c.Validate()
}

// newCredential is an imported credential of a new identity, ready to write.
func (s *Service) newCredential(identityID string, c steward.Credential, now time.Time) (*steward.Credential, error) {
	if err := prepareCredential(identityID, &c); err != nil {
		return nil, err
	}
	c.ID = ids.New(ids.Credential, now)
	if c.CreatedAt.IsZero() {
		c.CreatedAt = now
	}
	return &c, nil
}

// upsertCredential creates or updates an imported credential of an
// existing identity.
func (s *Service) upsertCredential(ctx context.Context, tx steward.Tx, p *steward.Principal, identityID string, c steward.Credential, now time.Time) (bool, error) {
	if err := prepareCredential(identityID, &c); err != nil {
		return false, err
	}
	var old *steward.Credential
	if c.ExternalRef != "" {
		o, err := tx.FindCredentialByRef(ctx, identityID, c.ExternalRef)
		switch {
		case err == nil:
			old = o
		case steward.ErrorCode(err) != steward.ENOTFOUND:
			return false, err
		}
	}
	if old == nil {
		nc, err := s.newCredential(identityID, c, now)
		if err != nil {
			return false, err
		}
		if err := tx.CreateCredential(ctx, nc); err != nil {
			return false, err
		}
		return true, tx.AppendEvent(ctx, s.newEvent(p, steward.ActionCredentialCreate, steward.SubjectCredential, nc.ID, identityID, "import", nil, nc))
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
