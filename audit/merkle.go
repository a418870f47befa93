package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/bits"
)

// Hash is a SHA-256 digest.
type Hash = [sha256.Size]byte

// LeafHash is the RFC 6962 leaf hash of a chain entry: SHA-256(0x00 ||
// entry hash bytes).
func LeafHash(entryHash Hash) Hash {
	var b [1 + sha256.Size]byte
	copy(b[1:], entryHash[:])
	return sha256.Sum256(b[:])
}

// NodeHash is the RFC 6962 interior node hash: SHA-256(0x01 || l || r).
func NodeHash(l, r Hash) Hash {
	var b [1 + 2*sha256.Size]byte
	b[0] = 1
	copy(b[1:], l[:])
	copy(b[1+sha256.Size:], r[:])
	return sha256.Sum256(b[:])
}

// EmptyRoot is the root of the empty tree: SHA-256 of nothing.
var EmptyRoot = sha256.Sum256(nil)

// ParseHash decodes a hex SHA-256 digest.
func ParseHash(s string) (Hash, error) {
	var h Hash
	if len(s) != 2*sha256.Size {
		return h, fmt.Errorf("hash %q is not 64 hex characters", s)
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, fmt.Errorf("hash %q is not hex", s)
	}
	return h, nil
}

// Hex encodes a digest.
func Hex(h Hash) string { return hex.EncodeToString(h[:]) }

// RootOf returns the RFC 6962 Merkle tree hash of the leaf hashes.
func RootOf(leaves []Hash) Hash {
	switch len(leaves) {
	case 0:
		return EmptyRoot
	case 1:
		return leaves[0]
	}
	k := splitPoint(int64(len(leaves)))
	return NodeHash(RootOf(leaves[:k]), RootOf(leaves[k:]))
}

// splitPoint is the largest power of two smaller than n (n >= 2).
func splitPoint(n int64) int64 { return 1 << (bits.Len64(uint64(n-1)) - 1) }

// Compact is a compact Merkle range over the leaves appended so far: the
// roots of the perfect subtrees left to right (at most log2 n of them).
// It gives the tree head of every prefix in O(log n) while streaming.
type Compact struct {
	size  int64
	nodes []Hash
}

// Size is the number of leaves appended.
func (c *Compact) Size() int64 { return c.size }

// Append adds a leaf hash.
func (c *Compact) Append(leaf Hash) {
	c.nodes = append(c.nodes, leaf)
	// Merge the subtrees that the new leaf completed: one per trailing 1
	// bit of the old size.
	for s := c.size; s&1 == 1; s >>= 1 {
		n := len(c.nodes)
		c.nodes[n-2] = NodeHash(c.nodes[n-2], c.nodes[n-1])
		c.nodes = c.nodes[:n-1]
	}
	c.size++
}

// Root is the Merkle tree hash of the leaves appended so far.
func (c *Compact) Root() Hash {
	if len(c.nodes) == 0 {
		return EmptyRoot
	}
	r := c.nodes[len(c.nodes)-1]
	for i := len(c.nodes) - 2; i >= 0; i-- {
		r = NodeHash(c.nodes[i], r)
	}
	return r
}

// VerifyInclusion checks an RFC 9162 (section 2.1.3.2) inclusion proof of
// the leaf at index in a tree of size whose root is root.
func VerifyInclusion(index, size int64, leaf Hash, path []Hash, root Hash) error {
	if index < 0 || index >= size {
		return fmt.Errorf("leaf index %d is outside a tree of %d leaves", index, size)
	}
	fn, sn := index, size-1
	r := leaf
	for _, p := range path {
		if sn == 0 {
			return errors.New("inclusion proof is longer than the tree is deep")
		}
		if fn&1 == 1 || fn == sn {
			r = NodeHash(p, r)
			for fn&1 == 0 && fn != 0 {
				fn >>= 1
				sn >>= 1
			}
		} else {
			r = NodeHash(r, p)
		}
		fn >>= 1
		sn >>= 1
	}
	if sn != 0 {
		return errors.New("inclusion proof is shorter than the tree is deep")
	}
	if r != root {
		return errors.New("inclusion proof does not lead to the signed root hash")
	}
	return nil
}

// Tree holds the Merkle tree of the chain for proofs. It keeps in memory
// the roots of the perfect subtrees of 2^Base leaves and above; smaller
// subtrees are recomputed from at most 2^Base leaf hashes that it asks
// Fetch for (or from the leaves of the last, incomplete block).
type Tree struct {
	base    uint
	levels  [][]Hash // levels[j][i]: root of leaves [i<<(base+j), (i+1)<<(base+j))
	pending []Hash   // leaves of the incomplete last block
	size    int64
	fetch   func(from, to int64) ([]Hash, error)
}

// NewTree returns an empty tree caching subtrees of 2^base leaves and
// above; fetch returns the leaf hashes of [from, to) for the rest (with
// base 0 it is never called).
func NewTree(base uint, fetch func(from, to int64) ([]Hash, error)) *Tree {
	return &Tree{base: base, fetch: fetch}
}

// Size is the number of leaves.
func (t *Tree) Size() int64 { return t.size }

// Append adds a leaf hash.
func (t *Tree) Append(leaf Hash) {
	t.pending = append(t.pending, leaf)
	t.size++
	if len(t.pending) < 1<<t.base {
		return
	}
	h := RootOf(t.pending)
	t.pending = t.pending[:0]
	for j := 0; ; j++ {
		if j == len(t.levels) {
			t.levels = append(t.levels, nil)
		}
		t.levels[j] = append(t.levels[j], h)
		n := len(t.levels[j])
		if n&1 == 1 {
			return
		}
		h = NodeHash(t.levels[j][n-2], t.levels[j][n-1])
	}
}

// leaves returns the leaf hashes [from, to).
func (t *Tree) leaves(from, to int64) ([]Hash, error) {
	pendingStart := t.size - int64(len(t.pending))
	var out []Hash
	if from < pendingStart {
		if t.fetch == nil {
			return nil, errors.New("merkle tree: no leaf source")
		}
		got, err := t.fetch(from, min(to, pendingStart))
		if err != nil {
			return nil, err
		}
		if int64(len(got)) != min(to, pendingStart)-from {
			return nil, fmt.Errorf("merkle tree: expected %d leaves from %d, got %d", min(to, pendingStart)-from, from, len(got))
		}
		out = got
	}
	if to > pendingStart {
		out = append(out, t.pending[max(from, pendingStart)-pendingStart:to-pendingStart]...)
	}
	return out, nil
}

// perfect returns the root of the perfect subtree of 2^level leaves at
// index i (leaves [i<<level, (i+1)<<level)).
func (t *Tree) perfect(level uint, i int64) (Hash, error) {
	if level >= t.base {
		j := level - t.base
		if int(j) < len(t.levels) && i < int64(len(t.levels[j])) {
			return t.levels[j][i], nil
		}
	}
	ls, err := t.leaves(i<<level, (i+1)<<level)
	if err != nil {
		return Hash{}, err
	}
	return RootOf(ls), nil
}

// rangeHash is the Merkle tree hash of leaves [from, to) where from is a
// multiple of the smallest power of two >= to-from (as in every subtree
// that RFC 6962's recursion visits): the right fold of its perfect parts.
func (t *Tree) rangeHash(from, to int64) (Hash, error) {
	var parts []Hash
	for from < to {
		level := uint(bits.Len64(uint64(to-from))) - 1
		if from != 0 {
			level = min(level, uint(bits.TrailingZeros64(uint64(from))))
		}
		h, err := t.perfect(level, from>>level)
		if err != nil {
			return Hash{}, err
		}
		parts = append(parts, h)
		from += 1 << level
	}
	if len(parts) == 0 {
		return EmptyRoot, nil
	}
	r := parts[len(parts)-1]
	for i := len(parts) - 2; i >= 0; i-- {
		r = NodeHash(parts[i], r)
	}
	return r, nil
}

// Root returns the tree hash of the first size leaves.
func (t *Tree) Root(size int64) (Hash, error) {
	if size < 0 || size > t.size {
		return Hash{}, fmt.Errorf("merkle tree has %d leaves, not %d", t.size, size)
	}
	return t.rangeHash(0, size)
}

// Leaf returns the leaf hash at index.
func (t *Tree) Leaf(index int64) (Hash, error) {
	if index < 0 || index >= t.size {
		return Hash{}, fmt.Errorf("merkle tree has no leaf %d", index)
	}
	return t.perfect(0, index)
}

// InclusionProof returns the RFC 6962 audit path of leaf index in the tree
// of the first size leaves, leaf side first.
func (t *Tree) InclusionProof(index, size int64) ([]Hash, error) {
	if size > t.size || index < 0 || index >= size {
		return nil, fmt.Errorf("no leaf %d in a tree of %d leaves (holding %d)", index, size, t.size)
	}
	var path []Hash
	// Walk down from the root, collecting siblings, then reverse.
	from, to := int64(0), size
	for to-from > 1 {
		k := splitPoint(to - from)
		var sib Hash
		var err error
		if index < from+k {
			sib, err = t.rangeHash(from+k, to)
			to = from + k
		} else {
			sib, err = t.rangeHash(from, from+k)
			from += k
		}
		if err != nil {
			return nil, err
		}
		path = append(path, sib)
	}
	for i, j := 0, len(path)-1; i < j; i, j = i+1, j-1 {
		path[i], path[j] = path[j], path[i]
	}
	return path, nil
}
