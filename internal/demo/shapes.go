package demo

// What an identity looks like at each provider: its name, external
// reference, credential type and labels, its tier and source, whether the
// vendor manages it, and the mix of providers and kinds.

import (
	"fmt"
	"strings"

	"github.com/steward-nhi/steward"
)

// shape is the provider-specific face of an identity.
type shape struct {
	name, ref, credType string
	labels              map[string]string
}

func (g *generator) clusterFor(env string) string {
	if env == "prod" {
		return pick(g, []string{"prod-eu1", "prod-us1"})
	}
	return env + "-eu1"
}

func (g *generator) shapeOf(provider string, kind steward.Kind, team, svc, env string, o *owner) shape {
	s := shape{labels: map[string]string{}}
	switch provider {
	case "aws":
		acct, region := g.awsAccounts[env], pick(g, awsRegions)
		s.labels["aws_account_id"], s.labels["region"] = acct, region
		switch kind {
		case steward.KindWorkload:
			s.name, s.credType = svc+"-"+env, "aws_role_trust"
			s.ref = fmt.Sprintf("arn:aws:iam::%s:role/%s/%s-%s", acct, team, svc, env)
		case steward.KindCertificate:
			s.name, s.credType = "acm/"+svc+"."+envDomain(env), "x509_certificate"
			s.ref = fmt.Sprintf("arn:aws:acm:%s:%s:certificate/%s", region, acct, g.uuid())
		case steward.KindAPIKey:
			s.name, s.credType = "apigw/"+svc+"-"+env+"-key", "api_key"
			s.ref = fmt.Sprintf("arn:aws:apigateway:%s::/apikeys/%s", region, g.alnum(10))
		default:
			s.name, s.credType = "svc-"+svc+"-"+env, "aws_access_key"
			s.ref = fmt.Sprintf("arn:aws:iam::%s:user/svc/%s-%s", acct, svc, env)
		}
	case "gcp":
		project := "acme-" + team + "-" + env
		s.labels["project"] = project
		switch kind {
		case steward.KindWorkload:
			s.name, s.credType = "wif/"+svc+"-"+env, "oidc_federation"
			s.ref = fmt.Sprintf("principal://iam.googleapis.com/projects/%s/locations/global/workloadIdentityPools/%s-%s/subject/%s", g.digits(12), team, env, svc)
		case steward.KindAPIKey:
			s.name, s.credType = svc+"-"+env+"-api-key", "api_key"
			s.ref = fmt.Sprintf("projects/%s/locations/global/keys/%s", project, g.uuid())
		default:
			s.name, s.credType = svc+"-"+env, "gcp_sa_key"
			s.ref = fmt.Sprintf("%s@%s.iam.gserviceaccount.com", svc, project)
		}
	case "azure":
		s.labels["subscription"] = g.azureSubs[env]
		switch kind {
		case steward.KindOAuthApp:
			s.name, s.ref, s.credType = svc+"-"+env+"-app", g.uuid(), "client_secret"
		case steward.KindWorkload:
			s.name, s.credType = "mi-"+svc+"-"+env, "federated_credential"
			s.ref = fmt.Sprintf("/subscriptions/%s/resourceGroups/rg-%s-%s/providers/Microsoft.ManagedIdentity/userAssignedIdentities/mi-%s-%s", g.azureSubs[env], team, env, svc, env)
		case steward.KindCertificate:
			s.name, s.credType = "kv/"+svc+"-"+env+"-tls", "x509_certificate"
			s.ref = fmt.Sprintf("https://kv-%s-%s.vault.azure.net/certificates/%s-tls", team, env, svc)
		default:
			s.name, s.ref, s.credType = "sp-"+svc+"-"+env, g.uuid(), "client_secret"
		}
	case "github":
		s.labels["org"] = "acme"
		switch kind {
		case steward.KindOAuthApp:
			short := strings.TrimSuffix(strings.TrimSuffix(svc, "-api"), "-service")
			s.name, s.ref, s.credType = "gha-deploy-"+short, "app/"+g.digits(6), "github_app_private_key"
		case steward.KindPAT:
			handle := "ci"
			if o != nil && o.Kind == steward.OwnerPerson {
				handle = strings.ToLower(o.Name[:1] + o.Name[strings.LastIndex(o.Name, " ")+1:])
			}
			s.name, s.ref, s.credType = "pat-"+handle+"-"+svc, "pat/"+g.digits(8), "github_pat"
		case steward.KindBot:
			s.name, s.ref, s.credType = svc+"-bot", "bot/acme-"+svc+"-bot", "github_token"
		default:
			s.name, s.credType = "deploy-key/"+svc, "ssh_key"
			s.ref = fmt.Sprintf("repos/acme/%s/keys/%s", svc, g.digits(8))
		}
		s.labels["repo"] = "acme/" + svc
	case "kubernetes":
		cluster := g.clusterFor(env)
		s.labels["cluster"], s.labels["namespace"] = cluster, team
		switch kind {
		case steward.KindCertificate:
			s.name, s.credType = "k8s/"+team+"/"+svc+"-tls", "x509_certificate"
			s.ref = fmt.Sprintf("%s:certificate:%s:%s-tls", cluster, team, svc)
		default:
			s.name, s.credType = "k8s/"+team+"/"+svc, "k8s_sa_token"
			if kind == steward.KindWorkload {
				s.credType = "k8s_projected_token"
			}
			s.ref = fmt.Sprintf("%s:system:serviceaccount:%s:%s", cluster, team, svc)
			s.labels["app.kubernetes.io/name"] = svc
		}
	case "vault":
		switch kind {
		case steward.KindCertificate:
			s.name, s.ref, s.credType = "pki/"+svc+"."+env+".internal", "pki_int/issue/"+svc+"-"+env, "x509_certificate"
		case steward.KindServiceAccount:
			s.name, s.ref, s.credType = "vault/token-role/"+svc+"-"+env, "auth/token/roles/"+svc+"-"+env, "vault_token"
		default:
			s.name, s.ref, s.credType = "vault/approle/"+svc+"-"+env, "auth/approle/role/"+svc+"-"+env, "vault_secret_id"
		}
	case "okta":
		if kind == steward.KindAPIKey {
			s.name, s.ref, s.credType = "okta-api-token-"+svc, "00T"+g.alnum(17), "api_token"
		} else {
			s.name, s.ref, s.credType = "okta-"+svc+"-service", "0oa"+g.alnum(17), "private_key_jwt"
		}
	case "steward":
		switch kind {
		case steward.KindAIAgent:
			s.name, s.ref, s.credType = svc, "agents/"+svc+"-"+env, "oauth_client_secret"
		case steward.KindBot:
			s.name, s.ref, s.credType = svc+"-bot", "bots/"+svc+"-"+env, "api_key"
		case steward.KindSSHKey:
			s.name, s.ref, s.credType = "bastion/"+svc+"-"+env, "ssh/"+svc+"-"+env, "ssh_key"
		default:
			s.name, s.ref, s.credType = svc+"-"+env+"-key", "keys/"+svc+"-"+env, "api_key"
		}
	case "vendor:stripe":
		s.name, s.ref, s.credType = "stripe-"+svc+"-"+env, g.stripeAcct+"/restricted_keys/"+svc+"-"+env, "restricted_key"
	case "vendor:datadog":
		s.name, s.ref, s.credType = "datadog-"+svc+"-"+env, "api_keys/"+g.uuid(), "api_key"
	case "vendor:openai":
		if kind == steward.KindAIAgent {
			s.name, s.ref, s.credType = "openai-"+svc, g.openaiProj[env]+"/service_accounts/"+svc, "project_api_key"
		} else {
			s.name, s.ref, s.credType = "openai-"+svc+"-"+env, g.openaiProj[env]+"/api_keys/"+svc, "project_api_key"
		}
		s.labels["project"] = g.openaiProj[env]
	case "vendor:anthropic":
		s.name, s.ref, s.credType = "anthropic-"+svc, "workspaces/"+env+"/api_keys/"+svc, "api_key"
	case "vendor:pagerduty":
		s.name, s.ref, s.credType = "pagerduty-"+svc, "services/"+svc+"/integrations/"+strings.ToUpper(g.alnum(7)), "integration_key"
	case "vendor:snowflake":
		upper := strings.ToUpper(strings.ReplaceAll(svc, "-", "_"))
		s.name, s.ref, s.credType = "snowflake-"+svc+"-"+env, "ACME."+upper+"_"+strings.ToUpper(env), "key_pair"
	case "slack":
		s.name, s.ref, s.credType = svc+"-slack-bot", "B"+strings.ToUpper(g.alnum(10)), "bot_token"
	}
	return s
}

func envDomain(env string) string {
	if env == "prod" {
		return "acme.example.com"
	}
	return env + ".acme.example.com"
}

func (g *generator) credRef(provider string) string {
	switch provider {
	case "aws":
		return "access_key/" + strings.ToUpper(g.hex(16))
	case "gcp":
		return g.hex(40)
	case "azure":
		return g.uuid()
	case "github":
		return "key/" + g.digits(8)
	}
	return "key/" + g.alnum(12)
}

func (g *generator) tierFor(env string, kind steward.Kind) steward.Sensitivity {
	w := map[string][]int{"prod": {25, 40, 25, 10}, "staging": {3, 17, 50, 30}, "dev": {1, 9, 40, 50}}[env]
	if kind == steward.KindAIAgent && env == "prod" {
		w = []int{40, 40, 15, 5}
	}
	return steward.Sensitivities[weighted(g, w)]
}

func (g *generator) sourceFor(provider string) steward.Source {
	switch {
	case provider == "steward":
		return steward.SourceRegistered
	case strings.HasPrefix(provider, "vendor:") || provider == "slack":
		return []steward.Source{steward.SourceRegistered, steward.SourceRegistered, steward.SourceDiscovered}[g.rng.IntN(3)]
	}
	return steward.Sources[weighted(g, []int{15, 60, 25})]
}

func (g *generator) vendorManaged(provider string, kind steward.Kind) bool {
	switch {
	case strings.HasPrefix(provider, "vendor:"):
		return g.chance(0.3)
	case kind == steward.KindWorkload && (provider == "aws" || provider == "gcp" || provider == "azure"):
		return g.chance(0.15)
	}
	return false
}

func providerWeights() []int {
	w := make([]int, len(providers))
	for n, p := range providers {
		w[n] = p.weight
	}
	return w
}

// coverage is the number of (provider, kind) pairs.
func coverage() int {
	n := 0
	for _, p := range providers {
		n += len(p.kinds)
	}
	return n
}

func coverageAt(n int) (providerSpec, steward.Kind) {
	for _, p := range providers {
		if n < len(p.kinds) {
			return p, p.kinds[n]
		}
		n -= len(p.kinds)
	}
	panic("demo: coverage index out of range")
}
