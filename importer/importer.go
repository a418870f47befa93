// Package importer lists the provider export formats Steward reads. Each
// format lives in its own sub-package; Formats is the explicit list.
//
// A parser returns an error only when the file cannot be read as its
// format at all (the wrong format, a syntax error); the error is a
// steward EINVALID error naming the line where it can, except a read
// error from the reader, which is wrapped as it came. Problems with single
// records go to Result.Bad, and the caller decides whether one bad record
// rejects the file or only itself.
package importer

import (
	"io"
	"time"

	"github.com/steward-nhi/steward/importer/aws"
	"github.com/steward-nhi/steward/importer/azure"
	"github.com/steward-nhi/steward/importer/gcp"
	"github.com/steward-nhi/steward/importer/github"
	"github.com/steward-nhi/steward/importer/internal/kit"
	"github.com/steward-nhi/steward/importer/kubernetes"
)

// Result is what a parser read from one file: Records, the good records in
// file order, each an identity with its credentials; and Bad, one entry
// per rejected record (1-based record index, line where known, external
// reference, field and message).
type Result = kit.Result

// Format is one export format.
type Format struct {
	Name        string
	Description string
	Parse       func(r io.Reader) (Result, error)
}

// Formats lists every format, using the system clock to decide which
// credentials have expired.
func Formats() []Format { return FormatsAt(time.Now) }

// FormatsAt lists every format; now tells parsers what time it is.
func FormatsAt(now func() time.Time) []Format {
	return []Format{
		{
			Name:        "aws-credential-report",
			Description: "AWS IAM credential report (aws iam get-credential-report): CSV, its base64 text or the command's JSON",
			Parse:       aws.Parse,
		},
		{
			Name:        "gcp-sa-keys",
			Description: "GCP service-account keys (gcloud iam service-accounts keys list --format=json)",
			Parse:       func(r io.Reader) (Result, error) { return gcp.Parse(r, now()) },
		},
		{
			Name:        "kubernetes",
			Description: "Kubernetes ServiceAccounts and service-account-token Secrets (YAML or JSON, multi-document or kind: List)",
			Parse:       kubernetes.Parse,
		},
		{
			Name:        "github-pat-grants",
			Description: "GitHub fine-grained personal access token grants (GET /orgs/{org}/personal-access-tokens)",
			Parse:       github.ParsePATGrants,
		},
		{
			Name:        "github-app-installations",
			Description: "GitHub App installations (GET /orgs/{org}/installations)",
			Parse:       github.ParseAppInstallations,
		},
		{
			Name:        "azure-app-credentials",
			Description: "Entra ID application credentials (Graph /applications, az ad app show|list): passwordCredentials and keyCredentials",
			Parse:       func(r io.Reader) (Result, error) { return azure.Parse(r, now()) },
		},
	}
}

// Lookup returns the format called name.
func Lookup(name string) (Format, bool) {
	for _, f := range Formats() {
		if f.Name == name {
			return f, true
		}
	}
	return Format{}, false
}

// Names returns the format names in list order.
func Names() []string {
	fs := Formats()
	names := make([]string, len(fs))
	for n, f := range fs {
		names[n] = f.Name
	}
	return names
}
