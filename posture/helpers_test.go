package posture

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/steward-nhi/steward/internal/golden"

	"github.com/steward-nhi/steward"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func ago(days int) *time.Time   { t := now.AddDate(0, 0, -days); return &t }
func ahead(days int) *time.Time { t := now.AddDate(0, 0, days); return &t }

// in returns an input for an active medium-tier identity, changed by mods.
func in(mods ...func(*Input)) *Input {
	cfg := DefaultConfig()
	x := &Input{
		PostureSubject: &steward.PostureSubject{Identity: &steward.Identity{ID: "nhi_1", Name: "svc", Kind: steward.KindServiceAccount, Provider: "aws",
			OwnerID: "own_1", Sensitivity: steward.SensitivityMedium, Status: steward.StatusActive, CreatedAt: *ago(400), LastUsedAt: ago(1),
			LastRotatedAt: ago(10), ExpiresAt: ahead(30), Labels: map[string]string{}, Scopes: []string{}}, SharedWith: map[string][]steward.SharedCredential{}},
		Owner:  &steward.Owner{ID: "own_1", Name: "Ada", Kind: steward.OwnerPerson, Status: steward.OwnerActive, BackupOwnerID: "own_2"},
		Backup: &steward.Owner{ID: "own_2", Name: "Bob", Kind: steward.OwnerPerson, Status: steward.OwnerActive},
		Now:    now, Config: &cfg,
	}
	x.Tier = steward.DefaultPolicy()[x.Identity.Sensitivity]
	for _, m := range mods {
		m(x)
	}
	x.Tier = steward.DefaultPolicy()[x.Identity.Sensitivity]
	return x
}

func cred(id, typ string, mods ...func(*steward.Credential)) *steward.Credential {
	c := &steward.Credential{ID: id, IdentityID: "nhi_1", Type: typ, Status: steward.CredentialActive, CreatedAt: *ago(10), Fingerprint: "fp-" + id}
	for _, m := range mods {
		m(c)
	}
	return c
}

type checkCase struct {
	name  string
	in    *Input
	want  int              // results
	sev   steward.Severity // of the first result, when set
	field string           // evidence key expected in the first result
}

func runCheck(t *testing.T, c Check, cases []checkCase) {
	t.Helper()
	if c.OWASP == "" || steward.OWASPRisks[c.OWASP] == "" || len(c.CSF) == 0 {
		t.Fatalf("check %s must name an OWASP id and CSF subcategories", c.ID)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := c.Eval(tc.in)
			if len(got) != tc.want {
				t.Fatalf("%s: got %d results %+v, want %d", c.ID, len(got), got, tc.want)
			}
			if tc.want == 0 {
				return
			}
			if tc.sev != "" && got[0].Severity != tc.sev {
				t.Errorf("severity %s, want %s", got[0].Severity, tc.sev)
			}
			if tc.field != "" {
				if _, ok := got[0].Evidence[tc.field]; !ok {
					t.Errorf("evidence %v lacks %q", got[0].Evidence, tc.field)
				}
			}
			if got[0].Remediation == "" {
				t.Error("no remediation")
			}
		})
	}
}

// goldenSubject is one named input of a findings golden file.
type goldenSubject struct {
	name string
	in   *Input
}

// findingsGolden evaluates checks on each subject and compares the
// findings, as JSON keyed by subject name, with testdata/file (-update
// rewrites it).
func findingsGolden(t *testing.T, file string, checks []Check, subjects []goldenSubject) {
	t.Helper()
	type finding struct {
		Check       string           `json:"check"`
		Title       string           `json:"title"`
		OWASP       string           `json:"owasp"`
		CSF         []string         `json:"csf"`
		Severity    steward.Severity `json:"severity"`
		Credential  string           `json:"credential_id"`
		Evidence    map[string]any   `json:"evidence"`
		Remediation string           `json:"remediation"`
	}
	out := map[string][]finding{}
	for _, s := range subjects {
		out[s.name] = []finding{}
		for _, c := range checks {
			for _, r := range c.Eval(s.in) {
				title := r.Title
				if title == "" {
					title = c.Title
				}
				out[s.name] = append(out[s.name], finding{c.ID, title, c.OWASP, c.CSF, r.Severity, r.CredentialID, r.Evidence, r.Remediation})
			}
		}
	}
	got, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	golden.Check(t, filepath.Join("testdata", file), got)
}
