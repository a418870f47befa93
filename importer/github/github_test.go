package github

import (
	"io"
	"reflect"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/importer/internal/importtest"
	"github.com/steward-nhi/steward/importer/internal/kit"
)

var parsers = []struct {
	name   string
	parse  func(io.Reader) (kit.Result, error)
	sample string
	golden string
}{
	{"PAT grants", ParsePATGrants, "testdata/pat-grants.json", "testdata/pat-grants.golden.json"},
	{"App installations", ParseAppInstallations, "testdata/app-installations.json", "testdata/app-installations.golden.json"},
}

func TestParseMatchesGolden(t *testing.T) {
	for _, p := range parsers {
		t.Run(p.name, func(t *testing.T) {
			res := importtest.ParseFile(t, p.parse, p.sample)
			importtest.Check(t, res, "github")
			importtest.Golden(t, p.golden, res)
		})
	}
}

func TestParseIsDeterministic(t *testing.T) {
	for _, p := range parsers {
		t.Run(p.name, func(t *testing.T) {
			importtest.Deterministic(t, p.parse, p.sample)
		})
	}
}

func TestPATGrants(t *testing.T) {
	res := importtest.ParseFile(t, ParsePATGrants, "testdata/pat-grants.json")
	tests := []struct {
		ref, name, owner string
		status           steward.Status
		scopes           []string
		expires, used    string
	}{
		{"pat:98716", "release-automation", "octocat", steward.StatusActive,
			[]string{"organization:members:read", "repository:contents:write", "repository:metadata:read", "repository:pull_requests:write"},
			"2025-11-16T15:47:09Z", "2025-05-30T21:04:11Z"},
		{"pat:77001", "ci-status-reader", "hubot", steward.StatusExpired,
			[]string{"repository:actions:read", "repository:metadata:read"}, "2024-01-02T10:00:00Z", "2023-12-30T09:15:00Z"},
		{"pat:25390", "pat:25390", "mona", steward.StatusActive,
			[]string{"repository:issues:write", "repository:metadata:read"}, "", ""},
	}
	if len(res.Records) != len(tests) {
		t.Fatalf("%d records, want %d", len(res.Records), len(tests))
	}
	for n, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			r := res.Records[n]
			id := r.Identity
			if id.ExternalRef != tt.ref || id.Name != tt.name || id.Kind != steward.KindPAT || id.Status != tt.status || id.Labels["github_owner"] != tt.owner || r.OwnerEmail != "" {
				t.Errorf("got %+v", id)
			}
			if !reflect.DeepEqual(id.Scopes, tt.scopes) {
				t.Errorf("scopes %v, want %v", id.Scopes, tt.scopes)
			}
			if got := fmtTime(id.ExpiresAt); got != tt.expires {
				t.Errorf("expires %s, want %s", got, tt.expires)
			}
			if got := fmtTime(id.LastUsedAt); got != tt.used {
				t.Errorf("last used %s, want %s", got, tt.used)
			}
		})
	}
	if len(res.Bad) != 1 || res.Bad[0].Field != "token_last_used_at" || res.Bad[0].Record != 4 || res.Bad[0].Line != 74 || res.Bad[0].Ref != "pat:99100" {
		t.Errorf("bad %+v", res.Bad)
	}
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.Format(time.RFC3339)
}

func TestAppInstallations(t *testing.T) {
	res := importtest.ParseFile(t, ParseAppInstallations, "testdata/app-installations.json")
	tests := []struct {
		ref, name string
		status    steward.Status
		scopes    []string
	}{
		{"installation:1", "ci-checks", steward.StatusActive, []string{"checks:write", "contents:read", "metadata:read"}},
		{"installation:48210", "deploy-bot", steward.StatusSuspended, []string{"administration:write", "contents:write", "members:read", "secrets:write"}},
		{"installation:51002", "triage-assistant", steward.StatusActive, []string{"issues:write", "pull_requests:write"}},
	}
	if len(res.Records) != len(tests) {
		t.Fatalf("%d records, want %d", len(res.Records), len(tests))
	}
	for n, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			id := res.Records[n].Identity
			if id.ExternalRef != tt.ref || id.Name != tt.name || id.Status != tt.status || id.Kind != steward.KindOAuthApp || !id.VendorManaged {
				t.Errorf("got %+v", id)
			}
			if !reflect.DeepEqual(id.Scopes, tt.scopes) {
				t.Errorf("scopes %v, want %v", id.Scopes, tt.scopes)
			}
		})
	}
	if got := res.Records[1].Identity.Labels["suspended_by"]; got != "security-lead" {
		t.Errorf("suspended_by %q", got)
	}
	if len(res.Bad) != 1 || res.Bad[0].Field != "id" || res.Bad[0].Record != 4 || res.Bad[0].Line != 76 {
		t.Errorf("bad %+v", res.Bad)
	}
}

func TestABareArrayOfInstallationsIsAccepted(t *testing.T) {
	res := importtest.ParseString(t, ParseAppInstallations, `[{"id": 7, "app_slug": "x", "app_id": 9}]`)
	if len(res.Records) != 1 || res.Records[0].Identity.ExternalRef != "installation:7" {
		t.Errorf("got %+v", res)
	}
}

func TestBadRecordsNameTheirField(t *testing.T) {
	tests := []struct {
		name  string
		parse func(io.Reader) (kit.Result, error)
		input string
		field string
	}{
		{"a PAT grant without any id", ParsePATGrants, `[{"token_name": "x"}]`, "token_id"},
		{"a PAT grant whose id is a string", ParsePATGrants, `[{"token_id": "12"}]`, "token_id"},
		{"a PAT grant with a bad expiry", ParsePATGrants, `[{"token_id": 1, "token_expires_at": "tomorrow"}]`, "token_expires_at"},
		{"a PAT grant whose permissions are a list", ParsePATGrants, `[{"token_id": 1, "permissions": ["x"]}]`, "permissions"},
		{"the same PAT twice", ParsePATGrants, `[{"token_id": 1}, {"token_id": 1}]`, "external_ref"},
		{"an installation without a slug or app id", ParseAppInstallations, `[{"id": 1}]`, "app_slug"},
		{"an installation with a bad suspension time", ParseAppInstallations, `[{"id": 1, "app_slug": "a", "suspended_at": "now"}]`, "suspended_at"},
		{"an installation that is a number", ParseAppInstallations, `[42]`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			importtest.OneBadRecord(t, tt.parse, tt.input, tt.field, 1)
		})
	}
}

func TestMalformedFilesAreRejectedNamingTheLine(t *testing.T) {
	importtest.Rejects(t, ParsePATGrants, []importtest.Malformed{
		{"PAT grants with a syntax error", "[\n{\"token_id\": 1},\n{\"token_id\": 2,,}\n]", "line 3"},
		{"PAT grants as an object", `{"token_id": 1}`, "line 1: expected a JSON array"},
	})
	importtest.Rejects(t, ParseAppInstallations, []importtest.Malformed{
		{"installations that are not an array", "{\n  \"installations\": 3\n}", `line 2: "installations" must be an array`},
		{"installations with a truncated file", "{\"installations\": [\n{\"id\": 1}", "line 2"},
		{"an empty file", "", "empty"},
	})
}

func FuzzParsePATGrants(f *testing.F) {
	importtest.Fuzz(f, ParsePATGrants, "github", importtest.Read(f, "testdata/pat-grants.json"), []byte(`[{"id": 1, "permissions": {"repository": {"a": ""}}}]`))
}

func FuzzParseAppInstallations(f *testing.F) {
	importtest.Fuzz(f, ParseAppInstallations, "github", importtest.Read(f, "testdata/app-installations.json"), []byte(`[{"id": 1, "app_id": 2}]`))
}
