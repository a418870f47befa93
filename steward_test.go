package steward_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
)

func TestLifecycleTransitions(t *testing.T) {
	type tr = steward.Transition
	tests := []struct {
		from steward.Status
		op   tr
		to   steward.Status // "" = conflict
	}{
		{steward.StatusPending, steward.TransitionActivate, steward.StatusActive},
		{steward.StatusPending, steward.TransitionRevoke, steward.StatusRevoked},
		{steward.StatusPending, steward.TransitionSuspend, ""},
		{steward.StatusActive, steward.TransitionSuspend, steward.StatusSuspended},
		{steward.StatusActive, steward.TransitionRevoke, steward.StatusRevoked},
		{steward.StatusActive, steward.TransitionExpire, steward.StatusExpired},
		{steward.StatusActive, steward.TransitionActivate, ""},
		{steward.StatusActive, steward.TransitionResume, ""},
		{steward.StatusSuspended, steward.TransitionResume, steward.StatusActive},
		{steward.StatusSuspended, steward.TransitionRevoke, steward.StatusRevoked},
		{steward.StatusSuspended, steward.TransitionSuspend, ""},
		{steward.StatusExpired, steward.TransitionRevoke, steward.StatusRevoked},
		{steward.StatusExpired, steward.TransitionResume, ""},
		{steward.StatusRevoked, steward.TransitionActivate, ""},
		{steward.StatusRevoked, steward.TransitionResume, ""},
		{steward.StatusRevoked, steward.TransitionRevoke, ""},
	}
	for _, tc := range tests {
		t.Run(string(tc.op)+" from "+string(tc.from), func(t *testing.T) {
			got, err := steward.Next(tc.from, tc.op)
			if tc.to == "" {
				if steward.ErrorCode(err) != steward.ECONFLICT {
					t.Fatalf("got %q, %v; want a conflict", got, err)
				}
				return
			}
			if err != nil || got != tc.to {
				t.Fatalf("got %q, %v; want %q", got, err, tc.to)
			}
		})
	}
}

func TestRevokeNeedsAKnownReason(t *testing.T) {
	for _, r := range steward.RevokeReasons {
		if err := (steward.TransitionRequest{Reason: string(r)}).Validate(steward.TransitionRevoke); err != nil {
			t.Errorf("%s: %v", r, err)
		}
	}
	for _, r := range []string{"", "because", "MANUAL"} {
		err := (steward.TransitionRequest{Reason: r}).Validate(steward.TransitionRevoke)
		if steward.ErrorField(err) != "reason" {
			t.Errorf("reason %q: %v", r, err)
		}
	}
	if err := (steward.TransitionRequest{}).Validate(steward.TransitionSuspend); err != nil {
		t.Errorf("suspend without reason: %v", err)
	}
}

func validIdentity() steward.Identity {
	return steward.Identity{Name: "x", Kind: steward.KindBot, Provider: "aws", Sensitivity: steward.SensitivityLow,
		Source: steward.SourceRegistered, Status: steward.StatusActive}
}

func TestIdentityValidationNamesTheField(t *testing.T) {
	tests := []struct {
		field string
		mod   func(i *steward.Identity)
	}{
		{"name", func(i *steward.Identity) { i.Name = "" }},
		{"name", func(i *steward.Identity) { i.Name = strings.Repeat("n", 201) }},
		{"kind", func(i *steward.Identity) { i.Kind = "robot" }},
		{"provider", func(i *steward.Identity) { i.Provider = "myco" }},
		{"environment", func(i *steward.Identity) { i.Environment = "Prod Env" }},
		{"sensitivity", func(i *steward.Identity) { i.Sensitivity = "" }},
		{"source", func(i *steward.Identity) { i.Source = "guessed" }},
		{"status", func(i *steward.Identity) { i.Status = "dead" }},
		{"scopes[0]", func(i *steward.Identity) { i.Scopes = []string{"has space"} }},
		{"labels.bad key", func(i *steward.Identity) { i.Labels = map[string]string{"bad key": "v"} }},
		{"exception.reason", func(i *steward.Identity) { i.Exception = &steward.Exception{Until: time.Now()} }},
	}
	for _, tc := range tests {
		t.Run(tc.field, func(t *testing.T) {
			i := validIdentity()
			tc.mod(&i)
			err := i.Validate()
			if steward.ErrorCode(err) != steward.EINVALID || steward.ErrorField(err) != tc.field {
				t.Fatalf("err = %v (field %q), want field %q", err, steward.ErrorField(err), tc.field)
			}
		})
	}
	i := validIdentity()
	i.Provider = "vendor:stripe"
	if err := i.Validate(); err != nil {
		t.Fatalf("valid identity: %v", err)
	}
}

func TestExpiryPolicy(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := steward.DefaultPolicy()
	at := func(d time.Duration) *time.Time { t := now.Add(d); return &t }
	day := 24 * time.Hour
	tests := []struct {
		name  string
		tier  steward.Sensitivity
		exp   *time.Time
		exc   *steward.Exception
		field string
	}{
		{"no expiry", steward.SensitivityCritical, nil, nil, ""},
		{"critical within 7 days", steward.SensitivityCritical, at(7 * day), nil, ""},
		{"critical beyond 7 days", steward.SensitivityCritical, at(8 * day), nil, "expires_at"},
		{"low within a year", steward.SensitivityLow, at(365 * day), nil, ""},
		{"past expiry", steward.SensitivityLow, at(-day), nil, "expires_at"},
		{"exception covers it", steward.SensitivityCritical, at(20 * day), &steward.Exception{Reason: "vendor", Until: *at(30 * day)}, ""},
		{"exception ends first", steward.SensitivityCritical, at(20 * day), &steward.Exception{Reason: "vendor", Until: *at(10 * day)}, "exception.until"},
		{"exception in the past", steward.SensitivityCritical, at(20 * day), &steward.Exception{Reason: "vendor", Until: *at(-day)}, "exception.until"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := p.CheckExpiry(tc.tier, tc.exp, tc.exc, now)
			if steward.ErrorField(err) != tc.field {
				t.Fatalf("err = %v, want field %q", err, tc.field)
			}
		})
	}
}

func TestDefaultPolicyMatchesDesign(t *testing.T) {
	p := steward.DefaultPolicy()
	want := map[steward.Sensitivity][2]int{"critical": {7, 30}, "high": {30, 90}, "medium": {90, 180}, "low": {365, 365}}
	for tier, w := range want {
		if got := time.Duration(p[tier].MaxLifetime) / (24 * time.Hour); int(got) != w[0] {
			t.Errorf("%s max lifetime %d days", tier, got)
		}
		if got := time.Duration(p[tier].RotationPeriod) / (24 * time.Hour); int(got) != w[1] {
			t.Errorf("%s rotation %d days", tier, got)
		}
		if p[tier].Dormancy != steward.Duration(90*24*time.Hour) {
			t.Errorf("%s dormancy %s", tier, p[tier].Dormancy)
		}
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestCanonicalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"b":1,"a":2}`, `{"a":2,"b":1}`},
		{`{ "a" : [ 1 , true , null , "x" ] }`, `{"a":[1,true,null,"x"]}`},
		{`1.0`, `1`},
		{`-0`, `0`},
		{`1e21`, `1e+21`},
		{`1e20`, `100000000000000000000`},
		{`0.000001`, `0.000001`},
		{`0.0000001`, `1e-7`},
		{`123.456e1`, `1234.56`},
		{`"\u00e9\n\u001f\""`, "\"é\\n\\u001f\\\"\""},
		{`"<>&"`, `"<>&"`},
		// Keys sort by UTF-16 code units: U+1F600 (surrogates D83D…) before U+FB33.
		{`{"\ufb33":1,"\ud83d\ude00":2}`, "{\"\U0001F600\":2,\"\ufb33\":1}"},
		{`{"nested":{"z":1,"y":{"b":[],"a":{}}}}`, `{"nested":{"y":{"a":{},"b":[]},"z":1}}`},
	}
	for _, tc := range tests {
		got, err := steward.Canonicalize([]byte(tc.in))
		if err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		if string(got) != tc.want {
			t.Errorf("%s: got %s, want %s", tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{`{`, `{"a":1} x`, `1e999`} {
		if _, err := steward.Canonicalize([]byte(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestEventHashCoversEveryField(t *testing.T) {
	base := steward.Event{Seq: 7, ID: "evt_1", Time: time.Date(2026, 1, 1, 0, 0, 0, 1000, time.UTC), Actor: "a", Action: "x",
		SubjectType: "identity", SubjectID: "s", IdentityID: "i", Reason: "r", Before: []byte(`{"a":1}`), After: []byte(`{"a":2}`), PrevHash: steward.GenesisHash}
	h0, err := base.ComputeHash()
	if err != nil {
		t.Fatal(err)
	}
	mods := map[string]func(e *steward.Event){
		"seq": func(e *steward.Event) { e.Seq++ }, "id": func(e *steward.Event) { e.ID = "evt_2" },
		"time":  func(e *steward.Event) { e.Time = e.Time.Add(time.Microsecond) },
		"actor": func(e *steward.Event) { e.Actor = "b" }, "action": func(e *steward.Event) { e.Action = "y" },
		"subject_type": func(e *steward.Event) { e.SubjectType = "owner" }, "subject_id": func(e *steward.Event) { e.SubjectID = "t" },
		"identity_id": func(e *steward.Event) { e.IdentityID = "j" }, "reason": func(e *steward.Event) { e.Reason = "q" },
		"before": func(e *steward.Event) { e.Before = []byte(`{"a":3}`) }, "after": func(e *steward.Event) { e.After = nil },
		"prev_hash": func(e *steward.Event) { e.PrevHash = strings.Repeat("1", 64) },
	}
	for name, mod := range mods {
		e := base
		mod(&e)
		h, _ := e.ComputeHash()
		if h == h0 {
			t.Errorf("changing %s does not change the hash", name)
		}
	}
	// Whitespace and key order inside before/after do not matter.
	e := base
	e.Before = []byte("{ \"a\" :  1 }")
	if h, _ := e.ComputeHash(); h != h0 {
		t.Error("hash depends on JSON formatting")
	}
}

func TestDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"30d": 30 * 24 * time.Hour, "720h": 720 * time.Hour, "90m": 90 * time.Minute} {
		d, err := steward.ParseDuration(in)
		if err != nil || time.Duration(d) != want {
			t.Errorf("%s: %v %v", in, d, err)
		}
	}
	for _, bad := range []string{"", "x", "3.5d", "-1d", "99999999d"} {
		if _, err := steward.ParseDuration(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestAuthorize(t *testing.T) {
	ctxOf := func(p *steward.Principal) context.Context {
		if p == nil {
			return context.Background()
		}
		return steward.WithPrincipal(context.Background(), p)
	}
	owner := &steward.Principal{Actor: "o", Role: steward.RoleOwner, OwnerID: "own_1"}
	tests := []struct {
		name  string
		p     *steward.Principal
		perm  steward.Permission
		staff bool
		code  string
	}{
		{"no caller", nil, steward.PermRead, false, steward.EUNAUTHORIZED},
		{"NHI credential", &steward.Principal{Actor: "nhi:x", IdentityID: "nhi_x"}, steward.PermRead, false, steward.EFORBIDDEN},
		{"auditor reads", &steward.Principal{Role: steward.RoleAuditor}, steward.PermRead, false, ""},
		{"auditor writes", &steward.Principal{Role: steward.RoleAuditor}, steward.PermWrite, false, steward.EFORBIDDEN},
		{"operator writes", &steward.Principal{Role: steward.RoleOperator}, steward.PermWrite, true, ""},
		{"operator administers", &steward.Principal{Role: steward.RoleOperator}, steward.PermAdmin, false, steward.EFORBIDDEN},
		{"owner writes its own", owner, steward.PermWrite, false, ""},
		{"owner on a staff act", owner, steward.PermWrite, true, steward.EFORBIDDEN},
		{"admin on a staff act", &steward.Principal{Role: steward.RoleAdmin}, steward.PermAdmin, true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			auth := steward.Authorize
			if tc.staff {
				auth = steward.AuthorizeStaff
			}
			p, err := auth(ctxOf(tc.p), tc.perm)
			if got := steward.ErrorCode(err); got != tc.code {
				t.Fatalf("code %q (%v), want %q", got, err, tc.code)
			}
			if err == nil && p != tc.p {
				t.Fatal("returned another principal")
			}
		})
	}
}
