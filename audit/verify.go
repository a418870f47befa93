package audit

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"

	"github.com/steward-nhi/steward"
)

// ScanFunc streams the chain entries after seq `after` in ascending order,
// in batches.
type ScanFunc func(ctx context.Context, after int64, fn func([]*steward.Event) error) error

// StoreScan adapts an AuditStore to a ScanFunc.
func StoreScan(s steward.AuditStore, batch int) ScanFunc {
	return func(ctx context.Context, after int64, fn func([]*steward.Event) error) error {
		return s.ScanEvents(ctx, after, 0, batch, fn)
	}
}

// VerifyOptions are what verification checks the chain against.
type VerifyOptions struct {
	// Checkpoints to check (stored ones and exported ones, in any order).
	Checkpoints []*steward.Checkpoint
	// Keys verify the checkpoints' signatures, by key id.
	Keys map[string]ed25519.PublicKey
	// Workers hash entries in parallel (default: GOMAXPROCS).
	Workers int
	// Progress, if set, is called with the entries verified so far.
	Progress func(n int64)
}

// Verify re-computes the whole chain from scan and the tree heads of the
// checkpoints, and reports the first bad entry. An error means the chain
// could not be read, not that it is broken.
func Verify(ctx context.Context, scan ScanFunc, opts VerifyOptions) (*steward.VerifyReport, error) {
	v := newVerifier(opts)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type job struct {
		evs    []*steward.Event
		sums   []Hash
		leaves []Hash
		done   chan struct{}
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	work := make(chan *job, workers*2)
	ordered := make(chan *job, workers*2)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for j := range work {
				for i, e := range j.evs {
					if err := entryHashInto(e, &j.sums[i]); err != nil {
						j.sums[i] = Hash{} // unparseable payload: never equals a stored hash
					}
					j.leaves[i] = LeafHash(j.sums[i])
				}
				close(j.done)
			}
		})
	}
	scanErr := make(chan error, 1)
	go func() {
		defer close(ordered)
		defer close(work)
		scanErr <- scan(ctx, 0, func(evs []*steward.Event) error {
			// Split large batches so that every worker gets a share.
			for len(evs) > 0 {
				n := min(len(evs), 1024)
				j := &job{evs: evs[:n], sums: make([]Hash, n), leaves: make([]Hash, n), done: make(chan struct{})}
				evs = evs[n:]
				select {
				case ordered <- j:
				case <-ctx.Done():
					return ctx.Err()
				}
				select {
				case work <- j:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			return nil
		})
	}()
	for j := range ordered {
		<-j.done
		for i, e := range j.evs {
			if !v.feed(e, j.sums[i], j.leaves[i]) {
				cancel()
				break
			}
		}
		if v.stopped {
			break
		}
		if opts.Progress != nil {
			opts.Progress(v.rep.Entries)
		}
	}
	cancel()
	wg.Wait()
	if err := <-scanErr; err != nil && !v.stopped {
		return nil, err
	}
	return v.finish(), nil
}

// verifier consumes the chain in order.
type verifier struct {
	cps       []*steward.Checkpoint // ascending tree size
	cpNext    int
	lastGood  int64 // tree size of the last checkpoint that matched
	rep       steward.VerifyReport
	expect    int64
	prev      string // entry hash of seq expect-1
	prev2     string // entry hash of seq expect-2
	compact   Compact
	suspect   *steward.Event // first entry that failed, awaiting the next one
	suspectOK bool           // its own hash matched
	stopped   bool
}

func newVerifier(opts VerifyOptions) *verifier {
	v := &verifier{expect: 1, prev: steward.GenesisHash, rep: steward.VerifyReport{OK: true}}
	seen := map[int64]bool{}
	cps := slices.Clone(opts.Checkpoints)
	slices.SortFunc(cps, func(a, b *steward.Checkpoint) int { return int(a.TreeSize - b.TreeSize) })
	for _, c := range cps {
		if err := VerifyCheckpoint(c, opts.Keys); err != nil {
			v.fail(c.LastSeq, steward.TamperSignature, fmt.Sprintf("checkpoint of tree size %d: %v", c.TreeSize, err))
			continue
		}
		if seen[c.TreeSize] {
			continue
		}
		seen[c.TreeSize] = true
		v.cps = append(v.cps, c)
	}
	return v
}

// fail records a problem, keeping the one at the lowest sequence number.
func (v *verifier) fail(seq int64, kind, detail string) {
	if !v.rep.OK && v.rep.FirstBadSeq <= seq {
		return
	}
	v.rep.OK, v.rep.FirstBadSeq, v.rep.Kind, v.rep.Detail = false, seq, kind, detail
}

func hexEq(sum Hash, s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	var buf [2 * sha256.Size]byte
	hex.Encode(buf[:], sum[:])
	return string(buf[:]) == s
}

// hashAt is the entry hash e would have at another sequence number.
func hashAt(e *steward.Event, seq int64) string {
	c := *e
	c.Seq = seq
	h, err := EntryHash(&c)
	if err != nil {
		return ""
	}
	return h
}

// feed checks one entry; false once verification can stop.
func (v *verifier) feed(e *steward.Event, sum, leaf Hash) bool {
	if v.stopped {
		return false
	}
	if v.suspect != nil {
		v.classify(e)
		return false
	}
	x := v.expect
	switch {
	case e.Seq > x:
		if x == e.Seq-1 {
			v.fail(x, steward.TamperDeleted, fmt.Sprintf("entry %d is missing (the chain jumps from seq %d to %d)", x, x-1, e.Seq))
		} else {
			v.fail(x, steward.TamperDeleted, fmt.Sprintf("entries %d to %d are missing (the chain jumps from seq %d to %d)", x, e.Seq-1, x-1, e.Seq))
		}
		v.stopped = true
		return false
	case e.Seq < x:
		v.fail(e.Seq, steward.TamperInserted, fmt.Sprintf("a second entry with seq %d", e.Seq))
		v.stopped = true
		return false
	}
	selfOK := hexEq(sum, e.EntryHash)
	if !selfOK || e.PrevHash != v.prev {
		v.suspect, v.suspectOK = e, selfOK
		return true // look at the next entry before naming the kind
	}
	v.prev2, v.prev = v.prev, e.EntryHash
	v.expect++
	v.rep.Entries++
	v.rep.HeadSeq, v.rep.HeadHash = e.Seq, e.EntryHash
	v.compact.Append(leaf)
	v.checkCheckpoints(e)
	return !v.stopped
}

func (v *verifier) checkCheckpoints(e *steward.Event) {
	for v.cpNext < len(v.cps) && v.cps[v.cpNext].TreeSize <= v.compact.Size() {
		c := v.cps[v.cpNext]
		v.cpNext++
		if c.TreeSize < v.compact.Size() {
			continue // a checkpoint of size 0 or out of order
		}
		v.rep.Checkpoints++
		root := Hex(v.compact.Root())
		if root == c.RootHash && c.LastEntryHash == e.EntryHash && c.LastSeq == e.Seq {
			v.lastGood = c.TreeSize
			continue
		}
		v.fail(v.lastGood+1, steward.TamperRewritten, fmt.Sprintf(
			"the chain is internally consistent but does not match the signed checkpoint of tree size %d: entries %d to %d were rewritten (root %s, signed %s)",
			c.TreeSize, v.lastGood+1, c.TreeSize, root[:16], short(c.RootHash)))
		v.stopped = true
		return
	}
}

func short(s string) string { return s[:min(16, len(s))] }

// classify names the kind of tampering at the suspect entry, given the
// entry after it (nil at the end of the chain).
func (v *verifier) classify(next *steward.Event) {
	r := v.suspect
	x := r.Seq
	v.stopped = true
	nextWasPrevious := next != nil && next.Seq == x+1 && next.PrevHash == v.prev && hashAt(next, x) == next.EntryHash
	linkOK := r.PrevHash == v.prev
	switch {
	case linkOK && !v.suspectOK:
		if nextWasPrevious {
			v.fail(x, steward.TamperInserted, fmt.Sprintf("entry %d does not belong to the chain: the entry after it was entry %d before the chain was renumbered", x, x))
			return
		}
		v.fail(x, steward.TamperEdited, fmt.Sprintf("entry %d was changed: its contents do not hash to its entry hash", x))
	case hashAt(r, x+1) == r.EntryHash:
		if nextWasPrevious {
			v.fail(x, steward.TamperReordered, fmt.Sprintf("entries %d and %d were swapped", x, x+1))
			return
		}
		v.fail(x, steward.TamperDeleted, fmt.Sprintf("entry %d was deleted and the later entries renumbered (the entry now at seq %d was seq %d)", x, x, x+1))
	case x >= 2 && r.PrevHash == v.prev2 && hashAt(r, x-1) == r.EntryHash:
		v.fail(x-1, steward.TamperInserted, fmt.Sprintf("entry %d does not belong to the chain: it was inserted and the later entries renumbered", x-1))
	case v.suspectOK:
		if nextWasPrevious {
			v.fail(x, steward.TamperInserted, fmt.Sprintf("entry %d does not belong to the chain: the entry after it links to entry %d", x, x-1))
			return
		}
		if x == 1 {
			v.fail(x, steward.TamperEdited, "entry 1 does not start from the genesis hash")
			return
		}
		v.fail(x-1, steward.TamperEdited, fmt.Sprintf("entry %d was changed and its entry hash recomputed: entry %d no longer links to it", x-1, x))
	default:
		for d := int64(2); d <= 64; d++ {
			if hashAt(r, x+d) == r.EntryHash {
				v.fail(x, steward.TamperDeleted, fmt.Sprintf("entries %d to %d were deleted and the later entries renumbered", x, x+d-1))
				return
			}
		}
		v.fail(x, steward.TamperEdited, fmt.Sprintf("entry %d was changed: neither its hash nor its link to entry %d match", x, x-1))
	}
}

func (v *verifier) finish() *steward.VerifyReport {
	if v.suspect != nil && !v.stopped {
		v.classify(nil)
	}
	if !v.stopped {
		// Checkpoints beyond the head: the tail was cut off.
		for _, c := range v.cps[v.cpNext:] {
			if c.TreeSize > v.compact.Size() {
				v.fail(v.rep.HeadSeq+1, steward.TamperTruncated, fmt.Sprintf(
					"the chain ends at seq %d but a signed checkpoint covers %d entries (up to seq %d): entries %d to %d were removed",
					v.rep.HeadSeq, c.TreeSize, c.LastSeq, v.rep.HeadSeq+1, c.LastSeq))
				break
			}
		}
	}
	v.rep.RootHash = Hex(v.compact.Root())
	return &v.rep
}

// ErrBrokenChain is returned (wrapped) by callers that turn a failed report
// into an error.
var ErrBrokenChain = errors.New("audit chain broken")
