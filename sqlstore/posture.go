package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
)

var (
	_ steward.PostureStore = (*Store)(nil)
	_ steward.PostureTx    = (*tx)(nil)
)

// UpdatePosture runs fn in one write transaction with the posture methods.
func (s *Store) UpdatePosture(ctx context.Context, fn func(tx steward.PostureTx) error) error {
	return s.update(ctx, func(t *tx) error { return fn(t) })
}

const findingColumns = `id, key, check_id, title, severity, status, identity_id, credential_id, owner_id, team, owasp, csf, evidence,
	remediation, created_at, updated_at, first_seen, reopened_at, acknowledged_at, acknowledged_by, resolved_at, resolved_by, resolved_seq, waiver`

func scanFinding(row rowScanner) (*steward.Finding, error) {
	var (
		f                            steward.Finding
		sev, status, csf, ev         string
		created, updated, first      int64
		reopened, acked, resolved    sql.NullInt64
		waiver                       sql.NullString
		ackBy, resBy, cred, owner, t string
	)
	if err := row.Scan(&f.ID, &f.Key, &f.Check, &f.Title, &sev, &status, &f.IdentityID, &cred, &owner, &t, &f.OWASP, &csf, &ev,
		&f.Remediation, &created, &updated, &first, &reopened, &acked, &ackBy, &resolved, &resBy, &f.ResolvedSeq, &waiver); err != nil {
		return nil, err
	}
	f.Severity, f.Status = steward.Severity(sev), steward.FindingStatus(status)
	f.CredentialID, f.OwnerID, f.Team, f.AcknowledgedBy, f.ResolvedBy = cred, owner, t, ackBy, resBy
	f.CreatedAt, f.UpdatedAt, f.FirstSeen = fromMicros(created), fromMicros(updated), fromMicros(first)
	f.ReopenedAt, f.AcknowledgedAt, f.ResolvedAt = fromNullMicros(reopened), fromNullMicros(acked), fromNullMicros(resolved)
	if err := json.Unmarshal([]byte(csf), &f.CSF); err != nil {
		return nil, fmt.Errorf("finding %s: csf: %w", f.ID, err)
	}
	if err := json.Unmarshal([]byte(ev), &f.Evidence); err != nil {
		return nil, fmt.Errorf("finding %s: evidence: %w", f.ID, err)
	}
	if f.CSF == nil {
		f.CSF = []string{}
	}
	if f.Evidence == nil {
		f.Evidence = map[string]any{}
	}
	if waiver.Valid && waiver.String != "" {
		f.Waiver = &steward.Waiver{}
		if err := json.Unmarshal([]byte(waiver.String), f.Waiver); err != nil {
			return nil, fmt.Errorf("finding %s: waiver: %w", f.ID, err)
		}
	}
	return &f, nil
}

func findingArgs(f *steward.Finding) ([]any, error) {
	csf, err := jsonText(f.CSF, "[]")
	if err != nil {
		return nil, err
	}
	ev, err := jsonText(f.Evidence, "{}")
	if err != nil {
		return nil, err
	}
	var waiver any
	if f.Waiver != nil {
		b, err := json.Marshal(f.Waiver)
		if err != nil {
			return nil, err
		}
		waiver = string(b)
	}
	return []any{f.ID, f.Key, f.Check, f.Title, string(f.Severity), string(f.Status), f.IdentityID, f.CredentialID, f.OwnerID, f.Team,
		f.OWASP, csf, ev, f.Remediation, micros(f.CreatedAt), micros(f.UpdatedAt), micros(f.FirstSeen),
		microsPtr(f.ReopenedAt), microsPtr(f.AcknowledgedAt), f.AcknowledgedBy, microsPtr(f.ResolvedAt), f.ResolvedBy, f.ResolvedSeq, waiver}, nil
}

func (r *reader) GetFinding(ctx context.Context, id string) (*steward.Finding, error) {
	return getOne(ctx, r, "get finding", scanFinding, notFound("finding", id), `SELECT `+findingColumns+` FROM findings WHERE id = ?`, id)
}

func (r *reader) ListFindings(ctx context.Context, f steward.FindingFilter) (_ *steward.Page[*steward.Finding], err error) {
	defer func(start time.Time) { r.track("list_findings", start, err) }(time.Now())
	if err := f.Validate(); err != nil {
		return nil, err
	}
	var w filter
	w.eq("severity", string(f.Severity))
	w.eq("owasp", f.OWASP)
	if f.CSF != "" {
		w.add(`csf LIKE ? ESCAPE '\'`, `%"`+escapeLike(f.CSF)+`"%`)
	}
	w.eq("owner_id", f.OwnerID)
	w.eq("team", f.Team)
	w.eq("status", string(f.Status))
	if f.Unresolved {
		w.add("status <> 'resolved'")
	}
	w.eq("identity_id", f.IdentityID)
	w.eq("check_id", f.Check)
	if err := w.afterID(f.Cursor, "id > ?"); err != nil {
		return nil, err
	}
	return listPage(ctx, r, "list findings", f.Limit, scanFinding, func(x *steward.Finding) string { return byID(x.ID) },
		`SELECT `+findingColumns+` FROM findings`+w.where()+` ORDER BY id`, w.args...)
}

func (r *reader) queryFindings(ctx context.Context, q string, args ...any) ([]*steward.Finding, error) {
	return queryAll(ctx, r, "findings", scanFinding, q, args...)
}

// inChunks calls fn with slices of at most n ids.
func inChunks(ids []string, n int, fn func(chunk []string) error) error {
	for len(ids) > 0 {
		k := min(n, len(ids))
		if err := fn(ids[:k]); err != nil {
			return err
		}
		ids = ids[k:]
	}
	return nil
}

func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?,", n), ",") }

func (r *reader) FindingsFor(ctx context.Context, ids []string) ([]*steward.Finding, error) {
	var out []*steward.Finding
	err := inChunks(ids, 500, func(c []string) error {
		fs, err := r.queryFindings(ctx, `SELECT `+findingColumns+` FROM findings WHERE identity_id IN (`+placeholders(len(c))+`)`, anySlice(c)...)
		out = append(out, fs...)
		return err
	})
	return out, err
}

func (r *reader) FindingsInRange(ctx context.Context, after, through string) ([]*steward.Finding, error) {
	var w filter
	if after != "" {
		w.add("identity_id > ?", after)
	}
	if through != "" {
		w.add("identity_id <= ?", through)
	}
	return r.queryFindings(ctx, `SELECT `+findingColumns+` FROM findings`+w.where(), w.args...)
}

func (r *reader) FindingCounts(ctx context.Context) (map[string]int, error) {
	out := map[string]int{}
	return out, eachRow(ctx, r, "finding counts", func(row rowScanner) error {
		var k string
		var n int
		err := row.Scan(&k, &n)
		out[k] = n
		return err
	}, `SELECT owasp, COUNT(*) FROM findings WHERE status <> 'resolved' GROUP BY owasp`)
}

func (r *reader) FindingMatrix(ctx context.Context) (map[string]map[steward.Severity]int, error) {
	out := map[string]map[steward.Severity]int{}
	return out, eachRow(ctx, r, "finding matrix", func(row rowScanner) error {
		var k string
		var sev steward.Severity
		var n int
		if err := row.Scan(&k, &sev, &n); err != nil {
			return err
		}
		if out[k] == nil {
			out[k] = map[steward.Severity]int{}
		}
		out[k][sev] = n
		return nil
	}, `SELECT owasp, severity, COUNT(*) FROM findings WHERE status <> 'resolved' GROUP BY owasp, severity`)
}

const waiverColumns = `id, finding_id, reason, approver, until, created_at, created_by, ended_at, end_reason`

func scanWaiver(row rowScanner) (*steward.Waiver, error) {
	var w steward.Waiver
	var until, created int64
	var ended sql.NullInt64
	if err := row.Scan(&w.ID, &w.FindingID, &w.Reason, &w.Approver, &until, &created, &w.CreatedBy, &ended, &w.EndReason); err != nil {
		return nil, err
	}
	w.Until, w.CreatedAt, w.EndedAt = fromMicros(until), fromMicros(created), fromNullMicros(ended)
	return &w, nil
}

func (r *reader) ListWaivers(ctx context.Context, findingID string) ([]*steward.Waiver, error) {
	var w filter
	w.eq("finding_id", findingID)
	return queryAll(ctx, r, "list waivers", scanWaiver, `SELECT `+waiverColumns+` FROM finding_waivers`+w.where()+` ORDER BY created_at, id`, w.args...)
}

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
	rows, err := r.q.QueryContext(ctx, rebind(r.d, fmt.Sprintf(`SELECT seq, action, subject_type, subject_id, identity_id FROM events WHERE seq > ? ORDER BY seq LIMIT %d`, limit)), afterSeq)
	if err != nil {
		return nil, afterSeq, fmt.Errorf("posture changes: %w", err)
	}
	defer rows.Close()
	head := afterSeq
	var out []steward.PostureChange
	for rows.Next() {
		var c steward.PostureChange
		if err := rows.Scan(&c.Seq, &c.Action, &c.SubjectType, &c.SubjectID, &c.IdentityID); err != nil {
			return nil, afterSeq, fmt.Errorf("posture changes: %w", err)
		}
		head = c.Seq
		out = append(out, c)
	}
	return out, head, rows.Err()
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

const reviewColumns = `id, name, scope, status, created_at, created_by, deadline, closed_at, auto_suspend`

func scanReview(row rowScanner) (*steward.ReviewCampaign, error) {
	var (
		c                 steward.ReviewCampaign
		scope             string
		created, deadline int64
		closed            sql.NullInt64
		auto              int64
	)
	if err := row.Scan(&c.ID, &c.Name, &scope, &c.Status, &created, &c.CreatedBy, &deadline, &closed, &auto); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(scope), &c.Scope); err != nil {
		return nil, fmt.Errorf("review %s: scope: %w", c.ID, err)
	}
	c.CreatedAt, c.Deadline, c.ClosedAt, c.AutoSuspend = fromMicros(created), fromMicros(deadline), fromNullMicros(closed), auto != 0
	return &c, nil
}

func (r *reader) GetReview(ctx context.Context, id string) (*steward.ReviewCampaign, error) {
	return getOne(ctx, r, "get review", scanReview, notFound("review", id), `SELECT `+reviewColumns+` FROM review_campaigns WHERE id = ?`, id)
}

func (r *reader) ListReviews(ctx context.Context, since *time.Time) ([]*steward.ReviewCampaign, error) {
	q := `SELECT ` + reviewColumns + ` FROM review_campaigns`
	var args []any
	if since != nil {
		q, args = q+` WHERE created_at >= ? OR closed_at IS NULL OR closed_at >= ?`, append(args, micros(*since), micros(*since))
	}
	return queryAll(ctx, r, "list reviews", scanReview, q+` ORDER BY created_at, id`, args...)
}

const reviewItemColumns = `id, campaign_id, identity_id, identity_name, owner_id, status, decision, justification, scopes, new_owner_id, decided_by, decided_at, event_seq`

func scanReviewItem(row rowScanner) (*steward.ReviewItem, error) {
	var (
		it       steward.ReviewItem
		decision string
		scopes   string
		decided  sql.NullInt64
	)
	if err := row.Scan(&it.ID, &it.CampaignID, &it.IdentityID, &it.IdentityName, &it.OwnerID, &it.Status, &decision, &it.Justification,
		&scopes, &it.NewOwnerID, &it.DecidedBy, &decided, &it.EventSeq); err != nil {
		return nil, err
	}
	it.Decision, it.DecidedAt = steward.ReviewDecision(decision), fromNullMicros(decided)
	if err := json.Unmarshal([]byte(scopes), &it.Scopes); err != nil {
		return nil, fmt.Errorf("review item %s: scopes: %w", it.ID, err)
	}
	if len(it.Scopes) == 0 {
		it.Scopes = nil
	}
	return &it, nil
}

func (r *reader) queryReviewItems(ctx context.Context, q string, args ...any) ([]*steward.ReviewItem, error) {
	return queryAll(ctx, r, "review items", scanReviewItem, q, args...)
}

func (r *reader) ListReviewItems(ctx context.Context, campaignID string) ([]*steward.ReviewItem, error) {
	return r.queryReviewItems(ctx, `SELECT `+reviewItemColumns+` FROM review_items WHERE campaign_id = ? ORDER BY id`, campaignID)
}

func (r *reader) GetReviewItem(ctx context.Context, id string) (*steward.ReviewItem, error) {
	return getOne(ctx, r, "get review item", scanReviewItem, notFound("review item", id), `SELECT `+reviewItemColumns+` FROM review_items WHERE id = ?`, id)
}

// ReviewItems reads one status at a time (pending, then decided) in id
// order, so that each query is a range of the index on (campaign_id,
// status, id), or (owner_id, campaign_id, status, id, decision) for one
// owner. The cursor is the status and id of the last item returned.
func (r *reader) ReviewItems(ctx context.Context, f steward.ReviewItemFilter) (_ *steward.Page[*steward.ReviewItem], err error) {
	defer func(start time.Time) { r.track("review_items", start, err) }(time.Now())
	if err := f.Validate(); err != nil {
		return nil, err
	}
	statuses := []string{steward.ReviewPending, steward.ReviewDecided}
	if f.Status != "" {
		statuses = []string{f.Status}
	}
	after := ""
	if f.Cursor != "" {
		c, err := decodeCursor(f.Cursor)
		if err != nil {
			return nil, err
		}
		k := -1
		if c.S != nil {
			k = slices.Index(statuses, *c.S)
		}
		if k < 0 {
			return nil, steward.FieldError("cursor", "does not belong to this list of review items")
		}
		statuses, after = statuses[k:], c.ID
	}
	items := make([]*steward.ReviewItem, 0, f.Limit+1)
	for n, st := range statuses {
		q := `SELECT ` + reviewItemColumns + ` FROM review_items WHERE campaign_id = ?`
		args := []any{f.CampaignID}
		if f.OwnerID != "" {
			q, args = q+` AND owner_id = ?`, append(args, f.OwnerID)
		}
		q, args = q+` AND status = ?`, append(args, st)
		if n == 0 && after != "" {
			q, args = q+` AND id > ?`, append(args, after)
		}
		its, err := r.queryReviewItems(ctx, q+fmt.Sprintf(` ORDER BY id LIMIT %d`, f.Limit+1-len(items)), args...)
		if err != nil {
			return nil, err
		}
		if items = append(items, its...); len(items) > f.Limit {
			break
		}
	}
	page := &steward.Page[*steward.ReviewItem]{Items: items}
	if len(items) > f.Limit {
		page.Items = items[:f.Limit]
		last := page.Items[f.Limit-1]
		status := last.Status
		page.NextCursor = encodeCursor(cursor{S: &status, ID: last.ID})
	}
	return page, nil
}

// ReviewCounts reads the counts of campaigns in one grouped query per 500
// campaigns, from the index on (campaign_id, status, decision) alone. One
// owner's items are read from the index on (owner_id, campaign_id, status,
// id, decision) and counted here: grouped in SQL, that query is answered
// from the counts index instead (it yields the GROUP BY order), reading
// every item of the campaign, whenever SQLite has no statistics for the
// table, as after a campaign starts.
func (r *reader) ReviewCounts(ctx context.Context, campaignIDs []string, ownerID string) (_ map[string]map[string]int, err error) {
	defer func(start time.Time) { r.track("review_counts", start, err) }(time.Now())
	out := make(map[string]map[string]int, len(campaignIDs))
	for _, id := range campaignIDs {
		out[id] = map[string]int{"items": 0, steward.ReviewPending: 0, steward.ReviewDecided: 0}
	}
	err = inChunks(campaignIDs, 500, func(c []string) error {
		q := `SELECT campaign_id, status, decision, COUNT(*) FROM review_items WHERE campaign_id IN (` + placeholders(len(c)) + `)
			GROUP BY campaign_id, status, decision`
		args := anySlice(c)
		if ownerID != "" {
			q = `SELECT campaign_id, status, decision, 1 FROM review_items WHERE owner_id = ? AND campaign_id IN (` + placeholders(len(c)) + `)`
			args = append([]any{ownerID}, args...)
		}
		rows, err := r.q.QueryContext(ctx, rebind(r.d, q), args...)
		if err != nil {
			return fmt.Errorf("review counts: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id, status, decision string
			var n int
			if err := rows.Scan(&id, &status, &decision, &n); err != nil {
				return fmt.Errorf("review counts: %w", err)
			}
			m := out[id]
			m["items"] += n
			m[status] += n
			if decision != "" {
				m[decision] += n
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (r *reader) OverdueReviewItems(ctx context.Context, now time.Time, ids []string) ([]*steward.ReviewItem, error) {
	const sel = `SELECT i.id, i.campaign_id, i.identity_id, i.identity_name, i.owner_id, i.status, i.decision, i.justification, i.scopes,
		i.new_owner_id, i.decided_by, i.decided_at, i.event_seq FROM review_items i JOIN review_campaigns c ON c.id = i.campaign_id
		WHERE i.status = 'pending' AND c.status = 'open' AND c.deadline < ?`
	if ids == nil {
		return r.queryReviewItems(ctx, sel+` ORDER BY i.identity_id, i.id`, micros(now))
	}
	var out []*steward.ReviewItem
	err := inChunks(ids, 500, func(c []string) error {
		its, err := r.queryReviewItems(ctx, sel+` AND i.identity_id IN (`+placeholders(len(c))+`)`, append([]any{micros(now)}, anySlice(c)...)...)
		out = append(out, its...)
		return err
	})
	return out, err
}

func (r *reader) ListSnapshots(ctx context.Context, since, until time.Time) ([]*steward.PostureSnapshot, error) {
	return queryAll(ctx, r, "list snapshots", scanDoc[steward.PostureSnapshot],
		`SELECT doc FROM posture_snapshots WHERE time >= ? AND time < ? ORDER BY time`, micros(since), micros(until))
}

func (r *reader) GetOffboarding(ctx context.Context, ownerID string) (*steward.Offboarding, error) {
	return getOne(ctx, r, "get offboarding", scanDoc[steward.Offboarding], notFound("offboarding", ownerID),
		`SELECT doc FROM offboardings WHERE owner_id = ?`, ownerID)
}

func (r *reader) ListOffboardings(ctx context.Context, open bool) ([]*steward.Offboarding, error) {
	q := `SELECT doc FROM offboardings`
	if open {
		q += ` WHERE completed_at IS NULL`
	}
	return queryAll(ctx, r, "list offboardings", scanDoc[steward.Offboarding], q+` ORDER BY started_at, owner_id`)
}

// WriteFindings inserts or updates a batch of findings.
func (t *tx) WriteFindings(ctx context.Context, ws []steward.FindingWrite) error {
	if len(ws) == 0 {
		return nil
	}
	var ins, upd *sql.Stmt
	defer func() {
		if ins != nil {
			ins.Close()
		}
		if upd != nil {
			upd.Close()
		}
	}()
	for _, w := range ws {
		args, err := findingArgs(w.Finding)
		if err != nil {
			return fmt.Errorf("write finding: %w", err)
		}
		if w.Insert {
			if ins == nil {
				if ins, err = t.sqltx.PrepareContext(ctx, rebind(t.d, `INSERT INTO findings (`+findingColumns+`) VALUES (`+placeholders(24)+`)`)); err != nil {
					return fmt.Errorf("write finding: %w", err)
				}
			}
			if _, err := ins.ExecContext(ctx, args...); err != nil {
				if isUniqueViolation(err) {
					return steward.Errorf(steward.ECONFLICT, "finding %s already exists", w.Finding.Key)
				}
				return fmt.Errorf("insert finding: %w", err)
			}
			continue
		}
		if upd == nil {
			if upd, err = t.sqltx.PrepareContext(ctx, rebind(t.d, `UPDATE findings SET key=?, check_id=?, title=?, severity=?, status=?, identity_id=?,
				credential_id=?, owner_id=?, team=?, owasp=?, csf=?, evidence=?, remediation=?, created_at=?, updated_at=?, first_seen=?, reopened_at=?,
				acknowledged_at=?, acknowledged_by=?, resolved_at=?, resolved_by=?, resolved_seq=?, waiver=? WHERE id = ?`)); err != nil {
				return fmt.Errorf("write finding: %w", err)
			}
		}
		res, err := upd.ExecContext(ctx, append(args[1:], w.Finding.ID)...)
		if err != nil {
			return fmt.Errorf("update finding: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("finding", w.Finding.ID)
		}
	}
	return nil
}

func waiverArgs(w *steward.Waiver) []any {
	return []any{w.ID, w.FindingID, w.Reason, w.Approver, micros(w.Until), micros(w.CreatedAt), w.CreatedBy, microsPtr(w.EndedAt), w.EndReason}
}

func (t *tx) CreateWaiver(ctx context.Context, w *steward.Waiver) error {
	_, err := t.q.ExecContext(ctx, rebind(t.d, `INSERT INTO finding_waivers (`+waiverColumns+`) VALUES (?,?,?,?,?,?,?,?,?)`), waiverArgs(w)...)
	if isForeignKeyViolation(err) {
		return notFound("finding", w.FindingID)
	}
	if err != nil {
		return fmt.Errorf("create waiver: %w", err)
	}
	return nil
}

func (t *tx) UpdateWaiver(ctx context.Context, w *steward.Waiver) error {
	a := waiverArgs(w)
	res, err := t.q.ExecContext(ctx, rebind(t.d, `UPDATE finding_waivers SET finding_id=?, reason=?, approver=?, until=?, created_at=?, created_by=?,
		ended_at=?, end_reason=? WHERE id = ?`), append(a[1:], w.ID)...)
	if err != nil {
		return fmt.Errorf("update waiver: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("waiver", w.ID)
	}
	return nil
}

func reviewArgs(c *steward.ReviewCampaign) ([]any, error) {
	scope, err := json.Marshal(c.Scope)
	if err != nil {
		return nil, err
	}
	auto := 0
	if c.AutoSuspend {
		auto = 1
	}
	return []any{c.ID, c.Name, string(scope), c.Status, micros(c.CreatedAt), c.CreatedBy, micros(c.Deadline), microsPtr(c.ClosedAt), auto}, nil
}

func reviewItemArgs(it *steward.ReviewItem) []any {
	scopes, _ := jsonText(it.Scopes, "[]")
	return []any{it.ID, it.CampaignID, it.IdentityID, it.IdentityName, it.OwnerID, it.Status, string(it.Decision), it.Justification, scopes,
		it.NewOwnerID, it.DecidedBy, microsPtr(it.DecidedAt), it.EventSeq}
}

func (t *tx) CreateReview(ctx context.Context, c *steward.ReviewCampaign, items []*steward.ReviewItem) error {
	args, err := reviewArgs(c)
	if err != nil {
		return fmt.Errorf("create review: %w", err)
	}
	if _, err := t.q.ExecContext(ctx, rebind(t.d, `INSERT INTO review_campaigns (`+reviewColumns+`) VALUES (?,?,?,?,?,?,?,?,?)`), args...); err != nil {
		return fmt.Errorf("create review: %w", err)
	}
	if len(items) == 0 {
		return nil
	}
	st, err := t.sqltx.PrepareContext(ctx, rebind(t.d, `INSERT INTO review_items (`+reviewItemColumns+`) VALUES (`+placeholders(13)+`)`))
	if err != nil {
		return fmt.Errorf("create review items: %w", err)
	}
	defer st.Close()
	for _, it := range items {
		if _, err := st.ExecContext(ctx, reviewItemArgs(it)...); err != nil {
			return fmt.Errorf("create review item: %w", err)
		}
	}
	return nil
}

func (t *tx) UpdateReview(ctx context.Context, c *steward.ReviewCampaign) error {
	args, err := reviewArgs(c)
	if err != nil {
		return fmt.Errorf("update review: %w", err)
	}
	res, err := t.q.ExecContext(ctx, rebind(t.d, `UPDATE review_campaigns SET name=?, scope=?, status=?, created_at=?, created_by=?, deadline=?,
		closed_at=?, auto_suspend=? WHERE id = ?`), append(args[1:], c.ID)...)
	if err != nil {
		return fmt.Errorf("update review: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("review", c.ID)
	}
	return nil
}

func (t *tx) UpdateReviewItem(ctx context.Context, it *steward.ReviewItem) error {
	a := reviewItemArgs(it)
	res, err := t.q.ExecContext(ctx, rebind(t.d, `UPDATE review_items SET campaign_id=?, identity_id=?, identity_name=?, owner_id=?, status=?,
		decision=?, justification=?, scopes=?, new_owner_id=?, decided_by=?, decided_at=?, event_seq=? WHERE id = ?`), append(a[1:], it.ID)...)
	if err != nil {
		return fmt.Errorf("update review item: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("review item", it.ID)
	}
	return nil
}

func (t *tx) SaveSnapshot(ctx context.Context, s *steward.PostureSnapshot) error {
	doc, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("save snapshot: %w", err)
	}
	_, err = t.q.ExecContext(ctx, rebind(t.d, `INSERT INTO posture_snapshots (time, doc) VALUES (?, ?)
		ON CONFLICT (time) DO UPDATE SET doc = excluded.doc`), micros(s.Time), string(doc))
	if err != nil {
		return fmt.Errorf("save snapshot: %w", err)
	}
	return nil
}

func (t *tx) SaveOffboarding(ctx context.Context, o *steward.Offboarding) error {
	doc, err := json.Marshal(o)
	if err != nil {
		return fmt.Errorf("save offboarding: %w", err)
	}
	_, err = t.q.ExecContext(ctx, rebind(t.d, `INSERT INTO offboardings (owner_id, started_at, completed_at, doc) VALUES (?, ?, ?, ?)
		ON CONFLICT (owner_id) DO UPDATE SET started_at = excluded.started_at, completed_at = excluded.completed_at, doc = excluded.doc`),
		o.OwnerID, micros(o.StartedAt), microsPtr(o.CompletedAt), string(doc))
	if err != nil {
		return fmt.Errorf("save offboarding: %w", err)
	}
	return nil
}

func (t *tx) TryLease(ctx context.Context, name, holder string, now, until time.Time) (bool, error) {
	res, err := t.q.ExecContext(ctx, rebind(t.d, `INSERT INTO job_leases (name, holder, until) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
		WHERE job_leases.until < ? OR job_leases.holder = excluded.holder`), name, holder, micros(until), micros(now))
	if err != nil {
		return false, fmt.Errorf("lease %s: %w", name, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("lease %s: %w", name, err)
	}
	return n > 0, nil
}
