package broker_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/broker"
	"github.com/steward-nhi/steward/internal/secretbox"
	"github.com/steward-nhi/steward/inventory"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

// node is one broker's issuer settings.
type node struct {
	issuer, defaultIssuer string
	replace               bool
}

// TestNodesShareOneIssuer is issue 14.4: tokens issued by one node are
// active on another, because every node uses the issuer the database
// records; nodes configured with different issuers are refused.
func TestNodesShareOneIssuer(t *testing.T) {
	cases := []struct {
		name  string
		nodes []node
		// want is the issuer of every node, or the error of the last one.
		want, err string
	}{
		{"a node without configuration takes the first node's address",
			[]node{{defaultIssuer: "http://10.0.0.1:8080"}, {defaultIssuer: "http://10.0.0.2:8080"}}, "http://10.0.0.1:8080", ""},
		{"nodes configured alike agree",
			[]node{{issuer: "https://steward.example.com/"}, {issuer: "https://steward.example.com", defaultIssuer: "http://10.0.0.2:8080"}}, "https://steward.example.com", ""},
		{"a configured issuer replaces a recorded default and the others follow",
			[]node{{defaultIssuer: "http://10.0.0.1:8080"}, {issuer: "https://steward.example.com"}, {defaultIssuer: "http://10.0.0.3:8080"}}, "https://steward.example.com", ""},
		{"nodes configured with different issuers are refused",
			[]node{{issuer: "https://a.example.com"}, {issuer: "https://b.example.com"}}, "", `issuer "https://b.example.com" differs from "https://a.example.com"`},
		{"a replacement moves the cluster to a new issuer",
			[]node{{issuer: "https://a.example.com"}, {issuer: "https://b.example.com", replace: true}, {defaultIssuer: "http://10.0.0.3:8080"}}, "https://b.example.com", ""},
	}
	for _, eng := range sqltest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					st := eng.Open(t).(steward.BrokerStore)
					ctx := context.Background()
					box, err := secretbox.New(bytes.Repeat([]byte{7}, secretbox.KeySize))
					if err != nil {
						t.Fatal(err)
					}
					var bs []*broker.Broker
					for n, nd := range tc.nodes {
						b, err := broker.New(ctx, broker.Config{Store: st, Box: box, Pepper: []byte("pepper-pepper-pepper-pepper"),
							Issuer: nd.issuer, DefaultIssuer: nd.defaultIssuer, ReplaceIssuer: nd.replace})
						if n == len(tc.nodes)-1 && tc.err != "" {
							if err == nil || !strings.Contains(err.Error(), tc.err) {
								t.Fatalf("node %d: error %v, want %q", n, err, tc.err)
							}
							return
						}
						if err != nil {
							t.Fatalf("node %d: %v", n, err)
						}
						bs = append(bs, b)
					}
					// The last two nodes started after the last change of
					// issuer (earlier ones would restart with it).
					first, last := bs[len(bs)-2], bs[len(bs)-1]
					if first.Issuer() != tc.want || last.Issuer() != tc.want {
						t.Fatalf("issuers %q and %q, want %q", first.Issuer(), last.Issuer(), tc.want)
					}
					// A token issued by one node is active on the other.
					svc := inventory.New(inventory.Config{Store: st})
					admin := steward.WithPrincipal(ctx, steward.SystemPrincipal("test"))
					i, err := svc.CreateIdentity(admin, &steward.Identity{Name: "shared", Kind: steward.KindServiceAccount, Provider: "steward",
						Sensitivity: steward.SensitivityLow, Scopes: []string{"read"}, UnownedReason: "test"})
					if err != nil {
						t.Fatal(err)
					}
					cl, err := first.Issue(admin, i.ID, broker.IssueRequest{Type: steward.CredentialTypeClientSecret})
					if err != nil {
						t.Fatal(err)
					}
					tr, err := first.Token(ctx, broker.TokenRequest{GrantType: "client_credentials",
						Client: broker.ClientAuth{Method: broker.AuthSecretBasic, ClientID: cl.ClientID, ClientSecret: cl.Secret}}, steward.RequestSource{})
					if err != nil {
						t.Fatal(err)
					}
					in, err := last.Introspect(ctx, broker.Caller{Principal: steward.SystemPrincipal("test")}, tr.AccessToken)
					if err != nil {
						t.Fatal(err)
					}
					if !in.Active || in.Iss != tc.want {
						t.Fatalf("introspection on the other node: %+v", in)
					}
				})
			}
		})
	}
}
