package alerts

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
)

var t0 = time.Date(2026, 2, 2, 10, 0, 0, 0, time.UTC) // a Monday

// learned returns a baseline of an identity used for three weeks on
// weekdays, 09:00-17:00 UTC, from one network with one SDK, doing two
// actions on one resource from one workload in prod.
func learned() *Baseline {
	b := &Baseline{}
	for d := range 21 {
		day := t0.AddDate(0, 0, d-21)
		if day.Weekday() == time.Saturday || day.Weekday() == time.Sunday {
			continue
		}
		for h := 9; h <= 17; h++ {
			for m := 0; m < 60; m += 2 {
				ev := steward.UsageEvent{Time: day.Truncate(24 * time.Hour).Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute),
					Kind: "decision", IdentityID: "nhi_1", Action: []string{"s3:GetObject", "s3:PutObject"}[m%4/2], Resource: "bucket/reports",
					Source: "10.0.0.7", UserAgent: "aws-sdk-go/1.44", Environment: "prod", Outcome: "allow", Attributes: map[string]string{"workload": "reporter"}}
				in := derive(&ev, b, nil)
				b.observeRate(ev.Time)
				(&Engine{}).learn(b, &in, nil)
			}
		}
	}
	return b
}

func derive(ev *steward.UsageEvent, b *Baseline, s *Subject) Input {
	in := Input{Event: ev, Base: b, Subject: s, Limits: Limits{}.withDefaults(), Network: Network(ev.Source), Resource: normalizeResource(ev.Resource),
		Workload: workloadOf(ev.Attributes)}
	in.Agent, in.Interactive = UAFamily(ev.UserAgent)
	in.Learned = b.Learned(7*24*time.Hour, 100, ev.Time)
	return in
}

func workload(mod func(i *steward.Identity)) *Subject {
	i := &steward.Identity{ID: "nhi_1", Name: "reporter", Kind: steward.KindWorkload, Environment: "prod", Status: steward.StatusActive,
		Sensitivity: steward.SensitivityMedium, Labels: map[string]string{}}
	if mod != nil {
		mod(i)
	}
	return &Subject{Identity: i}
}

// normal is a usage event the learned baseline knows.
func normal(mod func(ev *steward.UsageEvent)) *steward.UsageEvent {
	ev := &steward.UsageEvent{Time: t0.Add(30 * time.Minute), Kind: "decision", IdentityID: "nhi_1", Action: "s3:GetObject", Resource: "bucket/reports",
		Source: "10.0.0.9", UserAgent: "aws-sdk-go/1.45", Environment: "prod", Outcome: "allow", Attributes: map[string]string{"workload": "reporter"}}
	if mod != nil {
		mod(ev)
	}
	return ev
}

func detector(name string) Detector {
	for _, d := range Detectors() {
		if d.Name == name {
			return d
		}
	}
	panic(name)
}

type detCase struct {
	name   string
	ev     *steward.UsageEvent
	sub    *Subject
	base   func() *Baseline
	tweak  func(in *Input)
	want   steward.Severity // "" = no signal
	expect string           // substring of the title
}

func runCases(t *testing.T, det string, cases []detCase) {
	t.Helper()
	d := detector(det)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := &Baseline{}
			if tc.base != nil {
				b = tc.base()
			}
			sub := tc.sub
			if sub == nil {
				sub = workload(nil)
			}
			in := derive(tc.ev, b, sub)
			if tc.tweak != nil {
				tc.tweak(&in)
			}
			s := d.Detect(&in)
			switch {
			case tc.want == "" && s != nil:
				t.Fatalf("unexpected signal %q %v", s.Title, s.Evidence)
			case tc.want != "" && s == nil:
				t.Fatal("no signal")
			case s != nil && (s.Severity != tc.want || !strings.Contains(s.Title, tc.expect)):
				t.Fatalf("signal %s %q, want %s containing %q", s.Severity, s.Title, tc.want, tc.expect)
			}
		})
	}
}

func TestDetectorMetadata(t *testing.T) {
	owasp := map[string]bool{}
	for _, id := range steward.OWASPOrder {
		owasp[id+":2025"] = true
	}
	csf := []string{"GV.RR-04", "PR.AA-01", "PR.AA-02", "PR.AA-03", "PR.AA-05", "PR.IR-01", "DE.CM-01", "DE.CM-03", "DE.CM-09", "DE.AE-02", "DE.AE-08", "ID.AM-08"}
	for _, d := range append(Detectors(), SilenceDetector) {
		if !owasp[d.OWASP] || len(d.CSF) == 0 || d.Summary == "" {
			t.Errorf("%s: owasp %q csf %v", d.Name, d.OWASP, d.CSF)
		}
		for _, c := range d.CSF {
			if !slices.Contains(csf, c) {
				t.Errorf("%s: CSF id %q is not one this package maps to (see standards.md)", d.Name, c)
			}
		}
	}
}

// TestLearningDetectorsStayQuietWhileLearning feeds every detector that
// needs a baseline a wildly new event on a fresh identity.
func TestLearningDetectorsStayQuietWhileLearning(t *testing.T) {
	ev := normal(func(ev *steward.UsageEvent) {
		ev.Source, ev.Action, ev.Resource, ev.Time = "198.51.100.7", "iam:CreateUser", "user/admin", t0.Add(-8*time.Hour)
		ev.Attributes = map[string]string{"workload": "other"}
	})
	for _, d := range Detectors() {
		if !d.NeedsLearning {
			continue
		}
		b := &Baseline{}
		b.Workloads.Add("reporter")
		in := derive(ev, b, workload(nil))
		in.MinuteCount = 1000
		if s := d.Detect(&in); s != nil {
			t.Errorf("%s spoke during learning: %s", d.Name, s.Title)
		}
	}
}

func TestRevokedUse(t *testing.T) {
	revokedCred := workload(nil)
	revokedCred.Credential = &steward.Credential{ID: "crd_1", Status: steward.CredentialRevoked}
	runCases(t, DetRevokedUse, []detCase{
		{name: "the broker saw a revoked credential", ev: normal(func(ev *steward.UsageEvent) { ev.Kind, ev.Outcome = "auth", "revoked" }), want: steward.SeverityCritical, expect: "revoked credential"},
		{name: "the broker saw an expired credential", ev: normal(func(ev *steward.UsageEvent) { ev.Kind, ev.Outcome = "auth", "expired" }), want: steward.SeverityCritical, expect: "expired"},
		{name: "an ingested log shows a revoked credential in use", ev: normal(func(ev *steward.UsageEvent) { ev.Kind, ev.Outcome, ev.CredentialID = "ingest", "ok", "crd_1" }),
			sub: revokedCred, want: steward.SeverityCritical, expect: "revoked credential"},
		{name: "a suspended identity is used", ev: normal(nil), sub: workload(func(i *steward.Identity) { i.Status = steward.StatusSuspended }),
			want: steward.SeverityCritical, expect: "suspended identity"},
		{name: "no learning period is needed", ev: normal(func(ev *steward.UsageEvent) { ev.Outcome = "revoked" }), base: func() *Baseline { return &Baseline{} }, want: steward.SeverityCritical},
		{name: "an active credential is fine", ev: normal(nil)},
		{name: "a wrong secret for a suspended identity is a failure, not a use", ev: normal(func(ev *steward.UsageEvent) { ev.Kind, ev.Outcome = "auth", "unknown" }),
			sub: workload(func(i *steward.Identity) { i.Status = steward.StatusSuspended })},
	})
}

func TestHoneytoken(t *testing.T) {
	runCases(t, DetHoneytoken, []detCase{
		{name: "a honeytoken label makes any use critical", ev: normal(nil), sub: workload(func(i *steward.Identity) { i.Labels["honeytoken"] = "true" }), want: steward.SeverityCritical, expect: "Honeytoken"},
		{name: "a decoy label too, even for a failed attempt", ev: normal(func(ev *steward.UsageEvent) { ev.Outcome = "unknown"; ev.Kind = "auth" }),
			sub: workload(func(i *steward.Identity) { i.Labels["decoy"] = "1" }), want: steward.SeverityCritical},
		{name: "a false label is not a decoy", ev: normal(nil), sub: workload(func(i *steward.Identity) { i.Labels["honeytoken"] = "false" })},
		{name: "an ordinary identity", ev: normal(nil)},
	})
}

func TestOwnerDeparted(t *testing.T) {
	departed := workload(func(i *steward.Identity) { i.OwnerID = "own_1" })
	departed.OwnerDeparted = true
	runCases(t, DetOwnerDeparted, []detCase{
		{name: "use of a departed owner's identity", ev: normal(nil), sub: departed, want: steward.SeverityHigh, expect: "departed"},
		{name: "an active owner", ev: normal(nil)},
		{name: "a failed attempt is not a use", ev: normal(func(ev *steward.UsageEvent) { ev.Kind, ev.Outcome = "auth", "bad_signature" }), sub: departed},
	})
}

func TestAuthFailures(t *testing.T) {
	fail := normal(func(ev *steward.UsageEvent) { ev.Kind, ev.Outcome = "auth", "unknown" })
	runCases(t, DetAuthFailures, []detCase{
		{name: "the tenth failure in a minute is a burst", ev: fail, tweak: func(in *Input) { in.Failures = 10 }, want: steward.SeverityHigh, expect: "failed authentications"},
		{name: "nine are not", ev: fail, tweak: func(in *Input) { in.Failures = 9 }},
		{name: "a successful authentication never is", ev: normal(func(ev *steward.UsageEvent) { ev.Kind, ev.Outcome = "auth", "ok" }), tweak: func(in *Input) { in.Failures = 50 }},
	})
	e := &Engine{cfg: Config{Limits: Limits{}.withDefaults()}, failures: map[string]*failWindow{}}
	for i := range 9 {
		e.countFailure("k", t0.Add(time.Duration(i)*time.Second))
	}
	if n := e.countFailure("k", t0.Add(8*time.Second)); n != 10 {
		t.Fatalf("window count %d, want 10", n)
	}
	// The window ending at 70 s starts at 10 s: only the new one is in it.
	if n := e.countFailure("k", t0.Add(70*time.Second)); n != 1 {
		t.Fatalf("window count %d, want 1", n)
	}
}

func TestNewNetwork(t *testing.T) {
	runCases(t, DetNewNetwork, []detCase{
		{name: "a new /24 after learning", ev: normal(func(ev *steward.UsageEvent) { ev.Source = "198.51.100.7" }), base: learned, want: steward.SeverityMedium, expect: "198.51.100.0/24"},
		{name: "another address in a known /24", ev: normal(func(ev *steward.UsageEvent) { ev.Source = "10.0.0.200" }), base: learned},
		{name: "a new IPv6 /48", ev: normal(func(ev *steward.UsageEvent) { ev.Source = "2001:db8:1::1" }), base: learned, want: steward.SeverityMedium, expect: "2001:db8:1::/48"},
		{name: "an IPv4-mapped IPv6 address is its IPv4 network", ev: normal(func(ev *steward.UsageEvent) { ev.Source = "::ffff:10.0.0.3" }), base: learned},
		{name: "not during learning", ev: normal(func(ev *steward.UsageEvent) { ev.Source = "198.51.100.7" })},
		{name: "not when the identity uses too many networks to tell", ev: normal(func(ev *steward.UsageEvent) { ev.Source = "198.51.100.7" }),
			base: func() *Baseline { b := learned(); b.Networks.Full = true; return b }},
	})
}

func TestNewUserAgent(t *testing.T) {
	pat := workload(func(i *steward.Identity) { i.Kind = steward.KindPAT })
	runCases(t, DetNewUserAgent, []detCase{
		{name: "a browser on a workload is human use even while learning", ev: normal(func(ev *steward.UsageEvent) {
			ev.UserAgent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36"
		}), want: steward.SeverityHigh, expect: "Human use"},
		{name: "curl on a learned workload is human use", ev: normal(func(ev *steward.UsageEvent) { ev.UserAgent = "curl/8.5.0" }), base: learned, want: steward.SeverityHigh, expect: "curl"},
		{name: "curl while learning is learned", ev: normal(func(ev *steward.UsageEvent) { ev.UserAgent = "curl/8.5.0" })},
		{name: "a new SDK after learning is medium", ev: normal(func(ev *steward.UsageEvent) { ev.UserAgent = "python-requests/2.31" }), base: learned, want: steward.SeverityMedium, expect: "python"},
		{name: "a new version of the known SDK is the same family", ev: normal(func(ev *steward.UsageEvent) { ev.UserAgent = "aws-sdk-go/2.0" }), base: learned},
		{name: "a browser on a personal access token is no surprise", ev: normal(func(ev *steward.UsageEvent) { ev.UserAgent = "Mozilla/5.0 Firefox/121.0" }), sub: pat},
	})
}

func TestNewActionAndResource(t *testing.T) {
	runCases(t, DetNewAction, []detCase{
		{name: "a never-used action after learning", ev: normal(func(ev *steward.UsageEvent) { ev.Action = "iam:CreateAccessKey" }), base: learned, want: steward.SeverityMedium, expect: "iam:CreateAccessKey"},
		{name: "a known action", ev: normal(func(ev *steward.UsageEvent) { ev.Action = "s3:PutObject" }), base: learned},
		{name: "not while learning", ev: normal(func(ev *steward.UsageEvent) { ev.Action = "iam:CreateAccessKey" })},
	})
	runCases(t, DetNewResource, []detCase{
		{name: "a never-used resource", ev: normal(func(ev *steward.UsageEvent) { ev.Resource = "bucket/payroll" }), base: learned, want: steward.SeverityMedium, expect: "bucket/payroll"},
		{name: "identifiers in a path are one resource", ev: normal(func(ev *steward.UsageEvent) { ev.Resource = "bucket/reports" }), base: learned},
	})
	if got := normalizeResource("/orders/12345/items/0f8fad5b-d9cb-469f-a165-70867728950e"); got != "/orders/*/items/*" {
		t.Fatalf("normalize: %s", got)
	}
	if got := normalizeResource("bucket/v2"); got != "bucket/v2" {
		t.Fatalf("normalize: %s", got)
	}
}

func TestRateSpike(t *testing.T) {
	runCases(t, DetRateSpike, []detCase{
		{name: "600 in a minute against about one", ev: normal(nil), base: learned, tweak: func(in *Input) { in.MinuteCount = 600 }, want: steward.SeverityMedium, expect: "spike"},
		{name: "a busy but usual minute", ev: normal(nil), base: learned, tweak: func(in *Input) { in.MinuteCount = 2 }},
		{name: "not twice in one minute", ev: normal(nil), base: func() *Baseline { b := learned(); b.SpikedAt = b.Minute; return b },
			tweak: func(in *Input) { in.MinuteCount = 600 }},
		{name: "not while learning", ev: normal(nil), tweak: func(in *Input) { in.MinuteCount = 600 }},
	})
}

func TestOffHours(t *testing.T) {
	runCases(t, DetOffHours, []detCase{
		{name: "03:00 for a 9-to-5 identity", ev: normal(func(ev *steward.UsageEvent) { ev.Time = t0.Add(-7 * time.Hour) }), base: learned, want: steward.SeverityMedium, expect: "03:00"},
		{name: "an hour beside the usual ones", ev: normal(func(ev *steward.UsageEvent) { ev.Time = t0.Add(8 * time.Hour) }), base: learned},
		{name: "a Sunday for a weekday identity", ev: normal(func(ev *steward.UsageEvent) { ev.Time = t0.Add(-24 * time.Hour) }), base: learned, want: steward.SeverityMedium, expect: "Sunday"},
		{name: "any hour for a 24/7 identity", ev: normal(func(ev *steward.UsageEvent) { ev.Time = t0.Add(-7 * time.Hour) }),
			base: func() *Baseline {
				b := learned()
				b.Hours = [24]uint32{1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}
				return b
			}},
	})
}

func TestSecondEnvironmentAndWorkload(t *testing.T) {
	runCases(t, DetSecondEnv, []detCase{
		{name: "a prod identity used from staging, learning or not", ev: normal(func(ev *steward.UsageEvent) { ev.Environment = "staging" }), want: steward.SeverityHigh, expect: "staging"},
		{name: "its own environment", ev: normal(nil)},
		{name: "an identity without a declared environment learns one", ev: normal(func(ev *steward.UsageEvent) { ev.Environment = "dev" }), base: learned,
			sub: workload(func(i *steward.Identity) { i.Environment = "" }), want: steward.SeverityHigh, expect: "dev"},
	})
	runCases(t, DetSecondWork, []detCase{
		{name: "a second workload after learning", ev: normal(func(ev *steward.UsageEvent) { ev.Attributes = map[string]string{"workload": "billing"} }), base: learned,
			want: steward.SeverityMedium, expect: "billing"},
		{name: "the known workload", ev: normal(nil), base: learned},
		{name: "no workload attribute", ev: normal(func(ev *steward.UsageEvent) { ev.Attributes = nil }), base: learned},
	})
}

func TestSilence(t *testing.T) {
	l := Limits{}.withDefaults()
	b := learned()
	b.Last = t0.Add(-2 * time.Hour) // 08:00 Monday; the identity is busy 09-17
	tests := []struct {
		name string
		now  time.Time
		want bool
	}{
		{"quiet through the usual working hours", t0.Add(3 * time.Hour), true},
		{"quiet before the day starts is normal", t0.Add(-time.Hour), false},
		{"a short gap", b.Last.Add(30 * time.Minute), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := detectSilence(b, tc.now, true, l) != nil; got != tc.want {
				t.Fatalf("silence = %v", got)
			}
		})
	}
}

func TestUAFamily(t *testing.T) {
	tests := []struct {
		ua          string
		family      string
		interactive bool
	}{
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 Version/17.1 Safari/605.1.15", "browser", true},
		{"curl/8.4.0", "curl", true},
		{"aws-cli/2.15.0 Python/3.11.6 Linux/6.5 exe/x86_64", "aws-cli", true},
		{"aws-sdk-go-v2/1.24.0 os/linux lang/go#1.21", "aws-sdk", false},
		{"Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux Python/3.12", "aws-sdk", false},
		{"Go-http-client/1.1", "go", false},
		{"kubectl/v1.29.0 (linux/amd64) kubernetes/3f7a50f", "kubectl", true},
		{"PostmanRuntime/7.36.0", "postman", true},
		{"my-service/3.2", "my-service", false},
		{"", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.family, func(t *testing.T) {
			f, i := UAFamily(tc.ua)
			if f != tc.family || i != tc.interactive {
				t.Fatalf("UAFamily(%q) = %q %v", tc.ua, f, i)
			}
		})
	}
}

func TestNetwork(t *testing.T) {
	for in, want := range map[string]string{"10.1.2.3": "10.1.2.0/24", "2001:db8:abcd:12::1": "2001:db8:abcd::/48", "10.1.2.3:443": "10.1.2.0/24",
		"[2001:db8::1]:443": "2001:db8::/48", "fe80::1%eth0": "fe80::/48", "not-an-ip": "", "": ""} {
		if got := Network(in); got != want {
			t.Errorf("Network(%q) = %q, want %q", in, got, want)
		}
	}
}
