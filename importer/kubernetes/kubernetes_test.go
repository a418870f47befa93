package kubernetes

import (
	"encoding/base64"
	"reflect"
	"strings"
	"testing"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/importer/internal/importtest"
)

const sample = "testdata/manifests.yaml"

// The tokens in the sample, as data.token holds them and decoded.
const (
	token1b64 = "ZXlKaGJHY2lPaUpTVXpJMU5pSjkuWm1GclpTMTBiMnRsYmkxdmJtVS5jMmxuYm1GMGRYSmw="
	token1    = "eyJhbGciOiJSUzI1NiJ9.ZmFrZS10b2tlbi1vbmU.c2lnbmF0dXJl"
	token2    = "eyJhbGciOiJSUzI1NiJ9.ZmFrZS10b2tlbi10d28.c2lnbmF0dXJl"
)

func TestParseMatchesGolden(t *testing.T) {
	res := importtest.ParseFile(t, Parse, sample)
	importtest.Check(t, res, "kubernetes", token1, token1b64, token2, base64.StdEncoding.EncodeToString([]byte(token2)))
	importtest.Golden(t, "testdata/manifests.golden.json", res)
}

func TestParseIsDeterministic(t *testing.T) { importtest.Deterministic(t, Parse, sample) }

func TestServiceAccountsAndTheirTokens(t *testing.T) {
	res := importtest.ParseFile(t, Parse, sample)
	recs := map[string]steward.ImportRecord{}
	var order []string
	for _, r := range res.Records {
		recs[r.Identity.ExternalRef] = r
		order = append(order, r.Identity.ExternalRef)
	}
	if want := []string{"build/ci-deployer", "default/default", "monitoring/metrics-reader", "jobs/batch"}; !reflect.DeepEqual(order, want) {
		t.Errorf("records %v, want %v", order, want)
	}
	tests := []struct {
		ref   string
		check func(t *testing.T, r steward.ImportRecord)
	}{
		{"build/ci-deployer", func(t *testing.T, r steward.ImportRecord) {
			id := r.Identity
			if r.OwnerEmail != "platform-oncall@example.com" || id.Team != "platform" || id.Environment != "prod" || id.Sensitivity != steward.SensitivityHigh {
				t.Errorf("annotations not read: owner %q team %q env %q sensitivity %q", r.OwnerEmail, id.Team, id.Environment, id.Sensitivity)
			}
			if id.Labels["app.kubernetes.io/name"] != "deployer" || id.Labels["k8s_namespace"] != "build" {
				t.Errorf("labels %v", id.Labels)
			}
			if len(r.Credentials) != 1 {
				t.Fatalf("%d credentials", len(r.Credentials))
			}
			c := r.Credentials[0]
			if c.Type != CredentialType || c.ExternalRef != "ci-deployer-token" || c.Fingerprint != steward.Fingerprint([]byte(token1)) {
				t.Errorf("credential %+v", c)
			}
			if id.LastUsedAt == nil || id.LastUsedAt.Format("2006-01-02") != "2025-05-30" || c.LastUsedAt == nil {
				t.Errorf("last used %v", id.LastUsedAt)
			}
			if r.Line != 2 {
				t.Errorf("line %d, want 2", r.Line)
			}
		}},
		{"default/default", func(t *testing.T, r steward.ImportRecord) {
			if r.Identity.Name != "default" || len(r.Credentials) != 0 || r.Line != 47 {
				t.Errorf("%+v", r)
			}
		}},
		{"monitoring/metrics-reader", func(t *testing.T, r steward.ImportRecord) {
			if len(r.Credentials) != 1 || r.Credentials[0].Status != steward.CredentialInactive {
				t.Errorf("a token whose ServiceAccount is not in the file: %+v", r)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			r, ok := recs[tt.ref]
			if !ok {
				t.Fatal("missing")
			}
			tt.check(t, r)
		})
	}

	wantBad := []steward.RecordError{
		{Record: 7, Line: 74, Field: "metadata.annotations.kubernetes.io/service-account.name"},
		{Record: 8, Line: 83, Field: "metadata.annotations.steward.io/sensitivity"},
	}
	importtest.SameRecordErrors(t, res.Bad, wantBad)
}

func TestBadObjectsAreReportedWithTheirLine(t *testing.T) {
	tests := []struct {
		name, input, field string
		line               int
	}{
		{"a token that is not base64", "kind: Secret\ntype: kubernetes.io/service-account-token\nmetadata:\n  name: t\n  annotations:\n    kubernetes.io/service-account.name: sa\ndata:\n  token: '%%%'\n", "data.token", 1},
		{"a bad creation time", "kind: List\nitems:\n- kind: ServiceAccount\n  metadata:\n    name: a\n    creationTimestamp: yesterday\n", "metadata.creationTimestamp", 3},
		{"a bad last-used label", "kind: Secret\ntype: kubernetes.io/service-account-token\nmetadata:\n  name: t\n  labels:\n    kubernetes.io/legacy-token-last-used: soon\n  annotations:\n    kubernetes.io/service-account.name: sa\n", "metadata.labels.kubernetes.io/legacy-token-last-used", 1},
		{"a ServiceAccount without a name", "kind: ServiceAccount\nmetadata: {}\n", "metadata.name", 1},
		{"a ServiceAccount twice", "kind: ServiceAccount\nmetadata: {name: a}\n---\nkind: ServiceAccount\nmetadata: {name: a}\n", "metadata.name", 4},
		{"an object without a kind", "kind: ServiceAccount\nmetadata: {name: a}\n---\nmetadata: {name: b}\n", "kind", 4},
		{"a label key Steward cannot store", "kind: ServiceAccount\nmetadata:\n  name: a\n  labels:\n    " + strings.Repeat("x", 70) + ": y\n", "labels." + strings.Repeat("x", 70), 1},
		{"metadata that is not a mapping", "kind: ServiceAccount\nmetadata: [1, 2]\n", "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			importtest.OneBadRecord(t, Parse, tt.input, tt.field, tt.line)
		})
	}
}

func TestMalformedFilesAreRejectedNamingTheLine(t *testing.T) {
	importtest.Rejects(t, Parse, []importtest.Malformed{
		{"a YAML syntax error", "kind: ServiceAccount\nmetadata:\n  name: a\n  labels: {a: b\n", "line"},
		{"a bad indentation in the second document", "kind: ServiceAccount\nmetadata: {name: a}\n---\nkind: Secret\n metadata: x\n", "document 2: yaml: line"},
		{"a scalar document", "kind: ServiceAccount\nmetadata: {name: a}\n---\njust text\n", "line 4: document 2 is not a Kubernetes object"},
		{"mappings without any kind", "name: a\n---\nname: b\n", "line 1: not Kubernetes manifests"},
		{"a List whose items are not a sequence", "kind: List\nitems: 3\n", "line 2"},
	})
}

func TestJSONFromKubectlIsAccepted(t *testing.T) {
	in := `{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"a","namespace":"x"}}]}`
	res := importtest.ParseString(t, Parse, in)
	if len(res.Records) != 1 || res.Records[0].Identity.ExternalRef != "x/a" {
		t.Errorf("got %+v", res)
	}
}

func TestAnEmptyFileHasNoRecords(t *testing.T) {
	res, err := Parse(strings.NewReader("---\n# nothing\n---\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Records) != 0 || len(res.Bad) != 0 {
		t.Errorf("got %+v", res)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(importtest.Read(f, sample))
	f.Add([]byte("kind: List\nitems:\n- kind: Secret\n  type: kubernetes.io/service-account-token\n  metadata: {name: t, annotations: {kubernetes.io/service-account.name: a}}\n  data: {token: dG9r}\n"))
	f.Add([]byte("a: &x [*x]\n"))
	importtest.Fuzz(f, Parse, "kubernetes")
}
