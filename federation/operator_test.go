package federation_test

import (
	"context"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/broker"
	"github.com/steward-nhi/steward/federation"
)

// A person delegates to an agent with their operator token as the
// subject: the token names the person (sub token:<id>) and the agent
// (act), the principal acts as the agent within the person's role, and
// revoking the person's token ends it.
func TestAnOperatorDelegatesToAnAgent(t *testing.T) {
	e := newEnv(t, nil)
	k8s := newTestIssuer(t)
	e.issuer(steward.TrustedIssuer{Name: "k8s", Kind: steward.IssuerKubernetes, Issuer: k8s.url(), Discovery: true, Audiences: []string{aud}})
	agent := e.identity("assistant", steward.KindAIAgent, "records:read")
	worker := e.identity("worker", steward.KindServiceAccount, "records:read")
	e.bind(agent.ID, "k8s", "system:serviceaccount:agents:assistant", nil)
	e.bind(worker.ID, "k8s", "system:serviceaccount:prod:worker", nil)
	mint := func(sa string) string {
		ns := "agents"
		if sa == "worker" {
			ns = "prod"
		}
		return k8s.mint(jose.ES256, kubeClaims(k8s.url(), aud, ns, sa, e.clk.Now()))
	}
	person, err := e.svc.CreateToken(e.admin, steward.TokenCreate{Name: "dana", Role: steward.RoleAuditor})
	if err != nil {
		t.Fatal(err)
	}
	op := federation.ExchangeRequest{SubjectToken: person.Token, SubjectTokenType: federation.TokenTypeAccess}

	refusals := []struct {
		name      string
		req       federation.ExchangeRequest
		code, has string
	}{
		{"without an actor token", op, "invalid_request", "actor_token is required"},
		{"with a jwt subject type", federation.ExchangeRequest{SubjectToken: person.Token, SubjectTokenType: federation.TokenTypeJWT, ActorToken: mint("assistant")}, "invalid_request", "access_token"},
		{"for an unknown operator token", federation.ExchangeRequest{SubjectToken: "stwo_nope-nope-nope", SubjectTokenType: federation.TokenTypeAccess, ActorToken: mint("assistant")}, "invalid_grant", "operator token is invalid"},
		{"to an actor that is not an agent", federation.ExchangeRequest{SubjectToken: person.Token, SubjectTokenType: federation.TokenTypeAccess, ActorToken: mint("worker")}, "invalid_grant", "not ai_agent"},
	}
	for _, tc := range refusals {
		t.Run("refused "+tc.name, func(t *testing.T) {
			_, err := e.exchange(tc.req)
			wantOAuth(t, err, tc.code, tc.has)
		})
	}

	op.ActorToken = mint("assistant")
	out := e.mustExchange(op)
	in := e.introspect(out.AccessToken)
	if !in.Active || in.Sub != broker.OperatorSubject+person.ID || in.Act == nil || in.Act.Subject != agent.ID || in.Scope != "records:read" {
		t.Fatalf("delegated token: %+v act %+v", in, in.Act)
	}
	p, err := e.b.Authenticate(context.Background(), out.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if p.Actor != "nhi:"+agent.ID || p.IdentityID != agent.ID || p.Role != steward.RoleAuditor || p.TokenID != person.ID ||
		p.Delegation == nil || p.Delegation.Subject != "token:"+person.ID || len(p.Delegation.Actors) != 1 || p.Delegation.Actors[0] != agent.ID {
		t.Fatalf("principal %+v delegation %+v", p, p.Delegation)
	}
	if _, err := e.svc.RevokeToken(e.admin, person.ID); err != nil {
		t.Fatal(err)
	}
	if e.introspect(out.AccessToken).Active {
		t.Fatal("a token delegated by a revoked operator token is active")
	}
	if _, err := e.b.Authenticate(context.Background(), out.AccessToken); err == nil {
		t.Fatal("a token delegated by a revoked operator token authenticates")
	}
}
