// Package mcp is Steward's own Model Context Protocol server: tools that let
// an assistant search the inventory, read an identity's credentials, owner,
// history and usage, list findings and alerts, ask who may do what, and —
// for roles allowed to — suspend, revoke, rotate and acknowledge, each with
// a mandatory reason.
//
// One set of tools serves two modes. `steward mcp` speaks MCP over stdio
// and calls a remote server through the typed HTTP clients (Remote);
// `/mcp` on the server speaks Streamable HTTP (Handler) and calls the
// services in process with the caller's principal. The tools see only the
// small interfaces below, which both satisfy.
package mcp

import (
	"context"
	"slices"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/authz"
	"github.com/steward-nhi/steward/broker"
	"github.com/steward-nhi/steward/usage"
)

// Inventory reads identities, their credentials, history and owners, and
// moves identities through their lifecycle (steward.IdentityService and
// OwnerService, and httpapi.Client).
type Inventory interface {
	GetIdentity(ctx context.Context, id string) (*steward.Identity, error)
	ListIdentities(ctx context.Context, f steward.IdentityFilter) (*steward.Page[*steward.Identity], error)
	TransitionIdentity(ctx context.Context, id string, t steward.Transition, r steward.TransitionRequest) (*steward.Identity, error)
	ListEvents(ctx context.Context, f steward.EventFilter) (*steward.Page[*steward.Event], error)
	ListCredentials(ctx context.Context, identityID string) ([]*steward.Credential, error)
	GetOwner(ctx context.Context, id string) (*steward.Owner, error)
	// Stats counts the estate; staff only.
	Stats(ctx context.Context) (*steward.InventoryStats, error)
}

// Credentials rotates and revokes broker-issued credentials (broker.Broker,
// httpapi.BrokerClient).
type Credentials interface {
	Rotate(ctx context.Context, id string, in broker.RotateRequest) (*broker.Rotated, error)
	Revoke(ctx context.Context, id string, in broker.RevokeRequest) (*steward.BrokerCredential, error)
}

// Posture lists and acknowledges findings and reads the rotation schedule
// (posture.Engine, httpapi.PostureClient).
type Posture interface {
	ListFindings(ctx context.Context, f steward.FindingFilter) (*steward.Page[*steward.Finding], error)
	AcknowledgeFinding(ctx context.Context, id, note string) (*steward.Finding, error)
	RotationSchedule(ctx context.Context, f steward.ScheduleFilter) ([]*steward.ScheduleItem, error)
}

// Alerts lists anomalous-usage alerts (alerts.Engine, httpapi.AlertsClient).
type Alerts interface {
	ListAlerts(ctx context.Context, f steward.AlertFilter) (*steward.Page[*steward.Alert], error)
}

// Usage summarises an identity's usage (usage.Service, httpapi.AuthzClient).
type Usage interface {
	IdentityUsage(ctx context.Context, id string, f steward.UsageFilter) (*usage.IdentityUsage, error)
}

// Decider decides each tool call of a delegated agent in process
// (authz.PDP): Action::"tools/call" on Tool::"steward/<tool>".
type Decider interface {
	Evaluate(ctx context.Context, r *authz.Request, call authz.Call) (*authz.Decision, error)
}

// Access answers AuthZEN subject searches (authz.PDP, httpapi.AuthzClient).
type Access interface {
	SearchSubject(ctx context.Context, r *authz.SearchRequest, call authz.Call) (*authz.SearchResponse, error)
}

// Services are what the tools call. Inventory is required; a nil
// capability (switched off on the server) removes the tools that need it.
type Services struct {
	Inventory   Inventory
	Credentials Credentials
	Posture     Posture
	Alerts      Alerts
	Usage       Usage
	Access      Access
	// Tools decides the tool calls of agents holding delegated tokens
	// (in process only); without it such calls are refused.
	Tools Decider
}

// Caller is who the tools are offered to: the role decides which tools
// tools/list shows. The services refuse a call the role may not make
// anyway; the list only spares the assistant tools it cannot use.
type Caller struct {
	Role steward.Role
	// NHI is set for a non-human identity's credential, which has no role.
	NHI bool
	// Delegated is set for an agent holding a token a person delegated:
	// it is offered the tools of that person's role (Role), and each call
	// is also decided by policy.
	Delegated bool
}

// tool is one MCP tool: its definition, who may see it, what it needs,
// and its handler.
type tool struct {
	def *sdk.Tool
	// roles that see the tool in tools/list.
	roles []steward.Role
	// needs reports whether the services hold what the tool calls.
	needs func(Services) bool
	add   func(s *sdk.Server, svc Services)
}

// Role sets of the tools, matching the routes they call.
var (
	readers    = []steward.Role{steward.RoleAdmin, steward.RoleOperator, steward.RoleAuditor, steward.RoleOwner}
	writers    = []steward.Role{steward.RoleAdmin, steward.RoleOperator, steward.RoleOwner}
	evaluators = []steward.Role{steward.RoleAdmin, steward.RoleOperator}
)

// offered reports whether the tool is listed for c with svc.
func (t tool) offered(c Caller, svc Services) bool {
	return (!c.NHI || c.Delegated) && slices.Contains(t.roles, c.Role) && (t.needs == nil || t.needs(svc))
}

// tools lists every tool, reads first.
func tools() []tool {
	return slices.Concat(readTools(), writeTools())
}

// NewServer returns an MCP server offering c the tools its role may use;
// version is Steward's, reported in the implementation info.
func NewServer(svc Services, c Caller, version string) *sdk.Server {
	s := sdk.NewServer(&sdk.Implementation{Name: "steward", Title: "Steward — non-human identity governance", Version: version},
		&sdk.ServerOptions{Instructions: instructions})
	for _, t := range tools() {
		if t.offered(c, svc) {
			t.add(s, svc)
		}
	}
	return s
}

// ToolNames lists the tools NewServer offers c (for documentation and
// tests).
func ToolNames(svc Services, c Caller) []string {
	var out []string
	for _, t := range tools() {
		if t.offered(c, svc) {
			out = append(out, t.def.Name)
		}
	}
	return out
}

const instructions = `Steward governs non-human identities (API keys, service accounts, OAuth apps, workload and AI-agent tokens).
Start with search_identities or posture_summary; get_identity shows one identity in full.
Write tools (suspend, revoke, rotate, acknowledge) act at once and are recorded in Steward's tamper-evident audit chain with your token as the actor (and, for a delegated token, the person you act for) and your reason: confirm with the user before calling them.`
