package broker_test

import (
	"context"
	"testing"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/broker"
	"github.com/steward-nhi/steward/internal/busyloop"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

// TestRevocationIsFinalBeforeTheAnswer is issue 14.1: once a revoke,
// suspend or credential revoke has returned, the very next authentication
// with any credential of that identity fails — API keys whose verified
// state is cached, and access tokens minted before — even while other
// requests keep the caches busy. 100 tries per case, zero successes.
func TestRevocationIsFinalBeforeTheAnswer(t *testing.T) {
	const tries = 100
	cases := []struct {
		name string
		// token: authenticate with an access token instead of the
		// rotated API key.
		token bool
		act   func(e *env, identityID, credentialID string) error
	}{
		{"revoking the identity refuses its rotated API key", false, revokeIdentity},
		{"suspending the identity refuses its rotated API key", false, suspendIdentity},
		{"revoking the credential refuses it", false, revokeCredential},
		{"revoking the identity refuses its access tokens", true, revokeIdentity},
		{"suspending the identity refuses its access tokens", true, suspendIdentity},
		{"revoking the client credential refuses its access tokens", true, revokeCredential},
	}
	for _, eng := range sqltest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newEnv(t, envOpts{open: eng.Open, failureRate: 1e9, discardUsage: true})
			ctx := context.Background()
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					successes := 0
					for n := range tries {
						i := e.identityT(t, "rev-"+tc.name[:8]+"-"+string(rune('a'+n%26))+string(rune('a'+n/26)), steward.SensitivityMedium, []string{"read"})
						secret, credID := e.warmCredential(t, i.ID, tc.token)
						// Other requests keep reading (and caching) while
						// the change commits.
						stop := busyloop.Start(func() { _, _ = e.b.Authenticate(ctx, secret) })
						if err := tc.act(e, i.ID, credID); err != nil {
							t.Fatal(err)
						}
						if _, err := e.b.Authenticate(ctx, secret); err == nil {
							successes++
						} else if steward.ErrorCode(err) != steward.EUNAUTHORIZED {
							t.Fatalf("try %d: %v", n, err)
						}
						stop()
					}
					if successes != 0 {
						t.Fatalf("%d of %d authentications right after the change succeeded", successes, tries)
					}
				})
			}
		})
	}
}

// warmCredential issues an API key, uses it, rotates it with no overlap
// and uses the successor (so its verified state is cached); with token it
// issues a client secret instead, gets an access token and uses that. It
// returns what to authenticate with and the credential behind it.
func (e *env) warmCredential(t *testing.T, identityID string, token bool) (string, string) {
	t.Helper()
	ctx := context.Background()
	if token {
		cl := e.issueT(t, identityID, broker.IssueRequest{Type: steward.CredentialTypeClientSecret})
		tr, err := e.b.Token(ctx, broker.TokenRequest{GrantType: "client_credentials",
			Client: broker.ClientAuth{Method: broker.AuthSecretBasic, ClientID: cl.ClientID, ClientSecret: cl.Secret}}, steward.RequestSource{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.b.Authenticate(ctx, tr.AccessToken); err != nil {
			t.Fatalf("access token: %v", err)
		}
		return tr.AccessToken, cl.ID
	}
	k := e.issueT(t, identityID, broker.IssueRequest{})
	if _, err := e.b.Authenticate(ctx, k.Secret); err != nil {
		t.Fatalf("first use: %v", err)
	}
	rot, err := e.b.Rotate(e.adminP, k.ID, broker.RotateRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.b.Authenticate(ctx, rot.Secret); err != nil {
		t.Fatalf("successor: %v", err)
	}
	if _, err := e.b.Authenticate(ctx, k.Secret); err == nil {
		t.Fatal("the predecessor still works after a rotation without overlap")
	}
	return rot.Secret, rot.ID
}

func revokeIdentity(e *env, identityID, _ string) error {
	_, err := e.svc.TransitionIdentity(e.adminP, identityID, steward.TransitionRevoke, steward.TransitionRequest{Reason: "incident"})
	return err
}

func suspendIdentity(e *env, identityID, _ string) error {
	_, err := e.svc.TransitionIdentity(e.adminP, identityID, steward.TransitionSuspend, steward.TransitionRequest{Reason: "incident"})
	return err
}

func revokeCredential(e *env, _, credentialID string) error {
	_, err := e.b.Revoke(e.adminP, credentialID, broker.RevokeRequest{Reason: "incident"})
	return err
}

func (e *env) identityT(t *testing.T, name string, tier steward.Sensitivity, scopes []string) *steward.Identity {
	t.Helper()
	i, err := e.svc.CreateIdentity(e.adminP, &steward.Identity{Name: name, Kind: steward.KindServiceAccount, Provider: "steward", Sensitivity: tier, Scopes: scopes, UnownedReason: "test fixture"})
	if err != nil {
		t.Fatal(err)
	}
	return i
}

func (e *env) issueT(t *testing.T, identityID string, in broker.IssueRequest) *broker.Issued {
	t.Helper()
	out, err := e.b.Issue(e.adminP, identityID, in)
	if err != nil {
		t.Fatalf("issue: %v", err)
	}
	return out
}
