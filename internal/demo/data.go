package demo

import "github.com/steward-nhi/steward"

// The fixed vocabulary of the synthetic organisation "Acme". Nothing here
// is a real account, key or secret: account numbers and ids are made up,
// and every credential fingerprint is the hash of random bytes.

// teams are the engineering teams, each with the services it runs.
var teams = []struct {
	name       string
	size       int // people, the first of whom leads the team
	costCenter string
	services   []string
}{
	{"payments", 6, "cc-110", []string{"payments-api", "ledger", "billing-worker", "invoice-renderer", "refunds-service", "fraud-scorer", "checkout-web"}},
	{"data", 6, "cc-120", []string{"etl-runner", "airflow-scheduler", "dbt-runner", "warehouse-loader", "kafka-connect", "spark-jobs", "looker-sync"}},
	{"platform", 6, "cc-130", []string{"infra", "terraform-ci", "argocd", "external-dns", "cert-manager", "cluster-autoscaler", "backup-agent", "build-cache"}},
	{"security", 5, "cc-140", []string{"vault-unsealer", "siem-forwarder", "secrets-rotator", "sso-sync", "vuln-scanner", "guardduty-forwarder"}},
	{"growth", 5, "cc-150", []string{"marketing-site", "email-sender", "segment-sync", "experiments-api", "crm-sync", "ads-reporting"}},
	{"ml", 6, "cc-160", []string{"feature-store", "model-trainer", "inference-gateway", "embedding-indexer", "eval-runner", "labeling-tool"}},
}

// agents are AI agents and what they do.
var agents = []struct{ name, team, purpose string }{
	{"support-agent", "growth", "Answers customer support tickets from the help-centre corpus and drafts replies for review"},
	{"code-review-agent", "platform", "Reviews pull requests and leaves comments; may not merge"},
	{"sre-copilot", "platform", "Reads dashboards and runbooks during incidents and proposes remediation steps"},
	{"sales-research-agent", "growth", "Researches prospects and writes account summaries into the CRM"},
	{"triage-agent", "security", "Triages security alerts and opens tickets with enrichment"},
	{"docs-qa-agent", "ml", "Answers internal questions over the engineering wiki"},
	{"fraud-review-agent", "payments", "Summarises flagged transactions for the fraud analysts"},
	{"data-analyst-agent", "data", "Writes and runs read-only SQL against the warehouse on request"},
}

var firstNames = []string{
	"Amara", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemi", "Lars", "Maya", "Nikhil",
	"Olga", "Pablo", "Quinn", "Rosa", "Sami", "Tara", "Uma", "Victor", "Wen", "Ximena", "Yusuf", "Zoe", "Aiden", "Bea",
	"Carlos", "Dana", "Emil", "Fatima", "Gustav", "Hana", "Ivan", "Julia", "Kofi", "Lena",
}

var lastNames = []string{
	"Okafor", "Schmidt", "Nguyen", "Patel", "Rossi", "Haddad", "Kim", "Tanaka", "Moreau", "Berg", "Adeyemi", "Larsen",
	"Cohen", "Rao", "Ivanova", "Garcia", "Murphy", "Silva", "Khan", "Walsh", "Novak", "Costa", "Li", "Lopez", "Yilmaz",
	"Fischer", "Brennan", "Duarte", "Mensah", "Lindqvist", "Sato", "Wojcik", "Ferreira", "Ahmed", "Olsen", "Romero",
}

var environments = []string{"prod", "staging", "dev"}

// environmentWeights: most machine identities live in production.
var environmentWeights = []int{50, 25, 25}

// providerSpec describes one provider: how often it appears, the kinds of
// identity it has (with weights) and the scopes it grants.
type providerSpec struct {
	name   string
	weight int
	kinds  []steward.Kind
	kindW  []int
	scopes []string
}

var providers = []providerSpec{
	{"aws", 20, []steward.Kind{steward.KindServiceAccount, steward.KindWorkload, steward.KindCertificate, steward.KindAPIKey}, []int{3, 4, 1, 1},
		[]string{"s3:GetObject", "s3:PutObject", "sqs:SendMessage", "sqs:ReceiveMessage", "dynamodb:Query", "dynamodb:PutItem", "kms:Decrypt", "kms:Encrypt", "iam:PassRole", "sts:AssumeRole", "ecr:GetAuthorizationToken", "secretsmanager:GetSecretValue", "logs:PutLogEvents"}},
	{"gcp", 11, []steward.Kind{steward.KindServiceAccount, steward.KindWorkload, steward.KindAPIKey}, []int{5, 2, 1},
		[]string{"roles/bigquery.dataEditor", "roles/bigquery.jobUser", "roles/storage.objectViewer", "roles/storage.objectAdmin", "roles/pubsub.publisher", "roles/pubsub.subscriber", "roles/cloudsql.client", "roles/secretmanager.secretAccessor", "roles/aiplatform.user"}},
	{"azure", 8, []steward.Kind{steward.KindOAuthApp, steward.KindServiceAccount, steward.KindWorkload, steward.KindCertificate}, []int{3, 3, 2, 1},
		[]string{"User.Read.All", "Directory.Read.All", "Mail.Send", "Group.ReadWrite.All", "rbac/Reader", "rbac/Contributor", "rbac/StorageBlobDataReader", "rbac/KeyVaultSecretsUser"}},
	{"github", 13, []steward.Kind{steward.KindOAuthApp, steward.KindPAT, steward.KindBot, steward.KindSSHKey}, []int{3, 3, 2, 2},
		[]string{"contents:read", "contents:write", "pull_requests:write", "actions:read", "actions:write", "metadata:read", "packages:write", "issues:write", "deployments:write"}},
	{"kubernetes", 15, []steward.Kind{steward.KindServiceAccount, steward.KindWorkload, steward.KindCertificate}, []int{3, 4, 1},
		[]string{"get:pods", "list:pods", "get:configmaps", "get:secrets", "create:jobs", "patch:deployments", "list:nodes", "watch:events"}},
	{"vault", 6, []steward.Kind{steward.KindWorkload, steward.KindServiceAccount, steward.KindCertificate}, []int{3, 1, 2},
		[]string{"secret/data/payments/*:read", "secret/data/data/*:read", "database/creds/readonly:read", "transit/encrypt/app:update", "pki_int/issue/internal:update", "aws/creds/deploy:read"}},
	{"okta", 4, []steward.Kind{steward.KindOAuthApp, steward.KindAPIKey}, []int{3, 1},
		[]string{"okta.users.read", "okta.users.manage", "okta.groups.read", "okta.groups.manage", "okta.apps.read", "okta.logs.read"}},
	{"steward", 6, []steward.Kind{steward.KindAPIKey, steward.KindAIAgent, steward.KindBot, steward.KindSSHKey}, []int{3, 2, 1, 1},
		[]string{"inventory:read", "inventory:write", "tickets:write", "orders:read", "customers:read", "deploy:prod", "ssh:bastion"}},
	{"vendor:stripe", 3, []steward.Kind{steward.KindAPIKey}, []int{1},
		[]string{"charges:read", "charges:write", "customers:read", "payouts:write", "refunds:write", "webhooks:read"}},
	{"vendor:datadog", 3, []steward.Kind{steward.KindAPIKey}, []int{1},
		[]string{"metrics_read", "metrics_write", "logs_read_data", "logs_write", "dashboards_write", "monitors_write"}},
	{"vendor:openai", 4, []steward.Kind{steward.KindAIAgent, steward.KindAPIKey}, []int{3, 1},
		[]string{"model.request", "responses.write", "files.read", "files.write", "vector_stores.write", "assistants.read"}},
	{"vendor:anthropic", 2, []steward.Kind{steward.KindAIAgent}, []int{1},
		[]string{"messages:write", "files:read", "models:read"}},
	{"vendor:pagerduty", 2, []steward.Kind{steward.KindAPIKey}, []int{1},
		[]string{"incidents.read", "incidents.write", "services.read", "schedules.read"}},
	{"vendor:snowflake", 2, []steward.Kind{steward.KindServiceAccount}, []int{1},
		[]string{"role:LOADER", "role:TRANSFORMER", "role:REPORTER", "warehouse:ETL_WH", "warehouse:BI_WH"}},
	{"slack", 1, []steward.Kind{steward.KindBot}, []int{1},
		[]string{"chat:write", "channels:read", "commands", "users:read", "incoming-webhook"}},
}

// kindPhrase starts an identity's purpose.
var kindPhrase = map[steward.Kind]string{
	steward.KindServiceAccount: "Service account used by",
	steward.KindWorkload:       "Workload identity of",
	steward.KindAPIKey:         "API key used by",
	steward.KindOAuthApp:       "OAuth client of",
	steward.KindBot:            "Automation bot for",
	steward.KindAIAgent:        "AI agent for",
	steward.KindSSHKey:         "SSH key used by",
	steward.KindCertificate:    "TLS certificate of",
	steward.KindPAT:            "Personal access token used by",
}

var suspendReasons = []string{
	"suspicious calls from an unknown network during incident review",
	"owner on extended leave; pending handover",
	"access review: no justification provided",
	"key seen in a public gist; investigating",
	"service paused during migration",
}

var revokeNotes = map[steward.RevokeReason][]string{
	steward.ReasonDecommissioned: {"service shut down", "replaced by workload identity federation", "migrated to the new billing stack"},
	steward.ReasonIncident:       {"credential exposed in CI logs", "key committed to a public repository"},
	steward.ReasonOwnerDeparted:  {"owner left; no successor found"},
	steward.ReasonDormant:        {"unused for more than 180 days"},
	steward.ReasonManual:         {"requested by the team lead"},
	steward.ReasonRotation:       {"superseded by a new identity during rotation"},
}

var managedBy = []string{"terraform", "terraform", "helm", "pulumi", "manual", "crossplane"}

var awsRegions = []string{"us-east-1", "eu-west-1", "eu-central-1"}
