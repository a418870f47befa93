// Package aws reads the IAM credential report (aws iam
// get-credential-report): one identity per IAM user, one credential per
// active access key.
package aws

import (
	"bytes"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/importer/internal/kit"
)

// CredentialType is the credential type of an IAM access key.
const CredentialType = "aws_access_key"

// RootUser is the user column of the account's root row.
const RootUser = "<root_account>"

// required are the columns Parse reads; the report has more.
var required = []string{
	"user", "arn", "user_creation_time", "password_enabled", "password_last_used",
	"access_key_1_active", "access_key_1_last_rotated", "access_key_1_last_used_date",
	"access_key_2_active", "access_key_2_last_rotated", "access_key_2_last_used_date",
}

// Parse reads a credential report: the CSV itself, the base64 text that
// get-credential-report returns as Content, or that command's JSON output.
func Parse(r io.Reader) (kit.Result, error) {
	data, err := kit.ReadAll(r)
	if err != nil {
		return kit.Result{}, err
	}
	data, err = unwrap(kit.StripBOM(data))
	if err != nil {
		return kit.Result{}, err
	}
	return parseCSV(data)
}

// unwrap returns the CSV text from any of the accepted forms.
func unwrap(data []byte) ([]byte, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, kit.Invalid(0, "the file is empty")
	}
	if trimmed[0] == '{' {
		var out struct {
			Content      *string `json:"Content"`
			ReportFormat string  `json:"ReportFormat"`
		}
		if err := json.Unmarshal(trimmed, &out); err != nil {
			return nil, kit.Invalid(1, "not a credential report: %v", err)
		}
		if out.Content == nil {
			return nil, kit.Invalid(1, "JSON without a Content field: expected the output of aws iam get-credential-report")
		}
		if out.ReportFormat != "" && out.ReportFormat != "text/csv" {
			return nil, kit.Invalid(1, "ReportFormat %q is not text/csv", out.ReportFormat)
		}
		return decodeBase64([]byte(*out.Content))
	}
	firstLine, _, _ := bytes.Cut(trimmed, []byte("\n"))
	if bytes.Contains(firstLine, []byte(",")) {
		return data, nil
	}
	return decodeBase64(trimmed)
}

func decodeBase64(b []byte) ([]byte, error) {
	clean := bytes.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, b)
	out, err := base64.StdEncoding.DecodeString(string(clean))
	if err != nil {
		return nil, kit.Invalid(1, "not a credential report: expected CSV with a header (user,arn,…) or its base64 form (%v)", err)
	}
	return kit.StripBOM(out), nil
}

func parseCSV(data []byte) (kit.Result, error) {
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return kit.Result{}, csvError(err)
	}
	col := map[string]int{}
	for n, h := range header {
		col[strings.ToLower(strings.TrimSpace(h))] = n
	}
	for _, name := range required {
		if _, ok := col[name]; !ok {
			return kit.Result{}, kit.Invalid(1, "the header has no %q column: expected the IAM credential report's columns (user,arn,user_creation_time,…)", name)
		}
	}

	var c kit.Collector
	for index := 1; !c.Hopeless(); index++ {
		row, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return kit.Result{}, csvError(err)
		}
		line, _ := cr.FieldPos(0)
		if len(row) == 1 && strings.TrimSpace(row[0]) == "" {
			continue
		}
		if len(row) != len(header) {
			c.Bad(index, line, "", "", "has %d columns, the header has %d", len(row), len(header))
			continue
		}
		rec, field, err := readRow(rowReader{row: row, col: col})
		if err != nil {
			c.Bad(index, line, rowRef(row, col), field, "%v", err)
			continue
		}
		rec.Line = line
		c.Add(index, rec)
	}
	return c.Result(), nil
}

func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return kit.Invalid(pe.Line, "column %d: %v", pe.Column, pe.Err)
	}
	if errors.Is(err, io.EOF) {
		return kit.Invalid(0, "the file is empty")
	}
	return kit.Invalid(0, "%v", err)
}

func rowRef(row []string, col map[string]int) string {
	if arn := row[col["arn"]]; arn != "" {
		return arn
	}
	return row[col["user"]]
}

// rowReader reads one report row by column name.
type rowReader struct {
	row []string
	col map[string]int
}

// get returns the column's value, or "" when the column is absent.
func (r rowReader) get(name string) string {
	n, ok := r.col[name]
	if !ok {
		return ""
	}
	return strings.TrimSpace(r.row[n])
}

// noValue reports whether v is one of the report's ways of saying "nothing".
func noValue(v string) bool {
	switch strings.ToLower(v) {
	case "", "n/a", "no_information", "not_supported":
		return true
	}
	return false
}

// time returns the column as a time, or nil for N/A and its kin.
func (r rowReader) time(name string) (*time.Time, error) {
	v := r.get(name)
	if noValue(v) {
		return nil, nil
	}
	t, err := kit.ParseTime(v)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// bool returns the column as a boolean; ok is false for N/A and its kin.
func (r rowReader) bool(name string) (value, ok bool, err error) {
	v := r.get(name)
	if noValue(v) {
		return false, false, nil
	}
	switch strings.ToLower(v) {
	case "true":
		return true, true, nil
	case "false":
		return false, true, nil
	}
	return false, false, fmt.Errorf("%q is neither true nor false", v)
}

// readRow turns one row into a record; on error it names the column.
func readRow(r rowReader) (steward.ImportRecord, string, error) {
	user, arn := r.get("user"), r.get("arn")
	if user == "" {
		return steward.ImportRecord{}, "user", errors.New("is empty")
	}
	if !strings.HasPrefix(arn, "arn:") {
		return steward.ImportRecord{}, "arn", fmt.Errorf("%q is not an ARN", arn)
	}
	id := kit.NewIdentity(steward.KindServiceAccount, "aws", arn, user)
	if parts := strings.Split(arn, ":"); len(parts) >= 6 && parts[4] != "" {
		id.Labels["aws_account_id"] = parts[4]
	}
	if user == RootUser {
		id.Labels["root"] = "true"
		id.Sensitivity = steward.SensitivityCritical
	}
	created, err := r.time("user_creation_time")
	if err != nil {
		return steward.ImportRecord{}, "user_creation_time", err
	}
	if created != nil {
		id.CreatedAt = *created
	}
	password, _, err := r.bool("password_enabled")
	if err != nil {
		return steward.ImportRecord{}, "password_enabled", err
	}
	if password {
		id.Labels["console_password"] = "true"
	}
	if _, ok := r.col["mfa_active"]; ok {
		mfa, known, err := r.bool("mfa_active")
		if err != nil {
			return steward.ImportRecord{}, "mfa_active", err
		}
		if known {
			id.Labels["mfa_active"] = fmt.Sprint(mfa)
		}
	}
	passwordUsed, err := r.time("password_last_used")
	if err != nil {
		return steward.ImportRecord{}, "password_last_used", err
	}

	rec := steward.ImportRecord{Credentials: []steward.Credential{}}
	used := []*time.Time{passwordUsed}
	var rotated []*time.Time
	for _, key := range []string{"access_key_1", "access_key_2"} {
		active, _, err := r.bool(key + "_active")
		if err != nil {
			return steward.ImportRecord{}, key + "_active", err
		}
		lastRotated, err := r.time(key + "_last_rotated")
		if err != nil {
			return steward.ImportRecord{}, key + "_last_rotated", err
		}
		lastUsed, err := r.time(key + "_last_used_date")
		if err != nil {
			return steward.ImportRecord{}, key + "_last_used_date", err
		}
		// An inactive key no longer authenticates, but its last use is
		// still a use of the identity.
		used = append(used, lastUsed)
		if !active {
			continue
		}
		rotated = append(rotated, lastRotated)
		cred := steward.Credential{
			Type:          CredentialType,
			ExternalRef:   key,
			Status:        steward.CredentialActive,
			LastRotatedAt: lastRotated,
			LastUsedAt:    lastUsed,
			Metadata:      map[string]string{},
		}
		if lastRotated != nil {
			cred.CreatedAt = *lastRotated
		}
		for _, m := range []string{"region", "service"} {
			if v := r.get(key + "_last_used_" + m); !noValue(v) {
				cred.Metadata["last_used_"+m] = v
			}
		}
		rec.Credentials = append(rec.Credentials, cred)
	}
	id.LastUsedAt = kit.Newest(used...)
	id.LastRotatedAt = kit.Newest(rotated...)
	rec.Identity = id
	return rec, "", nil
}
