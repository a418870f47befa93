package audit

import (
	"crypto/sha256"
	"fmt"
	"testing"
)

// leafOf is the RFC 6962 leaf hash of arbitrary data (the CT test vectors).
func leafOf(data []byte) Hash { return sha256.Sum256(append([]byte{0}, data...)) }

var (
	ctInputs = [][]byte{{}, {0x00}, {0x10}, {0x20, 0x21}, {0x30, 0x31}, {0x40, 0x41, 0x42, 0x43},
		{0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57},
		{0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f}}
	// Roots of the first n of ctInputs, from the Certificate Transparency
	// reference test vectors.
	ctRoots = map[int]string{
		1: "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
		2: "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
		3: "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
		4: "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
		5: "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
		7: "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
		8: "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
	}
)

func ctLeaves(n int) []Hash {
	out := make([]Hash, n)
	for i := range out {
		out[i] = leafOf(ctInputs[i])
	}
	return out
}

// handRoots spells out each tree shape of RFC 6962 section 2.1.
func handRoot(l []Hash) Hash {
	N := NodeHash
	switch len(l) {
	case 1:
		return l[0]
	case 2:
		return N(l[0], l[1])
	case 3:
		return N(N(l[0], l[1]), l[2])
	case 4:
		return N(N(l[0], l[1]), N(l[2], l[3]))
	case 5:
		return N(N(N(l[0], l[1]), N(l[2], l[3])), l[4])
	case 7:
		return N(N(N(l[0], l[1]), N(l[2], l[3])), N(N(l[4], l[5]), l[6]))
	case 8:
		return N(N(N(l[0], l[1]), N(l[2], l[3])), N(N(l[4], l[5]), N(l[6], l[7])))
	}
	panic("no hand-written shape")
}

func TestRootsMatchHandBuiltTreesAndCTVectors(t *testing.T) {
	for _, n := range []int{1, 2, 3, 4, 5, 7, 8} {
		t.Run(fmt.Sprintf("%d leaves", n), func(t *testing.T) {
			l := ctLeaves(n)
			want := handRoot(l)
			if got := RootOf(l); got != want {
				t.Fatalf("RootOf = %x, hand-built %x", got, want)
			}
			if Hex(want) != ctRoots[n] {
				t.Fatalf("root = %x, CT vector %s", want, ctRoots[n])
			}
			var c Compact
			for _, h := range l {
				c.Append(h)
			}
			if c.Root() != want {
				t.Fatalf("Compact root = %x", c.Root())
			}
			for _, base := range []uint{0, 1, 2, 3} {
				tr := NewTree(base, func(from, to int64) ([]Hash, error) { return l[from:to], nil })
				for _, h := range l {
					tr.Append(h)
				}
				if r, err := tr.Root(int64(n)); err != nil || r != want {
					t.Fatalf("base %d: Tree root = %x, %v", base, r, err)
				}
			}
		})
	}
}

func TestInclusionProofsByHand(t *testing.T) {
	l := ctLeaves(8)
	N := NodeHash
	tests := []struct {
		index, size int64
		want        []Hash
	}{
		{0, 1, nil},
		{0, 2, []Hash{l[1]}},
		{1, 2, []Hash{l[0]}},
		{2, 3, []Hash{N(l[0], l[1])}},
		{0, 3, []Hash{l[1], l[2]}},
		{3, 4, []Hash{l[2], N(l[0], l[1])}},
		{4, 5, []Hash{N(N(l[0], l[1]), N(l[2], l[3]))}},
		{1, 5, []Hash{l[0], N(l[2], l[3]), l[4]}},
		{6, 7, []Hash{N(l[4], l[5]), N(N(l[0], l[1]), N(l[2], l[3]))}},
		{4, 7, []Hash{l[5], l[6], N(N(l[0], l[1]), N(l[2], l[3]))}},
		{2, 7, []Hash{l[3], N(l[0], l[1]), N(N(l[4], l[5]), l[6])}},
		{5, 8, []Hash{l[4], N(l[6], l[7]), N(N(l[0], l[1]), N(l[2], l[3]))}},
		{7, 8, []Hash{l[6], N(l[4], l[5]), N(N(l[0], l[1]), N(l[2], l[3]))}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("leaf %d of %d", tc.index, tc.size), func(t *testing.T) {
			for _, base := range []uint{0, 2} {
				tr := NewTree(base, func(from, to int64) ([]Hash, error) { return l[from:to], nil })
				for _, h := range l {
					tr.Append(h)
				}
				got, err := tr.InclusionProof(tc.index, tc.size)
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(got) != fmt.Sprint(tc.want) {
					t.Fatalf("base %d: path = %x, want %x", base, got, tc.want)
				}
			}
			root := RootOf(l[:tc.size])
			if err := VerifyInclusion(tc.index, tc.size, l[tc.index], tc.want, root); err != nil {
				t.Fatalf("verify: %v", err)
			}
		})
	}
}

func TestEveryProofVerifiesUpTo70Leaves(t *testing.T) {
	var l []Hash
	for i := range 70 {
		l = append(l, leafOf([]byte{byte(i)}))
	}
	tr := NewTree(3, func(from, to int64) ([]Hash, error) { return l[from:to], nil })
	for _, h := range l {
		tr.Append(h)
	}
	for size := int64(1); size <= 70; size++ {
		root := RootOf(l[:size])
		if r, _ := tr.Root(size); r != root {
			t.Fatalf("root of %d differs", size)
		}
		for i := int64(0); i < size; i++ {
			p, err := tr.InclusionProof(i, size)
			if err != nil {
				t.Fatal(err)
			}
			if err := VerifyInclusion(i, size, l[i], p, root); err != nil {
				t.Fatalf("leaf %d of %d: %v", i, size, err)
			}
		}
	}
}

func TestInclusionProofFailures(t *testing.T) {
	l := ctLeaves(7)
	root := RootOf(l)
	good := []Hash{l[5], l[6], NodeHash(NodeHash(l[0], l[1]), NodeHash(l[2], l[3]))}
	if err := VerifyInclusion(4, 7, l[4], good, root); err != nil {
		t.Fatal(err)
	}
	flipped := append([]Hash(nil), good...)
	flipped[1][0] ^= 1
	tests := []struct {
		name        string
		index, size int64
		leaf        Hash
		path        []Hash
		root        Hash
	}{
		{"another leaf", 4, 7, l[3], good, root},
		{"another index", 5, 7, l[4], good, root},
		{"another size (and its root)", 4, 8, l[4], good, RootOf(ctLeaves(8))},
		{"a changed path hash", 4, 7, l[4], flipped, root},
		{"a path too short", 4, 7, l[4], good[:2], root},
		{"a path too long", 4, 7, l[4], append(good, l[0]), root},
		{"another root", 4, 7, l[4], good, RootOf(l[:6])},
		{"an index outside the tree", 7, 7, l[4], good, root},
		{"a negative index", -1, 7, l[4], good, root},
	}
	for _, tc := range tests {
		t.Run(tc.name+" fails", func(t *testing.T) {
			if err := VerifyInclusion(tc.index, tc.size, tc.leaf, tc.path, tc.root); err == nil {
				t.Fatal("verified")
			}
		})
	}
}
