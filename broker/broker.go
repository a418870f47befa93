// Package broker is Steward's credential broker: it issues, rotates,
// extends, expires and revokes the credentials of the identities Steward
// governs — API keys, OAuth2 client credentials (client secrets and
// private_key_jwt) and short-lived JWT access tokens (RFC 9068) — and
// verifies them when an identity calls. It is a plain Go API; httpapi
// serves it.
//
// Secrets are never stored: an API key or client secret is kept as an
// HMAC-SHA256 digest under a server-side pepper and its SHA-256
// fingerprint. Signing keys are sealed with the master key.
package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/clock"
	"github.com/steward-nhi/steward/internal/failures"
	"github.com/steward-nhi/steward/internal/secretbox"
)

// Algorithms the broker signs access tokens with.
const (
	AlgEdDSA = "EdDSA"
	AlgES256 = "ES256"
)

// ScopeIntrospect lets an NHI credential call the introspection endpoint.
const ScopeIntrospect = "oauth2:introspect"

// Config configures New.
type Config struct {
	Store steward.BrokerStore
	// Box seals signing keys (the master key).
	Box *secretbox.Box
	// Pepper keys the digests of secrets; every node needs the same one.
	Pepper []byte
	// Issuer is the "iss" of access tokens and the base of the metadata
	// URLs, e.g. https://steward.example.com, as configured. Every node of
	// a cluster must use the same: the database records the issuer in
	// force, and a node configured with another one refuses to start
	// (unless ReplaceIssuer), since tokens it issued would be inactive on
	// the others.
	Issuer string
	// DefaultIssuer is this node's own address, used when Issuer is not
	// configured and the database records no issuer yet (the first node
	// of a cluster); a node without Issuer takes the recorded one.
	DefaultIssuer string
	// ReplaceIssuer lets a configured Issuer replace the recorded one
	// (moving a cluster to a new URL; restart every node with it).
	ReplaceIssuer bool
	// Audience is the default "aud" of access tokens (default: Issuer).
	Audience string
	// TokenTTL is the lifetime of access tokens (default 10 minutes).
	TokenTTL time.Duration
	// Algorithm signs new keys: EdDSA (default) or ES256.
	Algorithm string
	Policy    steward.Policy
	Clock     clock.Clock
	Logger    *slog.Logger
	Usage     steward.UsageRecorder
	// CacheTTL bounds how long verified state is reused without asking
	// the database (default 750 ms); Sync forgets changed entries sooner.
	CacheTTL time.Duration
	// FailureRate is the failed authentications per second allowed per
	// source before 429 (default 5, burst 4×).
	FailureRate float64
	// Changes, when set, is the node's change fan-out: the broker
	// publishes its credential changes there and drops cached state when
	// any service of the node (the inventory) or another node (through
	// the database) publishes one. Without it only the broker's own
	// changes and the chain poll (Run) invalidate the cache.
	Changes *steward.Changes
}

// Broker issues and verifies Steward credentials.
type Broker struct {
	store    steward.BrokerStore
	box      *secretbox.Box
	digester *digester
	issuer   string
	audience string
	tokenTTL time.Duration
	alg      string
	policy   steward.Policy
	clock    clock.Clock
	log      *slog.Logger
	usage    steward.UsageRecorder
	cacheTTL time.Duration

	keys     *keySet
	creds    *credCache
	tokens   *tokenCache
	denied   *denyList
	touches  *touches
	failures *failures.Limiter
	lastSeq  atomic.Int64
	changes  *steward.Changes
	// wake asks Run to read the event chain now (another node changed it).
	wake chan struct{}
}

// New returns a broker: it loads the signing keys (creating the first one
// when there is none) and the access-token deny list.
func New(ctx context.Context, c Config) (*Broker, error) {
	if c.Store == nil {
		return nil, errors.New("broker: no store")
	}
	if c.Box == nil {
		return nil, errors.New("broker: no master key to seal signing keys with")
	}
	if len(c.Pepper) < 16 {
		return nil, errors.New("broker: the pepper must be at least 16 bytes")
	}
	issuer, err := sharedIssuer(ctx, c)
	if err != nil {
		return nil, err
	}
	c.Issuer = issuer
	if c.Audience == "" {
		c.Audience = c.Issuer
	}
	if c.TokenTTL <= 0 {
		c.TokenTTL = steward.DefaultAccessTokenLifetime
	}
	if c.TokenTTL > steward.MaxAccessTokenLifetimeLimit {
		return nil, fmt.Errorf("broker: token TTL %s is longer than the limit of %s", c.TokenTTL, steward.MaxAccessTokenLifetimeLimit)
	}
	switch c.Algorithm {
	case "":
		c.Algorithm = AlgEdDSA
	case AlgEdDSA, AlgES256:
	default:
		return nil, fmt.Errorf("broker: signing algorithm %q is not EdDSA or ES256", c.Algorithm)
	}
	if c.Policy == nil {
		c.Policy = steward.DefaultPolicy()
	}
	if c.Clock == nil {
		c.Clock = clock.System{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Usage == nil {
		c.Usage = steward.DiscardUsage{}
	}
	if c.CacheTTL <= 0 {
		c.CacheTTL = 750 * time.Millisecond
	}
	if c.FailureRate <= 0 {
		c.FailureRate = 5
	}
	b := &Broker{
		store: c.Store, box: c.Box, digester: newDigester(c.Pepper), issuer: c.Issuer, audience: c.Audience,
		tokenTTL: c.TokenTTL, alg: c.Algorithm, policy: c.Policy, clock: c.Clock, log: c.Logger, usage: c.Usage,
		cacheTTL: c.CacheTTL, creds: newCredCache(), tokens: newTokenCache(), denied: newDenyList(),
		touches: newTouches(), failures: failures.New(c.FailureRate, int(4*c.FailureRate), 100_000),
		changes: c.Changes, wake: make(chan struct{}, 1),
	}
	b.keys = &keySet{b: b}
	last, err := c.Store.LastEvent(ctx)
	if err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	if last != nil {
		b.lastSeq.Store(last.Seq)
	}
	if err := b.keys.load(ctx); err != nil {
		return nil, err
	}
	if b.keys.signer() == nil {
		if _, err := b.createKey(ctx, steward.SystemPrincipal("broker"), false); err != nil {
			return nil, err
		}
	}
	if err := b.loadDenyList(ctx); err != nil {
		return nil, err
	}
	c.Changes.Subscribe(b.onChange)
	return b, nil
}

// onChange drops what a change makes stale. A change made on this node
// names the identity, and its cached credentials go at once; a change seen
// through the database wakes Run, which reads the chain.
func (b *Broker) onChange(ch steward.Change) {
	steward.ForgetOrWake(b.creds.forgetIdentity, b.wake)(ch)
}

// changed forgets what a change of the broker's made stale and tells the
// rest of the node.
func (b *Broker) changed(chs ...steward.Change) {
	if b.changes == nil {
		for _, ch := range chs {
			b.onChange(ch)
		}
		return
	}
	b.changes.Publish(chs...)
}

// credentialChange names a change of credential c.
func credentialChange(c *steward.BrokerCredential) steward.Change {
	return steward.Change{Subject: steward.SubjectCredential, ID: c.ID, IdentityID: c.IdentityID}
}

// issuerSetting is the settings key of the cluster's issuer.
const issuerSetting = "broker.issuer"

// recordedIssuer is the value of issuerSetting.
type recordedIssuer struct {
	Issuer string `json:"issuer"`
	// Configured: an operator set it (otherwise it is the address of the
	// first node, which a configured issuer replaces).
	Configured bool `json:"configured"`
}

// sharedIssuer returns the issuer every node uses: the configured one
// (recorded if the database has none or only a default), else the
// recorded one, else this node's default (recorded for the next nodes).
func sharedIssuer(ctx context.Context, c Config) (string, error) {
	mine := recordedIssuer{Issuer: strings.TrimRight(c.Issuer, "/"), Configured: true}
	if mine.Issuer == "" {
		mine = recordedIssuer{Issuer: strings.TrimRight(c.DefaultIssuer, "/")}
	}
	if mine.Issuer == "" {
		return "", errors.New("broker: no issuer URL")
	}
	enc, err := json.Marshal(mine)
	if err != nil {
		return "", err
	}
	raw, err := c.Store.InitSetting(ctx, issuerSetting, string(enc))
	if err != nil {
		return "", fmt.Errorf("broker: read the cluster's issuer: %w", err)
	}
	var rec recordedIssuer
	if err := json.Unmarshal([]byte(raw), &rec); err != nil || rec.Issuer == "" {
		return "", fmt.Errorf("broker: the database records an unreadable issuer %q", raw)
	}
	switch {
	case rec.Issuer == mine.Issuer && rec.Configured == mine.Configured:
		return rec.Issuer, nil
	case !mine.Configured:
		// Not configured here: take the cluster's.
		return rec.Issuer, nil
	case rec.Issuer != mine.Issuer && rec.Configured && !c.ReplaceIssuer:
		return "", fmt.Errorf("broker: this node's issuer %q differs from %q, which the database records for every node; "+
			"tokens issued here would be inactive on the other nodes. Set broker.issuer to %q on every node, "+
			"or restart every node with the new issuer and the issuer replacement option to move the cluster to it", mine.Issuer, rec.Issuer, rec.Issuer)
	}
	// A configured issuer replaces a recorded default (the first node's
	// address) or, when asked, another configured one.
	if err := c.Store.PutSetting(ctx, issuerSetting, string(enc)); err != nil {
		return "", fmt.Errorf("broker: record the cluster's issuer: %w", err)
	}
	return mine.Issuer, nil
}

// Issuer returns the issuer URL.
func (b *Broker) Issuer() string { return b.issuer }

// now is the broker's clock.
func (b *Broker) now() time.Time { return b.clock.Now() }

// require returns the caller if its role grants perm.
func require(ctx context.Context, perm steward.Permission) (*steward.Principal, error) {
	return steward.Require(ctx, perm, "manage credentials")
}

// checkOwns refuses an owner-role caller acting on another owner's identity.
func checkOwns(p *steward.Principal, i *steward.Identity) error { return p.CheckOwns(i) }

func (b *Broker) newEvent(p *steward.Principal, action, subjectType, subjectID, identityID, reason string, before, after any) *steward.Event {
	return steward.NewEvent(b.now(), p, action, subjectType, subjectID, identityID, reason, before, after)
}

// update runs fn in one transaction of the broker store.
func (b *Broker) update(ctx context.Context, fn func(tx steward.BrokerTx) error) error {
	return b.store.UpdateBroker(ctx, fn)
}

// credCache keeps verified credentials and their identity's state for a
// short time, keyed by digest (API keys), client id (clients) and id.
//
// Every forget bumps a generation; an entry read from the database is
// stored only if no forget happened since the read began, so a request
// that raced a revocation cannot put the stale state back.
type credCache struct {
	mu       sync.RWMutex
	gen      uint64
	byDigest map[string]*cachedCred
	byClient map[string]*cachedClient
	byID     map[string]*cachedCred
}

type cachedCred struct {
	cred     *steward.BrokerCredential
	identity *steward.Identity
	expires  time.Time
}

type cachedClient struct {
	creds    []*steward.BrokerCredential
	identity *steward.Identity
	expires  time.Time
}

// expiry is when a cache entry goes stale (the zero time, long past, for
// nil).
func (e *cachedCred) expiry() time.Time {
	if e == nil {
		return time.Time{}
	}
	return e.expires
}

func (e *cachedClient) expiry() time.Time {
	if e == nil {
		return time.Time{}
	}
	return e.expires
}

// fresh reads key from one of the cache's maps: nil when absent or expired.
func fresh[E interface{ expiry() time.Time }](c *credCache, m map[string]E, key string, now time.Time) E {
	c.mu.RLock()
	e, ok := m[key]
	c.mu.RUnlock()
	if !ok || !now.Before(e.expiry()) {
		var none E
		return none
	}
	return e
}

const maxCacheEntries = 200_000

func newCredCache() *credCache {
	return &credCache{byDigest: map[string]*cachedCred{}, byClient: map[string]*cachedClient{}, byID: map[string]*cachedCred{}}
}

func (c *credCache) getDigest(d string, now time.Time) *cachedCred {
	return fresh(c, c.byDigest, d, now)
}

func (c *credCache) getID(id string, now time.Time) *cachedCred { return fresh(c, c.byID, id, now) }

func (c *credCache) getClient(id string, now time.Time) *cachedClient {
	return fresh(c, c.byClient, id, now)
}

// generation returns the current generation; pass it to put.
func (c *credCache) generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

func (c *credCache) put(e *cachedCred, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.byDigest)+len(c.byID) > maxCacheEntries {
		clear(c.byDigest)
		clear(c.byID)
	}
	if e.cred.Digest != "" {
		c.byDigest[e.cred.Digest] = e
	}
	c.byID[e.cred.ID] = e
}

func (c *credCache) putClient(id string, e *cachedClient, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.byClient) > maxCacheEntries {
		clear(c.byClient)
	}
	c.byClient[id] = e
}

// forgetIdentity drops every entry of an identity (or all when id is "").
func (c *credCache) forgetIdentity(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if id == "" {
		clear(c.byDigest)
		clear(c.byClient)
		clear(c.byID)
		return
	}
	for k, e := range c.byDigest {
		if e.cred.IdentityID == id {
			delete(c.byDigest, k)
		}
	}
	for k, e := range c.byID {
		if e.cred.IdentityID == id {
			delete(c.byID, k)
		}
	}
	for k, e := range c.byClient {
		if e.identity.ID == id {
			delete(c.byClient, k)
		}
	}
}

// denyList holds the jti of access tokens revoked before expiry.
type denyList struct {
	mu sync.RWMutex
	m  map[string]time.Time // jti → token expiry
}

func newDenyList() *denyList { return &denyList{m: map[string]time.Time{}} }

func (d *denyList) add(jti string, exp time.Time) {
	d.mu.Lock()
	d.m[jti] = exp
	d.mu.Unlock()
}

func (d *denyList) has(jti string) bool {
	d.mu.RLock()
	_, ok := d.m[jti]
	d.mu.RUnlock()
	return ok
}

func (d *denyList) purge(now time.Time) {
	d.mu.Lock()
	for k, exp := range d.m {
		if !now.Before(exp) {
			delete(d.m, k)
		}
	}
	d.mu.Unlock()
}

func (b *Broker) loadDenyList(ctx context.Context) error {
	js, err := b.store.ListRevokedJTIs(ctx, b.now())
	if err != nil {
		return fmt.Errorf("broker: load revoked tokens: %w", err)
	}
	for _, j := range js {
		b.denied.add(j.JTI, j.ExpiresAt)
	}
	return nil
}

// touches batches last-use times: one write per credential per flush, not
// one per request.
type touches struct {
	mu     sync.RWMutex
	creds  map[string]time.Time
	idents map[string]time.Time
}

func newTouches() *touches {
	return &touches{creds: map[string]time.Time{}, idents: map[string]time.Time{}}
}

func (t *touches) add(credID, identityID string, at time.Time) {
	// Most uses of a busy credential fall in the same second: skip them
	// under the read lock.
	t.mu.RLock()
	c, i := t.creds[credID], t.idents[identityID]
	t.mu.RUnlock()
	if at.Sub(c) < time.Second && at.Sub(i) < time.Second {
		return
	}
	t.mu.Lock()
	if at.After(t.creds[credID]) {
		t.creds[credID] = at
	}
	if at.After(t.idents[identityID]) {
		t.idents[identityID] = at
	}
	t.mu.Unlock()
}

func (t *touches) take() (map[string]time.Time, map[string]time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c, i := t.creds, t.idents
	t.creds, t.idents = map[string]time.Time{}, map[string]time.Time{}
	return c, i
}

// FlushLastUsed writes the batched last-use times.
func (b *Broker) FlushLastUsed(ctx context.Context) error {
	c, i := b.touches.take()
	if len(c) == 0 && len(i) == 0 {
		return nil
	}
	return b.store.TouchCredentials(ctx, c, i)
}

// Sync forgets cached state that changed since the last call, on this or
// any other node: it reads the event chain after the last sequence number
// it saw. Run it every few hundred milliseconds.
func (b *Broker) Sync(ctx context.Context) error {
	for {
		seq := b.lastSeq.Load()
		changes, err := b.store.ChangesSince(ctx, seq, 1000)
		if err != nil {
			return err
		}
		reloadKeys, reloadDeny := false, false
		for _, c := range changes {
			switch {
			case c.SubjectType == steward.SubjectSigningKey:
				reloadKeys = true
			case c.SubjectType == steward.SubjectAccessToken:
				reloadDeny = true
			case c.SubjectType == steward.SubjectIdentity || c.SubjectType == steward.SubjectCredential || strings.HasPrefix(c.Action, "identity.") || strings.HasPrefix(c.Action, "credential."):
				b.creds.forgetIdentity(c.IdentityID)
				if c.IdentityID == "" {
					b.tokens.clear()
				}
			case c.SubjectType == steward.SubjectOwner:
			}
		}
		if reloadKeys {
			if err := b.keys.load(ctx); err != nil {
				return err
			}
		}
		if reloadDeny {
			if err := b.loadDenyList(ctx); err != nil {
				return err
			}
		}
		if len(changes) > 0 {
			b.lastSeq.Store(changes[len(changes)-1].Seq)
		}
		if len(changes) < 1000 {
			return nil
		}
	}
}

// Run keeps the broker in step until ctx ends: it syncs with the event
// chain every syncEvery and whenever a change arrives from the database
// (Config.Changes), and, in a loop of its own so that a slow write never
// delays a revocation, writes last-use times every flushEvery and purges
// expired deny-list entries. It flushes once more before returning.
func (b *Broker) Run(ctx context.Context, syncEvery, flushEvery time.Duration) {
	if syncEvery <= 0 {
		syncEvery = 200 * time.Millisecond
	}
	if flushEvery <= 0 {
		flushEvery = 5 * time.Second
	}
	flushed := make(chan struct{})
	go func() {
		defer close(flushed)
		b.runFlush(ctx, flushEvery)
	}()
	defer func() { <-flushed }()
	st := time.NewTicker(syncEvery)
	defer st.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-st.C:
		case <-b.wake:
		}
		if err := b.Sync(ctx); err != nil && ctx.Err() == nil {
			b.log.Warn("broker: sync with the event chain", "err", err)
		}
	}
}

// runFlush writes last-use times and purges expired entries every
// flushEvery until ctx ends, then flushes once more.
func (b *Broker) runFlush(ctx context.Context, flushEvery time.Duration) {
	ft := time.NewTicker(flushEvery)
	defer ft.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if err := b.FlushLastUsed(fctx); err != nil {
				b.log.Warn("broker: record last use", "err", err)
			}
			cancel()
			return
		case <-ft.C:
		}
		if err := b.FlushLastUsed(ctx); err != nil && ctx.Err() == nil {
			b.log.Warn("broker: record last use", "err", err)
		}
		now := b.now()
		b.denied.purge(now)
		b.tokens.purge(now)
		if err := b.store.PurgeExpired(ctx, now); err != nil && ctx.Err() == nil {
			b.log.Warn("broker: purge expired deny-list entries", "err", err)
		}
	}
}

func subset(have, want []string) (string, bool) {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return w, false
		}
	}
	return "", true
}
