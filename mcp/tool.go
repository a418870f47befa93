package mcp

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/auth"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/authz"
)

// define makes a tool whose arguments decode into In: the SDK derives the
// input schema from In (its jsonschema tags describe each argument) and
// validates every call against it before fn runs; fn's result is the
// tool's compact JSON, its error a tool error naming the code and field.
func define[In any](def *sdk.Tool, roles []steward.Role, needs func(Services) bool, fn func(ctx context.Context, svc Services, in In) (any, error)) tool {
	return tool{def: def, roles: roles, needs: needs, add: func(s *sdk.Server, svc Services) {
		sdk.AddTool(s, def, func(ctx context.Context, req *sdk.CallToolRequest, in In) (*sdk.CallToolResult, any, error) {
			ctx = bind(ctx, req)
			if err := decide(ctx, svc.Tools, def.Name); err != nil {
				return errorResult(err), nil, nil
			}
			out, err := fn(ctx, svc, in)
			if err != nil {
				return errorResult(err), nil, nil
			}
			return jsonResult(out), nil, nil
		})
	}}
}

// principalKey is where Handler leaves the authenticated principal in the
// SDK's token info, which the Streamable HTTP transport hands to every
// request of the session.
const principalKey = "steward.principal"

// bind puts the caller's principal (in process: from the HTTP request's
// authentication) into ctx, so the services act as, and authorize, the
// caller. Over stdio there is none: the remote server authenticates the
// token the HTTP client sends.
func bind(ctx context.Context, req *sdk.CallToolRequest) context.Context {
	if req == nil || req.Extra == nil || req.Extra.TokenInfo == nil {
		return ctx
	}
	if p, ok := req.Extra.TokenInfo.Extra[principalKey].(*steward.Principal); ok {
		return steward.WithPrincipal(ctx, p)
	}
	return ctx
}

// tokenInfo carries p through the SDK to the tool handlers. UserID binds
// a session to the principal that opened it.
func tokenInfo(p *steward.Principal) *auth.TokenInfo {
	return &auth.TokenInfo{UserID: p.Actor, Expiration: time.Now().Add(time.Hour), Extra: map[string]any{principalKey: p}}
}

// jsonResult answers v as one compact JSON text block.
func jsonResult(v any) *sdk.CallToolResult {
	b, err := json.Marshal(v)
	if err != nil {
		return errorResult(steward.Errorf(steward.EINTERNAL, "encode result: %v", err))
	}
	return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: string(b)}}}
}

// toolError is the JSON of a failed call.
type toolError struct {
	Code    string `json:"code"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// errorResult answers a failed call as a tool error (isError: true): the
// assistant reads why and may correct its arguments.
func errorResult(err error) *sdk.CallToolResult {
	b, _ := json.Marshal(map[string]toolError{"error": {Code: steward.ErrorCode(err), Field: steward.ErrorField(err), Message: steward.ErrorMessage(err)}})
	r := &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: string(b)}}}
	r.IsError = true
	return r
}

// requireReason checks a write tool's reason: present, not blank, bounded.
func requireReason(reason string) (string, error) {
	reason = strings.TrimSpace(reason)
	switch {
	case reason == "":
		return "", steward.FieldError("reason", "is required: say why, it is recorded in the audit chain")
	case len(reason) > maxReason:
		return "", steward.FieldError("reason", "is longer than %d characters", maxReason)
	}
	return reason, nil
}

// maxReason bounds a reason (the recorded text adds the MCP mark).
const maxReason = 1000

// recorded is the reason written to the audit chain for a write made
// through MCP: the caller's reason, marked as coming through MCP. The
// actor of the event is the principal (the agent for a delegated token),
// and steward.NewEvent adds the subject a delegated agent acts for.
func recorded(_ context.Context, reason string) string {
	return reason + " [via MCP]"
}

// ToolType is the Cedar entity type of Steward's tools; a tool's id is
// "steward/<tool name>".
const ToolType = "Tool"

// ActionToolCall is the action of a tool call decision.
const ActionToolCall = "tools/call"

// decide asks policy whether a delegated agent may call tool, on top of
// the role of the person it acts for (which the services enforce): the
// subject is the agent, context.act the delegation chain and
// context.on_behalf_of the person. Any other caller is not asked; a
// delegated caller without a decider is refused (fail closed).
func decide(ctx context.Context, d Decider, tool string) error {
	p := steward.PrincipalFrom(ctx)
	if p == nil || p.Delegation == nil || len(p.Delegation.Actors) == 0 {
		return nil
	}
	if d == nil {
		return steward.Errorf(steward.EFORBIDDEN, "delegated tool calls need the policy decision point, which is off on this server")
	}
	agent := p.Delegation.Actors[0]
	src := steward.RequestSourceFrom(ctx)
	r := &authz.Request{
		Subject:  &authz.Entity{Type: string(authz.IdentityType), ID: agent},
		Action:   &authz.Action{Name: ActionToolCall},
		Resource: &authz.Entity{Type: ToolType, ID: "steward/" + tool, Properties: map[string]any{"server": "steward", "name": tool}},
		Context: map[string]any{"act": p.Delegation.ActContext(), "on_behalf_of": p.Delegation.Subject, "role": string(p.Role),
			"credential_id": p.CredentialID, "source_ip": src.Addr, "user_agent": src.UserAgent},
	}
	dec, err := d.Evaluate(steward.WithPrincipal(ctx, steward.SystemPrincipal("mcp")), r, authz.Call{Source: src.Addr, UserAgent: src.UserAgent})
	if err != nil {
		return err
	}
	if !dec.Decision {
		return steward.Errorf(steward.EFORBIDDEN, "no policy permits agent %s to call Tool::\"steward/%s\" on behalf of %s", agent, tool, p.Delegation.Subject)
	}
	return nil
}

// oneOf lists a closed argument's values for its schema's enum.
func oneOf[S ~string](values ...S) []any {
	out := make([]any, len(values))
	for i, v := range values {
		out[i] = string(v)
	}
	return out
}

// schema returns In's input schema, as the SDK would infer it, with the
// closed arguments named in enums restricted to their values, so the
// assistant sees the choices and a wrong value is refused before any
// service runs.
func schema[In any](enums map[string][]any) *jsonschema.Schema {
	s, err := jsonschema.For[In](nil)
	if err != nil {
		panic(fmt.Sprintf("mcp: schema of %T: %v", *new(In), err))
	}
	for prop, values := range enums {
		p, ok := s.Properties[prop]
		if !ok {
			panic(fmt.Sprintf("mcp: %T has no argument %s", *new(In), prop))
		}
		p.Enum = values
	}
	return s
}
