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
)

// define makes a tool whose arguments decode into In: the SDK derives the
// input schema from In (its jsonschema tags describe each argument) and
// validates every call against it before fn runs; fn's result is the
// tool's compact JSON, its error a tool error naming the code and field.
func define[In any](def *sdk.Tool, roles []steward.Role, needs func(Services) bool, fn func(ctx context.Context, svc Services, in In) (any, error)) tool {
	return tool{def: def, roles: roles, needs: needs, add: func(s *sdk.Server, svc Services) {
		sdk.AddTool(s, def, func(ctx context.Context, req *sdk.CallToolRequest, in In) (*sdk.CallToolResult, any, error) {
			out, err := fn(bind(ctx, req), svc, in)
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
// through MCP: the caller's reason, marked as coming from an agent, and
// naming the human it acts for when the token is delegated. The actor of
// the event is the principal itself (the agent's token), set by the
// service.
func recorded(ctx context.Context, reason string) string {
	if human := actingFor(steward.PrincipalFrom(ctx)); human != "" {
		return reason + " [via MCP, on behalf of " + human + "]"
	}
	return reason + " [via MCP]"
}

// actingFor names the human a delegated token acts for, or "".
//
// TODO(federation): delegated tokens (RFC 8693 token exchange with an
// `act` claim) are being added; once steward.Principal carries the
// delegation, return the subject the agent acts for here. This is the one
// place that needs to change. Over stdio the principal is not in ctx (the
// remote server authenticates), so the server will have to record the
// delegation itself from the token.
func actingFor(*steward.Principal) string { return "" }

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
