package alerts

import "strings"

// agentFamily is one rule of UAFamily: a marker in the lower-cased user
// agent, the family it names, and whether a person drives it.
type agentFamily struct {
	marker      string
	family      string
	interactive bool
}

// agentFamilies are checked in order; the first marker found wins, so the
// more specific come first (an SDK embeds its runtime's name).
var agentFamilies = []agentFamily{
	{"postmanruntime", "postman", true},
	{"insomnia", "insomnia", true},
	{"httpie", "httpie", true},
	{"curl/", "curl", true},
	{"wget/", "wget", true},
	{"powershell", "powershell", true},
	{"aws-cli/", "aws-cli", true},
	{"google-cloud-sdk", "gcloud", true},
	{"gcloud", "gcloud", true},
	{"azure-cli", "azure-cli", true},
	{"kubectl/", "kubectl", true},
	{"gh/", "gh-cli", true},
	{"steward-cli", "steward-cli", true},
	{"terraform", "terraform", false},
	{"aws-sdk-", "aws-sdk", false},
	{"boto3", "aws-sdk", false},
	{"botocore", "aws-sdk", false},
	{"google-api-", "google-sdk", false},
	{"azsdk", "azure-sdk", false},
	{"python-requests", "python", false},
	{"python-urllib", "python", false},
	{"aiohttp", "python", false},
	{"go-http-client", "go", false},
	{"okhttp", "java", false},
	{"apache-httpclient", "java", false},
	{"java/", "java", false},
	{"node-fetch", "node", false},
	{"axios", "node", false},
	{"undici", "node", false},
	{"dotnet", "dotnet", false},
	{"grpc-", "grpc", false},
	{"mozilla/", "browser", true},
	{"opera", "browser", true},
}

// UAFamily returns the family of a user agent ("browser", "curl",
// "aws-sdk", "go", …; otherwise its first product token) and whether a
// person typically drives it (browsers, HTTP tools, cloud CLIs).
func UAFamily(ua string) (family string, interactive bool) {
	ua = strings.TrimSpace(ua)
	if ua == "" {
		return "", false
	}
	l := strings.ToLower(ua)
	for _, f := range agentFamilies {
		if strings.Contains(l, f.marker) {
			return f.family, f.interactive
		}
	}
	tok, _, _ := strings.Cut(l, " ")
	tok, _, _ = strings.Cut(tok, "/")
	if len(tok) > 40 {
		tok = tok[:40]
	}
	return tok, false
}
