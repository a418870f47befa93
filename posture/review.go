package posture

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/ids"
)

// StartReview opens an access-review campaign with one item per live
// identity in scope.
func (e *Engine) StartReview(ctx context.Context, r steward.ReviewRequest) (*steward.ReviewCampaign, error) {
	p, err := steward.AuthorizeStaff(ctx, steward.PermWrite)
	if err != nil {
		return nil, err
	}
	now := e.o.Clock.Now()
	r.Name = strings.TrimSpace(r.Name)
	if r.Name == "" {
		r.Name = "Access review " + now.Format(time.DateOnly)
	}
	if len(r.Name) > steward.MaxNameLen {
		return nil, steward.FieldError("name", "is longer than %d characters", steward.MaxNameLen)
	}
	deadline := now.Add(time.Duration(e.o.ReviewDays) * 24 * time.Hour)
	if r.Deadline != nil {
		if !r.Deadline.After(now) {
			return nil, steward.FieldError("deadline", "must be in the future")
		}
		deadline = r.Deadline.UTC().Truncate(time.Microsecond)
	}
	sc := r.Scope
	if sc.Sensitivity != "" && !steward.ValidSensitivity(sc.Sensitivity) {
		return nil, steward.FieldError("scope.sensitivity", "%q is not one of critical, high, medium, low", sc.Sensitivity)
	}
	if sc.Kind != "" && !steward.ValidKind(sc.Kind) {
		return nil, steward.FieldError("scope.kind", "%q is not an identity kind", sc.Kind)
	}
	c := &steward.ReviewCampaign{ID: ids.New("rev_", now), Name: r.Name, Scope: sc, Status: "open", CreatedAt: now, CreatedBy: p.Actor,
		Deadline: deadline, AutoSuspend: r.AutoSuspend}
	var items []*steward.ReviewItem
	f := steward.IdentityFilter{OwnerID: sc.OwnerID, Team: sc.Team, Sensitivity: sc.Sensitivity, Provider: sc.Provider, Environment: sc.Environment,
		Kind: sc.Kind, Limit: steward.MaxLimit}
	for {
		page, err := e.o.Store.ListIdentities(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, i := range page.Items {
			if i.Status == steward.StatusRevoked || i.Status == steward.StatusExpired {
				continue
			}
			items = append(items, &steward.ReviewItem{ID: ids.New("rvi_", now), CampaignID: c.ID, IdentityID: i.ID, IdentityName: i.Name,
				OwnerID: i.OwnerID, Status: steward.ReviewPending})
		}
		if page.NextCursor == "" {
			break
		}
		f.Cursor = page.NextCursor
	}
	if len(items) == 0 {
		return nil, steward.FieldError("scope", "selects no identities to review")
	}
	err = e.o.Store.UpdatePosture(ctx, func(tx steward.PostureTx) error {
		if err := tx.CreateReview(ctx, c, items); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, e.event(p, steward.ActionReviewStart, steward.SubjectReview, c.ID, "", "", nil,
			map[string]any{"id": c.ID, "name": c.Name, "scope": c.Scope, "deadline": c.Deadline, "items": len(items)}))
	})
	if err != nil {
		return nil, err
	}
	c.Items = items
	c.Counts = counts(items)
	if e.o.Notifier != nil {
		owners := map[string]int{}
		for _, it := range items {
			owners[it.OwnerID]++
		}
		var to []string
		for _, o := range sortedKeys(owners) {
			if o != "" {
				to = append(to, o)
			}
		}
		_ = e.notifyOwners(ctx, ownerNote{kind: "review", owners: to, title: "Access review: " + c.Name,
			body: fmt.Sprintf("Attest each of your identities (keep, reduce, revoke or reassign) before %s.", c.Deadline.Format(time.RFC3339)),
			data: map[string]any{"campaign_id": c.ID}})
	}
	return c, nil
}

func counts(items []*steward.ReviewItem) map[string]int {
	m := map[string]int{"items": len(items), steward.ReviewPending: 0, steward.ReviewDecided: 0}
	for _, it := range items {
		m[it.Status]++
		if it.Decision != "" {
			m[string(it.Decision)]++
		}
	}
	return m
}

// GetReview returns a campaign with its counts and its items, in id order;
// owner-role callers see their own items (and the whole campaign's counts).
func (e *Engine) GetReview(ctx context.Context, id string) (*steward.ReviewCampaign, error) {
	p, err := steward.Authorize(ctx, steward.PermRead)
	if err != nil {
		return nil, err
	}
	if p.Role != steward.RoleOwner {
		// Every item is read anyway: count them too.
		c, err := e.o.Store.GetReview(ctx, id)
		if err != nil {
			return nil, err
		}
		if c.Items, err = e.o.Store.ListReviewItems(ctx, id); err != nil {
			return nil, err
		}
		c.Counts = counts(c.Items)
		return c, nil
	}
	c, err := e.summary(ctx, id)
	if err != nil {
		return nil, err
	}
	c.Items = []*steward.ReviewItem{}
	f := steward.ReviewItemFilter{CampaignID: id, OwnerID: p.OwnerID, Limit: steward.MaxLimit}
	for {
		page, err := e.o.Store.ReviewItems(ctx, f)
		if err != nil {
			return nil, err
		}
		c.Items = append(c.Items, page.Items...)
		if page.NextCursor == "" {
			break
		}
		f.Cursor = page.NextCursor
	}
	slices.SortFunc(c.Items, func(a, b *steward.ReviewItem) int { return strings.Compare(a.ID, b.ID) })
	return c, nil
}

// GetReviewSummary returns a campaign with the counts of all its items and
// without the items themselves (ReviewItems pages through them).
func (e *Engine) GetReviewSummary(ctx context.Context, id string) (*steward.ReviewCampaign, error) {
	if _, err := steward.Authorize(ctx, steward.PermRead); err != nil {
		return nil, err
	}
	return e.summary(ctx, id)
}

// summary reads a campaign and its counts.
func (e *Engine) summary(ctx context.Context, id string) (*steward.ReviewCampaign, error) {
	c, err := e.o.Store.GetReview(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := e.setCounts(ctx, []*steward.ReviewCampaign{c}); err != nil {
		return nil, err
	}
	return c, nil
}

// setCounts sets the counts of campaigns from one grouped query in the
// store (a campaign of 100k items takes ~10 ms to count on SQLite).
func (e *Engine) setCounts(ctx context.Context, cs []*steward.ReviewCampaign) error {
	ids := make([]string, len(cs))
	for k, c := range cs {
		ids[k] = c.ID
	}
	n, err := e.o.Store.ReviewCounts(ctx, ids, "")
	if err != nil {
		return err
	}
	for _, c := range cs {
		c.Counts = n[c.ID]
	}
	return nil
}

// ReviewItems returns a page of a campaign's items, pending first, then
// decided, each in id order (steward.ReviewItemFilter); owner-role callers
// get their own items.
func (e *Engine) ReviewItems(ctx context.Context, f steward.ReviewItemFilter) (*steward.Page[*steward.ReviewItem], error) {
	if _, err := steward.AuthorizeOwnRead(ctx, &f.OwnerID, "review items"); err != nil {
		return nil, err
	}
	return e.o.Store.ReviewItems(ctx, f)
}

// ReviewItemCounts counts the items of a campaign the caller sees, by
// status and decision: an owner's own, everyone else's all.
func (e *Engine) ReviewItemCounts(ctx context.Context, campaignID string) (map[string]int, error) {
	p, err := steward.Authorize(ctx, steward.PermRead)
	if err != nil {
		return nil, err
	}
	owner := ""
	if p.Role == steward.RoleOwner {
		owner = p.OwnerID
	}
	n, err := e.o.Store.ReviewCounts(ctx, []string{campaignID}, owner)
	if err != nil {
		return nil, err
	}
	return n[campaignID], nil
}

// GetReviewItem returns one item of a campaign and the campaign (without
// its counts and items). An owner-role caller finds only its own items.
func (e *Engine) GetReviewItem(ctx context.Context, campaignID, itemID string) (*steward.ReviewCampaign, *steward.ReviewItem, error) {
	p, err := steward.Authorize(ctx, steward.PermRead)
	if err != nil {
		return nil, nil, err
	}
	c, it, err := e.reviewItem(ctx, campaignID, itemID)
	if err != nil {
		return nil, nil, err
	}
	if p.Role == steward.RoleOwner && it.OwnerID != p.OwnerID {
		return nil, nil, itemNotFound(campaignID, itemID)
	}
	return c, it, nil
}

// reviewItem reads a campaign and one of its items.
func (e *Engine) reviewItem(ctx context.Context, campaignID, itemID string) (*steward.ReviewCampaign, *steward.ReviewItem, error) {
	c, err := e.o.Store.GetReview(ctx, campaignID)
	if err != nil {
		return nil, nil, err
	}
	it, err := e.itemOf(ctx, c, itemID)
	if err != nil {
		return nil, nil, err
	}
	return c, it, nil
}

// itemOf reads one item of campaign c.
func (e *Engine) itemOf(ctx context.Context, c *steward.ReviewCampaign, itemID string) (*steward.ReviewItem, error) {
	it, err := e.o.Store.GetReviewItem(ctx, itemID)
	if steward.ErrorCode(err) == steward.ENOTFOUND || (err == nil && it.CampaignID != c.ID) {
		return nil, itemNotFound(c.ID, itemID)
	}
	return it, err
}

func itemNotFound(campaignID, itemID string) error {
	return steward.Errorf(steward.ENOTFOUND, "review item %q not found in review %s", itemID, campaignID)
}

// ListReviews returns the access-review campaigns that are open or were
// created or closed at or after since (nil: every campaign), newest first,
// each with its counts and without its items. Owner-role callers see the
// campaigns that hold items of their own, with the campaign's counts (as
// GetReview gives them). The counts come from one grouped query (and, for
// an owner, which campaigns hold its items from another).
func (e *Engine) ListReviews(ctx context.Context, since *time.Time) ([]*steward.ReviewCampaign, error) {
	p, err := steward.Authorize(ctx, steward.PermRead)
	if err != nil {
		return nil, err
	}
	cs, err := e.o.Store.ListReviews(ctx, since)
	if err != nil {
		return nil, err
	}
	if p.Role == steward.RoleOwner && len(cs) > 0 {
		mine, err := e.o.Store.ReviewCounts(ctx, campaignIDs(cs), p.OwnerID)
		if err != nil {
			return nil, err
		}
		cs = slices.DeleteFunc(cs, func(c *steward.ReviewCampaign) bool { return mine[c.ID]["items"] == 0 })
	}
	if err := e.setCounts(ctx, cs); err != nil {
		return nil, err
	}
	out := make([]*steward.ReviewCampaign, 0, len(cs))
	for _, c := range slices.Backward(cs) {
		out = append(out, c)
	}
	return out, nil
}

func campaignIDs(cs []*steward.ReviewCampaign) []string {
	out := make([]string, len(cs))
	for k, c := range cs {
		out[k] = c.ID
	}
	return out
}

// DecideReviewItem records an attestation and executes it: keep (with a
// justification), reduce scopes, revoke, or reassign. The change goes
// through the inventory service in the decider's name.
func (e *Engine) DecideReviewItem(ctx context.Context, campaignID, itemID string, d steward.ReviewDecisionRequest) (*steward.ReviewItem, error) {
	p, err := steward.Authorize(ctx, steward.PermWrite)
	if err != nil {
		return nil, err
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	c, err := e.o.Store.GetReview(ctx, campaignID)
	if err != nil {
		return nil, err
	}
	if c.Status != "open" {
		return nil, steward.Errorf(steward.ECONFLICT, "review %s is %s", c.ID, c.Status)
	}
	it, err := e.itemOf(ctx, c, itemID)
	if err != nil {
		return nil, err
	}
	if p.Role == steward.RoleOwner && it.OwnerID != p.OwnerID {
		return nil, steward.Errorf(steward.EFORBIDDEN, "review item %s belongs to another owner", it.ID)
	}
	if it.Status != steward.ReviewPending {
		return nil, steward.Errorf(steward.ECONFLICT, "review item %s was already decided (%s)", it.ID, it.Decision)
	}
	actx := steward.WithPrincipal(ctx, &steward.Principal{Actor: p.Actor, Role: steward.RoleAdmin, TokenID: p.TokenID, Delegation: p.Delegation})
	note := fmt.Sprintf("access review %s: %s", c.ID, d.Decision)
	if d.Justification != "" {
		note += ": " + d.Justification
	}
	switch d.Decision {
	case steward.DecisionReduce:
		i, err := e.o.Store.GetIdentity(ctx, it.IdentityID)
		if err != nil {
			return nil, err
		}
		for n, s := range d.Scopes {
			if !slices.Contains(i.Scopes, s) {
				return nil, steward.FieldError(fmt.Sprintf("scopes[%d]", n), "%q is not granted to the identity; reduce can only remove scopes", s)
			}
		}
		if _, err := e.o.Inventory.UpdateIdentity(actx, i.ID, steward.IdentityPatch{Scopes: steward.Some(d.Scopes), Reason: note}); err != nil {
			return nil, err
		}
	case steward.DecisionRevoke:
		if _, err := e.o.Inventory.TransitionIdentity(actx, it.IdentityID, steward.TransitionRevoke,
			steward.TransitionRequest{Reason: string(steward.ReasonDecommissioned), Note: note}); err != nil {
			return nil, err
		}
	case steward.DecisionReassign:
		if _, err := e.o.Inventory.UpdateIdentity(actx, it.IdentityID, steward.IdentityPatch{OwnerID: steward.Some(d.NewOwnerID), Reason: note}); err != nil {
			if steward.ErrorField(err) == "owner_id" {
				return nil, steward.FieldError("new_owner_id", "%s", steward.ErrorMessage(err))
			}
			return nil, err
		}
	}
	now := e.o.Clock.Now()
	before := *it
	it.Status, it.Decision, it.Justification, it.DecidedBy, it.DecidedAt = steward.ReviewDecided, d.Decision, d.Justification, p.Actor, &now
	if d.Decision == steward.DecisionReduce {
		it.Scopes = d.Scopes
	}
	if d.Decision == steward.DecisionReassign {
		it.NewOwnerID = d.NewOwnerID
	}
	err = e.o.Store.UpdatePosture(ctx, func(tx steward.PostureTx) error {
		ev := e.event(p, steward.ActionReviewDecide, steward.SubjectReview, it.ID, it.IdentityID, note, &before, it)
		if err := tx.AppendEvent(ctx, ev); err != nil {
			return err
		}
		it.EventSeq = ev.Seq
		if err := tx.UpdateReviewItem(ctx, it); err != nil {
			return err
		}
		// Counted in the transaction, after this decision: the one that
		// leaves nothing pending closes the campaign.
		n, err := tx.ReviewCounts(ctx, []string{c.ID}, "")
		if err != nil {
			return err
		}
		if n[c.ID][steward.ReviewPending] > 0 {
			return nil
		}
		c.Status, c.ClosedAt = "closed", &now
		if err := tx.UpdateReview(ctx, c); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, e.event(p, steward.ActionReviewClose, steward.SubjectReview, c.ID, "", "every item decided", nil, n[c.ID]))
	})
	if err != nil {
		return nil, err
	}
	_, err = e.Evaluate(ctx, []string{it.IdentityID})
	return it, err
}
