package evidence

import (
	"crypto/ed25519"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/steward-nhi/steward/internal/golden"
)

var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func fixture() *Data {
	until := t0.AddDate(0, 1, 0)
	return &Data{
		GeneratedAt: t0.Add(12 * time.Hour), From: t0.AddDate(0, -3, 0), To: t0, HeadSeq: 4711,
		Coverage:      Coverage{Identities: 600, Owned: 540, Unowned: 36, Orphaned: 24, Percent: 90},
		CoverageTrend: []TrendPoint{{t0.AddDate(0, -2, 0), 81.5}, {t0.AddDate(0, -1, 0), 86}, {t0, 90}},
		Unowned: []IdentityRow{{ID: "nhi_a", Name: "=cmd|' /C calc'!A0", Kind: "api_key", Provider: "aws", Environment: "prod", Sensitivity: "critical", Status: "active", Problem: "unowned"},
			{ID: "nhi_b", Name: "legacy <script>", Kind: "pat", Provider: "github", Status: "active", OwnerID: "own_x", Problem: "owner_departed"}},
		CredentialAges: []Bucket{{"< 30 days", 120}, {"30-90 days", 200}, {"90-180 days", 90}, {"180-365 days", 40}, {"> 1 year", 12}},
		Rotations:      []Rotation{{Seq: 10, Time: t0.AddDate(0, 0, -20), Actor: "token:ops", Action: "credential.rotate", IdentityID: "nhi_c", CredentialID: "crd_2", OldFingerprint: "aa", NewFingerprint: "bb"}},
		Revocations: []Revocation{{Seq: 12, Time: t0.AddDate(0, 0, -10), Actor: "system:posture", SubjectType: "identity", IdentityID: "nhi_d", Reason: "dormant", Check: "revoked in inventory"},
			{Seq: 13, Time: t0.AddDate(0, 0, -9), Actor: "token:ops", SubjectType: "credential", IdentityID: "nhi_e", CredentialID: "crd_aws", Reason: "manual", Check: "revoked in inventory", Where: "inventory only"},
			{Seq: 14, Time: t0.AddDate(0, 0, -9), Actor: "token:ops", SubjectType: "credential", IdentityID: "nhi_c", CredentialID: "crd_key", Reason: "manual", Check: "refused by Steward", Where: "steward"}},
		RotationsVerified: []VerifiedRotation{{RotationID: "rot_1", Time: t0.AddDate(0, 0, -8), Actor: "token:ops", IdentityID: "nhi_f", CredentialID: "crd_pg",
			OldFingerprint: "cc", NewFingerprint: "dd", ProviderAnswer: "ALTER ROLE", TestResult: "new secret accepted by the provider", OldRefused: true,
			Proof: "old secret refused by the provider: password authentication failed", Seqs: []int64{20, 21, 22, 23, 24, 25}}},
		RevocationsProven: []ProvenRevocation{
			{Seq: 14, Time: t0.AddDate(0, 0, -9), Actor: "token:ops", SubjectType: "credential", SubjectID: "crd_key", IdentityID: "nhi_c", Fingerprint: "ee", Where: "steward", Proof: "refused by Steward"},
			{Seq: 25, Time: t0.AddDate(0, 0, -8), Actor: "token:ops", SubjectType: "credential", SubjectID: "crd_pg", IdentityID: "nhi_f", Fingerprint: "cc", Where: "provider", Proof: "old secret refused by the provider: password authentication failed"},
			{Seq: 30, Time: t0.AddDate(0, 0, -7), Actor: "system:lease-expiry", SubjectType: "lease", SubjectID: "lse_1", IdentityID: "nhi_f", Fingerprint: "ff", Where: "provider", Proof: "role v_lse_1 dropped: DROP ROLE"}},
		RevocationCounts: RevocationCounts{Steward: 1, Provider: 2, InventoryOnly: 1},
		FindingsByOWASP:  []FindingCount{{ID: "NHI1:2025", Name: "Improper Offboarding", Open: 60, Acknowledged: 2, Waived: 1}, {ID: "NHI7:2025", Name: "Long-Lived Secrets", Open: 30}},
		FindingsByCSF:    []FindingCount{{ID: "GV.RR-02", Open: 60}, {ID: "PR.AA-01", Open: 90, Acknowledged: 2, Waived: 1}},
		Findings:         []FindingRow{{ID: "fnd_1", Check: "owner.missing", Severity: "critical", Status: "open", IdentityID: "nhi_a", OWASP: "NHI1:2025", CSF: []string{"GV.RR-02", "PR.AA-01"}, Title: "Identity has no owner", FirstSeen: t0.AddDate(0, 0, -40)}},
		Waivers:          []WaiverRow{{ID: "wvr_1", FindingID: "fnd_9", OWASP: "NHI7:2025", Reason: "vendor limitation", Approver: "ciso@example.com", Until: until, CreatedAt: t0.AddDate(0, 0, -5), CreatedBy: "token:ops"}},
		Reviews:          []ReviewRow{{ID: "rev_1", Name: "Q1 payments", Status: "open", CreatedAt: t0.AddDate(0, 0, -20), Deadline: t0.AddDate(0, 0, -6), Items: 10, Pending: 2, Overdue: 2, Keep: 5, Reduce: 1, Revoke: 1, Reassign: 1}},
	}
}

type keySigner struct{ k ed25519.PrivateKey }

func (s keySigner) KeyID() string                   { return "audit-key-1" }
func (s keySigner) Sign(msg []byte) ([]byte, error) { return ed25519.Sign(s.k, msg), nil }

func TestRenderGolden(t *testing.T) {
	seed := make([]byte, ed25519.SeedSize) // fixed key: Ed25519 signatures are deterministic
	key := ed25519.NewKeyFromSeed(seed)
	files, err := Render(fixture(), keySigner{key})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]byte{}
	for _, f := range files {
		got[f.Name] = f.Content
		golden.Check(t, filepath.Join("testdata", "pack", f.Name), f.Content)
	}
	for _, tc := range []struct {
		name string
		test func(t *testing.T)
	}{
		{"the manifest verifies with the public key", func(t *testing.T) {
			if err := Verify(got, key.Public().(ed25519.PublicKey)); err != nil {
				t.Fatal(err)
			}
		}},
		{"a changed file fails verification", func(t *testing.T) {
			bad := map[string][]byte{}
			for k, v := range got {
				bad[k] = v
			}
			bad["findings.csv"] = append([]byte{}, append(got["findings.csv"], 'x')...)
			if Verify(bad, nil) == nil {
				t.Fatal("tampered file verified")
			}
		}},
		{"another key does not verify", func(t *testing.T) {
			pub, _, _ := ed25519.GenerateKey(nil)
			if Verify(got, pub) == nil {
				t.Fatal("wrong key verified")
			}
		}},
		{"the HTML is self-contained and escaped", func(t *testing.T) {
			h := string(got["index.html"])
			for _, bad := range []string{"<script", "http://", "https://", "src="} {
				if strings.Contains(strings.ReplaceAll(h, `xmlns="http://www.w3.org/2000/svg"`, ""), bad) {
					t.Errorf("index.html contains %q", bad)
				}
			}
			if strings.Count(h, "<svg") != 3 {
				t.Errorf("want 3 charts, got %d", strings.Count(h, "<svg"))
			}
		}},
		{"CSV cells cannot run as formulas", func(t *testing.T) {
			if !strings.Contains(string(got["ownership.csv"]), "'=cmd") {
				t.Error("formula not neutralised")
			}
		}},
	} {
		t.Run(tc.name, tc.test)
	}
}
