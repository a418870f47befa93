package steward

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Event records one change or security-relevant act. Events form the audit
// chain: each carries the hash of its predecessor, and its own hash covers
// every field below in RFC 8785 canonical JSON.
type Event struct {
	Seq         int64           `json:"seq"`
	ID          string          `json:"id"`
	Time        time.Time       `json:"time"`
	Actor       string          `json:"actor"`
	Action      string          `json:"action"`
	SubjectType string          `json:"subject_type"`
	SubjectID   string          `json:"subject_id"`
	IdentityID  string          `json:"identity_id"`
	Reason      string          `json:"reason"`
	Before      json.RawMessage `json:"before"`
	After       json.RawMessage `json:"after"`
	PrevHash    string          `json:"prev_hash"`
	EntryHash   string          `json:"entry_hash"`
}

// Event actions recorded by the core.
const (
	ActionIdentityCreate   = "identity.create"
	ActionIdentityUpdate   = "identity.update"
	ActionIdentityDelete   = "identity.delete"
	ActionIdentityImport   = "identity.import"
	ActionOwnerCreate      = "owner.create"
	ActionOwnerUpdate      = "owner.update"
	ActionOwnerDepart      = "owner.depart"
	ActionCredentialCreate = "credential.create"
	ActionCredentialUpdate = "credential.update"
	ActionTokenCreate      = "token.create"
	ActionTokenRevoke      = "token.revoke"
	ActionImport           = "import.run"
	ActionAuthFailure      = "auth.failure"
)

// IdentityAction returns the event action of a lifecycle operation.
func IdentityAction(t Transition) string { return "identity." + string(t) }

// Subject types of events.
const (
	SubjectIdentity   = "identity"
	SubjectOwner      = "owner"
	SubjectCredential = "credential"
	SubjectToken      = "token"
	SubjectImport     = "import"
)

// GenesisHash is the previous hash of the first entry of the chain.
const GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// ChainTimeFormat is the time format inside the hashed encoding.
const ChainTimeFormat = "2006-01-02T15:04:05.000000000Z"

// CanonicalBytes returns the RFC 8785 encoding of the event's hashed fields
// (everything but entry_hash).
func (e *Event) CanonicalBytes() ([]byte, error) {
	m := map[string]any{
		"seq":          json.Number(strconv.FormatInt(e.Seq, 10)),
		"id":           e.ID,
		"time":         e.Time.UTC().Format(ChainTimeFormat),
		"actor":        e.Actor,
		"action":       e.Action,
		"subject_type": e.SubjectType,
		"subject_id":   e.SubjectID,
		"identity_id":  e.IdentityID,
		"reason":       e.Reason,
		"before":       rawOrNull(e.Before),
		"after":        rawOrNull(e.After),
		"prev_hash":    e.PrevHash,
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return Canonicalize(b)
}

func rawOrNull(r json.RawMessage) json.RawMessage {
	if len(r) == 0 {
		return json.RawMessage("null")
	}
	return r
}

// ComputeHash returns the entry hash: SHA-256 hex of the canonical bytes.
// This is the reference; the store and the audit package use the one-pass
// encoder in internal/canonjson, which gives the same bytes.
func (e *Event) ComputeHash() (string, error) {
	b, err := e.CanonicalBytes()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// EventFilter selects events.
type EventFilter struct {
	IdentityID  string
	SubjectID   string
	Actor       string
	Action      string
	Since       *time.Time
	Until       *time.Time
	IdentityIDs []string // restrict to these identities (owner role)
	Limit       int
	Cursor      string
	Ascending   bool
}

// NewEvent returns the event of an act by p at now, with before/after
// snapshots of what changed. The store gives it its id (when empty), its
// sequence number and its place in the chain when it is appended.
//
// An act by a delegated principal names the agent as the actor and the
// subject it acted for in the reason ("… [on behalf of token:tok_…]"), so
// the chain records both.
func NewEvent(now time.Time, p *Principal, action, subjectType, subjectID, identityID, reason string, before, after any) *Event {
	reason = DelegatedReason(p, reason)
	return &Event{Time: now, Actor: p.Actor, Action: action, SubjectType: subjectType, SubjectID: subjectID,
		IdentityID: identityID, Reason: reason, Before: Snapshot(before), After: Snapshot(after)}
}

// DelegatedReason is reason with the subject a delegated principal acts
// for appended; reason itself for any other principal.
func DelegatedReason(p *Principal, reason string) string {
	s := p.OnBehalfOf()
	if s == "" {
		return reason
	}
	mark := "[on behalf of " + s + "]"
	if strings.HasSuffix(reason, mark) {
		return reason
	}
	if reason == "" {
		return mark
	}
	return reason + " " + mark
}

// Snapshot marshals v for an event's before/after; nil stays empty.
func Snapshot(v any) json.RawMessage {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}
