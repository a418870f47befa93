package demo

// Identities and their credentials, with the lifecycle history each one
// writes to the audit chain.

import (
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/ids"
)

func (g *generator) genIdentity(n int) {
	now := g.now
	// The first identities cover every provider and kind, environment,
	// tier and source at least once; the rest are drawn by weight.
	var p providerSpec
	var kind steward.Kind
	if n < coverage() {
		p, kind = coverageAt(n)
	} else {
		p = providers[weighted(g, providerWeights())]
		kind = p.kinds[weighted(g, p.kindW)]
	}
	env := environments[weighted(g, environmentWeights)]
	if n < len(environments) {
		env = environments[n]
	}

	ti := g.rng.IntN(len(teams))
	svc := pick(g, teams[ti].services)
	purpose := ""
	if kind == steward.KindAIAgent {
		a := pick(g, agents)
		svc, purpose = a.name, a.purpose
		for k, t := range teams {
			if t.name == a.team {
				ti = k
			}
		}
	}
	team := teams[ti]

	// Owner: about 8% have none; otherwise someone in the team (sometimes
	// the team itself), who may since have left.
	var o *owner
	if !g.chance(0.08) {
		candidates := g.byTeam[team.name]
		if g.chance(0.15) {
			o = candidates[0] // the team owner
		} else {
			o = candidates[1+g.rng.IntN(len(candidates)-1)]
		}
	}

	sh := g.shapeOf(p.name, kind, team.name, svc, env, o)
	for try := 2; g.refs[p.name+"|"+sh.ref]; try++ {
		// The same service in the same place twice: a second instance.
		sh = g.shapeOf(p.name, kind, team.name, fmt.Sprintf("%s-%d", svc, try), env, o)
	}
	g.refs[p.name+"|"+sh.ref] = true

	tier := g.tierFor(env, kind)
	if n < len(steward.Sensitivities) {
		tier = steward.Sensitivities[n]
	}
	source := g.sourceFor(p.name)
	if n < len(steward.Sources) {
		source = steward.Sources[n]
	}
	if purpose == "" {
		purpose = fmt.Sprintf("%s %s (%s, %s)", kindPhrase[kind], svc, team.name, env)
	}

	// When it was created: within the last two years, after its owner
	// joined and before its owner left.
	lo, hi := g.daysAgo(730), g.daysAgo(1)
	if o != nil {
		if start := o.CreatedAt.Add(day); start.After(lo) {
			lo = start
		}
		if o.DepartedAt != nil {
			hi = o.DepartedAt.Add(-day)
		}
	}
	created := g.between(lo, hi)

	labels := sh.labels
	labels["managed-by"] = pick(g, managedBy)
	labels["cost-center"] = team.costCenter
	if g.chance(0.3) {
		labels["tier-reviewed"] = "2025-q" + fmt.Sprint(1+g.rng.IntN(4))
	}
	nScopes := 1 + g.rng.IntN(4)
	scopes := make([]string, 0, nScopes)
	for range nScopes {
		scopes = append(scopes, pick(g, p.scopes))
	}

	i := &steward.Identity{
		ID: ids.New(ids.Identity, created), Name: sh.name, Kind: kind, Provider: p.name, ExternalRef: sh.ref,
		Team: team.name, Purpose: purpose, Environment: env, Scopes: scopes, Sensitivity: tier,
		VendorManaged: g.vendorManaged(p.name, kind), Source: source, Status: steward.StatusActive,
		CreatedAt: created, UpdatedAt: created, Labels: labels, Version: 1,
	}
	if o != nil {
		i.OwnerID = o.ID
	}

	// Its fate.
	tp := g.policy[tier]
	var final steward.Status
	switch r := g.rng.Float64(); {
	case r < 0.03:
		final = steward.StatusRevoked
	case r < 0.08:
		final = steward.StatusSuspended
	case r < 0.15:
		final = steward.StatusExpired
	case r < 0.17:
		final = steward.StatusPending
	default:
		final = steward.StatusActive
	}
	if final != steward.StatusActive && final != steward.StatusPending && created.After(g.daysAgo(3)) {
		final = steward.StatusActive // too new to have a history
	}
	end := now // nothing happens to it after end
	var revokedAt, suspendedAt time.Time
	switch final {
	case steward.StatusRevoked:
		revokedAt = g.between(created.Add(day), now.Add(-time.Hour))
		end = revokedAt
	case steward.StatusExpired:
		exp := g.between(created.Add(day), now.Add(-time.Hour))
		i.ExpiresAt = &exp
		end = exp
	case steward.StatusSuspended:
		suspendedAt = g.between(created.Add(day), now.Add(-time.Hour))
		end = suspendedAt
	}
	switch {
	case final == steward.StatusExpired:
	case kind == steward.KindCertificate:
		exp := g.between(now.Add(day), now.Add(time.Duration(tp.MaxLifetime)))
		i.ExpiresAt = &exp
	case final == steward.StatusActive && g.chance(0.03):
		// A long-lived credential the vendor cannot rotate, allowed by a
		// recorded exception.
		exp := g.between(now.Add(time.Duration(tp.MaxLifetime)+day), now.Add(400*day))
		i.ExpiresAt = &exp
		approver := g.byTeam[team.name][1].Email
		i.Exception = &steward.Exception{Reason: "vendor integration cannot rotate keys automatically", Until: exp, Approver: approver}
	case g.chance(0.2):
		exp := g.between(now.Add(day), now.Add(time.Duration(tp.MaxLifetime)))
		i.ExpiresAt = &exp
	}

	// Last use: some never used (pending identities never were).
	if final != steward.StatusPending && !g.chance(0.12) {
		var used time.Time
		if final == steward.StatusActive && g.chance(0.7) {
			used = g.between(maxTime(created, now.Add(-14*day)), now)
		} else {
			used = g.between(created, end)
		}
		i.LastUsedAt = &used
	}

	// Rotation: credential times t[0] = created … t[n-1] = last rotation;
	// about a fifth are overdue for their tier.
	period := time.Duration(tp.RotationPeriod)
	cutoff := now.Add(-period)
	nCred := []int{1, 1, 1, 1, 2, 3}[g.rng.IntN(6)]
	wantOverdue := g.chance(0.22)
	if !wantOverdue && nCred == 1 && created.Before(cutoff) && end.After(cutoff) {
		nCred = 2
	}
	lastRot := created
	if nCred > 1 {
		if wantOverdue && created.Before(cutoff) {
			lastRot = g.between(created.Add(time.Hour), minTime(cutoff, end))
		} else if lo := maxTime(created.Add(time.Hour), cutoff); lo.Before(end) {
			lastRot = g.between(lo, end)
		} else {
			lastRot = g.between(created.Add(time.Hour), end)
		}
		if !lastRot.After(created) {
			nCred = 1
			lastRot = created
		}
	}
	if final == steward.StatusPending {
		nCred, lastRot = 1, created
	}
	i.LastRotatedAt = &lastRot
	times := []time.Time{created}
	for k := 1; k < nCred-1; k++ {
		times = append(times, g.between(created.Add(time.Minute), lastRot))
	}
	if nCred > 1 {
		times = append(times, lastRot)
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })

	i.Normalize()

	// History: creation, then credentials, then lifecycle transitions.
	initial := *i
	initial.Status, initial.LastUsedAt, initial.LastRotatedAt = steward.StatusActive, nil, &created
	if final == steward.StatusPending {
		initial.Status = steward.StatusPending
	}
	action, reason := steward.ActionIdentityCreate, ""
	switch source {
	case steward.SourceImported:
		action, reason = steward.ActionIdentityImport, "import"
	case steward.SourceDiscovered:
		reason = "discovered"
	}
	g.event(created, action, steward.SubjectIdentity, i.ID, i.ID, reason, nil, &initial)

	creds := g.genCredentials(i, sh, p, times, final, end)
	cur := initial
	transition := func(t time.Time, tr steward.Transition, to steward.Status, reason string) {
		before := cur
		cur.Status, cur.UpdatedAt, cur.Version = to, t, cur.Version+1
		after := cur
		g.event(t, steward.IdentityAction(tr), steward.SubjectIdentity, i.ID, i.ID, reason, &before, &after)
	}
	switch final {
	case steward.StatusSuspended:
		transition(suspendedAt, steward.TransitionSuspend, steward.StatusSuspended, pick(g, suspendReasons))
	case steward.StatusExpired:
		transition(*i.ExpiresAt, steward.TransitionExpire, steward.StatusExpired, "expired")
	case steward.StatusRevoked:
		if g.chance(0.3) {
			t := g.between(created.Add(time.Hour), revokedAt)
			transition(t, steward.TransitionSuspend, steward.StatusSuspended, pick(g, suspendReasons))
		}
		rr := steward.ReasonDecommissioned
		switch {
		case o != nil && o.DepartedAt != nil:
			rr = steward.ReasonOwnerDeparted
		case g.chance(0.5):
			rr = pick(g, []steward.RevokeReason{steward.ReasonIncident, steward.ReasonDormant, steward.ReasonManual, steward.ReasonRotation})
		}
		transition(revokedAt, steward.TransitionRevoke, steward.StatusRevoked, string(rr)+": "+pick(g, revokeNotes[rr]))
		for _, c := range creds {
			if c.Status == steward.CredentialRevoked && c.RevokedAt != nil && c.RevokedAt.Equal(revokedAt) {
				before := *c
				before.Status, before.RevokedAt = steward.CredentialActive, nil
				g.event(revokedAt, "credential.revoke", steward.SubjectCredential, c.ID, i.ID, string(rr), &before, c)
			}
		}
	}
	i.Status, i.UpdatedAt, i.Version = cur.Status, cur.UpdatedAt, cur.Version
	g.identities = append(g.identities, i)
}

// genCredentials makes one credential per rotation time: each replaced one
// revoked after an overlap, the newest in the state its identity implies.
func (g *generator) genCredentials(i *steward.Identity, sh shape, p providerSpec, times []time.Time, final steward.Status, end time.Time) []*steward.Credential {
	var out []*steward.Credential
	for k, t := range times {
		secret := g.bytes(32) // a stand-in secret; only its hash is kept
		c := &steward.Credential{
			ID: ids.New(ids.Credential, t), IdentityID: i.ID, Type: sh.credType, ExternalRef: g.credRef(p.name),
			Fingerprint: steward.Fingerprint(secret), Hint: "****" + hex.EncodeToString(secret[:2]),
			Status: steward.CredentialActive, Scopes: slices.Clone(i.Scopes), CreatedAt: t,
			Metadata: map[string]string{},
		}
		rotated := t
		c.LastRotatedAt = &rotated
		switch sh.credType {
		case "gcp_sa_key":
			c.Metadata["key_algorithm"] = "KEY_ALG_RSA_2048"
		case "ssh_key":
			c.Metadata["algorithm"] = pick(g, []string{"ed25519", "ed25519", "rsa-4096"})
		case "x509_certificate":
			c.Metadata["issuer"] = pick(g, []string{"Let's Encrypt R11", "Acme Internal CA G2", "Amazon RSA 2048 M02"})
		}
		if i.Kind == steward.KindCertificate && i.ExpiresAt != nil {
			exp := *i.ExpiresAt
			if k < len(times)-1 {
				exp = times[k+1].Add(7 * day)
			}
			c.ExpiresAt = &exp
		}
		var statusEvent *steward.Credential
		newest := k == len(times)-1
		var stop time.Time // when it stopped working
		if !newest {
			revoked := times[k+1].Add(time.Duration(1+g.rng.IntN(7*24)) * time.Hour)
			switch {
			case final == steward.StatusRevoked && !revoked.Before(end):
				c.Status, c.RevokedAt = steward.CredentialRevoked, &end
			case revoked.After(g.now):
				// Still in the rotation overlap window.
			default:
				before := *c
				c.Status, c.RevokedAt = steward.CredentialRevoked, &revoked
				statusEvent = &before
			}
		} else {
			switch final {
			case steward.StatusPending, steward.StatusSuspended:
				c.Status = steward.CredentialInactive
			case steward.StatusExpired:
				c.Status = steward.CredentialExpired
			case steward.StatusRevoked:
				c.Status, c.RevokedAt = steward.CredentialRevoked, &end
			}
		}
		stop = end
		if c.RevokedAt != nil {
			stop = *c.RevokedAt
		}
		if i.LastUsedAt != nil {
			if newest {
				if !i.LastUsedAt.Before(t) {
					used := *i.LastUsedAt
					c.LastUsedAt = &used
				}
			} else {
				used := g.between(t, minTime(stop, *i.LastUsedAt))
				c.LastUsedAt = &used
			}
		}
		c.Normalize()
		snap := *c
		snap.Status, snap.RevokedAt, snap.LastUsedAt = steward.CredentialActive, nil, nil
		g.event(t, steward.ActionCredentialCreate, steward.SubjectCredential, c.ID, i.ID, "", nil, &snap)
		if statusEvent != nil {
			statusEvent.LastUsedAt = nil
			g.event(*c.RevokedAt, "credential.revoke", steward.SubjectCredential, c.ID, i.ID, string(steward.ReasonRotation), statusEvent, c)
		}
		g.credentials = append(g.credentials, c)
		out = append(out, c)
	}
	return out
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
