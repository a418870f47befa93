package sqlstore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/ids"
	"github.com/steward-nhi/steward/sqlstore"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

// TestLastUseWritersDoNotDeadlock is issue 14: two nodes' broker flushes
// (TouchCredentials) and usage batches (one-row and COPY paths) move the
// last use of the same identities and credentials at once. Each writer
// used to update rows in map order, so two transactions could lock the
// same rows in opposite orders and PostgreSQL aborted one (40P01,
// deadlock detected). Every writer now locks identities, then credentials,
// each in id order.
func TestLastUseWritersDoNotDeadlock(t *testing.T) {
	url := sqltest.PostgresURL(t)
	ctx := context.Background()
	var nodes [2]*sqlstore.Store
	for k := range nodes {
		s, err := sqlstore.Open(ctx, url, sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		nodes[k] = s
	}
	base := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	const rows = 40
	var identities, credentials []string
	if err := nodes[0].Update(ctx, func(tx steward.Tx) error {
		for n := range rows {
			i := &steward.Identity{ID: ids.New(ids.Identity, base), Name: fmt.Sprintf("svc-%02d", n), Kind: steward.KindServiceAccount, Provider: "aws",
				ExternalRef: fmt.Sprintf("arn:%d", n), Sensitivity: steward.SensitivityLow, Source: steward.SourceImported, Status: steward.StatusActive,
				CreatedAt: base, UpdatedAt: base, Version: 1, Scopes: []string{}, Labels: map[string]string{}}
			if err := tx.CreateIdentity(ctx, i); err != nil {
				return err
			}
			c := &steward.Credential{ID: ids.New(ids.Credential, base), IdentityID: i.ID, Type: "key", ExternalRef: fmt.Sprintf("AKIA%02d", n),
				Status: steward.CredentialActive, CreatedAt: base, Scopes: []string{}, Metadata: map[string]string{}}
			if err := tx.CreateCredential(ctx, c); err != nil {
				return err
			}
			identities, credentials = append(identities, i.ID), append(credentials, c.ID)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	const writers, rounds = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers*rounds)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := nodes[w%2]
			for r := range rounds {
				at := base.Add(time.Duration(r*writers+w) * time.Second)
				var err error
				switch w % 4 {
				case 0, 1: // a broker's flush
					creds, idents := map[string]time.Time{}, map[string]time.Time{}
					for n := range rows {
						creds[credentials[n]], idents[identities[n]] = at, at
					}
					err = s.TouchCredentials(ctx, creds, idents)
				case 2, 3: // an ingest batch: one event per key, or many (COPY)
					per := 1 + (w%4-2)*2
					var evs []steward.UsageEvent
					for n := range rows {
						for k := range per {
							evs = append(evs, steward.UsageEvent{ID: fmt.Sprintf("use_%d_%d_%d_%d", w, r, n, k), Time: at, Kind: steward.UsageIngest,
								IdentityID: identities[n], CredentialID: credentials[n], Action: "s3:GetObject", Outcome: "ok"})
						}
					}
					err = s.AppendUsage(ctx, evs)
				}
				if err != nil {
					errs <- fmt.Errorf("writer %d round %d: %w", w, r, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		if failed < 3 {
			t.Error(err)
		}
		failed++
	}
	if failed > 0 {
		t.Fatalf("%d of %d last-use writes failed", failed, writers*rounds)
	}
	last := base.Add(time.Duration((rounds-1)*writers+writers-1) * time.Second)
	creds, err := nodes[1].ListCredentials(ctx, identities[0])
	if err != nil || creds[0].LastUsedAt == nil || creds[0].LastUsedAt.After(last) || creds[0].LastUsedAt.Before(last.Add(-time.Duration(writers)*time.Second)) {
		t.Fatalf("credential last used %v %v, want the last round's time", creds, err)
	}
}
