package evidence

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
)

// ManifestFormat names the manifest's format.
const ManifestFormat = "steward.evidence/v1"

// Manifest lists every file of a pack with its SHA-256.
type Manifest struct {
	Format      string          `json:"format"`
	GeneratedAt time.Time       `json:"generated_at"`
	From        time.Time       `json:"from"`
	To          time.Time       `json:"to"`
	AuditHead   int64           `json:"audit_head_seq"`
	Files       []ManifestEntry `json:"files"`
	Signature   *Signature      `json:"signature,omitempty"`
}

// ManifestEntry is one file.
type ManifestEntry struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	Bytes  int    `json:"bytes"`
}

// Signature is an Ed25519 signature over the RFC 8785 canonical JSON of the
// manifest without its signature field.
type Signature struct {
	Algorithm string `json:"algorithm"`
	KeyID     string `json:"key_id"`
	Value     string `json:"value"` // base64
}

// Render writes the pack's files: index.html, the CSV files, evidence.json
// and manifest.json (last), signed when signer is not nil.
func Render(d *Data, signer Signer) ([]steward.EvidenceFile, error) {
	var files []steward.EvidenceFile
	add := func(name string, b []byte) { files = append(files, steward.EvidenceFile{Name: name, Content: b}) }
	html, err := renderHTML(d)
	if err != nil {
		return nil, err
	}
	add("index.html", html)
	for _, c := range csvFiles(d) {
		b, err := writeCSV(c.header, c.rows)
		if err != nil {
			return nil, err
		}
		add(c.name, b)
	}
	js, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, err
	}
	add("evidence.json", append(js, '\n'))
	m := Manifest{Format: ManifestFormat, GeneratedAt: d.GeneratedAt, From: d.From, To: d.To, AuditHead: d.HeadSeq}
	for _, f := range files {
		sum := sha256.Sum256(f.Content)
		m.Files = append(m.Files, ManifestEntry{Name: f.Name, SHA256: hex.EncodeToString(sum[:]), Bytes: len(f.Content)})
	}
	if signer != nil {
		body, err := manifestBody(&m)
		if err != nil {
			return nil, err
		}
		sig, err := signer.Sign(body)
		if err != nil {
			return nil, fmt.Errorf("sign manifest: %w", err)
		}
		m.Signature = &Signature{Algorithm: "Ed25519", KeyID: signer.KeyID(), Value: base64.StdEncoding.EncodeToString(sig)}
	}
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	add("manifest.json", append(mb, '\n'))
	return files, nil
}

// manifestBody is what the signature covers.
func manifestBody(m *Manifest) ([]byte, error) {
	c := *m
	c.Signature = nil
	b, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	return steward.Canonicalize(b)
}

// Verify checks a pack: every file's digest against the manifest and, when
// pub is given, the manifest's signature.
func Verify(files map[string][]byte, pub ed25519.PublicKey) error {
	raw, ok := files["manifest.json"]
	if !ok {
		return errors.New("manifest.json is missing")
	}
	var m Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("manifest.json: %w", err)
	}
	for _, e := range m.Files {
		b, ok := files[e.Name]
		if !ok {
			return fmt.Errorf("%s is listed in the manifest but missing", e.Name)
		}
		sum := sha256.Sum256(b)
		if hex.EncodeToString(sum[:]) != e.SHA256 {
			return fmt.Errorf("%s does not match its SHA-256 in the manifest", e.Name)
		}
	}
	if pub == nil {
		return nil
	}
	if m.Signature == nil {
		return errors.New("manifest is not signed")
	}
	sig, err := base64.StdEncoding.DecodeString(m.Signature.Value)
	if err != nil {
		return fmt.Errorf("manifest signature: %w", err)
	}
	body, err := manifestBody(&m)
	if err != nil {
		return err
	}
	if !ed25519.Verify(pub, body, sig) {
		return errors.New("manifest signature does not verify")
	}
	return nil
}

type csvFile struct {
	name   string
	header []string
	rows   [][]string
}

func tstr(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func tptr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return tstr(*t)
}

func itoa[T ~int | ~int64](n T) string { return strconv.FormatInt(int64(n), 10) }

func csvFiles(d *Data) []csvFile {
	own := csvFile{name: "ownership.csv", header: []string{"identity_id", "name", "kind", "provider", "environment", "sensitivity", "status", "team", "owner_id", "problem"}}
	for _, r := range d.Unowned {
		own.rows = append(own.rows, []string{r.ID, r.Name, r.Kind, r.Provider, r.Environment, r.Sensitivity, r.Status, r.Team, r.OwnerID, r.Problem})
	}
	ages := csvFile{name: "credential_ages.csv", header: []string{"age", "active_credentials"}}
	for _, b := range d.CredentialAges {
		ages.rows = append(ages.rows, []string{b.Label, itoa(b.Count)})
	}
	rot := csvFile{name: "rotations.csv", header: []string{"audit_seq", "time", "actor", "action", "identity_id", "credential_id", "old_fingerprint", "new_fingerprint"}}
	for _, r := range d.Rotations {
		rot.rows = append(rot.rows, []string{itoa(r.Seq), tstr(r.Time), r.Actor, r.Action, r.IdentityID, r.CredentialID, r.OldFingerprint, r.NewFingerprint})
	}
	rev := csvFile{name: "revocations.csv", header: []string{"audit_seq", "time", "actor", "subject_type", "identity_id", "credential_id", "reason", "post_revocation_check", "revoked_where"}}
	for _, r := range d.Revocations {
		rev.rows = append(rev.rows, []string{itoa(r.Seq), tstr(r.Time), r.Actor, r.SubjectType, r.IdentityID, r.CredentialID, r.Reason, r.Check, r.Where})
	}
	ver := csvFile{name: "rotations_verified.csv", header: []string{"rotation_id", "time", "actor", "identity_id", "credential_id", "old_fingerprint", "new_fingerprint",
		"provider_answer", "test_result", "old_refused", "proof", "audit_seqs"}}
	for _, r := range d.RotationsVerified {
		seqs := make([]string, len(r.Seqs))
		for n, q := range r.Seqs {
			seqs[n] = itoa(q)
		}
		ver.rows = append(ver.rows, []string{r.RotationID, tstr(r.Time), r.Actor, r.IdentityID, r.CredentialID, r.OldFingerprint, r.NewFingerprint,
			r.ProviderAnswer, r.TestResult, strconv.FormatBool(r.OldRefused), r.Proof, strings.Join(seqs, " ")})
	}
	prv := csvFile{name: "revocations_proven.csv", header: []string{"audit_seq", "time", "actor", "subject_type", "subject_id", "identity_id", "fingerprint", "revoked_where", "proof"}}
	for _, r := range d.RevocationsProven {
		prv.rows = append(prv.rows, []string{itoa(r.Seq), tstr(r.Time), r.Actor, r.SubjectType, r.SubjectID, r.IdentityID, r.Fingerprint, r.Where, r.Proof})
	}
	fnd := csvFile{name: "findings.csv", header: []string{"id", "check", "severity", "status", "identity_id", "owner_id", "owasp", "csf", "title", "first_seen"}}
	for _, f := range d.Findings {
		fnd.rows = append(fnd.rows, []string{f.ID, f.Check, f.Severity, f.Status, f.IdentityID, f.OwnerID, f.OWASP, strings.Join(f.CSF, " "), f.Title, tstr(f.FirstSeen)})
	}
	byID := csvFile{name: "findings_by_id.csv", header: []string{"framework", "id", "name", "open", "acknowledged", "waived"}}
	for _, c := range d.FindingsByOWASP {
		byID.rows = append(byID.rows, []string{"OWASP NHI Top 10 2025", c.ID, c.Name, itoa(c.Open), itoa(c.Acknowledged), itoa(c.Waived)})
	}
	for _, c := range d.FindingsByCSF {
		byID.rows = append(byID.rows, []string{"NIST CSF 2.0", c.ID, c.Name, itoa(c.Open), itoa(c.Acknowledged), itoa(c.Waived)})
	}
	wv := csvFile{name: "waivers.csv", header: []string{"id", "finding_id", "owasp", "reason", "approver", "until", "created_at", "created_by", "ended_at", "end_reason"}}
	for _, w := range d.Waivers {
		wv.rows = append(wv.rows, []string{w.ID, w.FindingID, w.OWASP, w.Reason, w.Approver, tstr(w.Until), tstr(w.CreatedAt), w.CreatedBy, tptr(w.EndedAt), w.EndReason})
	}
	rv := csvFile{name: "reviews.csv", header: []string{"id", "name", "status", "created_at", "deadline", "items", "pending", "overdue", "keep", "reduce", "revoke", "reassign"}}
	for _, r := range d.Reviews {
		rv.rows = append(rv.rows, []string{r.ID, r.Name, r.Status, tstr(r.CreatedAt), tstr(r.Deadline), itoa(r.Items), itoa(r.Pending), itoa(r.Overdue),
			itoa(r.Keep), itoa(r.Reduce), itoa(r.Revoke), itoa(r.Reassign)})
	}
	return []csvFile{own, ages, rot, rev, ver, prv, fnd, byID, wv, rv}
}

// writeCSV writes rows, neutralising cells that a spreadsheet would run as
// a formula.
func writeCSV(header []string, rows [][]string) ([]byte, error) {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	if err := w.Write(header); err != nil {
		return nil, err
	}
	for _, r := range rows {
		safe := make([]string, len(r))
		for n, c := range r {
			if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
				c = "'" + c
			}
			safe[n] = c
		}
		if err := w.Write(safe); err != nil {
			return nil, err
		}
	}
	w.Flush()
	return b.Bytes(), w.Error()
}
