package federation_test

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/broker"
	"github.com/steward-nhi/steward/federation"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

// TestConcurrentExchangesAreRememberedTogether: exchanges that arrive
// together share replay writes, yet every distinct token is exchanged and a
// token presented many times at once is exchanged exactly once, on both
// engines.
func TestConcurrentExchangesAreRememberedTogether(t *testing.T) {
	for _, eng := range sqltest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newEnv(t, eng.Open)
			k8s := newTestIssuer(t)
			e.issuer(steward.TrustedIssuer{Name: "k8s", Kind: steward.IssuerKubernetes, Issuer: k8s.url(), Discovery: true, Audiences: []string{aud}})
			app := e.identity("app", steward.KindWorkload, "read")
			e.bind(app.ID, "k8s", "system:serviceaccount:prod:app", nil)
			mint := func() string { return k8s.mint(jose.ES256, kubeClaims(k8s.url(), aud, "prod", "app", e.clk.Now())) }
			const distinct, copies = 24, 12
			toks := make([]string, distinct)
			for n := range toks {
				toks[n] = mint()
			}
			same := mint()
			var ok, sameOK, replayed atomic.Int64
			var wg sync.WaitGroup
			for n := range distinct + copies {
				wg.Add(1)
				go func() {
					defer wg.Done()
					tok := same
					if n < distinct {
						tok = toks[n]
					}
					_, err := e.exchange(federation.ExchangeRequest{SubjectToken: tok})
					switch {
					case err == nil && n < distinct:
						ok.Add(1)
					case err == nil:
						sameOK.Add(1)
					case n >= distinct && oauthCode(err) == "invalid_grant":
						replayed.Add(1)
					default:
						t.Errorf("exchange %d: %v", n, err)
					}
				}()
			}
			wg.Wait()
			if ok.Load() != distinct || sameOK.Load() != 1 || replayed.Load() != copies-1 {
				t.Fatalf("distinct exchanged %d of %d; one token presented %d times: exchanged %d, refused as replays %d",
					ok.Load(), distinct, copies, sameOK.Load(), replayed.Load())
			}
			// Each token written once (the copies are refused by this
			// node's memory), in fewer transactions than tokens.
			writes, records := e.fed.ReplayWrites()
			if records != distinct+1 || writes >= records {
				t.Fatalf("%d replay records in %d transactions, want %d records in fewer", records, writes, distinct+1)
			}
			// A replay on this node costs no write, and its usage event
			// names no issued token.
			_, err := e.exchange(federation.ExchangeRequest{SubjectToken: toks[0]})
			wantOAuth(t, err, "invalid_grant", "replay")
			if w, _ := e.fed.ReplayWrites(); w != writes {
				t.Fatalf("a replay on this node wrote %d transactions", w-writes)
			}
			if ev := e.usage.last(); ev.Outcome != "replayed" || ev.Attributes["jti"] != "" {
				t.Fatalf("the replay's usage event: outcome %q, jti %q", ev.Outcome, ev.Attributes["jti"])
			}
		})
	}
}

// TestCachedIdentitiesAndOwnersFollowChanges: the identity and owner an
// exchange checks are cached, yet a suspension or an owner's departure is
// seen by the very next exchange.
func TestCachedIdentitiesAndOwnersFollowChanges(t *testing.T) {
	e := newEnv(t, nil)
	k8s := newTestIssuer(t)
	e.issuer(steward.TrustedIssuer{Name: "k8s", Kind: steward.IssuerKubernetes, Issuer: k8s.url(), Discovery: true, Audiences: []string{aud}})
	app := e.identity("app", steward.KindWorkload, "read")
	e.bind(app.ID, "k8s", "system:serviceaccount:prod:app", nil)
	mint := func() string { return k8s.mint(jose.ES256, kubeClaims(k8s.url(), aud, "prod", "app", e.clk.Now())) }
	e.mustExchange(federation.ExchangeRequest{SubjectToken: mint()})
	if _, err := e.svc.TransitionIdentity(e.admin, app.ID, steward.TransitionSuspend, steward.TransitionRequest{Reason: "incident"}); err != nil {
		t.Fatal(err)
	}
	_, err := e.exchange(federation.ExchangeRequest{SubjectToken: mint()})
	wantOAuth(t, err, "invalid_grant", "suspended")
	if _, err := e.svc.TransitionIdentity(e.admin, app.ID, steward.TransitionResume, steward.TransitionRequest{Reason: "resolved"}); err != nil {
		t.Fatal(err)
	}
	e.mustExchange(federation.ExchangeRequest{SubjectToken: mint()})
	if _, err := e.svc.DepartOwner(e.admin, e.owner.ID, "team disbanded"); err != nil {
		t.Fatal(err)
	}
	_, err = e.exchange(federation.ExchangeRequest{SubjectToken: mint()})
	wantOAuth(t, err, "invalid_grant", "owner")
}

func oauthCode(err error) string {
	var oe *broker.OAuthError
	if errors.As(err, &oe) {
		return oe.Code
	}
	return ""
}
