package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/authz"
	"github.com/steward-nhi/steward/bench/internal/console"
	"github.com/steward-nhi/steward/broker"
	"github.com/steward-nhi/steward/internal/secretbox"
	"github.com/steward-nhi/steward/inventory"
	"github.com/steward-nhi/steward/posture"
	"github.com/steward-nhi/steward/sqlstore"
	"github.com/steward-nhi/steward/usage"
	"github.com/steward-nhi/steward/web"
)

// reviewer owns the identities of the small closed campaigns and signs in
// as the owner role (own_0 is departed; own_1 is not).
const reviewer = 1

var nextPageRE = regexp.MustCompile(`<a href="([^"]+)" rel="next" id="next-page">`)

// benchCapabilities adds what the capability pages show to the loaded
// inventory — one usage event per identity; for one identity 500 more, 200
// alerts and a broker key; three small closed access reviews of one owner's
// identities and one open review of every live identity — and measures
// those pages on a console with every capability wired, as cmd/steward
// wires it.
func benchCapabilities(ctx context.Context, engine string, st *sqlstore.Store, svc *inventory.Service, clk *clock, n, runs int, adminToken string) error {
	t0 := time.Now()
	now := clk.Now()
	actx := steward.WithPrincipal(ctx, &steward.Principal{Actor: "token:bench", Role: steward.RoleAdmin})
	for start := 0; start < n; start += 5000 {
		var evs []steward.UsageEvent
		for i := start; i < min(start+5000, n); i++ {
			evs = append(evs, steward.UsageEvent{ID: id("use_", i), Time: now.Add(-time.Duration(i) * time.Second), Kind: steward.UsageAuth,
				IdentityID: id("nhi_", i), Action: "authenticate", Outcome: "ok", PolicyIDs: []string{}, Attributes: map[string]string{}})
		}
		if err := st.AppendUsage(ctx, evs); err != nil {
			return fmt.Errorf("usage: %w", err)
		}
	}
	var target *steward.Identity
	for i := n / 2; i < n && target == nil; i++ {
		idn, err := st.GetIdentity(ctx, id("nhi_", i))
		if err != nil {
			return err
		}
		if idn.Status == steward.StatusActive {
			target = idn
		}
	}
	if target == nil {
		return fmt.Errorf("no active identity after the middle of the inventory")
	}
	// The identity under test has a long history of every kind.
	var evs []steward.UsageEvent
	for k := range 500 {
		evs = append(evs, steward.UsageEvent{ID: fmt.Sprintf("use_t%025d", k), Time: now.Add(-time.Duration(k) * time.Minute).Truncate(time.Microsecond),
			Kind: steward.UsageAuth, IdentityID: target.ID, Action: "s3:GetObject", Resource: "arn:aws:s3:::billing/report.csv", Source: "10.1.2.3",
			UserAgent: "aws-cli/2", Outcome: "ok", PolicyIDs: []string{}, Attributes: map[string]string{}})
	}
	if err := st.AppendUsage(ctx, evs); err != nil {
		return fmt.Errorf("usage: %w", err)
	}
	var alerts []*steward.Alert
	for k := range 200 {
		alerts = append(alerts, &steward.Alert{ID: id("alr_", k), Key: fmt.Sprintf("spike:%s:%d", target.ID, k), Detector: "spike", Title: "Spike",
			Severity: steward.SeverityMedium, Status: steward.AlertResolved, IdentityID: target.ID, Evidence: map[string]any{}, CSF: []string{},
			FirstSeen: now, LastSeen: now, Count: 1, UpdatedAt: now})
	}
	if err := st.SaveAlerts(ctx, alerts); err != nil {
		return fmt.Errorf("alerts: %w", err)
	}
	box, err := secretbox.New(bytes.Repeat([]byte{7}, secretbox.KeySize))
	if err != nil {
		return err
	}
	b, err := broker.New(ctx, broker.Config{Store: st, Box: box, Pepper: []byte("bench-pepper-bench-pepper"), Issuer: "http://steward.bench", Clock: clk})
	if err != nil {
		return err
	}
	key, err := b.Issue(actx, target.ID, broker.IssueRequest{})
	if err != nil {
		return fmt.Errorf("issue: %w", err)
	}
	pdp, err := authz.New(ctx, authz.Config{Inventory: st, Store: st, Clock: clk})
	if err != nil {
		return err
	}
	eng := posture.New(posture.Options{Store: st, Inventory: svc, Clock: clk})
	for k := range 3 {
		c, err := eng.StartReview(actx, steward.ReviewRequest{Name: fmt.Sprintf("closed %d", k), Scope: steward.ReviewScope{OwnerID: id("own_", reviewer)}})
		if err != nil {
			return fmt.Errorf("review: %w", err)
		}
		for _, it := range c.Items {
			if _, err := eng.DecideReviewItem(actx, c.ID, it.ID, steward.ReviewDecisionRequest{Decision: steward.DecisionKeep, Justification: "needed"}); err != nil {
				return fmt.Errorf("decide: %w", err)
			}
		}
	}
	all, err := eng.StartReview(actx, steward.ReviewRequest{Name: "every identity"})
	if err != nil {
		return fmt.Errorf("review: %w", err)
	}
	fmt.Fprintf(os.Stderr, "%s: loaded usage, alerts, a key and reviews (%d items in the open one) in %s\n", engine, len(all.Items),
		time.Since(t0).Round(time.Millisecond))

	c, err := web.New(web.Config{Identities: svc, Owners: svc, Authenticate: svc.Authenticate, Sessions: st, Dashboard: st, Policy: svc.Policy(), Now: clk.Now,
		Stats:    func(ctx context.Context) (*steward.InventoryStats, error) { return st.InventoryStats(ctx, clk.Now()) },
		Findings: eng, Alerts: st, Usage: usage.New(usage.Config{Store: st, Inventory: st, Credentials: st, Clock: clk}), Policies: pdp,
		Broker: b, Reviews: eng, ReviewDecisions: eng})
	if err != nil {
		return err
	}
	base, stop := console.Serve(c)
	defer stop()
	admin, err := console.SignIn(base, adminToken)
	if err != nil {
		return err
	}
	ot, err := svc.CreateToken(steward.WithPrincipal(ctx, steward.SystemPrincipal("bench")), steward.TokenCreate{Role: steward.RoleOwner, OwnerID: id("own_", reviewer)})
	if err != nil {
		return err
	}
	owner, err := console.SignIn(base, ot.Token)
	if err != nil {
		return err
	}
	campaign := "/reviews/" + all.ID
	first, err := admin.Get(campaign)
	if err != nil {
		return err
	}
	m := nextPageRE.FindStringSubmatch(first)
	if m == nil {
		return fmt.Errorf("%s links no next page", campaign)
	}
	identity := "/identities/" + target.ID
	return measure(engine, clk, runs, []page{
		{"identity page, every capability", identity, admin},
		{"identity page, usage only", identity + "?show=usage", admin},
		{"usage page", identity + "/usage", admin},
		{"rotation confirmation", identity + "/credentials/" + key.ID + "/rotate", admin},
		{"access reviews", "/reviews", admin},
		{"access review of every identity", campaign, admin},
		{"access review of every identity, next page (cursor)", strings.ReplaceAll(m[1], "&amp;", "&"), admin},
		{"attest one item", campaign + "/items/" + all.Items[0].ID, admin},
		{"access reviews, owner role", "/reviews", owner},
		{"access review of every identity, owner role", campaign, owner},
	})
}
