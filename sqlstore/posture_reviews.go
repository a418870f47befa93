package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/steward-nhi/steward"
)

// Access review campaigns and their items.

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
	return t.execOne(ctx, "update review", "review", c.ID,
		`UPDATE review_campaigns SET name=?, scope=?, status=?, created_at=?, created_by=?, deadline=?,
		closed_at=?, auto_suspend=? WHERE id = ?`, append(args[1:], c.ID)...)
}

func (t *tx) UpdateReviewItem(ctx context.Context, it *steward.ReviewItem) error {
	a := reviewItemArgs(it)
	return t.execOne(ctx, "update review item", "review item", it.ID,
		`UPDATE review_items SET campaign_id=?, identity_id=?, identity_name=?, owner_id=?, status=?,
		decision=?, justification=?, scopes=?, new_owner_id=?, decided_by=?, decided_at=?, event_seq=? WHERE id = ?`, append(a[1:], it.ID)...)
}
