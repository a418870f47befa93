package audit

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/clock"
)

// Store is what the audit service reads and writes.
type Store interface {
	steward.AuditStore
	ListEvents(ctx context.Context, f steward.EventFilter) (*steward.Page[*steward.Event], error)
	LastEvent(ctx context.Context) (*steward.Event, error)
}

// Config configures NewService.
type Config struct {
	Store  Store
	Signer *Signer
	Clock  clock.Clock
	Logger *slog.Logger
	// TreeBase: the in-memory Merkle tree keeps subtrees of 2^TreeBase
	// leaves and up (default 4: 4 MB per million entries).
	TreeBase uint
	// OnCheckpoint is called with every new checkpoint (export it
	// somewhere the database administrator cannot write).
	OnCheckpoint func(c *steward.Checkpoint)
	// External returns the newest checkpoint kept outside the database
	// (nil when there is none yet); verification checks it too.
	External func() (*steward.Checkpoint, error)
}

// Service serves the audit chain: listing, verification, checkpoints,
// proofs. Every method checks the caller's role.
type Service struct {
	store  Store
	signer *Signer
	clock  clock.Clock
	log    *slog.Logger
	onCP   func(c *steward.Checkpoint)
	ext    func() (*steward.Checkpoint, error)
	broken atomic.Pointer[steward.VerifyReport] // set when the chain fails verification

	mu       sync.Mutex // guards tree, headHash, and checkpointing
	tree     *Tree
	headHash string
}

// NewService returns a Service.
func NewService(c Config) *Service {
	if c.Clock == nil {
		c.Clock = clock.System{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.TreeBase == 0 {
		c.TreeBase = 4
	}
	s := &Service{store: c.Store, signer: c.Signer, clock: c.Clock, log: c.Logger, onCP: c.OnCheckpoint, ext: c.External, headHash: steward.GenesisHash}
	s.tree = NewTree(c.TreeBase, s.fetchLeaves)
	return s
}

func (s *Service) fetchLeaves(from, to int64) ([]Hash, error) {
	hs, err := s.store.EntryHashes(context.Background(), from+1, to)
	if err != nil {
		return nil, err
	}
	out := make([]Hash, len(hs))
	for i, h := range hs {
		eh, err := ParseHash(h)
		if err != nil {
			return nil, fmt.Errorf("entry %d: %w", from+1+int64(i), err)
		}
		out[i] = LeafHash(eh)
	}
	return out, nil
}

func require(ctx context.Context, roles ...steward.Role) error {
	p := steward.PrincipalFrom(ctx)
	if p == nil {
		return steward.Errorf(steward.EUNAUTHORIZED, "authentication required")
	}
	for _, r := range roles {
		if p.Role == r {
			return nil
		}
	}
	if len(roles) == 0 && p.Role != "" {
		return nil
	}
	return steward.Errorf(steward.EFORBIDDEN, "role %s may not do this", p.Role)
}

// ListAudit lists chain entries (admin, auditor).
func (s *Service) ListAudit(ctx context.Context, f steward.EventFilter) (*steward.Page[*steward.Event], error) {
	if err := require(ctx, steward.RoleAdmin, steward.RoleAuditor); err != nil {
		return nil, err
	}
	return s.store.ListEvents(ctx, f)
}

// VerifyChain verifies the whole chain against the stored checkpoints
// (admin, auditor).
func (s *Service) VerifyChain(ctx context.Context) (*steward.VerifyReport, error) {
	if err := require(ctx, steward.RoleAdmin, steward.RoleAuditor); err != nil {
		return nil, err
	}
	return s.verify(ctx)
}

// verify checks the chain against its stored checkpoints and the external
// one, and remembers a failure (Healthy).
func (s *Service) verify(ctx context.Context) (*steward.VerifyReport, error) {
	var extra []*steward.Checkpoint
	if s.ext != nil {
		c, err := s.ext()
		if err != nil {
			return nil, err
		}
		if c != nil {
			extra = append(extra, c)
		}
	}
	rep, err := VerifyStore(ctx, s.store, extra, nil)
	if err != nil {
		return nil, err
	}
	rep.External = len(extra) > 0
	if rep.OK {
		s.broken.Store(nil)
	} else {
		s.broken.Store(rep)
	}
	return rep, nil
}

// VerifyAtStart verifies the whole chain, with the external checkpoint,
// as the server starts (no caller role: Steward itself asks).
func (s *Service) VerifyAtStart(ctx context.Context) (*steward.VerifyReport, error) {
	return s.verify(ctx)
}

// Healthy is an error while the last verification found the chain broken.
func (s *Service) Healthy() error {
	if rep := s.broken.Load(); rep != nil {
		return steward.Errorf(steward.EINTERNAL, "%s", rep.Summary())
	}
	return nil
}

// VerifyStore verifies a store's chain against its own checkpoints and
// keys plus any extra checkpoints and pinned keys.
func VerifyStore(ctx context.Context, st steward.AuditStore, extra []*steward.Checkpoint, pinned map[string]ed25519.PublicKey) (*steward.VerifyReport, error) {
	cps, err := st.ListCheckpoints(ctx, 0)
	if err != nil {
		return nil, err
	}
	keys := pinned
	if keys == nil {
		if keys, err = StoredKeys(ctx, st); err != nil {
			return nil, err
		}
	}
	return Verify(ctx, StoreScan(st, 8192), VerifyOptions{Checkpoints: append(cps, extra...), Keys: keys})
}

// ListCheckpoints returns checkpoints newest first (admin, auditor).
func (s *Service) ListCheckpoints(ctx context.Context, limit int) ([]*steward.Checkpoint, error) {
	if err := require(ctx, steward.RoleAdmin, steward.RoleAuditor); err != nil {
		return nil, err
	}
	return s.store.ListCheckpoints(ctx, limit)
}

// CreateCheckpoint signs a tree head over the chain now (admin).
func (s *Service) CreateCheckpoint(ctx context.Context) (*steward.Checkpoint, error) {
	if err := require(ctx, steward.RoleAdmin); err != nil {
		return nil, err
	}
	return s.Checkpoint(ctx)
}

var errNoSigner = steward.Errorf(steward.ENOTIMPLEMENTED, "checkpoint signing is disabled: the server has no master key (STEWARD_MASTER_KEY or STEWARD_MASTER_KEY_FILE)")

// PublicKey returns the checkpoint signing key (any role).
func (s *Service) PublicKey(ctx context.Context) (*steward.AuditPublicKey, error) {
	if err := require(ctx); err != nil {
		return nil, err
	}
	if s.signer == nil {
		return nil, errNoSigner
	}
	return s.signer.PublicKey(), nil
}

// sync extends the in-memory tree with the entries appended since, checking
// that each links to the one before and hashes to its entry hash: a
// checkpoint never signs a broken chain.
func (s *Service) sync(ctx context.Context) error {
	return s.store.ScanEvents(ctx, s.tree.Size(), 0, 4096, func(evs []*steward.Event) error {
		for _, e := range evs {
			if e.Seq != s.tree.Size()+1 || e.PrevHash != s.headHash {
				return steward.Errorf(steward.ECONFLICT, "audit chain broken at seq %d; run steward audit verify", s.tree.Size()+1)
			}
			var sum Hash
			if err := entryHashInto(e, &sum); err != nil || !hexEq(sum, e.EntryHash) {
				return steward.Errorf(steward.ECONFLICT, "audit chain broken at seq %d (entry hash); run steward audit verify", e.Seq)
			}
			s.tree.Append(LeafHash(sum))
			s.headHash = e.EntryHash
		}
		return nil
	})
}

// Checkpoint signs and stores a tree head over the whole chain, unless
// the newest checkpoint already covers it (then it returns that one).
func (s *Service) Checkpoint(ctx context.Context) (*steward.Checkpoint, error) {
	if s.signer == nil {
		return nil, errNoSigner
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.sync(ctx); err != nil {
		return nil, err
	}
	size := s.tree.Size()
	if size == 0 {
		return nil, steward.Errorf(steward.ECONFLICT, "the audit chain is empty; nothing to checkpoint")
	}
	if latest, err := s.store.ListCheckpoints(ctx, 1); err != nil {
		return nil, err
	} else if len(latest) == 1 && latest[0].TreeSize == size {
		return latest[0], nil
	}
	root, err := s.tree.Root(size)
	if err != nil {
		return nil, err
	}
	c := &steward.Checkpoint{TreeSize: size, RootHash: Hex(root), LastSeq: size, LastEntryHash: s.headHash, Time: s.clock.Now().UTC().Truncate(time.Microsecond)}
	s.signer.Sign(c)
	if err := s.store.SaveCheckpoint(ctx, c); err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "audit checkpoint", "tree_size", c.TreeSize, "root_hash", c.RootHash, "key_id", c.KeyID)
	if s.onCP != nil {
		s.onCP(c)
	}
	return c, nil
}

// Proof returns the inclusion proof of entry seq in the checkpoint of
// treeSize entries (0: the newest checkpoint) (admin, auditor).
func (s *Service) Proof(ctx context.Context, seq, treeSize int64) (*steward.InclusionProof, error) {
	if err := require(ctx, steward.RoleAdmin, steward.RoleAuditor); err != nil {
		return nil, err
	}
	if seq < 1 {
		return nil, steward.FieldError("seq", "must be a positive sequence number")
	}
	var cp *steward.Checkpoint
	if treeSize > 0 {
		c, err := s.store.CheckpointCovering(ctx, treeSize)
		if err != nil {
			return nil, err
		}
		if c == nil || c.TreeSize != treeSize {
			return nil, steward.Errorf(steward.ENOTFOUND, "no checkpoint of tree size %d", treeSize)
		}
		cp = c
	} else {
		cs, err := s.store.ListCheckpoints(ctx, 1)
		if err != nil {
			return nil, err
		}
		if len(cs) == 0 {
			return nil, steward.Errorf(steward.ECONFLICT, "no checkpoint yet; make one (steward audit checkpoint) before asking for a proof")
		}
		cp = cs[0]
	}
	if seq > cp.TreeSize {
		return nil, steward.Errorf(steward.ECONFLICT, "entry %d is newer than the checkpoint of %d entries; make a checkpoint first", seq, cp.TreeSize)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tree.Size() < cp.TreeSize {
		if err := s.sync(ctx); err != nil {
			return nil, err
		}
	}
	return BuildProof(ctx, s.tree, s.store, seq, cp)
}

// BuildProof makes the inclusion proof of entry seq in checkpoint cp from
// a tree holding at least cp.TreeSize leaves, and checks it against the
// signed root before returning it.
func BuildProof(ctx context.Context, t *Tree, st steward.AuditStore, seq int64, cp *steward.Checkpoint) (*steward.InclusionProof, error) {
	if t.Size() < cp.TreeSize {
		return nil, steward.Errorf(steward.ECONFLICT, "the chain holds %d entries, fewer than the checkpoint's %d: it was truncated", t.Size(), cp.TreeSize)
	}
	path, err := t.InclusionProof(seq-1, cp.TreeSize)
	if err != nil {
		return nil, err
	}
	leaf, err := t.Leaf(seq - 1)
	if err != nil {
		return nil, err
	}
	var entry *steward.Event
	if err := st.ScanEvents(ctx, seq-1, seq, 1, func(evs []*steward.Event) error { entry = evs[0]; return nil }); err != nil {
		return nil, err
	}
	if entry == nil {
		return nil, steward.Errorf(steward.ENOTFOUND, "entry %d not found", seq)
	}
	p := &steward.InclusionProof{Seq: seq, LeafIndex: seq - 1, TreeSize: cp.TreeSize, EntryHash: entry.EntryHash, LeafHash: Hex(leaf), Checkpoint: cp, Entry: entry}
	for _, h := range path {
		p.AuditPath = append(p.AuditPath, Hex(h))
	}
	root, err := ParseHash(cp.RootHash)
	if err != nil {
		return nil, err
	}
	if err := VerifyInclusion(p.LeafIndex, p.TreeSize, leaf, path, root); err != nil {
		return nil, steward.Errorf(steward.ECONFLICT, "the chain no longer matches the checkpoint of %d entries (%v); run steward audit verify", cp.TreeSize, err)
	}
	return p, nil
}

// VerifyProof checks an inclusion proof offline: the checkpoint's
// signature with keys, the entry's hash (when the entry is included), and
// the audit path up to the signed root.
func VerifyProof(p *steward.InclusionProof, keys map[string]ed25519.PublicKey) error {
	if p.Checkpoint == nil {
		return fmt.Errorf("proof has no checkpoint")
	}
	if err := VerifyCheckpoint(p.Checkpoint, keys); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if p.TreeSize != p.Checkpoint.TreeSize || p.LeafIndex != p.Seq-1 {
		return fmt.Errorf("proof's tree size %d or leaf index %d does not match seq %d in the checkpoint of %d entries", p.TreeSize, p.LeafIndex, p.Seq, p.Checkpoint.TreeSize)
	}
	if p.Entry != nil {
		if p.Entry.Seq != p.Seq {
			return fmt.Errorf("entry has seq %d, proof is for %d", p.Entry.Seq, p.Seq)
		}
		h, err := EntryHash(p.Entry)
		if err != nil || h != p.EntryHash {
			return fmt.Errorf("entry %d does not hash to the proof's entry hash", p.Seq)
		}
	}
	eh, err := ParseHash(p.EntryHash)
	if err != nil {
		return err
	}
	leaf := LeafHash(eh)
	path := make([]Hash, len(p.AuditPath))
	for i, s := range p.AuditPath {
		if path[i], err = ParseHash(s); err != nil {
			return fmt.Errorf("audit path: %w", err)
		}
	}
	root, err := ParseHash(p.Checkpoint.RootHash)
	if err != nil {
		return err
	}
	return VerifyInclusion(p.LeafIndex, p.TreeSize, leaf, path, root)
}

// BuildTree reads a store's chain into a tree with every level in memory
// (offline tools).
func BuildTree(ctx context.Context, st steward.AuditStore) (*Tree, error) {
	t := NewTree(0, nil)
	err := st.ScanEvents(ctx, 0, 0, 8192, func(evs []*steward.Event) error {
		for _, e := range evs {
			h, err := ParseHash(e.EntryHash)
			if err != nil {
				return fmt.Errorf("entry %d: %w", e.Seq, err)
			}
			t.Append(LeafHash(h))
		}
		return nil
	})
	return t, err
}

// RunCheckpoints makes a checkpoint whenever every entries were appended
// since the last one or interval passed with new entries, until ctx ends.
func (s *Service) RunCheckpoints(ctx context.Context, every int64, interval time.Duration) {
	poll := min(interval, time.Second)
	if poll <= 0 {
		poll = time.Second
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	last := s.clock.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		head, err := s.store.LastEvent(ctx)
		if err != nil || head == nil {
			continue
		}
		cs, err := s.store.ListCheckpoints(ctx, 1)
		if err != nil {
			continue
		}
		var covered int64
		if len(cs) == 1 {
			covered = cs[0].TreeSize
		}
		due := (every > 0 && head.Seq-covered >= every) || (interval > 0 && s.clock.Now().Sub(last) >= interval && head.Seq > covered)
		if !due {
			continue
		}
		if _, err := s.Checkpoint(ctx); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "audit checkpoint failed", "err", err)
		}
		last = s.clock.Now()
	}
}
