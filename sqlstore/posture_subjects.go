package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
)

// What posture checks read about the inventory: identities with their
// credentials in batches, expiry extensions, shared secrets, and the chain's
// changes since the last run.

func (r *reader) ScanSubjects(ctx context.Context, ids []string, batch int, fn func(is []*steward.Identity, creds map[string][]*steward.Credential) error) error {
	if batch <= 0 {
		batch = 1000
	}
	if ids != nil {
		return inChunks(ids, min(batch, 500), func(c []string) error {
			is, err := r.scanIdentities(ctx, `SELECT `+identityColumns+` FROM identities WHERE id IN (`+placeholders(len(c))+`) ORDER BY id`, anySlice(c)...)
			if err != nil {
				return err
			}
			creds, err := r.scanCredentials(ctx, `SELECT `+credentialColumns+` FROM credentials WHERE identity_id IN (`+placeholders(len(c))+`) ORDER BY identity_id, created_at, id`, anySlice(c)...)
			if err != nil {
				return err
			}
			return fn(is, creds)
		})
	}
	after := ""
	for {
		is, err := r.scanIdentities(ctx, fmt.Sprintf(`SELECT `+identityColumns+` FROM identities WHERE id > ? ORDER BY id LIMIT %d`, batch), after)
		if err != nil {
			return err
		}
		if len(is) == 0 {
			return nil
		}
		last := is[len(is)-1].ID
		creds, err := r.scanCredentials(ctx, `SELECT `+credentialColumns+` FROM credentials WHERE identity_id > ? AND identity_id <= ? ORDER BY identity_id, created_at, id`, after, last)
		if err != nil {
			return err
		}
		if err := fn(is, creds); err != nil {
			return err
		}
		if len(is) < batch {
			return nil
		}
		after = last
	}
}

func (r *reader) scanIdentities(ctx context.Context, q string, args ...any) ([]*steward.Identity, error) {
	return queryAll(ctx, r, "scan identities", scanIdentity, q, args...)
}

// scanCredentials reads credentials keyed by their identity's id.
func (r *reader) scanCredentials(ctx context.Context, q string, args ...any) (map[string][]*steward.Credential, error) {
	out := map[string][]*steward.Credential{}
	return out, eachRow(ctx, r, "scan credentials", func(row rowScanner) error {
		c, err := scanCredential(row)
		if err == nil {
			out[c.IdentityID] = append(out[c.IdentityID], c)
		}
		return err
	}, q, args...)
}

func (r *reader) ExpiryExtensions(ctx context.Context, ids []string) (map[string]int, error) {
	out := map[string]int{}
	run := func(q string, args ...any) error {
		return eachRow(ctx, r, "expiry extensions", func(row rowScanner) error {
			var id, action string
			var before, after sql.NullString
			if err := row.Scan(&id, &action, &before, &after); err != nil {
				return err
			}
			if action == steward.ActionCredentialExtend || extendsExpiry(before.String, after.String) {
				out[id]++
			}
			return nil
		}, q, args...)
	}
	const sel = `SELECT identity_id, action, before, after FROM events WHERE action IN ('identity.update', 'credential.extend')`
	if ids == nil {
		return out, run(sel)
	}
	err := inChunks(ids, 500, func(c []string) error {
		return run(sel+` AND identity_id IN (`+placeholders(len(c))+`)`, anySlice(c)...)
	})
	return out, err
}

// extendsExpiry reports whether an update moved expires_at later.
func extendsExpiry(before, after string) bool {
	if before == "" || after == "" || !strings.Contains(after, `"expires_at"`) {
		return false
	}
	var b, a struct {
		ExpiresAt *time.Time `json:"expires_at"`
	}
	if json.Unmarshal([]byte(before), &b) != nil || json.Unmarshal([]byte(after), &a) != nil {
		return false
	}
	return b.ExpiresAt != nil && a.ExpiresAt != nil && a.ExpiresAt.After(*b.ExpiresAt)
}

func (r *reader) SharedFingerprints(ctx context.Context, fps []string) (map[string][]steward.SharedCredential, error) {
	out := map[string][]steward.SharedCredential{}
	// Step 1: which fingerprints are held by more than one identity.
	var shared []string
	find := func(cond string, args ...any) error {
		return eachRow(ctx, r, "shared fingerprints", func(row rowScanner) error {
			var fp string
			err := row.Scan(&fp)
			shared = append(shared, fp)
			return err
		}, `SELECT fingerprint FROM credentials WHERE fingerprint <> '' AND status IN ('active', 'inactive') `+cond+`
			GROUP BY fingerprint HAVING COUNT(DISTINCT identity_id) > 1`, args...)
	}
	if fps == nil {
		if err := find(""); err != nil {
			return nil, err
		}
	} else {
		var nonEmpty []string
		for _, f := range fps {
			if f != "" {
				nonEmpty = append(nonEmpty, f)
			}
		}
		if err := inChunks(nonEmpty, 500, func(c []string) error { return find(`AND fingerprint IN (`+placeholders(len(c))+`)`, anySlice(c)...) }); err != nil {
			return nil, err
		}
	}
	// Step 2: the holders of those fingerprints.
	err := inChunks(shared, 500, func(c []string) error {
		return eachRow(ctx, r, "shared fingerprints", func(row rowScanner) error {
			var fp string
			var sc steward.SharedCredential
			if err := row.Scan(&fp, &sc.IdentityID, &sc.Environment); err != nil {
				return err
			}
			if l := out[fp]; len(l) == 0 || l[len(l)-1].IdentityID != sc.IdentityID {
				out[fp] = append(out[fp], sc)
			}
			return nil
		}, `SELECT c.fingerprint, c.identity_id, i.environment FROM credentials c JOIN identities i ON i.id = c.identity_id
			WHERE c.fingerprint IN (`+placeholders(len(c))+`) AND c.status IN ('active', 'inactive') AND i.status <> 'revoked'
			ORDER BY c.fingerprint, c.identity_id`, anySlice(c)...)
	})
	return out, err
}

func (r *reader) PostureChanges(ctx context.Context, afterSeq int64, limit int) ([]steward.PostureChange, int64, error) {
	if limit <= 0 {
		limit = 10000
	}
	out, err := queryAll(ctx, r, "posture changes", func(row rowScanner) (c steward.PostureChange, err error) {
		err = row.Scan(&c.Seq, &c.Action, &c.SubjectType, &c.SubjectID, &c.IdentityID)
		return c, err
	}, fmt.Sprintf(`SELECT seq, action, subject_type, subject_id, identity_id FROM events WHERE seq > ? ORDER BY seq LIMIT %d`, limit), afterSeq)
	if err != nil || len(out) == 0 {
		return nil, afterSeq, err
	}
	return out, out[len(out)-1].Seq, nil
}

func (r *reader) LatestSeqs(ctx context.Context, ids []string) (map[string]int64, error) {
	out := map[string]int64{}
	err := inChunks(ids, 500, func(c []string) error {
		return eachRow(ctx, r, "latest seqs", func(row rowScanner) error {
			var id string
			var seq int64
			err := row.Scan(&id, &seq)
			out[id] = seq
			return err
		}, `SELECT identity_id, MAX(seq) FROM events WHERE identity_id IN (`+placeholders(len(c))+`) GROUP BY identity_id`, anySlice(c)...)
	})
	return out, err
}

func (r *reader) FindOwnerByRef(ctx context.Context, ref string) (*steward.Owner, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return nil, notFound("owner", ref)
	}
	return getOne(ctx, r, "find owner", scanOwner, notFound("owner", ref), `SELECT `+ownerColumns+` FROM owners
		WHERE id = ? OR email = ? OR external_ref = ? OR external_ref = ? ORDER BY id LIMIT 1`, ref, strings.ToLower(ref), ref, "okta:"+ref)
}
