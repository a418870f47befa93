package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/ids"
)

// AuditStore is a store that also keeps the audit chain's extras.
type AuditStore interface {
	steward.Store
	steward.AuditStore
}

// RunAudit runs the audit conformance suite.
func RunAudit[S AuditStore](t *testing.T, open func(t testing.TB) S) {
	run(t, func(t testing.TB) AuditStore { return open(t) }, []test[AuditStore]{
		{"events stream in batches in seq order", testScanEvents},
		{"entry hashes come back by seq range", testEntryHashes},
		{"checkpoints are kept once per tree size", testCheckpoints},
		{"signing keys are listed oldest first", testAuditKeys},
		{"sink cursors only move forward", testSinkCursors},
		{"a bulk import of 5,000 writes exactly its rows and a chain that verifies", testBulkImport},
		{"a bulk import that fails in the middle writes nothing", testFailedBulkImport},
	})
}

func appendEvents(t *testing.T, s steward.Store, n int) {
	t.Helper()
	mustUpdate(t, s, func(tx steward.Tx) error {
		for i := range n {
			e := &steward.Event{ID: ids.New(ids.Event, base), Time: base.Add(time.Duration(i) * time.Second), Actor: "test", Action: "test.append",
				Before: []byte(`{"b":1,"a":2}`)}
			if err := tx.AppendEvent(context.Background(), e); err != nil {
				return err
			}
		}
		return nil
	})
}

func testScanEvents(t *testing.T, s AuditStore) {
	ctx := context.Background()
	appendEvents(t, s, 23)
	var seqs []int64
	batches := 0
	err := s.ScanEvents(ctx, 2, 0, 5, func(evs []*steward.Event) error {
		batches++
		for _, e := range evs {
			seqs = append(seqs, e.Seq)
			h, _ := e.ComputeHash()
			if h != e.EntryHash {
				t.Errorf("entry %d: stored hash %s, computed %s", e.Seq, e.EntryHash, h)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seqs) != 21 || seqs[0] != 3 || seqs[20] != 23 || batches != 5 {
		t.Fatalf("scanned %v in %d batches", seqs, batches)
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] != seqs[i-1]+1 {
			t.Fatalf("out of order: %v", seqs)
		}
	}
	var through []int64
	if err := s.ScanEvents(ctx, 0, 4, 100, func(evs []*steward.Event) error {
		for _, e := range evs {
			through = append(through, e.Seq)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(through) != 4 || through[3] != 4 {
		t.Fatalf("through 4: %v", through)
	}
}

func testEntryHashes(t *testing.T, s AuditStore) {
	ctx := context.Background()
	appendEvents(t, s, 6)
	hs, err := s.EntryHashes(ctx, 2, 4)
	if err != nil {
		t.Fatal(err)
	}
	page, err := s.ListEvents(ctx, steward.EventFilter{Ascending: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(hs) != 3 || hs[0] != page.Items[1].EntryHash || hs[2] != page.Items[3].EntryHash {
		t.Fatalf("hashes %v", hs)
	}
}

func testCheckpoints(t *testing.T, s AuditStore) {
	ctx := context.Background()
	if c, err := s.CheckpointCovering(ctx, 1); err != nil || c != nil {
		t.Fatalf("empty: %v, %v", c, err)
	}
	at := base.Add(1234567 * time.Nanosecond)
	for _, n := range []int64{10, 5, 20} {
		c := &steward.Checkpoint{TreeSize: n, RootHash: "r", LastSeq: n, LastEntryHash: "h", Time: at, KeyID: "k", Signature: "s"}
		if err := s.SaveCheckpoint(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	dup := &steward.Checkpoint{TreeSize: 10, RootHash: "other", LastSeq: 10, Time: at, KeyID: "k", Signature: "s2"}
	if err := s.SaveCheckpoint(ctx, dup); err != nil {
		t.Fatal(err)
	}
	all, err := s.ListCheckpoints(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 || all[0].TreeSize != 20 || all[2].TreeSize != 5 {
		t.Fatalf("list: %+v", all)
	}
	if !all[1].Time.Equal(at) || all[1].RootHash != "r" {
		t.Fatalf("round trip: %+v", all[1])
	}
	if one, _ := s.ListCheckpoints(ctx, 1); len(one) != 1 || one[0].TreeSize != 20 {
		t.Fatalf("limit 1: %+v", one)
	}
	if c, _ := s.CheckpointCovering(ctx, 6); c == nil || c.TreeSize != 10 {
		t.Fatalf("covering 6: %+v", c)
	}
	if c, _ := s.CheckpointCovering(ctx, 21); c != nil {
		t.Fatalf("covering 21: %+v", c)
	}
}

func testAuditKeys(t *testing.T, s AuditStore) {
	ctx := context.Background()
	a := &steward.AuditKey{ID: "b-second", Algorithm: "Ed25519", PublicKey: []byte{1, 2, 3}, SealedPrivate: "sb1:x", CreatedAt: base.Add(time.Second)}
	b := &steward.AuditKey{ID: "a-first", Algorithm: "Ed25519", PublicKey: []byte{4, 5}, SealedPrivate: "sb1:y", CreatedAt: base}
	for _, k := range []*steward.AuditKey{a, b} {
		if err := s.CreateAuditKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	wantCode(t, s.CreateAuditKey(ctx, a), steward.ECONFLICT)
	ks, err := s.ListAuditKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ks) != 2 || ks[0].ID != "a-first" || string(ks[1].PublicKey) != string([]byte{1, 2, 3}) || ks[1].SealedPrivate != "sb1:x" {
		t.Fatalf("keys: %+v", ks)
	}
}

func testSinkCursors(t *testing.T, s AuditStore) {
	ctx := context.Background()
	if n, err := s.SinkCursor(ctx, "file"); err != nil || n != 0 {
		t.Fatalf("new cursor = %d, %v", n, err)
	}
	for _, seq := range []int64{5, 9, 7} {
		if err := s.SetSinkCursor(ctx, "file", seq); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := s.SinkCursor(ctx, "file"); n != 9 {
		t.Fatalf("cursor = %d, want 9", n)
	}
	if n, _ := s.SinkCursor(ctx, "other"); n != 0 {
		t.Fatalf("other cursor = %d", n)
	}
}
