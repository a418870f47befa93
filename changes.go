package steward

import (
	"context"
	"sync"
)

// Change tells the caches of a node that state changed. A change made on
// this node names what changed and is published synchronously after its
// transaction commits, before the API answers; a change seen through the
// database (another node, or this one) is Remote and names only the chain
// sequence number it reached and the subject types it touched, and caches
// catch up by reading the event chain.
type Change struct {
	// Subject is the subject type: SubjectIdentity, SubjectCredential,
	// SubjectToken, SubjectSigningKey, SubjectAccessToken…
	Subject string
	// ID is the subject's id (a credential id, a token id).
	ID string
	// IdentityID is the identity concerned, if any.
	IdentityID string
	// Remote marks a change learnt from the database.
	Remote bool
	// Seq is the newest chain sequence number a Remote change covers.
	Seq int64
	// Subjects lists the subject types a Remote change touched; empty
	// means unknown (after a reconnection): assume everything changed.
	Subjects []string
}

// Touches reports whether a change may concern subject type s.
func (c Change) Touches(s string) bool {
	if !c.Remote {
		return c.Subject == s
	}
	if len(c.Subjects) == 0 {
		return true
	}
	for _, x := range c.Subjects {
		if x == s {
			return true
		}
	}
	return false
}

// ForgetOrWake is the subscriber of a cache keyed by identity: a change
// made on this node to an identity, a credential or an import calls forget
// with its identity at once; a change seen through the database wakes the
// cache's reader of the chain without blocking (a wake already pending is
// enough).
func ForgetOrWake(forget func(identityID string), wake chan<- struct{}) func(Change) {
	return func(ch Change) {
		if ch.Remote {
			select {
			case wake <- struct{}{}:
			default:
			}
			return
		}
		switch ch.Subject {
		case SubjectIdentity, SubjectCredential, SubjectImport:
			forget(ch.IdentityID)
		}
	}
}

// Changes fans changes out to the caches that subscribed. Publish calls
// every subscriber synchronously, so a revocation is final on this node
// when Publish returns. A nil *Changes ignores everything.
type Changes struct {
	mu   sync.RWMutex
	next int
	subs map[int]func(Change)
}

// NewChanges returns an empty fan-out.
func NewChanges() *Changes { return &Changes{subs: map[int]func(Change){}} }

// Subscribe calls fn with every change published from now on, until the
// returned function is called. fn must be quick and must not publish.
func (c *Changes) Subscribe(fn func(Change)) (unsubscribe func()) {
	if c == nil {
		return func() {}
	}
	c.mu.Lock()
	id := c.next
	c.next++
	c.subs[id] = fn
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		delete(c.subs, id)
		c.mu.Unlock()
	}
}

// Publish hands each change to every subscriber.
func (c *Changes) Publish(chs ...Change) {
	if c == nil || len(chs) == 0 {
		return
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, fn := range c.subs {
		for _, ch := range chs {
			fn(ch)
		}
	}
}

// SettingStore keeps the settings every node of a cluster shares.
type SettingStore interface {
	// GetSetting returns a setting, or ENOTFOUND.
	GetSetting(ctx context.Context, key string) (string, error)
	// InitSetting records value unless the key has one, and returns the
	// value in force.
	InitSetting(ctx context.Context, key, value string) (string, error)
	// PutSetting records value, replacing any other.
	PutSetting(ctx context.Context, key, value string) error
}
