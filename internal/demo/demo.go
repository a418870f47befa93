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
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
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

type owner struct {
	*steward.Owner
	team string
	lead bool
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

const day = 24 * time.Hour

func (g *generator) daysAgo(d float64) time.Time {
	return g.now.Add(-time.Duration(d * float64(day))).Truncate(time.Microsecond)
}

// between returns a uniformly random time in [a, b), or a when b <= a.
func (g *generator) between(a, b time.Time) time.Time {
	if !b.After(a) {
		return a
	}
	return a.Add(time.Duration(g.rng.Int64N(int64(b.Sub(a))))).Truncate(time.Microsecond)
}

func (g *generator) chance(p float64) bool { return g.rng.Float64() < p }

func pick[T any](g *generator, list []T) T { return list[g.rng.IntN(len(list))] }

func weighted(g *generator, weights []int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	n := g.rng.IntN(total)
	for i, w := range weights {
		if n < w {
			return i
		}
		n -= w
	}
	return len(weights) - 1
}

const alnumChars = "abcdefghijklmnopqrstuvwxyz0123456789"

func (g *generator) alnum(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alnumChars[g.rng.IntN(len(alnumChars))]
	}
	return string(b)
}

func (g *generator) digits(n int) string {
	b := make([]byte, n)
	b[0] = byte('1' + g.rng.IntN(9))
	for i := 1; i < n; i++ {
		b[i] = byte('0' + g.rng.IntN(10))
	}
	return string(b)
}

func (g *generator) bytes(n int) []byte {
	b := make([]byte, n+8)
	for i := 0; i < n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], g.rng.Uint64())
	}
	return b[:n]
}

func (g *generator) hex(n int) string { return hex.EncodeToString(g.bytes((n + 1) / 2))[:n] }

func (g *generator) uuid() string {
	h := g.hex(32)
	return h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:32]
}

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

// shape is the provider-specific face of an identity.
type shape struct {
	name, ref, credType string
	labels              map[string]string
}

func (g *generator) clusterFor(env string) string {
	if env == "prod" {
		return pick(g, []string{"prod-eu1", "prod-us1"})
	}
	return env + "-eu1"
}

func (g *generator) shapeOf(provider string, kind steward.Kind, team, svc, env string, o *owner) shape {
	s := shape{labels: map[string]string{}}
	switch provider {
	case "aws":
		acct, region := g.awsAccounts[env], pick(g, awsRegions)
		s.labels["aws_account_id"], s.labels["region"] = acct, region
		switch kind {
		case steward.KindWorkload:
			s.name, s.credType = svc+"-"+env, "aws_role_trust"
			s.ref = fmt.Sprintf("arn:aws:iam::%s:role/%s/%s-%s", acct, team, svc, env)
		case steward.KindCertificate:
			s.name, s.credType = "acm/"+svc+"."+envDomain(env), "x509_certificate"
			s.ref = fmt.Sprintf("arn:aws:acm:%s:%s:certificate/%s", region, acct, g.uuid())
		case steward.KindAPIKey:
			s.name, s.credType = "apigw/"+svc+"-"+env+"-key", "api_key"
			s.ref = fmt.Sprintf("arn:aws:apigateway:%s::/apikeys/%s", region, g.alnum(10))
		default:
			s.name, s.credType = "svc-"+svc+"-"+env, "aws_access_key"
			s.ref = fmt.Sprintf("arn:aws:iam::%s:user/svc/%s-%s", acct, svc, env)
		}
	case "gcp":
		project := "acme-" + team + "-" + env
		s.labels["project"] = project
		switch kind {
		case steward.KindWorkload:
			s.name, s.credType = "wif/"+svc+"-"+env, "oidc_federation"
			s.ref = fmt.Sprintf("principal://iam.googleapis.com/projects/%s/locations/global/workloadIdentityPools/%s-%s/subject/%s", g.digits(12), team, env, svc)
		case steward.KindAPIKey:
			s.name, s.credType = svc+"-"+env+"-api-key", "api_key"
			s.ref = fmt.Sprintf("projects/%s/locations/global/keys/%s", project, g.uuid())
		default:
			s.name, s.credType = svc+"-"+env, "gcp_sa_key"
			s.ref = fmt.Sprintf("%s@%s.iam.gserviceaccount.com", svc, project)
		}
	case "azure":
		s.labels["subscription"] = g.azureSubs[env]
		switch kind {
		case steward.KindOAuthApp:
			s.name, s.ref, s.credType = svc+"-"+env+"-app", g.uuid(), "client_secret"
		case steward.KindWorkload:
			s.name, s.credType = "mi-"+svc+"-"+env, "federated_credential"
			s.ref = fmt.Sprintf("/subscriptions/%s/resourceGroups/rg-%s-%s/providers/Microsoft.ManagedIdentity/userAssignedIdentities/mi-%s-%s", g.azureSubs[env], team, env, svc, env)
		case steward.KindCertificate:
			s.name, s.credType = "kv/"+svc+"-"+env+"-tls", "x509_certificate"
			s.ref = fmt.Sprintf("https://kv-%s-%s.vault.azure.net/certificates/%s-tls", team, env, svc)
		default:
			s.name, s.ref, s.credType = "sp-"+svc+"-"+env, g.uuid(), "client_secret"
		}
	case "github":
		s.labels["org"] = "acme"
		switch kind {
		case steward.KindOAuthApp:
			short := strings.TrimSuffix(strings.TrimSuffix(svc, "-api"), "-service")
			s.name, s.ref, s.credType = "gha-deploy-"+short, "app/"+g.digits(6), "github_app_private_key"
		case steward.KindPAT:
			handle := "ci"
			if o != nil && o.Kind == steward.OwnerPerson {
				handle = strings.ToLower(o.Name[:1] + o.Name[strings.LastIndex(o.Name, " ")+1:])
			}
			s.name, s.ref, s.credType = "pat-"+handle+"-"+svc, "pat/"+g.digits(8), "github_pat"
		case steward.KindBot:
			s.name, s.ref, s.credType = svc+"-bot", "bot/acme-"+svc+"-bot", "github_token"
		default:
			s.name, s.credType = "deploy-key/"+svc, "ssh_key"
			s.ref = fmt.Sprintf("repos/acme/%s/keys/%s", svc, g.digits(8))
		}
		s.labels["repo"] = "acme/" + svc
	case "kubernetes":
		cluster := g.clusterFor(env)
		s.labels["cluster"], s.labels["namespace"] = cluster, team
		switch kind {
		case steward.KindCertificate:
			s.name, s.credType = "k8s/"+team+"/"+svc+"-tls", "x509_certificate"
			s.ref = fmt.Sprintf("%s:certificate:%s:%s-tls", cluster, team, svc)
		default:
			s.name, s.credType = "k8s/"+team+"/"+svc, "k8s_sa_token"
			if kind == steward.KindWorkload {
				s.credType = "k8s_projected_token"
			}
			s.ref = fmt.Sprintf("%s:system:serviceaccount:%s:%s", cluster, team, svc)
			s.labels["app.kubernetes.io/name"] = svc
		}
	case "vault":
		switch kind {
		case steward.KindCertificate:
			s.name, s.ref, s.credType = "pki/"+svc+"."+env+".internal", "pki_int/issue/"+svc+"-"+env, "x509_certificate"
		case steward.KindServiceAccount:
			s.name, s.ref, s.credType = "vault/token-role/"+svc+"-"+env, "auth/token/roles/"+svc+"-"+env, "vault_token"
		default:
			s.name, s.ref, s.credType = "vault/approle/"+svc+"-"+env, "auth/approle/role/"+svc+"-"+env, "vault_secret_id"
		}
	case "okta":
		if kind == steward.KindAPIKey {
			s.name, s.ref, s.credType = "okta-api-token-"+svc, "00T"+g.alnum(17), "api_token"
		} else {
			s.name, s.ref, s.credType = "okta-"+svc+"-service", "0oa"+g.alnum(17), "private_key_jwt"
		}
	case "steward":
		switch kind {
		case steward.KindAIAgent:
			s.name, s.ref, s.credType = svc, "agents/"+svc+"-"+env, "oauth_client_secret"
		case steward.KindBot:
			s.name, s.ref, s.credType = svc+"-bot", "bots/"+svc+"-"+env, "api_key"
		case steward.KindSSHKey:
			s.name, s.ref, s.credType = "bastion/"+svc+"-"+env, "ssh/"+svc+"-"+env, "ssh_key"
		default:
			s.name, s.ref, s.credType = svc+"-"+env+"-key", "keys/"+svc+"-"+env, "api_key"
		}
	case "vendor:stripe":
		s.name, s.ref, s.credType = "stripe-"+svc+"-"+env, g.stripeAcct+"/restricted_keys/"+svc+"-"+env, "restricted_key"
	case "vendor:datadog":
		s.name, s.ref, s.credType = "datadog-"+svc+"-"+env, "api_keys/"+g.uuid(), "api_key"
	case "vendor:openai":
		if kind == steward.KindAIAgent {
			s.name, s.ref, s.credType = "openai-"+svc, g.openaiProj[env]+"/service_accounts/"+svc, "project_api_key"
		} else {
			s.name, s.ref, s.credType = "openai-"+svc+"-"+env, g.openaiProj[env]+"/api_keys/"+svc, "project_api_key"
		}
		s.labels["project"] = g.openaiProj[env]
	case "vendor:anthropic":
		s.name, s.ref, s.credType = "anthropic-"+svc, "workspaces/"+env+"/api_keys/"+svc, "api_key"
	case "vendor:pagerduty":
		s.name, s.ref, s.credType = "pagerduty-"+svc, "services/"+svc+"/integrations/"+strings.ToUpper(g.alnum(7)), "integration_key"
	case "vendor:snowflake":
		upper := strings.ToUpper(strings.ReplaceAll(svc, "-", "_"))
		s.name, s.ref, s.credType = "snowflake-"+svc+"-"+env, "ACME."+upper+"_"+strings.ToUpper(env), "key_pair"
	case "slack":
		s.name, s.ref, s.credType = svc+"-slack-bot", "B"+strings.ToUpper(g.alnum(10)), "bot_token"
	}
	return s
}

func envDomain(env string) string {
	if env == "prod" {
		return "acme.example.com"
	}
	return env + ".acme.example.com"
}

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

func (g *generator) credRef(provider string) string {
	switch provider {
	case "aws":
		return "access_key/" + strings.ToUpper(g.hex(16))
	case "gcp":
		return g.hex(40)
	case "azure":
		return g.uuid()
	case "github":
		return "key/" + g.digits(8)
	}
	return "key/" + g.alnum(12)
}

func (g *generator) tierFor(env string, kind steward.Kind) steward.Sensitivity {
	w := map[string][]int{"prod": {25, 40, 25, 10}, "staging": {3, 17, 50, 30}, "dev": {1, 9, 40, 50}}[env]
	if kind == steward.KindAIAgent && env == "prod" {
		w = []int{40, 40, 15, 5}
	}
	return steward.Sensitivities[weighted(g, w)]
}

func (g *generator) sourceFor(provider string) steward.Source {
	switch {
	case provider == "steward":
		return steward.SourceRegistered
	case strings.HasPrefix(provider, "vendor:") || provider == "slack":
		return []steward.Source{steward.SourceRegistered, steward.SourceRegistered, steward.SourceDiscovered}[g.rng.IntN(3)]
	}
	return steward.Sources[weighted(g, []int{15, 60, 25})]
}

func (g *generator) vendorManaged(provider string, kind steward.Kind) bool {
	switch {
	case strings.HasPrefix(provider, "vendor:"):
		return g.chance(0.3)
	case kind == steward.KindWorkload && (provider == "aws" || provider == "gcp" || provider == "azure"):
		return g.chance(0.15)
	}
	return false
}

func providerWeights() []int {
	w := make([]int, len(providers))
	for n, p := range providers {
		w[n] = p.weight
	}
	return w
}

// coverage is the number of (provider, kind) pairs.
func coverage() int {
	n := 0
	for _, p := range providers {
		n += len(p.kinds)
	}
	return n
}

func coverageAt(n int) (providerSpec, steward.Kind) {
	for _, p := range providers {
		if n < len(p.kinds) {
			return p, p.kinds[n]
		}
		n -= len(p.kinds)
	}
	panic("demo: coverage index out of range")
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
