package importer

import (
	"bytes"
	"os"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
)

// samples maps each format to the sample its package tests with.
var samples = map[string]string{
	"aws-credential-report":    "aws/testdata/credential-report.csv",
	"gcp-sa-keys":              "gcp/testdata/keys.json",
	"kubernetes":               "kubernetes/testdata/manifests.yaml",
	"github-pat-grants":        "github/testdata/pat-grants.json",
	"github-app-installations": "github/testdata/app-installations.json",
	"azure-app-credentials":    "azure/testdata/applications.json",
}

func TestTheFormatNamesAreTheContractsNames(t *testing.T) {
	want := []string{"aws-credential-report", "gcp-sa-keys", "kubernetes", "github-pat-grants", "github-app-installations", "azure-app-credentials"}
	if got := Names(); !slices.Equal(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
	for _, f := range Formats() {
		if f.Description == "" || f.Parse == nil {
			t.Errorf("%s lacks a description or a parser", f.Name)
		}
	}
}

func TestLookup(t *testing.T) {
	for _, name := range Names() {
		if f, ok := Lookup(name); !ok || f.Name != name {
			t.Errorf("Lookup(%q) = %v, %v", name, f.Name, ok)
		}
	}
	if _, ok := Lookup("okta"); ok {
		t.Error("Lookup found a format that does not exist")
	}
}

func TestEveryFormatReadsItsSampleTheSameWayTwice(t *testing.T) {
	now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	for _, f := range FormatsAt(func() time.Time { return now }) {
		t.Run(f.Name, func(t *testing.T) {
			data, err := os.ReadFile(samples[f.Name])
			if err != nil {
				t.Fatal(err)
			}
			a, err := f.Parse(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if len(a.Records) == 0 || len(a.Bad) == 0 {
				t.Errorf("the sample should hold good and bad records: %d and %d", len(a.Records), len(a.Bad))
			}
			b, err := f.Parse(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(a, b) {
				t.Error("two parses differ")
			}
		})
	}
}

func TestNoFormatPanicsOnAnothersFile(t *testing.T) {
	for _, f := range Formats() {
		for other, path := range samples {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.Parse(bytes.NewReader(data)); err != nil && steward.ErrorCode(err) != steward.EINVALID {
				t.Errorf("%s on %s's sample: %v", f.Name, other, err)
			}
		}
	}
}
