package steward

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// Checkpoint is a signed tree head over the audit chain, like a Certificate
// Transparency STH: the RFC 6962 Merkle root of the first TreeSize entries
// (leaf i is the entry with seq i+1), the last entry it covers, when it was
// made, and an Ed25519 signature over SignedBody by the key KeyID.
type Checkpoint struct {
	TreeSize      int64     `json:"tree_size"`
	RootHash      string    `json:"root_hash"`
	LastSeq       int64     `json:"last_seq"`
	LastEntryHash string    `json:"last_entry_hash"`
	Time          time.Time `json:"time"`
	KeyID         string    `json:"key_id"`
	Signature     string    `json:"signature"`
}

// CheckpointOrigin is the first line of every signed checkpoint body.
const CheckpointOrigin = "steward.audit.checkpoint/v1"

// SignedBody returns the bytes the checkpoint's signature covers: one field
// per line, in a fixed order, ending with a newline.
func (c *Checkpoint) SignedBody() []byte {
	var b strings.Builder
	for _, s := range []string{
		CheckpointOrigin,
		strconv.FormatInt(c.TreeSize, 10),
		c.RootHash,
		strconv.FormatInt(c.LastSeq, 10),
		c.LastEntryHash,
		c.Time.UTC().Format(time.RFC3339Nano),
		c.KeyID,
	} {
		b.WriteString(s)
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

// AuditKey is a checkpoint signing key. The private key is stored only
// sealed (internal/secretbox) under the master key, which never enters the
// database.
type AuditKey struct {
	ID            string    `json:"key_id"`
	Algorithm     string    `json:"algorithm"`
	PublicKey     []byte    `json:"public_key"`
	SealedPrivate string    `json:"-"`
	CreatedAt     time.Time `json:"created_at"`
}

// AuditPublicKey is the exportable half of a checkpoint signing key.
type AuditPublicKey struct {
	KeyID     string    `json:"key_id"`
	Algorithm string    `json:"algorithm"`
	PublicKey string    `json:"public_key"` // base64 of the 32-byte key
	PEM       string    `json:"pem"`        // PKIX "PUBLIC KEY" block
	CreatedAt time.Time `json:"created_at"`
}

// InclusionProof shows that one chain entry is leaf LeafIndex of the tree
// whose signed head is Checkpoint (RFC 9162 section 2.1.3).
type InclusionProof struct {
	Seq        int64       `json:"seq"`
	LeafIndex  int64       `json:"leaf_index"`
	TreeSize   int64       `json:"tree_size"`
	EntryHash  string      `json:"entry_hash"`
	LeafHash   string      `json:"leaf_hash"`
	AuditPath  []string    `json:"audit_path"`
	Checkpoint *Checkpoint `json:"checkpoint"`
	Entry      *Event      `json:"entry,omitempty"`
}

// Kinds of tampering that verification reports.
const (
	TamperEdited    = "edited"
	TamperDeleted   = "deleted"
	TamperInserted  = "inserted"
	TamperReordered = "reordered"
	TamperTruncated = "truncated"
	TamperRewritten = "rewritten"  // internally consistent, but a signed checkpoint disagrees
	TamperSignature = "checkpoint" // a checkpoint's signature does not verify
)

// VerifyReport is the result of verifying the chain.
type VerifyReport struct {
	OK          bool   `json:"ok"`
	Entries     int64  `json:"entries"`
	HeadSeq     int64  `json:"head_seq"`
	HeadHash    string `json:"head_hash"`
	RootHash    string `json:"root_hash"`
	Checkpoints int    `json:"checkpoints_checked"`
	// External says a checkpoint kept outside the database was checked;
	// without one, a truncated tail whose checkpoints were deleted too
	// cannot be told from a shorter chain.
	External bool `json:"external_checkpoint"`
	// The first problem, when not OK.
	FirstBadSeq int64  `json:"first_bad_seq,omitempty"`
	Kind        string `json:"kind,omitempty"`
	Detail      string `json:"detail,omitempty"`
}

// Summary is the report as one line.
func (r *VerifyReport) Summary() string {
	if r.OK {
		s := "audit chain intact: " + strconv.FormatInt(r.Entries, 10) + " entries, head seq " + strconv.FormatInt(r.HeadSeq, 10) +
			", " + strconv.Itoa(r.Checkpoints) + " checkpoints verified"
		if !r.External {
			s += "; NO EXTERNAL CHECKPOINT was checked, so a truncated tail (with the checkpoints that covered it deleted) " +
				"cannot be detected from the database alone: pass --checkpoint FILE (a checkpoint kept outside the database)"
		}
		return s
	}
	return "audit chain broken at seq " + strconv.FormatInt(r.FirstBadSeq, 10) + ": " + r.Kind + " entry: " + r.Detail
}

// AuditStore is the persistence the audit capability needs beyond Store.
type AuditStore interface {
	// ScanEvents calls fn with the chain entries whose seq is in
	// (after, through] (through <= 0: up to the head) in ascending order,
	// read in batches of at most batch entries.
	ScanEvents(ctx context.Context, after, through int64, batch int, fn func([]*Event) error) error
	// EntryHashes returns the entry hashes of seq from..to inclusive, in order.
	EntryHashes(ctx context.Context, from, to int64) ([]string, error)

	// SaveCheckpoint stores a checkpoint; one with the same tree size is
	// kept as it was.
	SaveCheckpoint(ctx context.Context, c *Checkpoint) error
	// ListCheckpoints returns checkpoints newest first (limit <= 0: all).
	ListCheckpoints(ctx context.Context, limit int) ([]*Checkpoint, error)
	// CheckpointCovering returns the oldest checkpoint with TreeSize >=
	// size, or nil when none does.
	CheckpointCovering(ctx context.Context, size int64) (*Checkpoint, error)

	// CreateAuditKey stores a new signing key.
	CreateAuditKey(ctx context.Context, k *AuditKey) error
	// ListAuditKeys returns the signing keys, oldest first.
	ListAuditKeys(ctx context.Context) ([]*AuditKey, error)

	// SinkCursor returns the last sequence number a sink acknowledged (0
	// when it never did).
	SinkCursor(ctx context.Context, sink string) (int64, error)
	// SetSinkCursor records a sink's last acknowledged sequence number.
	SetSinkCursor(ctx context.Context, sink string, seq int64) error
}
