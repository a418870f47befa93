package storetest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/ids"
)

// RunPosture runs the posture persistence suite.
func RunPosture[S steward.PostureStore](t *testing.T, open func(t testing.TB) S) {
	run(t, func(t testing.TB) steward.PostureStore { return open(t) }, []test[steward.PostureStore]{
		{"findings round-trip every field", testFindingRoundTrip},
		{"finding filters and pagination", testFindingFilters},
		{"waivers keep their history", testWaivers},
		{"subjects are scanned in id order with their credentials", testScanSubjects},
		{"shared fingerprints name every holder", testSharedFingerprints},
		{"posture changes follow the chain", testPostureChanges},
		{"reviews, items and overdue items", testReviews},
		{"review items are paged, counted and read one at a time", testReviewItemReads},
		{"offboardings, snapshots and leases", testOffboardingSnapshotsLeases},
	})
}

func postureUpdate(t *testing.T, s steward.PostureStore, fn func(tx steward.PostureTx) error) {
	t.Helper()
	if err := s.UpdatePosture(context.Background(), fn); err != nil {
		t.Fatalf("update posture: %v", err)
	}
}

func newFinding(check, identityID string, mod func(f *steward.Finding)) *steward.Finding {
	f := &steward.Finding{ID: ids.New("fnd_", base), Key: check + ":" + identityID, Check: check, Title: "t", Severity: steward.SeverityHigh,
		Status: steward.FindingOpen, IdentityID: identityID, OwnerID: "own_a", Team: "payments", OWASP: "NHI1", CSF: []string{"GV.RR-02", "PR.AA-01"},
		Evidence: map[string]any{"n": 1.0}, Remediation: "fix", CreatedAt: base, UpdatedAt: base, FirstSeen: base}
	if mod != nil {
		mod(f)
	}
	return f
}

func testFindingRoundTrip(t *testing.T, s steward.PostureStore) {
	ctx := context.Background()
	at := base.Add(time.Hour)
	f := newFinding("owner.departed", "nhi_a", func(f *steward.Finding) {
		f.CredentialID, f.AcknowledgedAt, f.AcknowledgedBy, f.ReopenedAt = "crd_1", &at, "token:x", &at
		f.Waiver = &steward.Waiver{ID: "wvr_1", FindingID: f.ID, Reason: "r", Approver: "ciso", Until: at, CreatedAt: base, CreatedBy: "token:x"}
	})
	postureUpdate(t, s, func(tx steward.PostureTx) error {
		return tx.WriteFindings(ctx, []steward.FindingWrite{{Finding: f, Insert: true}})
	})
	got, err := s.GetFinding(ctx, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Key != f.Key || got.CredentialID != "crd_1" || got.OWASP != "NHI1" || len(got.CSF) != 2 || got.Evidence["n"] != 1.0 ||
		got.AcknowledgedAt == nil || !got.AcknowledgedAt.Equal(at) || got.Waiver == nil || got.Waiver.Approver != "ciso" || !got.FirstSeen.Equal(base) {
		t.Fatalf("round trip: %+v", got)
	}
	got.Status, got.ResolvedAt, got.ResolvedSeq, got.Waiver = steward.FindingResolved, &at, 42, nil
	postureUpdate(t, s, func(tx steward.PostureTx) error { return tx.WriteFindings(ctx, []steward.FindingWrite{{Finding: got}}) })
	again, _ := s.GetFinding(ctx, f.ID)
	if again.Status != steward.FindingResolved || again.ResolvedSeq != 42 || again.Waiver != nil {
		t.Fatalf("update: %+v", again)
	}
	err = s.UpdatePosture(ctx, func(tx steward.PostureTx) error {
		return tx.WriteFindings(ctx, []steward.FindingWrite{{Finding: newFinding("owner.departed", "nhi_a", nil), Insert: true}})
	})
	if steward.ErrorCode(err) != steward.ECONFLICT {
		t.Fatalf("duplicate key: %v", err)
	}
	if _, err := s.GetFinding(ctx, "fnd_missing"); steward.ErrorCode(err) != steward.ENOTFOUND {
		t.Fatalf("missing: %v", err)
	}
}

func testFindingFilters(t *testing.T, s steward.PostureStore) {
	ctx := context.Background()
	var ws []steward.FindingWrite
	for n, id := range []string{"nhi_a", "nhi_b", "nhi_c", "nhi_d", "nhi_e"} {
		f := newFinding("dormant", id, func(f *steward.Finding) {
			if n%2 == 1 {
				f.OWASP, f.CSF, f.Severity, f.Team, f.OwnerID = "NHI7", []string{"PR.AA-01"}, steward.SeverityLow, "search", "own_b"
			}
			if n == 4 {
				f.Status = steward.FindingResolved
			}
		})
		ws = append(ws, steward.FindingWrite{Finding: f, Insert: true})
	}
	postureUpdate(t, s, func(tx steward.PostureTx) error { return tx.WriteFindings(ctx, ws) })
	for _, tc := range []struct {
		name string
		f    steward.FindingFilter
		want int
	}{
		{"all", steward.FindingFilter{}, 5},
		{"owasp", steward.FindingFilter{OWASP: "NHI7"}, 2},
		{"owasp with year", steward.FindingFilter{OWASP: "nhi1:2025"}, 3},
		{"csf", steward.FindingFilter{CSF: "GV.RR-02"}, 3},
		{"severity", steward.FindingFilter{Severity: steward.SeverityLow}, 2},
		{"owner", steward.FindingFilter{OwnerID: "own_b"}, 2},
		{"team", steward.FindingFilter{Team: "payments"}, 3},
		{"status", steward.FindingFilter{Status: steward.FindingResolved}, 1},
		{"unresolved", steward.FindingFilter{Unresolved: true}, 4},
		{"identity", steward.FindingFilter{IdentityID: "nhi_c"}, 1},
		{"check", steward.FindingFilter{Check: "other"}, 0},
	} {
		p, err := s.ListFindings(ctx, tc.f)
		if err != nil || len(p.Items) != tc.want {
			t.Errorf("%s: %d findings, %v; want %d", tc.name, len(p.Items), err, tc.want)
		}
	}
	seen, _ := allPages(t, func(cursor string) (*steward.Page[*steward.Finding], error) {
		return s.ListFindings(ctx, steward.FindingFilter{Limit: 2, Cursor: cursor})
	})
	if n := distinctIDs(seen, func(f *steward.Finding) string { return f.ID }); len(seen) != 5 || n != 5 {
		t.Fatalf("pagination saw %d findings, %d different; want 5", len(seen), n)
	}
	if _, err := s.ListFindings(ctx, steward.FindingFilter{OWASP: "NHI11"}); steward.ErrorField(err) != "owasp" {
		t.Fatalf("bad owasp: %v", err)
	}
	in, _ := s.FindingsInRange(ctx, "nhi_b", "nhi_d")
	if len(in) != 2 {
		t.Fatalf("range (b, d]: %d", len(in))
	}
	fs, _ := s.FindingsFor(ctx, []string{"nhi_a", "nhi_e"})
	counts, _ := s.FindingCounts(ctx)
	if len(fs) != 2 || counts["NHI1"] != 2 || counts["NHI7"] != 2 {
		t.Fatalf("for: %d, counts %v", len(fs), counts)
	}
	matrix, err := s.FindingMatrix(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cells := 0
	for owasp, bySev := range matrix {
		for sev, n := range bySev {
			cells += n
			if sev == "" || n <= 0 {
				t.Fatalf("matrix cell %q/%q = %d", owasp, sev, n)
			}
		}
		sum := 0
		for _, n := range bySev {
			sum += n
		}
		if sum != counts[owasp] {
			t.Fatalf("matrix row %s sums to %d, FindingCounts says %d", owasp, sum, counts[owasp])
		}
	}
	if total := func() (n int) {
		for _, c := range counts {
			n += c
		}
		return n
	}(); cells != total {
		t.Fatalf("matrix counts %d findings, FindingCounts %d", cells, total)
	}
}

func testWaivers(t *testing.T, s steward.PostureStore) {
	ctx := context.Background()
	f := newFinding("dormant", "nhi_a", nil)
	w := &steward.Waiver{ID: "wvr_1", FindingID: f.ID, Reason: "accepted", Approver: "ciso", Until: base.Add(time.Hour), CreatedAt: base, CreatedBy: "token:x"}
	postureUpdate(t, s, func(tx steward.PostureTx) error {
		if err := tx.WriteFindings(ctx, []steward.FindingWrite{{Finding: f, Insert: true}}); err != nil {
			return err
		}
		return tx.CreateWaiver(ctx, w)
	})
	end := base.Add(2 * time.Hour)
	w.EndedAt, w.EndReason = &end, "expired"
	postureUpdate(t, s, func(tx steward.PostureTx) error { return tx.UpdateWaiver(ctx, w) })
	ws, err := s.ListWaivers(ctx, f.ID)
	if err != nil || len(ws) != 1 || ws[0].EndReason != "expired" || !ws[0].EndedAt.Equal(end) || ws[0].Approver != "ciso" {
		t.Fatalf("waivers %+v %v", ws, err)
	}
	err = s.UpdatePosture(ctx, func(tx steward.PostureTx) error {
		return tx.CreateWaiver(ctx, &steward.Waiver{ID: "wvr_2", FindingID: "fnd_missing", Until: base, CreatedAt: base})
	})
	if err == nil {
		t.Fatal("a waiver of a missing finding was stored")
	}
}

func testScanSubjects(t *testing.T, s steward.PostureStore) {
	ctx := context.Background()
	var is []*steward.Identity
	for n := range 5 {
		is = append(is, newIdentity("i"+string(rune('a'+n)), func(i *steward.Identity) { i.ExternalRef = "r" + string(rune('a'+n)) }))
	}
	createIdentities(t, s, is...)
	mustUpdate(t, s, func(tx steward.Tx) error {
		for _, i := range is[:3] {
			for range 2 {
				c := &steward.Credential{ID: ids.New(ids.Credential, base), IdentityID: i.ID, Type: "api_key", Status: steward.CredentialActive, CreatedAt: base}
				if err := tx.CreateCredential(ctx, c); err != nil {
					return err
				}
			}
		}
		return nil
	})
	var order []string
	creds := 0
	err := s.ScanSubjects(ctx, nil, 2, func(b []*steward.Identity, cs map[string][]*steward.Credential) error {
		for _, i := range b {
			order = append(order, i.ID)
			creds += len(cs[i.ID])
		}
		return nil
	})
	if err != nil || len(order) != 5 || creds != 6 {
		t.Fatalf("scan: %v %d %d", err, len(order), creds)
	}
	for n := 1; n < len(order); n++ {
		if order[n] <= order[n-1] {
			t.Fatalf("not in id order: %v", order)
		}
	}
	var some []string
	_ = s.ScanSubjects(ctx, []string{is[1].ID, is[4].ID, "nhi_missing"}, 10, func(b []*steward.Identity, cs map[string][]*steward.Credential) error {
		for _, i := range b {
			some = append(some, i.ID)
		}
		return nil
	})
	if len(some) != 2 {
		t.Fatalf("scan by ids: %v", some)
	}
}

func testSharedFingerprints(t *testing.T, s steward.PostureStore) {
	ctx := context.Background()
	a := newIdentity("a", func(i *steward.Identity) { i.ExternalRef, i.Environment = "a", "prod" })
	b := newIdentity("b", func(i *steward.Identity) { i.ExternalRef, i.Environment = "b", "dev" })
	c := newIdentity("c", func(i *steward.Identity) { i.ExternalRef = "c" })
	createIdentities(t, s, a, b, c)
	shared := steward.Fingerprint([]byte("shared"))
	mustUpdate(t, s, func(tx steward.Tx) error {
		for _, x := range []struct{ id, fp string }{{a.ID, shared}, {b.ID, shared}, {c.ID, steward.Fingerprint([]byte("own"))}} {
			if err := tx.CreateCredential(ctx, &steward.Credential{ID: ids.New(ids.Credential, base), IdentityID: x.id, Type: "api_key",
				Status: steward.CredentialActive, CreatedAt: base, Fingerprint: x.fp}); err != nil {
				return err
			}
		}
		return nil
	})
	for _, fps := range [][]string{nil, {shared, steward.Fingerprint([]byte("own"))}} {
		m, err := s.SharedFingerprints(ctx, fps)
		if err != nil || len(m) != 1 || len(m[shared]) != 2 {
			t.Fatalf("shared(%v): %v %v", fps, m, err)
		}
	}
}

func testPostureChanges(t *testing.T, s steward.PostureStore) {
	ctx := context.Background()
	i := newIdentity("a", nil)
	createIdentities(t, s, i)
	mustUpdate(t, s, func(tx steward.Tx) error {
		for _, a := range []string{"identity.update", "identity.update"} {
			if err := tx.AppendEvent(ctx, event(a, i.ID)); err != nil {
				return err
			}
		}
		return nil
	})
	start, _ := s.LastEvent(ctx)
	from := int64(0)
	if start != nil {
		from = start.Seq - 2
	}
	cs, head, err := s.PostureChanges(ctx, from, 10)
	if err != nil || len(cs) != 2 || head != from+2 || cs[0].IdentityID != i.ID || cs[1].Action != "identity.update" {
		t.Fatalf("changes %v head %d err %v", cs, head, err)
	}
	cs, head2, _ := s.PostureChanges(ctx, head, 10)
	if len(cs) != 0 || head2 != head {
		t.Fatalf("no new changes: %v %d", cs, head2)
	}
	seqs, _ := s.LatestSeqs(ctx, []string{i.ID})
	if seqs[i.ID] != head {
		t.Fatalf("latest seq %v", seqs)
	}
}

func testReviews(t *testing.T, s steward.PostureStore) {
	ctx := context.Background()
	c := &steward.ReviewCampaign{ID: "rev_1", Name: "Q1", Scope: steward.ReviewScope{Team: "payments"}, Status: "open", CreatedAt: base,
		CreatedBy: "token:x", Deadline: base.Add(time.Hour), AutoSuspend: true}
	items := []*steward.ReviewItem{
		{ID: "rvi_1", CampaignID: "rev_1", IdentityID: "nhi_a", OwnerID: "own_a", Status: steward.ReviewPending},
		{ID: "rvi_2", CampaignID: "rev_1", IdentityID: "nhi_b", OwnerID: "own_a", Status: steward.ReviewPending},
	}
	postureUpdate(t, s, func(tx steward.PostureTx) error { return tx.CreateReview(ctx, c, items) })
	at := base.Add(time.Minute)
	items[0].Status, items[0].Decision, items[0].Scopes, items[0].DecidedAt, items[0].EventSeq = steward.ReviewDecided, steward.DecisionReduce, []string{"read"}, &at, 7
	postureUpdate(t, s, func(tx steward.PostureTx) error { return tx.UpdateReviewItem(ctx, items[0]) })
	got, err := s.GetReview(ctx, "rev_1")
	if err != nil || got.Scope.Team != "payments" || !got.AutoSuspend {
		t.Fatalf("review %+v %v", got, err)
	}
	its, _ := s.ListReviewItems(ctx, "rev_1")
	if len(its) != 2 || its[0].Decision != steward.DecisionReduce || its[0].Scopes[0] != "read" || its[0].EventSeq != 7 {
		t.Fatalf("items %+v", its[0])
	}
	if over, _ := s.OverdueReviewItems(ctx, base, nil); len(over) != 0 {
		t.Fatalf("nothing is overdue before the deadline: %v", over)
	}
	over, _ := s.OverdueReviewItems(ctx, base.Add(2*time.Hour), []string{"nhi_a", "nhi_b"})
	if len(over) != 1 || over[0].ID != "rvi_2" {
		t.Fatalf("overdue %v", over)
	}
	got.Status = "closed"
	postureUpdate(t, s, func(tx steward.PostureTx) error { return tx.UpdateReview(ctx, got) })
	if over, _ := s.OverdueReviewItems(ctx, base.Add(2*time.Hour), nil); len(over) != 0 {
		t.Fatalf("a closed campaign has no overdue items: %v", over)
	}
	if rs, _ := s.ListReviews(ctx, nil); len(rs) != 1 {
		t.Fatalf("list reviews %v", rs)
	}
}

func testReviewItemReads(t *testing.T, s steward.PostureStore) {
	ctx := context.Background()
	campaign := func(id string) *steward.ReviewCampaign {
		return &steward.ReviewCampaign{ID: id, Name: id, Status: "open", CreatedAt: base, CreatedBy: "token:x", Deadline: base.Add(time.Hour)}
	}
	// rev_a: seven items, the odd ones Ada's and the even ones Bob's;
	// 2 and 6 kept, 3 revoked. rev_b: two pending items of Bob's. rev_c:
	// none.
	var a []*steward.ReviewItem
	for n := 1; n <= 7; n++ {
		it := &steward.ReviewItem{ID: fmt.Sprintf("rvi_%02d", n), CampaignID: "rev_a", IdentityID: fmt.Sprintf("nhi_%02d", n),
			IdentityName: fmt.Sprintf("svc-%d", n), OwnerID: "own_b", Status: steward.ReviewPending}
		if n%2 == 1 {
			it.OwnerID = "own_a"
		}
		switch n {
		case 2, 6:
			it.Status, it.Decision, it.Justification, it.DecidedBy, it.DecidedAt = steward.ReviewDecided, steward.DecisionKeep, "needed", "token:x", &base
		case 3:
			it.Status, it.Decision, it.DecidedBy, it.DecidedAt, it.EventSeq = steward.ReviewDecided, steward.DecisionRevoke, "token:x", &base, 9
		}
		a = append(a, it)
	}
	b := []*steward.ReviewItem{
		{ID: "rvi_b1", CampaignID: "rev_b", IdentityID: "nhi_02", OwnerID: "own_b", Status: steward.ReviewPending},
		{ID: "rvi_b2", CampaignID: "rev_b", IdentityID: "nhi_04", OwnerID: "own_b", Status: steward.ReviewPending},
	}
	postureUpdate(t, s, func(tx steward.PostureTx) error {
		for _, c := range []struct {
			c     *steward.ReviewCampaign
			items []*steward.ReviewItem
		}{{campaign("rev_a"), a}, {campaign("rev_b"), b}, {campaign("rev_c"), nil}} {
			if err := tx.CreateReview(ctx, c.c, c.items); err != nil {
				return err
			}
		}
		return nil
	})

	t.Run("pages", func(t *testing.T) {
		tests := []struct {
			name string
			f    steward.ReviewItemFilter
			want []string
		}{
			{"every item, pending first, each status in id order", steward.ReviewItemFilter{CampaignID: "rev_a"},
				[]string{"rvi_01", "rvi_04", "rvi_05", "rvi_07", "rvi_02", "rvi_03", "rvi_06"}},
			{"pending items", steward.ReviewItemFilter{CampaignID: "rev_a", Status: steward.ReviewPending}, []string{"rvi_01", "rvi_04", "rvi_05", "rvi_07"}},
			{"decided items", steward.ReviewItemFilter{CampaignID: "rev_a", Status: steward.ReviewDecided}, []string{"rvi_02", "rvi_03", "rvi_06"}},
			{"one owner's items", steward.ReviewItemFilter{CampaignID: "rev_a", OwnerID: "own_a"}, []string{"rvi_01", "rvi_05", "rvi_07", "rvi_03"}},
			{"one owner's decided items", steward.ReviewItemFilter{CampaignID: "rev_a", OwnerID: "own_b", Status: steward.ReviewDecided}, []string{"rvi_02", "rvi_06"}},
			{"another campaign's items only", steward.ReviewItemFilter{CampaignID: "rev_b"}, []string{"rvi_b1", "rvi_b2"}},
			{"an owner without items gets none", steward.ReviewItemFilter{CampaignID: "rev_b", OwnerID: "own_a"}, nil},
			{"a campaign without items has none", steward.ReviewItemFilter{CampaignID: "rev_c"}, nil},
			{"an unknown campaign has none", steward.ReviewItemFilter{CampaignID: "rev_missing"}, nil},
		}
		for _, tc := range tests {
			for _, limit := range []int{1, 2, 3, 4, 100} {
				t.Run(fmt.Sprintf("%s, %d a page", tc.name, limit), func(t *testing.T) {
					f := tc.f
					f.Limit = limit
					var got []string
					for pages := 0; ; pages++ {
						p, err := s.ReviewItems(ctx, f)
						if err != nil {
							t.Fatal(err)
						}
						if len(p.Items) > limit || (p.NextCursor != "" && len(p.Items) != limit) || pages > len(tc.want) {
							t.Fatalf("page %d: %d items, cursor %q", pages, len(p.Items), p.NextCursor)
						}
						for _, it := range p.Items {
							got = append(got, it.ID)
						}
						if p.NextCursor == "" {
							break
						}
						f.Cursor = p.NextCursor
					}
					if !slices.Equal(got, tc.want) {
						t.Fatalf("items %v, want %v", got, tc.want)
					}
				})
			}
		}
		p, err := s.ReviewItems(ctx, steward.ReviewItemFilter{CampaignID: "rev_a", Status: steward.ReviewDecided, Limit: 10})
		if err != nil || len(p.Items) != 3 {
			t.Fatalf("decided %v %v", p, err)
		}
		if it := p.Items[1]; it.ID != "rvi_03" || it.Decision != steward.DecisionRevoke || it.EventSeq != 9 || it.DecidedAt == nil || !it.DecidedAt.Equal(base) {
			t.Fatalf("item fields %+v", it)
		}
	})

	t.Run("bad filters", func(t *testing.T) {
		decided, err := s.ReviewItems(ctx, steward.ReviewItemFilter{CampaignID: "rev_a", Status: steward.ReviewDecided, Limit: 1})
		if err != nil || decided.NextCursor == "" {
			t.Fatalf("decided page %v %v", decided, err)
		}
		tests := []struct {
			name  string
			f     steward.ReviewItemFilter
			field string
		}{
			{"no campaign", steward.ReviewItemFilter{}, "campaign_id"},
			{"an unknown status", steward.ReviewItemFilter{CampaignID: "rev_a", Status: "waived"}, "status"},
			{"a limit above the maximum", steward.ReviewItemFilter{CampaignID: "rev_a", Limit: steward.MaxLimit + 1}, "limit"},
			{"a cursor that is not one", steward.ReviewItemFilter{CampaignID: "rev_a", Cursor: "not-a-cursor"}, "cursor"},
			{"a decided item's cursor for pending items", steward.ReviewItemFilter{CampaignID: "rev_a", Status: steward.ReviewPending, Cursor: decided.NextCursor}, "cursor"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				if _, err := s.ReviewItems(ctx, tc.f); steward.ErrorField(err) != tc.field {
					t.Fatalf("error %v, want one about %s", err, tc.field)
				}
			})
		}
	})

	t.Run("counts", func(t *testing.T) {
		none := map[string]int{"items": 0, "pending": 0, "decided": 0}
		many := []string{"rev_a", "rev_b", "rev_c"}
		for n := range 600 { // more campaigns than one query takes
			many = append(many, fmt.Sprintf("rev_x%03d", n))
		}
		tests := []struct {
			name  string
			ids   []string
			owner string
			want  map[string]map[string]int
		}{
			{"by status and decision", []string{"rev_a", "rev_b", "rev_c"}, "", map[string]map[string]int{
				"rev_a": {"items": 7, "pending": 4, "decided": 3, "keep": 2, "revoke": 1},
				"rev_b": {"items": 2, "pending": 2, "decided": 0},
				"rev_c": none,
			}},
			{"of one owner", []string{"rev_a", "rev_b"}, "own_a", map[string]map[string]int{
				"rev_a": {"items": 4, "pending": 3, "decided": 1, "revoke": 1},
				"rev_b": none,
			}},
			{"of an unknown campaign", []string{"rev_missing"}, "", map[string]map[string]int{"rev_missing": none}},
			{"of no campaign", nil, "", map[string]map[string]int{}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				got, err := s.ReviewCounts(ctx, tc.ids, tc.owner)
				if err != nil {
					t.Fatal(err)
				}
				if !maps.EqualFunc(got, tc.want, maps.Equal) {
					t.Fatalf("counts %v, want %v", got, tc.want)
				}
			})
		}
		got, err := s.ReviewCounts(ctx, many, "own_b")
		if err != nil || len(got) != len(many) || got["rev_a"]["items"] != 3 || got["rev_b"]["items"] != 2 || !maps.Equal(got["rev_x599"], none) {
			t.Fatalf("counts of %d campaigns: %d, a %v, b %v, %v", len(many), len(got), got["rev_a"], got["rev_b"], err)
		}
	})

	t.Run("one item", func(t *testing.T) {
		it, err := s.GetReviewItem(ctx, "rvi_02")
		if err != nil || it.CampaignID != "rev_a" || it.IdentityName != "svc-2" || it.Decision != steward.DecisionKeep || it.Justification != "needed" ||
			it.DecidedAt == nil || !it.DecidedAt.Equal(base) {
			t.Fatalf("item %+v %v", it, err)
		}
		if _, err := s.GetReviewItem(ctx, "rvi_missing"); steward.ErrorCode(err) != steward.ENOTFOUND {
			t.Fatalf("missing item: %v", err)
		}
	})
}

func testOffboardingSnapshotsLeases(t *testing.T, s steward.PostureStore) {
	ctx := context.Background()
	ob := &steward.Offboarding{OwnerID: "own_a", Source: "scim", StartedAt: base, Deadline: base.Add(time.Hour), Identities: []string{"nhi_a"}}
	postureUpdate(t, s, func(tx steward.PostureTx) error { return tx.SaveOffboarding(ctx, ob) })
	if open, _ := s.ListOffboardings(ctx, true); len(open) != 1 {
		t.Fatalf("open offboardings %v", open)
	}
	ob.CompletedAt = &base
	postureUpdate(t, s, func(tx steward.PostureTx) error { return tx.SaveOffboarding(ctx, ob) })
	if open, _ := s.ListOffboardings(ctx, true); len(open) != 0 {
		t.Fatalf("completed offboarding listed as open")
	}
	got, err := s.GetOffboarding(ctx, "own_a")
	if err != nil || got.Source != "scim" || got.CompletedAt == nil {
		t.Fatalf("offboarding %+v %v", got, err)
	}
	postureUpdate(t, s, func(tx steward.PostureTx) error {
		return tx.SaveSnapshot(ctx, &steward.PostureSnapshot{Time: base, Identities: 10, Owned: 8, OpenByOWASP: map[string]int{"NHI1": 2}})
	})
	snaps, _ := s.ListSnapshots(ctx, base.Add(-time.Hour), base.Add(time.Hour))
	if len(snaps) != 1 || snaps[0].Owned != 8 || snaps[0].OpenByOWASP["NHI1"] != 2 {
		t.Fatalf("snapshots %v", snaps)
	}
	lease := func(holder string, now time.Time) bool {
		var ok bool
		postureUpdate(t, s, func(tx steward.PostureTx) error {
			var err error
			ok, err = tx.TryLease(ctx, "posture", holder, now, now.Add(time.Minute))
			return err
		})
		return ok
	}
	if !lease("a", base) || !lease("a", base.Add(time.Second)) || lease("b", base.Add(time.Second)) || !lease("b", base.Add(2*time.Minute)) {
		t.Fatal("lease: one holder at a time until it expires")
	}
}
