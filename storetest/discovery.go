package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/ids"
)

// RunDiscovery runs the suite of the discovery store: scanner sightings
// kept by (fingerprint, repository, file) and linked to credentials.
func RunDiscovery[S steward.DiscoveryStore](t *testing.T, open func(t testing.TB) S) {
	run(t, func(t testing.TB) steward.DiscoveryStore { return open(t) }, []test[steward.DiscoveryStore]{
		{"a sighting is stored once per fingerprint, repository and file", testSightingUpsert},
		{"sighting filters and pagination", testSightingFilters},
		{"credentials are found by fingerprint", testCredentialsByFingerprint},
	})
}

func newSighting(n int, repo, file string, mod func(d *steward.Sighting)) *steward.Sighting {
	d := &steward.Sighting{ID: fmt.Sprintf("dsc_%04d", n), Fingerprint: steward.Fingerprint([]byte(fmt.Sprint("secret-", n))), Rule: "aws-access-key",
		Source: "steward-scan", Repository: repo, File: file, Line: 3, Column: 7, Commit: "abc123", Author: "Kim", Email: "kim@example.com",
		Context: "key = AKIA…", Severity: "high", Status: "open", FirstSeen: base, LastSeen: base, Occurrences: 1}
	if mod != nil {
		mod(d)
	}
	return d
}

func upsertSighting(t *testing.T, s steward.DiscoveryStore, d *steward.Sighting) bool {
	t.Helper()
	var created bool
	err := s.UpdateDiscovery(context.Background(), func(tx steward.DiscoveryTx) (err error) {
		created, err = tx.UpsertSighting(context.Background(), d)
		return err
	})
	if err != nil {
		t.Fatalf("upsert sighting: %v", err)
	}
	return created
}

func testSightingUpsert(t *testing.T, s steward.DiscoveryStore) {
	ctx := context.Background()
	first := newSighting(1, "acme/api", "config/app.yaml", func(d *steward.Sighting) { d.SuggestedOwner = "kim@example.com" })
	if !upsertSighting(t, s, first) {
		t.Fatal("a new sighting was not reported as created")
	}
	page, err := s.ListSightings(ctx, steward.SightingFilter{})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("list: %v %+v", err, page)
	}
	if got := page.Items[0]; fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", first) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, first)
	}
	later := base.Add(time.Hour)
	again := newSighting(2, "acme/api", "config/app.yaml", func(d *steward.Sighting) {
		d.Fingerprint, d.Line, d.LastSeen, d.FirstSeen, d.Managed, d.IdentityID, d.CredentialID = first.Fingerprint, 9, later, later, true, "nhi_1", "crd_1"
	})
	if upsertSighting(t, s, again) {
		t.Fatal("the same fingerprint, repository and file made a second sighting")
	}
	if again.ID != first.ID || again.Occurrences != 2 || again.Line != 9 || !again.LastSeen.Equal(later) || !again.FirstSeen.Equal(base) ||
		again.IdentityID != "nhi_1" || !again.Managed {
		t.Fatalf("the upsert returned %+v", again)
	}
	// Another file is another sighting of the same secret.
	if !upsertSighting(t, s, newSighting(3, "acme/api", "README.md", func(d *steward.Sighting) { d.Fingerprint = first.Fingerprint })) {
		t.Fatal("another file was not a new sighting")
	}
	page, _ = s.ListSightings(ctx, steward.SightingFilter{Fingerprint: first.Fingerprint})
	if len(page.Items) != 2 {
		t.Fatalf("%d sightings of the fingerprint, want 2", len(page.Items))
	}
}

func testSightingFilters(t *testing.T, s steward.DiscoveryStore) {
	ctx := context.Background()
	for n := range 7 {
		upsertSighting(t, s, newSighting(n, fmt.Sprint("acme/repo", n%2), fmt.Sprintf("f%d.go", n), func(d *steward.Sighting) {
			if n < 3 {
				d.Managed, d.IdentityID = true, "nhi_managed"
			}
		}))
	}
	yes, no := true, false
	for _, tc := range []struct {
		name string
		f    steward.SightingFilter
		want int
	}{
		{"everything", steward.SightingFilter{}, 7},
		{"one repository", steward.SightingFilter{Repository: "acme/repo1"}, 3},
		{"managed", steward.SightingFilter{Managed: &yes}, 3},
		{"unmanaged", steward.SightingFilter{Managed: &no}, 4},
		{"one identity", steward.SightingFilter{IdentityID: "nhi_managed"}, 3},
		{"a status nobody has", steward.SightingFilter{Status: "resolved"}, 0},
	} {
		page, err := s.ListSightings(ctx, tc.f)
		if err != nil || len(page.Items) != tc.want {
			t.Errorf("%s: %d sightings (%v), want %d", tc.name, len(page.Items), err, tc.want)
		}
	}
	// Newest id first, each once, across pages.
	all, _ := allPages(t, func(cursor string) (*steward.Page[*steward.Sighting], error) {
		return s.ListSightings(ctx, steward.SightingFilter{Limit: 3, Cursor: cursor})
	})
	var got []string
	for _, d := range all {
		got = append(got, d.ID)
	}
	if want := "[dsc_0006 dsc_0005 dsc_0004 dsc_0003 dsc_0002 dsc_0001 dsc_0000]"; fmt.Sprint(got) != want {
		t.Fatalf("pages visited %v, want %s", got, want)
	}
	_, err := s.ListSightings(ctx, steward.SightingFilter{Cursor: "bogus"})
	if steward.ErrorField(err) != "cursor" {
		t.Fatalf("bogus cursor: %v", err)
	}
	_, err = s.ListSightings(ctx, steward.SightingFilter{Limit: steward.MaxLimit + 1})
	if steward.ErrorField(err) != "limit" {
		t.Fatalf("limit over the maximum: %v", err)
	}
}

func testCredentialsByFingerprint(t *testing.T, s steward.DiscoveryStore) {
	ctx := context.Background()
	i := newIdentity("leaky", nil)
	createIdentities(t, s, i)
	fp := steward.Fingerprint([]byte("stw_leaked"))
	for n := range 2 {
		mustUpdate(t, s, func(tx steward.Tx) error {
			return tx.CreateCredential(ctx, &steward.Credential{ID: ids.New(ids.Credential, base), IdentityID: i.ID, Type: "api_key", Fingerprint: fp,
				Status: steward.CredentialActive, Scopes: []string{}, CreatedAt: base.Add(time.Duration(n) * time.Minute), Metadata: map[string]string{}})
		})
	}
	cs, err := s.FindCredentialsByFingerprint(ctx, fp)
	if err != nil || len(cs) != 2 || cs[0].IdentityID != i.ID || !cs[0].CreatedAt.Before(cs[1].CreatedAt) {
		t.Fatalf("credentials by fingerprint: %v %+v", err, cs)
	}
	if cs, err := s.FindCredentialsByFingerprint(ctx, steward.Fingerprint([]byte("unknown"))); err != nil || len(cs) != 0 {
		t.Fatalf("unknown fingerprint: %v %+v", err, cs)
	}
}
