// Package authz is Steward's policy decision point: the OpenID AuthZEN 1.0
// Authorization API evaluated with Cedar policies (cedar-go), over managed,
// versioned policies and entities, with Steward's identities as Cedar
// entities of type nhi, a built-in runtime guard, and every decision
// recorded as a usage event. It exposes a plain Go API; httpapi serves it.
package authz

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cedar-policy/cedar-go/types"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/clock"
	"github.com/steward-nhi/steward/internal/ids"
)

// ScopeEvaluate is the scope an NHI credential needs to call the PDP.
const ScopeEvaluate = "authzen:evaluate"

// Config configures New.
type Config struct {
	// Inventory reads identities and credentials for the nhi entities and
	// the runtime guard.
	Inventory steward.Reader
	// Store keeps policies, entities and the schema.
	Store steward.AuthzStore
	// Usage receives one event per decision.
	Usage  steward.UsageRecorder
	Clock  clock.Clock
	Logger *slog.Logger
	// IdentityTTL bounds how long a cached identity is trusted without an
	// invalidation (default 30 s).
	IdentityTTL time.Duration
	// PollInterval is how often Run checks for policy and identity changes
	// made by any node (default 250 ms).
	PollInterval time.Duration
	// FullScan disables the policy index (benchmarks).
	FullScan bool
	// Changes, when set, is the node's change fan-out: an identity or
	// credential change made on this node drops the cached identity
	// before the change's API call answers, and a change seen through the
	// database (another node) makes Run check at once instead of at the
	// next poll.
	Changes *steward.Changes
	// Learning answers a policy deny with a permit (context.learning true)
	// and logs it with outcome "learn_deny", to discover what a new policy
	// set would break before enforcing it. The runtime guard always denies.
	Learning bool
}

// PDP is the policy decision point.
type PDP struct {
	cfg     Config
	engine  atomic.Pointer[Engine]
	cache   *identityCache
	head    atomic.Int64 // last event seq seen by the invalidation poll
	reloadM sync.Mutex
	// wake asks Run to check now (a change arrived from the database).
	wake chan struct{}
}

// Call describes the HTTP call that asked for a decision.
type Call struct {
	Source    string
	UserAgent string
	RequestID string
	// Recorded says the caller records the decision in a usage event of
	// its own (the gateway's, with the decision's policies and reason),
	// so the PDP does not record a second one.
	Recorded bool
}

// New returns a PDP with the stored policies loaded.
func New(ctx context.Context, cfg Config) (*PDP, error) {
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Usage == nil {
		cfg.Usage = steward.DiscardUsage{}
	}
	if cfg.IdentityTTL == 0 {
		cfg.IdentityTTL = 30 * time.Second
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 250 * time.Millisecond
	}
	p := &PDP{cfg: cfg, cache: newIdentityCache(cfg.IdentityTTL), wake: make(chan struct{}, 1)}
	if cfg.Inventory != nil {
		if last, err := cfg.Inventory.LastEvent(ctx); err != nil {
			return nil, err
		} else if last != nil {
			p.head.Store(last.Seq)
		}
	}
	if err := p.Reload(ctx); err != nil {
		return nil, err
	}
	// Identities changed on this node are forgotten at once; changes from
	// the database wake Run.
	cfg.Changes.Subscribe(steward.ForgetOrWake(p.cache.forget, p.wake))
	return p, nil
}

// Engine returns the engine in force.
func (p *PDP) Engine() *Engine { return p.engine.Load() }

// Reload compiles the stored policies, entities and schema if their
// revision changed.
func (p *PDP) Reload(ctx context.Context) error {
	p.reloadM.Lock()
	defer p.reloadM.Unlock()
	rev, err := p.cfg.Store.AuthzRevision(ctx)
	if err != nil {
		return err
	}
	if cur := p.engine.Load(); cur != nil && cur.Revision == rev {
		return nil
	}
	pols, err := p.cfg.Store.ListAuthzPolicies(ctx)
	if err != nil {
		return err
	}
	ents, err := p.cfg.Store.ListAuthzEntities(ctx)
	if err != nil {
		return err
	}
	sch, err := p.cfg.Store.GetAuthzSchema(ctx)
	if err != nil {
		return err
	}
	eng, err := Compile(pols, ents, sch)
	if err != nil {
		return fmt.Errorf("compile stored policies (revision %d): %w", rev, err)
	}
	eng.Revision = rev
	eng.FullScan = p.cfg.FullScan
	p.engine.Store(eng)
	p.cfg.Logger.InfoContext(ctx, "authz policies loaded", "revision", rev, "policies", eng.PolicyCount(), "entities", len(eng.entities))
	return nil
}

// Run polls for changes made by any node — the policy revision and the
// event chain (identity and credential changes) — until ctx ends, so that
// a change reaches every node within one poll interval.
func (p *PDP) Run(ctx context.Context) {
	t := time.NewTicker(p.cfg.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-p.wake:
		}
		// Identities first: a suspension matters more than a policy edit.
		if err := p.invalidate(ctx); err != nil && ctx.Err() == nil {
			p.cfg.Logger.ErrorContext(ctx, "authz identity invalidation", "err", err)
		}
		if err := p.Reload(ctx); err != nil && ctx.Err() == nil {
			p.cfg.Logger.ErrorContext(ctx, "authz reload", "err", err)
		}
	}
}

// invalidate drops cached identities that events changed since the last poll.
func (p *PDP) invalidate(ctx context.Context) error {
	for {
		ids, head, err := p.cfg.Store.ChangedIdentities(ctx, p.head.Load(), 1000)
		if err != nil {
			return err
		}
		for _, id := range ids {
			p.cache.forget(id)
		}
		if head == p.head.Load() {
			return nil
		}
		p.head.Store(head)
	}
}

// Forget drops one identity from the cache (a change on this node).
func (p *PDP) Forget(identityID string) { p.cache.forget(identityID) }

// mayEvaluate allows admin and operator tokens and NHI credentials with
// scope authzen:evaluate.
func mayEvaluate(ctx context.Context) (*steward.Principal, error) {
	pr := steward.PrincipalFrom(ctx)
	switch {
	case pr == nil:
		return nil, steward.Errorf(steward.EUNAUTHORIZED, "authentication required")
	case pr.IsNHI():
		if !pr.HasScope(ScopeEvaluate) {
			return nil, steward.Errorf(steward.EFORBIDDEN, "the credential lacks scope %s", ScopeEvaluate)
		}
	case pr.Role != steward.RoleAdmin && pr.Role != steward.RoleOperator:
		return nil, steward.Errorf(steward.EFORBIDDEN, "role %s may not ask for decisions (admin, operator or an NHI with scope %s)", pr.Role, ScopeEvaluate)
	}
	return pr, nil
}

// Evaluate answers one AuthZEN access evaluation.
func (p *PDP) Evaluate(ctx context.Context, r *Request, call Call) (*Decision, error) {
	pr, err := mayEvaluate(ctx)
	if err != nil {
		return nil, err
	}
	if err := r.check(); err != nil {
		return nil, err
	}
	d, err := p.decide(ctx, p.engine.Load(), r, call, pr)
	if err != nil {
		return nil, err
	}
	return d, nil
}

// Evaluations answers an AuthZEN batch. Items missing a required field
// after the defaults are merged are denied with the error in their
// context; the other items are evaluated as the semantic says.
func (p *PDP) Evaluations(ctx context.Context, r *EvaluationsRequest, call Call) (any, error) {
	pr, err := mayEvaluate(ctx)
	if err != nil {
		return nil, err
	}
	sem := r.Options.Semantic
	switch sem {
	case "":
		sem = ExecuteAll
	case ExecuteAll, DenyOnFirstDeny, PermitOnFirstPermit:
	default:
		return nil, steward.FieldError("options.evaluations_semantic", "%q is not one of execute_all, deny_on_first_deny, permit_on_first_permit", sem)
	}
	eng := p.engine.Load()
	if len(r.Evaluations) == 0 {
		if err := r.Request.check(); err != nil {
			return nil, err
		}
		return p.decide(ctx, eng, &r.Request, call, pr)
	}
	if len(r.Evaluations) > MaxBatch {
		return nil, steward.FieldError("evaluations", "has more than %d items", MaxBatch)
	}
	out := &EvaluationsResponse{Evaluations: make([]Decision, 0, len(r.Evaluations))}
	for _, item := range r.Evaluations {
		m := merge(r.Request, item)
		var d *Decision
		if err := m.check(); err != nil {
			d = itemError(err)
		} else if d, err = p.decide(ctx, eng, &m, call, pr); err != nil {
			d = itemError(err)
		}
		out.Evaluations = append(out.Evaluations, *d)
		if (sem == DenyOnFirstDeny && !d.Decision) || (sem == PermitOnFirstPermit && d.Decision) {
			break
		}
	}
	return out, nil
}

// MaxBatch bounds the items of one batch.
const MaxBatch = 1000

func itemError(err error) *Decision {
	status := 400
	if steward.ErrorCode(err) == steward.EINTERNAL {
		status = 500
	}
	return &Decision{Decision: false, Context: map[string]any{"error": map[string]any{"status": status, "message": steward.ErrorMessage(err)}}}
}

// decide runs the guard and the policies for one checked request and
// records the decision.
func (p *PDP) decide(ctx context.Context, eng *Engine, r *Request, call Call, pr *steward.Principal) (*Decision, error) {
	start := time.Now()
	decID := ids.New("dec_", p.cfg.Clock.Now())
	ev := steward.UsageEvent{
		ID: decID, Time: p.cfg.Clock.Now(), Kind: steward.UsageDecision,
		Subject: r.Subject.Type + ":" + r.Subject.ID, Action: r.Action.Name, Resource: r.Resource.Type + ":" + r.Resource.ID,
		Source: call.Source, UserAgent: call.UserAgent,
	}
	if s, ok := r.Context["ip"].(string); ok {
		ev.Source = trimString(s, 64)
	} else if s, ok := r.Context["source_ip"].(string); ok {
		ev.Source = trimString(s, 64)
	}
	if s, ok := r.Context["user_agent"].(string); ok {
		ev.UserAgent = trimString(s, 256)
	}
	ev.Attributes = map[string]string{"request_id": call.RequestID}
	if pr != nil {
		ev.Attributes["caller"] = pr.Actor
	}
	// A delegated subject's chain: the acting agent and whom it acts for.
	if act, ok := r.Context["act"].(map[string]any); ok {
		if sub, ok := act["sub"].(string); ok {
			ev.Attributes["act_sub"] = trimString(sub, 256)
		}
	}
	if s, ok := r.Context["on_behalf_of"].(string); ok {
		ev.Attributes["on_behalf_of"] = trimString(s, 256)
	}
	out := &Decision{Context: map[string]any{"decision_id": decID}}
	ident, reason, err := p.guard(ctx, r)
	if err != nil {
		return nil, err
	}
	if ident != nil {
		ev.IdentityID, ev.Environment = ident.ID, ident.Environment
	}
	if cid := credentialRef(r); cid != "" {
		ev.CredentialID = cid
	}
	if reason != "" {
		out.Context["reason"] = reason
		ev.Outcome, ev.Reason = "deny", reason
	} else {
		allow, diag, err := eng.Decide(r, p.identityGetter(ctx))
		if err != nil {
			return nil, err
		}
		out.Decision = allow
		ev.Outcome = "deny"
		if allow {
			ev.Outcome = "allow"
		} else if p.cfg.Learning {
			out.Decision = true
			out.Context["learning"] = true
			ev.Outcome = "learn_deny"
		}
		if len(diag.Reasons) > 0 {
			pol := make([]string, len(diag.Reasons))
			for i, rs := range diag.Reasons {
				pol[i] = string(rs.PolicyID)
			}
			out.Context["policies"] = pol
			ev.PolicyIDs = pol
		} else if !allow {
			ev.Reason = "no policy permits the request"
		}
		if len(diag.Errors) > 0 {
			errs := make([]string, len(diag.Errors))
			for i, e := range diag.Errors {
				errs[i] = string(e.PolicyID) + ": " + e.Message
			}
			out.Context["errors"] = errs
			ev.Attributes["errors"] = trimString(joinComma(errs), 1000)
		}
	}
	ev.LatencyMicro = time.Since(start).Microseconds()
	if !call.Recorded {
		p.cfg.Usage.Record(ctx, ev)
	}
	return out, nil
}

// credentialRef returns the credential the request says the subject used:
// context.credential_id or subject.properties.credential_id.
func credentialRef(r *Request) string {
	if s, ok := r.Context["credential_id"].(string); ok {
		return s
	}
	if s, ok := r.Subject.Properties["credential_id"].(string); ok {
		return s
	}
	return ""
}

// guard is the built-in runtime guard: a subject of type nhi must be a
// Steward identity that is not suspended, revoked or expired, and the
// credential it used (if the request names one) must be neither revoked
// nor expired. It returns the identity and, for a deny, the reason.
func (p *PDP) guard(ctx context.Context, r *Request) (*steward.Identity, string, error) {
	var ident *steward.Identity
	now := p.cfg.Clock.Now()
	if types.EntityType(r.Subject.Type) == IdentityType && p.cfg.Inventory != nil {
		ent, err := p.cache.identity(ctx, p.cfg.Inventory, r.Subject.ID)
		if err != nil {
			return nil, "", err
		}
		if ent == nil {
			return nil, fmt.Sprintf("identity %s is not in Steward's inventory", r.Subject.ID), nil
		}
		ident = ent.ident
		switch ident.Status {
		case steward.StatusSuspended, steward.StatusRevoked, steward.StatusExpired:
			return ident, fmt.Sprintf("identity %s is %s", ident.ID, ident.Status), nil
		}
		if ident.ExpiresAt != nil && !now.Before(*ident.ExpiresAt) {
			return ident, fmt.Sprintf("identity %s expired at %s", ident.ID, ident.ExpiresAt.Format(time.RFC3339)), nil
		}
	}
	if reason, err := p.guardActors(ctx, r, now); err != nil || reason != "" {
		return ident, reason, err
	}
	if cid := credentialRef(r); cid != "" && p.cfg.Inventory != nil {
		c, err := p.cache.credential(ctx, p.cfg.Inventory, cid)
		if err != nil {
			return ident, "", err
		}
		switch {
		case c == nil:
			return ident, fmt.Sprintf("credential %s is not known", cid), nil
		case ident != nil && c.IdentityID != ident.ID:
			return ident, fmt.Sprintf("credential %s does not belong to identity %s", cid, ident.ID), nil
		case c.Status == steward.CredentialRevoked || c.RevokedAt != nil:
			return ident, fmt.Sprintf("credential %s is revoked", cid), nil
		case c.Status == steward.CredentialExpired || (c.ExpiresAt != nil && !now.Before(*c.ExpiresAt)):
			return ident, fmt.Sprintf("credential %s is expired", cid), nil
		}
	}
	return ident, "", nil
}

// maxActChain bounds how deep the guard walks context.act.
const maxActChain = 8

// guardActors denies a request whose delegation chain (context.act, the
// RFC 8693 act claim of the token the subject presented: {"sub":…,
// "act":{…}}) names a Steward identity that is no longer active, so that
// revoking an agent stops every decision made for its delegated tokens.
func (p *PDP) guardActors(ctx context.Context, r *Request, now time.Time) (string, error) {
	act, _ := r.Context["act"].(map[string]any)
	for n := 0; act != nil && p.cfg.Inventory != nil; n++ {
		if n == maxActChain {
			return "the delegation chain (context.act) is too deep", nil
		}
		sub, _ := act["sub"].(string)
		if sub != "" {
			ent, err := p.cache.identity(ctx, p.cfg.Inventory, sub)
			if err != nil {
				return "", err
			}
			if ent == nil && strings.HasPrefix(sub, "nhi_") {
				return fmt.Sprintf("actor %s is not in Steward's inventory", sub), nil
			}
			if ent != nil {
				if i := ent.ident; i.Status != steward.StatusActive || (i.ExpiresAt != nil && !now.Before(*i.ExpiresAt)) {
					return fmt.Sprintf("actor %s of the delegation chain is %s", i.ID, i.Status), nil
				}
			}
		}
		act, _ = act["act"].(map[string]any)
	}
	return "", nil
}

// identityGetter returns Steward identities as Cedar entities.
func (p *PDP) identityGetter(ctx context.Context) types.EntityGetter {
	if p.cfg.Inventory == nil {
		return nil
	}
	return identityGetter{ctx: ctx, p: p}
}

type identityGetter struct {
	ctx context.Context
	p   *PDP
}

func (g identityGetter) Get(uid types.EntityUID) (types.Entity, bool) {
	ent, err := g.p.cache.identity(g.ctx, g.p.cfg.Inventory, string(uid.ID))
	if err != nil || ent == nil {
		return types.Entity{}, false
	}
	return ent.entity, true
}

// IdentityEntity returns the Cedar entity of a Steward identity: type nhi,
// id the identity id, attributes name, owner, team, environment,
// sensitivity, status, kind, provider, scopes (a set) and labels (a record).
func IdentityEntity(i *steward.Identity) types.Entity {
	scopes := make([]types.Value, len(i.Scopes))
	for n, s := range i.Scopes {
		scopes[n] = types.String(s)
	}
	labels := types.RecordMap{}
	for k, v := range i.Labels {
		labels[types.String(k)] = types.String(v)
	}
	return types.Entity{
		UID: types.NewEntityUID(IdentityType, types.String(i.ID)),
		Attributes: types.NewRecord(types.RecordMap{
			"name":        types.String(i.Name),
			"owner":       types.String(i.OwnerID),
			"team":        types.String(i.Team),
			"environment": types.String(i.Environment),
			"sensitivity": types.String(i.Sensitivity),
			"status":      types.String(i.Status),
			"kind":        types.String(i.Kind),
			"provider":    types.String(i.Provider),
			"scopes":      types.NewSet(scopes...),
			"labels":      types.NewRecord(labels),
		}),
	}
}

// identityCache keeps identities (as entities) and credentials for the
// guard, invalidated by changes and the event poll and bounded by a TTL.
// Each forget bumps a generation; what a lookup read before a forget is
// not cached after it, so a lookup racing a suspension cannot put the
// identity back as active.
type identityCache struct {
	ttl   time.Duration
	mu    sync.RWMutex
	gen   uint64
	ids   map[string]*identityEntry
	creds map[string]*credEntry
}

type identityEntry struct {
	ident  *steward.Identity
	entity types.Entity
	at     time.Time
}

type credEntry struct {
	cred *steward.Credential // nil: not found
	at   time.Time
}

const maxCacheEntries = 100000

func newIdentityCache(ttl time.Duration) *identityCache {
	return &identityCache{ttl: ttl, ids: map[string]*identityEntry{}, creds: map[string]*credEntry{}}
}

// forget drops an identity and its credentials ("": everything).
func (c *identityCache) forget(identityID string) {
	c.mu.Lock()
	c.gen++
	if identityID == "" {
		clear(c.ids)
		clear(c.creds)
		c.mu.Unlock()
		return
	}
	delete(c.ids, identityID)
	for k, v := range c.creds {
		if v.cred == nil || v.cred.IdentityID == identityID {
			delete(c.creds, k)
		}
	}
	c.mu.Unlock()
}

func (c *identityCache) generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

// identity returns the cached identity entry, loading it on a miss; nil
// when there is no such identity.
func (c *identityCache) identity(ctx context.Context, inv steward.Reader, id string) (*identityEntry, error) {
	c.mu.RLock()
	e, ok := c.ids[id]
	c.mu.RUnlock()
	if ok && time.Since(e.at) < c.ttl {
		if e.ident == nil {
			return nil, nil
		}
		return e, nil
	}
	gen := c.generation()
	ident, err := inv.GetIdentity(ctx, id)
	switch {
	case steward.ErrorCode(err) == steward.ENOTFOUND:
		e = &identityEntry{at: time.Now()}
	case err != nil:
		return nil, err
	default:
		e = &identityEntry{ident: ident, entity: IdentityEntity(ident), at: time.Now()}
	}
	c.mu.Lock()
	if len(c.ids) >= maxCacheEntries {
		clear(c.ids)
	}
	if gen == c.gen {
		c.ids[id] = e
	}
	c.mu.Unlock()
	if e.ident == nil {
		return nil, nil
	}
	return e, nil
}

func (c *identityCache) credential(ctx context.Context, inv steward.Reader, id string) (*steward.Credential, error) {
	c.mu.RLock()
	e, ok := c.creds[id]
	c.mu.RUnlock()
	if ok && time.Since(e.at) < c.ttl {
		return e.cred, nil
	}
	gen := c.generation()
	cred, err := inv.GetCredential(ctx, id)
	if err != nil && steward.ErrorCode(err) != steward.ENOTFOUND {
		return nil, err
	}
	c.mu.Lock()
	if len(c.creds) >= maxCacheEntries {
		clear(c.creds)
	}
	if gen == c.gen {
		c.creds[id] = &credEntry{cred: cred, at: time.Now()}
	}
	c.mu.Unlock()
	return cred, nil
}
