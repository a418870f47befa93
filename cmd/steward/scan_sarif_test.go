package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestScanSARIFLocationsAreRelativeToTheRepositoryRoot runs "steward scan
// app -o sarif" from a repository root: code scanning must see
// app/config.py, not config.py.
func TestScanSARIFLocationsAreRelativeToTheRepositoryRoot(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	key := "aws_access_key_id = AKIAQ3T5RZ7Y2XW4VUSO\n"
	if err := os.WriteFile(filepath.Join(root, "app", "config.py"), []byte(key), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(root)
	for _, tt := range []struct {
		name string
		args []string
		uri  string
	}{
		{"a subdirectory", []string{"scan", "app", "-o", "sarif", "--no-progress"}, "app/config.py"},
		{"a subdirectory given with ./", []string{"scan", "./app/", "-o", "sarif", "--no-progress"}, "app/config.py"},
		{"the root itself", []string{"scan", "-o", "sarif", "--no-progress"}, "app/config.py"},
		{"a file", []string{"scan", "app/config.py", "-o", "sarif", "--no-progress"}, "app/config.py"},
		{"an absolute path", []string{"scan", filepath.Join(root, "app"), "-o", "sarif", "--no-progress"}, "app/config.py"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := run(context.Background(), tt.args, func(string) string { return "" }, nil, &out, &errb)
			if ec, ok := err.(exitCoder); !ok || ec.ExitCode() != 1 {
				t.Fatalf("exit: %v\n%s", err, errb.String())
			}
			var doc struct {
				Runs []struct {
					Tool    struct{ Driver struct{ Version string } }
					Bases   map[string]struct{ URI string } `json:"originalUriBaseIds"`
					Results []struct {
						Locations []struct {
							PhysicalLocation struct {
								ArtifactLocation struct{ URI, URIBaseID string } `json:"artifactLocation"`
							} `json:"physicalLocation"`
						}
					}
				}
			}
			if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
				t.Fatalf("%v\n%s", err, out.String())
			}
			r := doc.Runs[0]
			al := r.Results[0].Locations[0].PhysicalLocation.ArtifactLocation
			if al.URI != tt.uri || al.URIBaseID != "%SRCROOT%" {
				t.Fatalf("location %+v, want %s under %%SRCROOT%%", al, tt.uri)
			}
			realRoot, _ := filepath.EvalSymlinks(root)
			if got := r.Bases["%SRCROOT%"].URI; got != "file://"+filepath.ToSlash(realRoot)+"/" && got != "file://"+filepath.ToSlash(root)+"/" {
				t.Fatalf("%%SRCROOT%% = %q, want %s", got, root)
			}
			if v := r.Tool.Driver.Version; v == "" || v[0] < '0' || v[0] > '9' {
				t.Fatalf("tool version %q is not numeric", v)
			}
		})
	}
}

// TestScanOutputMeansFormat: -o/--output is the format in scan as in every
// other command; the report file is --output-file, and the old "-o FILE"
// form is refused with a hint instead of writing a file named after it.
func TestScanOutputMeansFormat(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.env"), []byte("aws_access_key_id = AKIAQ3T5RZ7Y2XW4VUSO\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		stdout   string // substring of standard output
		stderr   string // substring of the error
		file     string // file that must exist afterwards
	}{
		{"-o json prints JSON", []string{"scan", "a.env", "-o", "json"}, 1, `"rule": "aws-access-key-id"`, "", ""},
		{"--output sarif prints SARIF", []string{"scan", "a.env", "--output", "sarif"}, 1, `"version": "2.1.0"`, "", ""},
		{"--format stays as an alias", []string{"scan", "a.env", "--format", "csv"}, 1, "rule,file,line", "", ""},
		{"--output-file writes the report", []string{"scan", "a.env", "-o", "json", "--output-file", "r.json"}, 1, "", "", "r.json"},
		{"the old -o FILE form is refused with a hint", []string{"scan", "a.env", "-o", "report.sarif"}, 2, "", "--output-file report.sarif", ""},
		{"an unknown format is refused", []string{"scan", "a.env", "-o", "xml"}, 2, "", `unknown output format "xml"`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := run(context.Background(), append(tt.args, "--no-progress"), func(string) string { return "" }, nil, &out, &errb)
			ec, ok := err.(exitCoder)
			if !ok || ec.ExitCode() != tt.wantCode {
				t.Fatalf("exit %v, want code %d\n%s", err, tt.wantCode, errb.String())
			}
			if !strings.Contains(out.String(), tt.stdout) {
				t.Fatalf("stdout lacks %q:\n%s", tt.stdout, out.String())
			}
			if tt.stderr != "" && !strings.Contains(err.Error(), tt.stderr) {
				t.Fatalf("error %q lacks %q", err, tt.stderr)
			}
			if tt.file != "" {
				if _, err := os.Stat(tt.file); err != nil {
					t.Fatal(err)
				}
			}
			for _, name := range []string{"json", "report.sarif", "xml"} {
				if _, err := os.Stat(name); err == nil {
					t.Fatalf("a file named %s was written", name)
				}
			}
		})
	}
}
