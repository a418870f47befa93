// Package demo seeds a store with a realistic synthetic organisation, so that
// a newcomer running `steward serve --demo` sees a lived-in inventory: owners
// in six teams (some departed), several hundred identities across every kind,
// provider, environment and tier, and the problems an inventory exists to
// show — unowned and orphaned identities, expired ones, ones never used, ones
// overdue for rotation, suspended and revoked ones — each with its history in
// the audit chain.
//
// The data is deterministic for a given seed (identifiers aside, which are
// random as everywhere else). Nothing in it is a real account or secret.
package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/ids"
)

// Actor is the actor of every event the demo writes.
const Actor = "system:demo"

// Identities is how many identities Seed creates.
const Identities = 600

// Summary counts what Seed wrote.
type Summary struct {
	Owners         int `json:"owners"`
	TeamOwners     int `json:"team_owners"`
	DepartedOwners int `json:"departed_owners"`
	Identities     int `json:"identities"`
	Credentials    int `json:"credentials"`
	Events         int `json:"events"`

	// Unowned identities have no owner; Orphaned ones (not revoked) belong
	// to a departed owner.
	Unowned  int `json:"unowned"`
	Orphaned int `json:"orphaned"`
	// Expired have status expired (their expires_at is in the past).
	Expired int `json:"expired"`
	// NeverUsed have no last_used_at.
	NeverUsed int `json:"never_used"`
	// RotationOverdue are active or suspended identities last rotated
	// longer ago than their tier's rotation period.
	RotationOverdue int `json:"rotation_overdue"`
	Pending         int `json:"pending"`
	Suspended       int `json:"suspended"`
	Revoked         int `json:"revoked"`
	// Exceptions carry a policy exception for a long expiry.
	Exceptions int `json:"exceptions"`

	ByKind        map[string]int `json:"by_kind"`
	ByProvider    map[string]int `json:"by_provider"`
	ByEnvironment map[string]int `json:"by_environment"`
	BySensitivity map[string]int `json:"by_sensitivity"`
	BySource      map[string]int `json:"by_source"`
	ByStatus      map[string]int `json:"by_status"`
}

// Seed writes the demo organisation into an empty store, in one transaction,
// with an event for every change (actor system:demo) whose times spread over
// the two years before now. It refuses a store that already has identities.
func Seed(ctx context.Context, store steward.Store, now time.Time, seed int64) (*Summary, error) {
	g := newGenerator(now, seed)
	g.generate()
	err := store.Update(ctx, func(tx steward.Tx) error {
		page, err := tx.ListIdentities(ctx, steward.IdentityFilter{Limit: 1})
		if err != nil {
			return fmt.Errorf("demo: check the store is empty: %w", err)
		}
		if len(page.Items) > 0 {
			return steward.Errorf(steward.ECONFLICT, "demo: the store already has identities; the demo seeds only an empty inventory")
		}
		for _, o := range g.owners {
			if err := tx.CreateOwner(ctx, o.Owner); err != nil {
				return fmt.Errorf("demo: owner %s: %w", o.Email, err)
			}
		}
		for _, i := range g.identities {
			if err := tx.CreateIdentity(ctx, i); err != nil {
				return fmt.Errorf("demo: identity %s: %w", i.Name, err)
			}
		}
		for _, c := range g.credentials {
			if err := tx.CreateCredential(ctx, c); err != nil {
				return fmt.Errorf("demo: credential of %s: %w", c.IdentityID, err)
			}
		}
		for _, e := range g.sortedEvents() {
			if err := tx.AppendEvent(ctx, e); err != nil {
				return fmt.Errorf("demo: event %s: %w", e.Action, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return g.summary(), nil
}

type generator struct {
	rng    *rand.Rand
	now    time.Time
	policy steward.Policy

	owners      []*owner
	byTeam      map[string][]*owner
	identities  []*steward.Identity
	credentials []*steward.Credential
	events      []*steward.Event
	refs        map[string]bool

	awsAccounts map[string]string
	azureSubs   map[string]string
	stripeAcct  string
	openaiProj  map[string]string
}

func newGenerator(now time.Time, seed int64) *generator {
	g := &generator{
		rng:    rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x9e3779b97f4a7c15)),
		now:    now.UTC().Truncate(time.Microsecond),
		policy: steward.DefaultPolicy(),
		byTeam: map[string][]*owner{},
		refs:   map[string]bool{},
	}
	g.awsAccounts = map[string]string{}
	g.azureSubs = map[string]string{}
	g.openaiProj = map[string]string{}
	for _, env := range environments {
		g.awsAccounts[env] = g.digits(12)
		g.azureSubs[env] = g.uuid()
		g.openaiProj[env] = "proj_" + g.alnum(24)
	}
	g.stripeAcct = "acct_" + g.alnum(16)
	return g
}

const alnumChars = "abcdefghijklmnopqrstuvwxyz0123456789"

func (g *generator) event(t time.Time, action, subjectType, subjectID, identityID, reason string, before, after any) {
	t = t.UTC().Truncate(time.Microsecond)
	g.events = append(g.events, &steward.Event{
		ID: ids.New(ids.Event, t), Time: t, Actor: Actor, Action: action,
		SubjectType: subjectType, SubjectID: subjectID, IdentityID: identityID, Reason: reason,
		Before: steward.Snapshot(before), After: steward.Snapshot(after),
	})
}

// sortedEvents orders the events by time; equal times keep the order in
// which they were generated (a creation before what follows it).
func (g *generator) sortedEvents() []*steward.Event {
	out := slices.Clone(g.events)
	slices.SortStableFunc(out, func(a, b *steward.Event) int { return a.Time.Compare(b.Time) })
	return out
}

func (g *generator) generate() {
	g.genOwners()
	for n := range Identities {
		g.genIdentity(n)
	}
}

func (g *generator) summary() *Summary {
	s := &Summary{
		Owners: len(g.owners), Identities: len(g.identities), Credentials: len(g.credentials), Events: len(g.events),
		ByKind: map[string]int{}, ByProvider: map[string]int{}, ByEnvironment: map[string]int{},
		BySensitivity: map[string]int{}, BySource: map[string]int{}, ByStatus: map[string]int{},
	}
	departed := map[string]bool{}
	for _, o := range g.owners {
		if o.Kind == steward.OwnerTeam {
			s.TeamOwners++
		}
		if o.Status == steward.OwnerDeparted {
			s.DepartedOwners++
			departed[o.ID] = true
		}
	}
	for _, i := range g.identities {
		s.ByKind[string(i.Kind)]++
		s.ByProvider[i.Provider]++
		s.ByEnvironment[i.Environment]++
		s.BySensitivity[string(i.Sensitivity)]++
		s.BySource[string(i.Source)]++
		s.ByStatus[string(i.Status)]++
		switch {
		case i.OwnerID == "":
			s.Unowned++
		case departed[i.OwnerID] && i.Status != steward.StatusRevoked:
			s.Orphaned++
		}
		if i.LastUsedAt == nil {
			s.NeverUsed++
		}
		if i.Exception != nil {
			s.Exceptions++
		}
		if RotationOverdue(i, g.policy, g.now) {
			s.RotationOverdue++
		}
		switch i.Status {
		case steward.StatusExpired:
			s.Expired++
		case steward.StatusPending:
			s.Pending++
		case steward.StatusSuspended:
			s.Suspended++
		case steward.StatusRevoked:
			s.Revoked++
		}
	}
	return s
}

// RotationOverdue reports whether a live (active or suspended) identity was
// last rotated longer ago than its tier's rotation period.
func RotationOverdue(i *steward.Identity, p steward.Policy, now time.Time) bool {
	if i.Status != steward.StatusActive && i.Status != steward.StatusSuspended {
		return false
	}
	rot := i.LastRotatedAt
	if rot == nil {
		rot = &i.CreatedAt
	}
	return now.Sub(*rot) > time.Duration(p[i.Sensitivity].RotationPeriod)
}
