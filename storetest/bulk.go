package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/audit"
)

// Bulk paths: PostgreSQL writes large batches with COPY, SQLite with
// multi-row statements; both must write exactly the rows they are given,
// in the caller's transaction.

// bulkImport returns n identities of provider "aws", each with one
// credential and one import event, as an import buffers them.
func bulkImport(prefix string, n int) ([]*steward.Identity, []*steward.Credential, []*steward.Event) {
	var is []*steward.Identity
	var cs []*steward.Credential
	var es []*steward.Event
	for k := range n {
		i := newIdentity(fmt.Sprintf("%s-%05d", prefix, k), func(i *steward.Identity) {
			i.ID = fmt.Sprintf("nhi_%s%05d", prefix, k)
			i.ExternalRef = fmt.Sprintf("arn:aws:iam::1:user/%s-%05d", prefix, k)
			i.Labels = map[string]string{"n": fmt.Sprint(k)}
			i.Scopes = []string{"s3:GetObject"}
			if k%3 == 0 {
				i.LastUsedAt = tptr(base.Add(-time.Duration(k) * time.Hour))
			}
		})
		is = append(is, i)
		cs = append(cs, &steward.Credential{ID: fmt.Sprintf("cred_%s%05d", prefix, k), IdentityID: i.ID, Type: "aws_access_key", ExternalRef: "access_key_1",
			Fingerprint: fmt.Sprintf("fp-%s-%d", prefix, k), Status: steward.CredentialActive, Scopes: []string{}, CreatedAt: base,
			Metadata: map[string]string{"region": "eu-west-1"}})
		e := event(steward.ActionIdentityImport, i.ID)
		e.ID = ""
		e.After = steward.Snapshot(i)
		es = append(es, e)
	}
	return is, cs, es
}

// writeImport writes the rows in chunks of 500, as inventory's import does.
func writeImport(ctx context.Context, tx steward.Tx, is []*steward.Identity, cs []*steward.Credential, es []*steward.Event) error {
	for k := 0; k < len(is); k += 500 {
		end := min(k+500, len(is))
		if err := tx.CreateIdentities(ctx, is[k:end]); err != nil {
			return err
		}
		if err := tx.CreateCredentials(ctx, cs[k:end]); err != nil {
			return err
		}
		if err := tx.AppendEvents(ctx, es[k:end]); err != nil {
			return err
		}
	}
	return nil
}

// testBulkImport writes 5,000 identities with their credentials and events
// in one transaction: exactly those rows are stored and the chain verifies.
func testBulkImport(t *testing.T, s AuditStore) {
	ctx := context.Background()
	appendEvents(t, s, 3) // the import continues an existing chain
	is, cs, es := bulkImport("imp", 5000)
	mustUpdate(t, s, func(tx steward.Tx) error { return writeImport(ctx, tx, is, cs, es) })
	st, err := s.InventoryStats(ctx, base)
	if err != nil || st.Identities != 5000 {
		t.Fatalf("%+v %v, want 5000 identities", st, err)
	}
	for _, k := range []int{0, 1, 499, 500, 2999, 4999} {
		got, err := s.GetIdentity(ctx, is[k].ID)
		if err != nil || fmt.Sprint(steward.Snapshot(got)) != fmt.Sprint(steward.Snapshot(is[k])) {
			t.Fatalf("identity %d: %+v %v", k, got, err)
		}
		c, err := s.GetCredential(ctx, cs[k].ID)
		if err != nil || c.IdentityID != is[k].ID || c.Fingerprint != cs[k].Fingerprint || c.Metadata["region"] != "eu-west-1" {
			t.Fatalf("credential %d: %+v %v", k, c, err)
		}
	}
	creds := 0
	for _, k := range []int{0, 4999} {
		list, err := s.ListCredentials(ctx, is[k].ID)
		if err != nil {
			t.Fatal(err)
		}
		creds += len(list)
	}
	if creds != 2 {
		t.Fatalf("%d credentials for two identities, want 2", creds)
	}
	last, err := s.LastEvent(ctx)
	if err != nil || last.Seq != 5003 || last.EntryHash != es[4999].EntryHash {
		t.Fatalf("chain head %+v %v, want seq 5003", last, err)
	}
	rep, err := audit.VerifyStore(ctx, s, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK || rep.Entries != 5003 {
		t.Fatalf("verify: %+v", rep)
	}
}

// testFailedBulkImport: an import that fails in the middle (after two
// chunks were written) writes nothing, and the chain goes on from where it
// was.
func testFailedBulkImport(t *testing.T, s AuditStore) {
	ctx := context.Background()
	appendEvents(t, s, 2)
	is, cs, es := bulkImport("bad", 2000)
	boom := errors.New("the import failed half-way")
	err := s.Update(ctx, func(tx steward.Tx) error {
		if err := writeImport(ctx, tx, is[:1000], cs[:1000], es[:1000]); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("failed import: %v", err)
	}
	// A failure inside a COPY (a repeated reference in the third chunk)
	// also leaves nothing behind.
	is2, cs2, es2 := bulkImport("dup", 2000)
	is2[1234].ExternalRef = is2[17].ExternalRef
	err = s.Update(ctx, func(tx steward.Tx) error { return writeImport(ctx, tx, is2, cs2, es2) })
	if steward.ErrorCode(err) != steward.ECONFLICT {
		t.Fatalf("duplicate reference: %v, want ECONFLICT", err)
	}
	st, err := s.InventoryStats(ctx, base)
	if err != nil || st.Identities != 0 {
		t.Fatalf("%+v %v: a failed import wrote identities", st, err)
	}
	for _, id := range []string{cs[0].ID, cs[999].ID, cs2[0].ID} {
		if _, err := s.GetCredential(ctx, id); steward.ErrorCode(err) != steward.ENOTFOUND {
			t.Fatalf("credential %s of a failed import: %v", id, err)
		}
	}
	last, err := s.LastEvent(ctx)
	if err != nil || last.Seq != 2 {
		t.Fatalf("chain head %+v %v, want seq 2", last, err)
	}
	// The next import continues the chain.
	ok, okc, oke := bulkImport("ok", 700)
	mustUpdate(t, s, func(tx steward.Tx) error { return writeImport(ctx, tx, ok, okc, oke) })
	rep, err := audit.VerifyStore(ctx, s, nil, nil)
	if err != nil || !rep.OK || rep.Entries != 702 {
		t.Fatalf("verify: %+v %v", rep, err)
	}
}

// testUsageBatchDuplicates: a large batch whose ids repeat (inside the
// batch, and ids already stored) writes each id once, as the per-row
// path does, and its aggregates equal the per-row path's.
func testUsageBatchDuplicates(t *testing.T, s AuthzStore) {
	ctx := context.Background()
	mk := func(path string, n int) steward.UsageEvent {
		return steward.UsageEvent{ID: fmt.Sprintf("use_%s_%05d", path, n), Time: base.Add(time.Duration(n) * time.Second), Kind: steward.UsageIngest,
			Subject: fmt.Sprintf("%s:caller-%d", path, n%5), Action: fmt.Sprintf("s3:Get%d", n%7), Resource: fmt.Sprintf("arn:%d", n%11),
			Source: "10.0.0.1", Outcome: "ok", PolicyIDs: []string{"p"}, Attributes: map[string]string{"n": fmt.Sprint(n)}}
	}
	// Events 0..999, with 0..99 repeated inside the batch and 1000..1049
	// written before by a first batch.
	events := func(path string) (first, batch []steward.UsageEvent) {
		for n := 1000; n < 1050; n++ {
			first = append(first, mk(path, n))
		}
		for n := range 1000 {
			batch = append(batch, mk(path, n))
		}
		for n := range 100 {
			batch = append(batch, mk(path, n))
		}
		return first, append(batch, first...)
	}
	first, batch := events("bat")
	for _, b := range [][]steward.UsageEvent{first, batch} {
		if err := s.AppendUsage(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	rfirst, rows := events("row")
	for _, b := range [][]steward.UsageEvent{rfirst, rows} {
		for k := range b {
			if err := s.AppendUsage(ctx, b[k:k+1]); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, path := range []string{"bat", "row"} {
		n := 0
		for c := range 5 {
			f := steward.UsageFilter{Subject: fmt.Sprintf("%s:caller-%d", path, c), Limit: steward.MaxLimit}
			for {
				page, err := s.ListUsage(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				n += len(page.Items)
				if page.NextCursor == "" {
					break
				}
				f.Cursor = page.NextCursor
			}
		}
		if n != 1050 {
			t.Fatalf("%s: %d events stored, want 1050 (each id once)", path, n)
		}
	}
	for c := range 5 {
		bat, err := s.UsageAggregates(ctx, steward.UnknownKey(fmt.Sprintf("bat:caller-%d", c)))
		if err != nil {
			t.Fatal(err)
		}
		row, err := s.UsageAggregates(ctx, steward.UnknownKey(fmt.Sprintf("row:caller-%d", c)))
		if err != nil {
			t.Fatal(err)
		}
		if len(bat) == 0 || len(bat) != len(row) {
			t.Fatalf("caller %d: %d aggregate rows from the batch, %d from single events", c, len(bat), len(row))
		}
		for k := range bat {
			b, r := bat[k], row[k]
			if b.Dimension != r.Dimension || b.Value != r.Value || b.Count != r.Count || !b.FirstSeen.Equal(r.FirstSeen) || !b.LastSeen.Equal(r.LastSeen) {
				t.Fatalf("caller %d: batch aggregate %+v, single events %+v", c, b, r)
			}
		}
	}
}

// testUsageBatchBadText: a large batch holding text that PostgreSQL
// refuses (NUL) either is written whole (SQLite) or fails whole, writing
// nothing; either way the next batch on the store is written in full.
func testUsageBatchBadText(t *testing.T, s AuthzStore) {
	ctx := context.Background()
	var bad, good []steward.UsageEvent
	for n := range 500 {
		bad = append(bad, steward.UsageEvent{ID: fmt.Sprintf("use_nul_%04d", n), Time: base, Kind: steward.UsageDecision, Subject: "nul", Action: "read", Outcome: "allow"})
		good = append(good, steward.UsageEvent{ID: fmt.Sprintf("use_good_%04d", n), Time: base, Kind: steward.UsageDecision, Subject: "good", Action: "read", Outcome: "allow"})
	}
	bad[250].Subject, bad[250].UserAgent = "nul", "curl\x00"
	count := func(subject string) int {
		page, err := s.ListUsage(ctx, steward.UsageFilter{Subject: subject, Limit: steward.MaxLimit})
		if err != nil {
			t.Fatal(err)
		}
		return len(page.Items)
	}
	badErr := s.AppendUsage(ctx, bad)
	if n := count("nul"); (badErr == nil && n != 500) || (badErr != nil && n != 0) {
		t.Fatalf("batch with a NUL byte: %v, %d events stored", badErr, n)
	}
	for range 3 {
		if err := s.AppendUsage(ctx, good); err != nil {
			t.Fatalf("the batch after a failed one: %v", err)
		}
	}
	if n := count("good"); n != 500 {
		t.Fatalf("%d good events stored, want 500", n)
	}
}
