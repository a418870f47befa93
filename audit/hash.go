// Package audit makes Steward's event chain tamper-evident and provable:
// it verifies the hash chain and locates the first bad entry, builds RFC
// 6962/9162 Merkle trees over it with inclusion proofs, signs tree heads
// (checkpoints) with Ed25519, exports the chain as JSONL, and streams it to
// sinks (file, syslog, webhook) that resume from their last acknowledged
// sequence number.
package audit

import (
	"crypto/sha256"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/canonjson"
)

// EntryHash returns the event's entry hash (steward.Event.ComputeHash).
func EntryHash(e *steward.Event) (string, error) { return canonjson.EntryHash(e) }

// entryHashInto writes the raw entry hash of e into sum.
func entryHashInto(e *steward.Event, sum *[sha256.Size]byte) error {
	return canonjson.EntryHashInto(e, sum)
}
