package evidence

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/steward-nhi/steward"
)

// rotationDoc is the part of a rotation's events the pack reads.
type rotationDoc struct {
	Rotation       string `json:"rotation"`
	DryRun         bool   `json:"dry_run"`
	OldFingerprint string `json:"old_fingerprint"`
	NewFingerprint string `json:"new_fingerprint"`
	ProviderAnswer string `json:"provider_answer"`
	TestResult     string `json:"test_result"`
	Proof          string `json:"proof"`
	Proven         bool   `json:"proven"`
	// Lease and access-token revocations.
	Fingerprint  string `json:"fingerprint"`
	Username     string `json:"username"`
	RevokedWhere string `json:"revoked_where"`
	RevokeError  string `json:"revoke_error"`
	// A revocation_proven event's where.
	Where string `json:"where"`
}

// countRevocation counts a credential's revocation and, when it took
// effect where the secret is checked, lists it as proven.
func (d *Data) countRevocation(e *steward.Event, r Revocation, fingerprint string) {
	switch {
	case strings.HasPrefix(r.Check, "FAILED"):
		d.RevocationCounts.Unproven++
	case r.Where == steward.RevokedSteward:
		d.RevocationCounts.Steward++
		d.RevocationsProven = append(d.RevocationsProven, ProvenRevocation{Seq: e.Seq, Time: e.Time, Actor: e.Actor, SubjectType: e.SubjectType,
			SubjectID: e.SubjectID, IdentityID: e.IdentityID, Fingerprint: fingerprint, Where: r.Where, Proof: r.Check})
	case r.Where == steward.RevokedProvider:
		d.RevocationCounts.Provider++
		d.RevocationsProven = append(d.RevocationsProven, ProvenRevocation{Seq: e.Seq, Time: e.Time, Actor: e.Actor, SubjectType: e.SubjectType,
			SubjectID: e.SubjectID, IdentityID: e.IdentityID, Fingerprint: fingerprint, Where: r.Where, Proof: r.Check})
	default:
		d.RevocationCounts.InventoryOnly++
	}
}

// collectCustody reads the rotations Steward performed at providers and
// the revocations that providers confirmed or Steward enforces beyond
// credential revokes: an old secret a provider refused after a rotation,
// a lease's dropped role, a revoked access token.
func collectCustody(ctx context.Context, src Source, d *Data) error {
	seqs := map[string][]int64{}
	var finished []*steward.Event
	for _, action := range []string{steward.ActionRotationStart, steward.ActionRotationStep, steward.ActionRotationFinish, steward.ActionCredentialRotate,
		steward.ActionRevocationProven, steward.ActionSecretDestroy, steward.ActionLeaseRevoke, steward.ActionAccessTokenRevoke} {
		err := eachEvent(ctx, src, d, action, func(e *steward.Event) error {
			var doc rotationDoc
			_ = json.Unmarshal(e.After, &doc)
			if doc.Rotation != "" {
				seqs[doc.Rotation] = append(seqs[doc.Rotation], e.Seq)
			} else if action == steward.ActionSecretDestroy && strings.HasPrefix(e.Reason, "rotation ") {
				// custody.Destroy names the rotation in its reason.
				if id, _, ok := strings.Cut(strings.TrimPrefix(e.Reason, "rotation "), " "); ok {
					seqs[id] = append(seqs[id], e.Seq)
				}
			}
			switch action {
			case steward.ActionRotationFinish:
				if !doc.DryRun && doc.NewFingerprint != "" {
					finished = append(finished, e)
				}
			case steward.ActionRevocationProven:
				d.RevocationCounts.Provider++
				d.RevocationsProven = append(d.RevocationsProven, ProvenRevocation{Seq: e.Seq, Time: e.Time, Actor: e.Actor, SubjectType: e.SubjectType,
					SubjectID: e.SubjectID, IdentityID: e.IdentityID, Fingerprint: doc.Fingerprint, Where: steward.RevokedProvider, Proof: doc.Proof})
			case steward.ActionLeaseRevoke:
				if e.Reason == "creation failed" {
					return nil // the role never existed: nothing was revoked
				}
				if doc.RevokedWhere != steward.RevokedProvider {
					d.RevocationCounts.InventoryOnly++
					return nil
				}
				d.RevocationCounts.Provider++
				d.RevocationsProven = append(d.RevocationsProven, ProvenRevocation{Seq: e.Seq, Time: e.Time, Actor: e.Actor, SubjectType: e.SubjectType,
					SubjectID: e.SubjectID, IdentityID: e.IdentityID, Fingerprint: doc.Fingerprint, Where: steward.RevokedProvider,
					Proof: "role " + doc.Username + " dropped: " + doc.RevokeError})
			case steward.ActionAccessTokenRevoke:
				d.RevocationCounts.Steward++
				d.RevocationsProven = append(d.RevocationsProven, ProvenRevocation{Seq: e.Seq, Time: e.Time, Actor: e.Actor, SubjectType: e.SubjectType,
					SubjectID: e.SubjectID, IdentityID: e.IdentityID, Where: steward.RevokedSteward, Proof: "on Steward's deny list until it expires"})
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	for _, e := range finished {
		var doc rotationDoc
		_ = json.Unmarshal(e.After, &doc)
		s := slices.Clone(seqs[doc.Rotation])
		slices.Sort(s)
		d.RotationsVerified = append(d.RotationsVerified, VerifiedRotation{RotationID: doc.Rotation, Time: e.Time, Actor: e.Actor, IdentityID: e.IdentityID,
			CredentialID: e.SubjectID, OldFingerprint: doc.OldFingerprint, NewFingerprint: doc.NewFingerprint, ProviderAnswer: doc.ProviderAnswer,
			TestResult: doc.TestResult, OldRefused: doc.Proven, Proof: doc.Proof, Seqs: slices.Compact(s)})
	}
	slices.SortFunc(d.RevocationsProven, func(a, b ProvenRevocation) int { return int(a.Seq - b.Seq) })
	return nil
}
