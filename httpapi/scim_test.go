package httpapi_test

import (
	"encoding/json"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
)

const scimTok = "scim-secret-0123456789"

type scimList struct {
	Schemas      []string
	TotalResults int
	StartIndex   int
	ItemsPerPage int
	Resources    []scimUserDoc
}

type scimUserDoc struct {
	ID          string
	UserName    string
	DisplayName string
	ExternalID  string `json:"externalId"`
	Active      bool
	Meta        struct{ Location, ResourceType string }
}

type scimErr struct {
	Schemas  []string
	Status   string
	ScimType string
	Detail   string
}

func TestSCIMDiscoveryEndpoints(t *testing.T) {
	e, _ := newPostureEnv(t)
	for _, tt := range []struct {
		path, want string
	}{
		{"/scim/v2/ServiceProviderConfig", "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"},
		{"/scim/v2/Schemas", "urn:ietf:params:scim:api:messages:2.0:ListResponse"},
		{"/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:core:2.0:Schema"},
		{"/scim/v2/ResourceTypes", "urn:ietf:params:scim:api:messages:2.0:ListResponse"},
		{"/scim/v2/ResourceTypes/User", "urn:ietf:params:scim:schemas:core:2.0:ResourceType"},
	} {
		t.Run(tt.path, func(t *testing.T) {
			r := e.do("GET", tt.path, scimTok, "", nil)
			if r.status != 200 || r.header.Get("Content-Type") != "application/scim+json" {
				t.Fatalf("%d %s %s", r.status, r.header.Get("Content-Type"), r.body)
			}
			var doc struct{ Schemas []string }
			r.json(t, &doc)
			if len(doc.Schemas) != 1 || doc.Schemas[0] != tt.want {
				t.Fatalf("schemas %v, want %s", doc.Schemas, tt.want)
			}
		})
	}
	var spc struct {
		Patch, Filter, Bulk, Sort, ETag, ChangePassword struct{ Supported bool }
		AuthenticationSchemes                           []struct{ Type string }
	}
	e.do("GET", "/scim/v2/ServiceProviderConfig", scimTok, "", nil).json(t, &spc)
	if !spc.Patch.Supported || !spc.Filter.Supported || spc.Bulk.Supported || len(spc.AuthenticationSchemes) == 0 {
		t.Fatalf("service provider config %+v", spc)
	}
	if r := e.do("GET", "/scim/v2/Schemas/urn:nope", scimTok, "", nil); r.status != 404 {
		t.Fatalf("unknown schema: %d", r.status)
	}
}

func TestSCIMErrorsCarryTheStatusCodeAndType(t *testing.T) {
	e, _ := newPostureEnv(t)
	for _, tt := range []struct {
		name, method, path, body string
		status                   int
		scimType                 string
	}{
		{"an unknown user", "GET", "/scim/v2/Users/nobody", "", 404, ""},
		{"a filter that does not parse", "GET", "/scim/v2/Users?filter=" + url.QueryEscape(`userName zz "a"`), "", 400, "invalidFilter"},
		{"a filter on an attribute the schema lacks", "GET", "/scim/v2/Users?filter=" + url.QueryEscape(`shoeSize eq "42"`), "", 400, "invalidFilter"},
		{"a body that is not JSON", "POST", "/scim/v2/Users", "{", 400, "invalidSyntax"},
		{"a user without userName", "POST", "/scim/v2/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"displayName":"X"}`, 400, "invalidValue"},
		{"a patch of an unknown path", "PATCH", "/scim/v2/Users/alice@example.com", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"shoeSize","value":"42"}]}`, 400, "invalidPath"},
		{"a patch with an unknown op", "PATCH", "/scim/v2/Users/alice@example.com", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"move","path":"displayName","value":"x"}]}`, 400, "invalidSyntax"},
		{"removing the required displayName", "PATCH", "/scim/v2/Users/alice@example.com", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"displayName"}]}`, 400, "mutability"},
		{"a duplicate userName", "POST", "/scim/v2/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ALICE@example.com"}`, 409, "uniqueness"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var body *strings.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			var r resp
			if body != nil {
				r = e.do(tt.method, tt.path, scimTok, "application/scim+json", body)
			} else {
				r = e.do(tt.method, tt.path, scimTok, "", nil)
			}
			var se scimErr
			r.json(t, &se)
			if r.status != tt.status || se.Status != strings.TrimSpace(itoa(tt.status)) || se.ScimType != tt.scimType ||
				len(se.Schemas) != 1 || se.Schemas[0] != "urn:ietf:params:scim:api:messages:2.0:Error" || se.Detail == "" {
				t.Fatalf("got %d %s, want %d scimType %q", r.status, r.body, tt.status, tt.scimType)
			}
		})
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func scimNames(t *testing.T, e *env, filter string) []string {
	t.Helper()
	path := "/scim/v2/Users"
	if filter != "" {
		path += "?filter=" + url.QueryEscape(filter)
	}
	r := e.do("GET", path, scimTok, "", nil)
	if r.status != 200 {
		t.Fatalf("%s: %d %s", filter, r.status, r.body)
	}
	var l scimList
	r.json(t, &l)
	if l.TotalResults != len(l.Resources) {
		t.Fatalf("totalResults %d with %d resources", l.TotalResults, len(l.Resources))
	}
	names := []string{}
	for _, u := range l.Resources {
		names = append(names, u.UserName)
	}
	sort.Strings(names)
	return names
}

func TestSCIMFilters(t *testing.T) {
	e, _ := newPostureEnv(t)
	both := []string{"alice@example.com", "bob@example.com"}
	for _, tt := range []struct {
		filter string
		want   []string
	}{
		{"", both},
		{`userName eq "alice@example.com"`, []string{"alice@example.com"}},
		{`userName EQ "alice@example.com"`, []string{"alice@example.com"}},
		{`USERNAME eq "ALICE@example.com"`, []string{"alice@example.com"}},
		{`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "alice@example.com"`, []string{"alice@example.com"}},
		{`userName eq "alice@example.com" and active eq true`, []string{"alice@example.com"}},
		{`userName eq "alice@example.com" AND active eq false`, []string{}},
		{`userName eq "alice@example.com" or userName eq "bob@example.com"`, both},
		{`not (userName eq "alice@example.com")`, []string{"bob@example.com"}},
		{`emails[value co "BOB"]`, []string{"bob@example.com"}},
		{`emails.value ew "@example.com"`, both},
		{`userName sw "ali"`, []string{"alice@example.com"}},
		{`displayName eq "Bob"`, []string{"bob@example.com"}},
		{`externalId pr`, []string{}},
		{`meta.lastModified gt "2000-01-01T00:00:00Z"`, both},
		{`meta.created lt "2000-01-01T00:00:00Z"`, []string{}},
		{`userName eq "nobody@example.com"`, []string{}},
	} {
		t.Run(tt.filter, func(t *testing.T) {
			if got := scimNames(t, e, tt.filter); strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSCIMListPaging(t *testing.T) {
	e, _ := newPostureEnv(t)
	// Two pages of one: each holds one of the two owners, never the same
	// one twice (owners created within one microsecond sort by id).
	var first, l scimList
	e.do("GET", "/scim/v2/Users?startIndex=1&count=1", scimTok, "", nil).json(t, &first)
	e.do("GET", "/scim/v2/Users?startIndex=2&count=1", scimTok, "", nil).json(t, &l)
	if l.TotalResults != 2 || l.StartIndex != 2 || l.ItemsPerPage != 1 || len(l.Resources) != 1 || len(first.Resources) != 1 {
		t.Fatalf("pages %+v, %+v", first, l)
	}
	if got := []string{first.Resources[0].UserName, l.Resources[0].UserName}; !slices.Contains(got, "alice@example.com") || !slices.Contains(got, "bob@example.com") {
		t.Fatalf("the two pages hold %v", got)
	}
	e.do("GET", "/scim/v2/Users?count=0", scimTok, "", nil).json(t, &l)
	if l.TotalResults != 2 || len(l.Resources) != 0 {
		t.Fatalf("count=0 %+v", l)
	}
}

func TestSCIMProvisioningLifecycle(t *testing.T) {
	e, _ := newPostureEnv(t)
	create := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
		"userName":"Carol@Example.com","externalId":"hr-77","name":{"givenName":"Carol","familyName":"Diaz"},
		"emails":[{"value":"carol@example.com","primary":true}],"active":true,
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"payments"}}`
	r := e.do("POST", "/scim/v2/Users", scimTok, "application/scim+json", strings.NewReader(create))
	var u scimUserDoc
	r.json(t, &u)
	if r.status != 201 || u.ID == "" || u.UserName != "carol@example.com" || u.DisplayName != "Carol Diaz" || u.ExternalID != "hr-77" || !u.Active {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	want := e.srv.URL + "/scim/v2/Users/" + u.ID
	if u.Meta.Location != want || r.header.Get("Location") != want {
		t.Fatalf("location %q / header %q, want %s", u.Meta.Location, r.header.Get("Location"), want)
	}
	var o struct{ Name, Team, ExternalRef string }
	e.call("GET", "/api/v1/owners/"+u.ID, "admin", nil).json(t, &o)
	if o.Name != "Carol Diaz" || o.Team != "payments" {
		t.Fatalf("owner %+v", o)
	}

	for _, tt := range []struct {
		name, patch, wantName string
	}{
		{"a path replace", `{"op":"replace","path":"displayName","value":"Carol D."}`, "Carol D."},
		{"a value map without path", `{"op":"Replace","value":{"displayName":"Carol Diaz-Lee"}}`, "Carol Diaz-Lee"},
		{"an add with a case-folded path", `{"op":"add","path":"DISPLAYNAME","value":"C. Diaz"}`, "C. Diaz"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[` + tt.patch + `]}`
			r := e.do("PATCH", "/scim/v2/Users/"+u.ID, scimTok, "application/scim+json", strings.NewReader(body))
			var got scimUserDoc
			r.json(t, &got)
			if r.status != 200 || got.DisplayName != tt.wantName {
				t.Fatalf("%d %s", r.status, r.body)
			}
		})
	}

	put := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"carol@example.com","displayName":"Carol Replaced","externalId":"hr-78","active":true}`
	r = e.do("PUT", "/scim/v2/Users/"+u.ID, scimTok, "application/scim+json", strings.NewReader(put))
	r.json(t, &u)
	if r.status != 200 || u.DisplayName != "Carol Replaced" || u.ExternalID != "hr-78" {
		t.Fatalf("put: %d %s", r.status, r.body)
	}
	put = strings.Replace(put, `"active":true`, `"active":false`, 1)
	r = e.do("PUT", "/scim/v2/Users/"+u.ID, scimTok, "application/scim+json", strings.NewReader(put))
	r.json(t, &u)
	if r.status != 200 || u.Active {
		t.Fatalf("put active:false: %d %s", r.status, r.body)
	}
	var se scimErr
	reactivate := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":true}]}`
	r = e.do("PATCH", "/scim/v2/Users/"+u.ID, scimTok, "application/scim+json", strings.NewReader(reactivate))
	r.json(t, &se)
	if r.status != 409 || se.Status != "409" {
		t.Fatalf("reactivating a departed owner: %d %s", r.status, r.body)
	}
}
