// Package evidence builds audit evidence packs: what an auditor asks to
// see about non-human identities over a period — ownership coverage,
// rotation and revocation proof, open findings and waivers by OWASP NHI
// and NIST CSF id, access-review results — as a self-contained HTML report
// with charts, CSV files, evidence.json and a manifest of SHA-256 digests,
// signed when a key is given.
package evidence

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
)

// Signer signs a manifest (the audit chain's Ed25519 key).
type Signer interface {
	KeyID() string
	Sign(msg []byte) ([]byte, error)
}

// RevocationChecker confirms that a revoked credential Steward issued is
// now refused (the credential broker).
type RevocationChecker interface {
	Refused(ctx context.Context, credentialID string) (bool, error)
}

// Source is what Collect reads.
type Source interface {
	steward.Reader
	steward.PostureReader
}

// Data is everything a pack reports.
type Data struct {
	GeneratedAt    time.Time     `json:"generated_at"`
	From           time.Time     `json:"from"`
	To             time.Time     `json:"to"`
	HeadSeq        int64         `json:"audit_head_seq"`
	Coverage       Coverage      `json:"ownership_coverage"`
	CoverageTrend  []TrendPoint  `json:"ownership_coverage_trend"`
	Unowned        []IdentityRow `json:"unowned_identities"`
	CredentialAges []Bucket      `json:"credential_age_distribution"`
	Rotations      []Rotation    `json:"rotations"`
	Revocations    []Revocation  `json:"revocations"`
	// RotationsVerified are the rotations Steward performed at a provider
	// in the period, with the new secret's test and the old one's refusal.
	RotationsVerified []VerifiedRotation `json:"rotations_verified"`
	// RevocationsProven are only the revocations that took effect where
	// the secret is checked: enforced by Steward or confirmed by the
	// provider; RevocationCounts says how many others were only marked.
	RevocationsProven []ProvenRevocation `json:"revocations_proven"`
	RevocationCounts  RevocationCounts   `json:"revocation_counts"`
	FindingsByOWASP   []FindingCount     `json:"findings_by_owasp"`
	FindingsByCSF     []FindingCount     `json:"findings_by_csf"`
	Findings          []FindingRow       `json:"open_findings"`
	Waivers           []WaiverRow        `json:"waivers"`
	Reviews           []ReviewRow        `json:"reviews"`
}

// Coverage counts identities (not revoked) by ownership.
type Coverage struct {
	Identities int64   `json:"identities"`
	Owned      int64   `json:"owned"`
	Unowned    int64   `json:"unowned"`
	Orphaned   int64   `json:"orphaned"`
	Percent    float64 `json:"percent_owned"`
}

// TrendPoint is the ownership coverage at one time.
type TrendPoint struct {
	Time    time.Time `json:"time"`
	Percent float64   `json:"percent_owned"`
}

// IdentityRow is an identity without an active owner.
type IdentityRow struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Kind        string `json:"kind"`
	Provider    string `json:"provider"`
	Environment string `json:"environment"`
	Sensitivity string `json:"sensitivity"`
	Status      string `json:"status"`
	Team        string `json:"team"`
	OwnerID     string `json:"owner_id"`
	Problem     string `json:"problem"` // unowned, owner_departed
}

// Bucket is one bar of a distribution.
type Bucket struct {
	Label string `json:"label"`
	Count int    `json:"count"`
}

// Rotation is one recorded rotation.
type Rotation struct {
	Seq            int64     `json:"audit_seq"`
	Time           time.Time `json:"time"`
	Actor          string    `json:"actor"`
	Action         string    `json:"action"`
	IdentityID     string    `json:"identity_id"`
	CredentialID   string    `json:"credential_id"`
	OldFingerprint string    `json:"old_fingerprint"`
	NewFingerprint string    `json:"new_fingerprint"`
}

// Revocation is one recorded revocation with its post-revocation check.
type Revocation struct {
	Seq          int64     `json:"audit_seq"`
	Time         time.Time `json:"time"`
	Actor        string    `json:"actor"`
	SubjectType  string    `json:"subject_type"`
	IdentityID   string    `json:"identity_id"`
	CredentialID string    `json:"credential_id"`
	Reason       string    `json:"reason"`
	// Check is the post-revocation verification: "refused" (Steward
	// issued it and now refuses it), "revoked in inventory", or a failure.
	Check string `json:"post_revocation_check"`
	// Where the revocation took effect (steward, provider, inventory
	// only), as its event says; empty for an identity's own event.
	Where string `json:"revoked_where"`
}

// VerifiedRotation is one rotation Steward performed at a provider: the
// new secret tested, the old one checked against the provider, and the
// audit sequence numbers of all its events.
type VerifiedRotation struct {
	RotationID     string    `json:"rotation_id"`
	Time           time.Time `json:"time"`
	Actor          string    `json:"actor"`
	IdentityID     string    `json:"identity_id"`
	CredentialID   string    `json:"credential_id"`
	OldFingerprint string    `json:"old_fingerprint"`
	NewFingerprint string    `json:"new_fingerprint"`
	ProviderAnswer string    `json:"provider_answer"`
	TestResult     string    `json:"test_result"`
	// OldRefused is true when the provider refused the old secret.
	OldRefused bool    `json:"old_refused"`
	Proof      string  `json:"proof"`
	Seqs       []int64 `json:"audit_seqs"`
}

// ProvenRevocation is a revocation that took effect where the secret is
// checked: Steward refuses it (steward) or the provider confirmed it
// (provider: a dropped role, a refused password).
type ProvenRevocation struct {
	Seq         int64     `json:"audit_seq"`
	Time        time.Time `json:"time"`
	Actor       string    `json:"actor"`
	SubjectType string    `json:"subject_type"`
	SubjectID   string    `json:"subject_id"`
	IdentityID  string    `json:"identity_id"`
	Fingerprint string    `json:"fingerprint"`
	Where       string    `json:"revoked_where"`
	Proof       string    `json:"proof"`
}

// RevocationCounts counts the period's revocations by where they took
// effect; only Steward and Provider count as proven.
type RevocationCounts struct {
	Steward       int `json:"steward"`
	Provider      int `json:"provider"`
	InventoryOnly int `json:"inventory_only"`
	Unproven      int `json:"unproven"`
}

// FindingCount counts unresolved findings under one OWASP or CSF id.
type FindingCount struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Open         int    `json:"open"`
	Acknowledged int    `json:"acknowledged"`
	Waived       int    `json:"waived"`
}

// FindingRow is one unresolved finding.
type FindingRow struct {
	ID         string    `json:"id"`
	Check      string    `json:"check"`
	Severity   string    `json:"severity"`
	Status     string    `json:"status"`
	IdentityID string    `json:"identity_id"`
	OwnerID    string    `json:"owner_id"`
	OWASP      string    `json:"owasp"`
	CSF        []string  `json:"csf"`
	Title      string    `json:"title"`
	FirstSeen  time.Time `json:"first_seen"`
}

// WaiverRow is one waiver granted or in force during the period.
type WaiverRow struct {
	ID        string     `json:"id"`
	FindingID string     `json:"finding_id"`
	OWASP     string     `json:"owasp"`
	Reason    string     `json:"reason"`
	Approver  string     `json:"approver"`
	Until     time.Time  `json:"until"`
	CreatedAt time.Time  `json:"created_at"`
	CreatedBy string     `json:"created_by"`
	EndedAt   *time.Time `json:"ended_at"`
	EndReason string     `json:"end_reason"`
}

// ReviewRow is one campaign's result.
type ReviewRow struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	Deadline  time.Time `json:"deadline"`
	Items     int       `json:"items"`
	Pending   int       `json:"pending"`
	Overdue   int       `json:"overdue"`
	Keep      int       `json:"keep"`
	Reduce    int       `json:"reduce"`
	Revoke    int       `json:"revoke"`
	Reassign  int       `json:"reassign"`
}

// AgeBuckets are the credential age bars.
var AgeBuckets = []struct {
	Label string
	Upto  time.Duration
}{
	{"< 30 days", 30 * 24 * time.Hour},
	{"30-90 days", 90 * 24 * time.Hour},
	{"90-180 days", 180 * 24 * time.Hour},
	{"180-365 days", 365 * 24 * time.Hour},
	{"> 1 year", 1 << 62},
}

// Collect gathers the pack's data for [from, to) at now.
func Collect(ctx context.Context, src Source, from, to, now time.Time, rc RevocationChecker) (*Data, error) {
	d := &Data{GeneratedAt: now.UTC(), From: from.UTC(), To: to.UTC()}
	if head, err := src.LastEvent(ctx); err != nil {
		return nil, err
	} else if head != nil {
		d.HeadSeq = head.Seq
	}
	owners := map[string]*steward.Owner{}
	of := steward.OwnerFilter{Limit: steward.MaxLimit}
	err := steward.EachPage(func(cursor string) (*steward.Page[*steward.Owner], error) {
		of.Cursor = cursor
		return src.ListOwners(ctx, of)
	}, func(o *steward.Owner) error {
		owners[o.ID] = o
		return nil
	})
	if err != nil {
		return nil, err
	}
	ages := make([]int, len(AgeBuckets))
	err = src.ScanSubjects(ctx, nil, 5000, func(is []*steward.Identity, creds map[string][]*steward.Credential) error {
		for _, i := range is {
			if i.Status == steward.StatusRevoked {
				continue
			}
			d.Coverage.Identities++
			o := owners[i.OwnerID]
			switch {
			case o == nil:
				d.Coverage.Unowned++
				d.Unowned = append(d.Unowned, identityRow(i, "unowned"))
			case o.Status == steward.OwnerDeparted:
				d.Coverage.Orphaned++
				d.Unowned = append(d.Unowned, identityRow(i, "owner_departed"))
			default:
				d.Coverage.Owned++
			}
			for _, c := range creds[i.ID] {
				if c.Status != steward.CredentialActive {
					continue
				}
				basis := c.CreatedAt
				if c.LastRotatedAt != nil {
					basis = *c.LastRotatedAt
				}
				age := now.Sub(basis)
				for n, b := range AgeBuckets {
					if age < b.Upto {
						ages[n]++
						break
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	d.Coverage.Percent = percent(d.Coverage.Owned, d.Coverage.Identities)
	for n, b := range AgeBuckets {
		d.CredentialAges = append(d.CredentialAges, Bucket{Label: b.Label, Count: ages[n]})
	}
	snaps, err := src.ListSnapshots(ctx, from, to)
	if err != nil {
		return nil, err
	}
	for _, s := range snaps {
		d.CoverageTrend = append(d.CoverageTrend, TrendPoint{Time: s.Time, Percent: percent(s.Owned, s.Identities)})
	}
	d.CoverageTrend = append(d.CoverageTrend, TrendPoint{Time: now.UTC(), Percent: d.Coverage.Percent})

	if err := collectEvents(ctx, src, d, rc); err != nil {
		return nil, err
	}
	if err := collectCustody(ctx, src, d); err != nil {
		return nil, err
	}
	if err := collectFindings(ctx, src, d); err != nil {
		return nil, err
	}
	if err := collectReviews(ctx, src, d, now); err != nil {
		return nil, err
	}
	slices.SortFunc(d.Unowned, func(a, b IdentityRow) int { return strings.Compare(a.ID, b.ID) })
	return d, nil
}

func percent(n, of int64) float64 {
	if of == 0 {
		return 100
	}
	return float64(int(float64(n)*1000/float64(of))) / 10
}

func identityRow(i *steward.Identity, problem string) IdentityRow {
	return IdentityRow{ID: i.ID, Name: i.Name, Kind: string(i.Kind), Provider: i.Provider, Environment: i.Environment,
		Sensitivity: string(i.Sensitivity), Status: string(i.Status), Team: i.Team, OwnerID: i.OwnerID, Problem: problem}
}

type fpDoc struct {
	Fingerprint  string `json:"fingerprint"`
	RevokedWhere string `json:"revoked_where"`
	// NewFingerprint is the successor's, in a rotation event's after.
	NewFingerprint string     `json:"new_fingerprint"`
	LastRotatedAt  *time.Time `json:"last_rotated_at"`
	ID             string     `json:"id"`
}

// eachEvent calls fn on every event of action in the pack's period,
// oldest first.
func eachEvent(ctx context.Context, src Source, d *Data, action string, fn func(*steward.Event) error) error {
	f := steward.EventFilter{Action: action, Since: &d.From, Until: &d.To, Ascending: true, Limit: steward.MaxLimit}
	return steward.EachPage(func(cursor string) (*steward.Page[*steward.Event], error) {
		f.Cursor = cursor
		return src.ListEvents(ctx, f)
	}, fn)
}

func collectEvents(ctx context.Context, src Source, d *Data, rc RevocationChecker) error {
	for _, action := range []string{steward.ActionCredentialRotate, steward.ActionIdentityUpdate, steward.IdentityAction(steward.TransitionRevoke), steward.ActionCredentialRevoke} {
		err := eachEvent(ctx, src, d, action, func(e *steward.Event) error {
			var before, after fpDoc
			_ = json.Unmarshal(e.Before, &before)
			_ = json.Unmarshal(e.After, &after)
			switch action {
			case steward.ActionCredentialRotate:
				if after.NewFingerprint == "" {
					after.NewFingerprint = after.Fingerprint
				}
				d.Rotations = append(d.Rotations, Rotation{Seq: e.Seq, Time: e.Time, Actor: e.Actor, Action: e.Action, IdentityID: e.IdentityID,
					CredentialID: e.SubjectID, OldFingerprint: before.Fingerprint, NewFingerprint: after.NewFingerprint})
			case steward.ActionIdentityUpdate:
				if after.LastRotatedAt != nil && (before.LastRotatedAt == nil || after.LastRotatedAt.After(*before.LastRotatedAt)) {
					d.Rotations = append(d.Rotations, Rotation{Seq: e.Seq, Time: e.Time, Actor: e.Actor, Action: "identity.rotation_recorded",
						IdentityID: e.IdentityID})
				}
			default:
				r := Revocation{Seq: e.Seq, Time: e.Time, Actor: e.Actor, SubjectType: e.SubjectType, IdentityID: e.IdentityID, Reason: e.Reason}
				if e.SubjectType == steward.SubjectCredential {
					r.CredentialID = e.SubjectID
				}
				r.Check = postRevocationCheck(ctx, src, rc, r)
				if r.CredentialID != "" {
					r.Where = after.RevokedWhere
					if r.Where == "" && r.Check == checkRefused {
						// recorded before revocations said where
						r.Where = steward.RevokedSteward
					}
					d.countRevocation(e, r, after.Fingerprint)
				}
				d.Revocations = append(d.Revocations, r)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	slices.SortFunc(d.Rotations, func(a, b Rotation) int { return int(a.Seq - b.Seq) })
	slices.SortFunc(d.Revocations, func(a, b Revocation) int { return int(a.Seq - b.Seq) })
	return nil
}

const checkRefused = "refused by Steward"

func postRevocationCheck(ctx context.Context, src Source, rc RevocationChecker, r Revocation) string {
	if r.CredentialID != "" {
		c, err := src.GetCredential(ctx, r.CredentialID)
		if err != nil {
			if rc != nil {
				if ok, err := rc.Refused(ctx, r.CredentialID); err == nil && ok {
					return checkRefused
				}
			}
			return "credential not found"
		}
		if rc != nil {
			ok, err := rc.Refused(ctx, r.CredentialID)
			switch {
			case err != nil:
			case ok:
				return checkRefused
			default:
				return "FAILED: Steward still accepts the credential"
			}
		}
		if c.Status == steward.CredentialRevoked {
			return "revoked in inventory"
		}
		return "FAILED: credential is " + string(c.Status)
	}
	i, err := src.GetIdentity(ctx, r.IdentityID)
	if err != nil {
		return "identity not found"
	}
	if i.Status == steward.StatusRevoked {
		return "revoked in inventory"
	}
	return "FAILED: identity is " + string(i.Status)
}

func collectFindings(ctx context.Context, src Source, d *Data) error {
	byOWASP := map[string]*FindingCount{}
	byCSF := map[string]*FindingCount{}
	bump := func(c *FindingCount, st steward.FindingStatus) {
		switch st {
		case steward.FindingOpen:
			c.Open++
		case steward.FindingAcknowledged:
			c.Acknowledged++
		case steward.FindingWaived:
			c.Waived++
		}
	}
	for _, id := range steward.OWASPOrder {
		byOWASP[id] = &FindingCount{ID: steward.OWASPID(id), Name: steward.OWASPRisks[id]}
	}
	titles := map[string]string{}
	f := steward.FindingFilter{Unresolved: true, Limit: steward.MaxLimit}
	err := steward.EachPage(func(cursor string) (*steward.Page[*steward.Finding], error) {
		f.Cursor = cursor
		return src.ListFindings(ctx, f)
	}, func(x *steward.Finding) error {
		titles[x.ID] = x.OWASP
		if c := byOWASP[x.OWASP]; c != nil {
			bump(c, x.Status)
		}
		for _, csf := range x.CSF {
			if byCSF[csf] == nil {
				byCSF[csf] = &FindingCount{ID: csf}
			}
			bump(byCSF[csf], x.Status)
		}
		d.Findings = append(d.Findings, FindingRow{ID: x.ID, Check: x.Check, Severity: string(x.Severity), Status: string(x.Status),
			IdentityID: x.IdentityID, OwnerID: x.OwnerID, OWASP: steward.OWASPID(x.OWASP), CSF: x.CSF, Title: x.Title, FirstSeen: x.FirstSeen})
		return nil
	})
	if err != nil {
		return err
	}
	for _, id := range steward.OWASPOrder {
		d.FindingsByOWASP = append(d.FindingsByOWASP, *byOWASP[id])
	}
	for _, k := range slices.Sorted(maps.Keys(byCSF)) {
		d.FindingsByCSF = append(d.FindingsByCSF, *byCSF[k])
	}
	ws, err := src.ListWaivers(ctx, "")
	if err != nil {
		return err
	}
	for _, w := range ws {
		inForce := w.CreatedAt.Before(d.To) && w.Until.After(d.From) && (w.EndedAt == nil || w.EndedAt.After(d.From))
		if !inForce {
			continue
		}
		owasp := titles[w.FindingID]
		if owasp == "" {
			if fd, err := src.GetFinding(ctx, w.FindingID); err == nil {
				owasp = fd.OWASP
			}
		}
		d.Waivers = append(d.Waivers, WaiverRow{ID: w.ID, FindingID: w.FindingID, OWASP: steward.OWASPID(owasp), Reason: w.Reason, Approver: w.Approver,
			Until: w.Until, CreatedAt: w.CreatedAt, CreatedBy: w.CreatedBy, EndedAt: w.EndedAt, EndReason: w.EndReason})
	}
	return nil
}

func collectReviews(ctx context.Context, src Source, d *Data, now time.Time) error {
	cs, err := src.ListReviews(ctx, &d.From)
	if err != nil {
		return err
	}
	for _, c := range cs {
		if !c.CreatedAt.Before(d.To) {
			continue
		}
		items, err := src.ListReviewItems(ctx, c.ID)
		if err != nil {
			return err
		}
		r := ReviewRow{ID: c.ID, Name: c.Name, Status: c.Status, CreatedAt: c.CreatedAt, Deadline: c.Deadline, Items: len(items)}
		for _, it := range items {
			switch it.Decision {
			case steward.DecisionKeep:
				r.Keep++
			case steward.DecisionReduce:
				r.Reduce++
			case steward.DecisionRevoke:
				r.Revoke++
			case steward.DecisionReassign:
				r.Reassign++
			default:
				r.Pending++
				if now.After(c.Deadline) {
					r.Overdue++
				}
			}
		}
		d.Reviews = append(d.Reviews, r)
	}
	return nil
}
