package demo

// Owners: people and team owners in six teams, some of whom have departed.

import (
	"fmt"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/ids"
)

type owner struct {
	*steward.Owner
	team string
	lead bool
}

func (g *generator) genOwners() {
	// Shuffle the name pool so every seed staffs the teams differently.
	type person struct{ first, last string }
	var pool []person
	for _, f := range firstNames {
		pool = append(pool, person{f, pick(g, lastNames)})
	}
	g.rng.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
	emails := map[string]bool{}

	var members []*owner
	for _, t := range teams {
		created := g.daysAgo(900 + g.rng.Float64()*30)
		team := &owner{Owner: &steward.Owner{
			ID: ids.New(ids.Owner, created), Name: strings.ToUpper(t.name[:1]) + t.name[1:] + " team",
			Email: t.name + "-team@example.com", Kind: steward.OwnerTeam, Status: steward.OwnerActive, Team: t.name,
			ExternalRef: "okta:group/" + t.name, CreatedAt: created, UpdatedAt: created, Version: 1,
		}, team: t.name}
		g.addOwner(team)
		var lead *owner
		for k := range t.size {
			p := pool[0]
			pool = pool[1:]
			email := strings.ToLower(p.first + "." + p.last + "@example.com")
			for emails[email] {
				email = strings.ToLower(p.first+"."+p.last) + fmt.Sprint(g.rng.IntN(90)+10) + "@example.com"
			}
			emails[email] = true
			var created time.Time
			switch {
			case k == 0:
				created = g.daysAgo(820 + g.rng.Float64()*70)
			case g.chance(0.25): // a newer hire
				created = g.daysAgo(60 + g.rng.Float64()*440)
			default:
				created = g.daysAgo(700 + g.rng.Float64()*180)
			}
			o := &owner{Owner: &steward.Owner{
				ID: ids.New(ids.Owner, created), Name: p.first + " " + p.last, Email: email,
				Kind: steward.OwnerPerson, Status: steward.OwnerActive, Team: t.name,
				ExternalRef: "okta:00u" + g.alnum(17), CreatedAt: created, UpdatedAt: created, Version: 1,
			}, team: t.name, lead: k == 0}
			if k == 0 {
				lead = o
				o.BackupOwnerID = team.ID
			} else {
				o.ManagerID = lead.ID
				if g.chance(0.6) {
					o.BackupOwnerID = lead.ID
				}
				members = append(members, o)
			}
			g.addOwner(o)
		}
	}
	// About five people have left; their identities stay with them until
	// someone reassigns them.
	g.rng.Shuffle(len(members), func(i, j int) { members[i], members[j] = members[j], members[i] })
	for _, o := range members[:5] {
		before := *o.Owner
		lo := o.CreatedAt.Add(60 * day)
		if min := g.daysAgo(400); lo.Before(min) {
			lo = min
		}
		departed := g.between(lo, g.daysAgo(14))
		o.Status, o.DepartedAt, o.UpdatedAt, o.Version = steward.OwnerDeparted, &departed, departed, 2
		after := *o.Owner
		g.event(departed, steward.ActionOwnerDepart, steward.SubjectOwner, o.ID, "", "left the company", &before, &after)
	}
}

func (g *generator) addOwner(o *owner) {
	g.owners = append(g.owners, o)
	g.byTeam[o.team] = append(g.byTeam[o.team], o)
	snap := *o.Owner
	g.event(o.CreatedAt, steward.ActionOwnerCreate, steward.SubjectOwner, o.ID, "", "", nil, &snap)
}
