package mcp

import (
	"context"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/broker"
)

func writes(destructive bool) *sdk.ToolAnnotations {
	return &sdk.ToolAnnotations{DestructiveHint: &destructive, OpenWorldHint: new(false)}
}

// ReasonArg is the reason every write tool requires.
type ReasonArg struct {
	Reason string `json:"reason" jsonschema:"why, in a sentence (required; recorded in the audit chain with your token as the actor)"`
}

func (r ReasonArg) reason() string { return r.Reason }

// defineWrite makes a write tool for the writers: a call without a valid
// reason is refused before fn runs, and fn gets the note to record.
func defineWrite[In interface{ reason() string }](def *sdk.Tool, needs func(Services) bool, fn func(ctx context.Context, svc Services, in In, note string) (any, error)) tool {
	return define(def, writers, needs, func(ctx context.Context, svc Services, in In) (any, error) {
		reason, err := requireReason(in.reason())
		if err != nil {
			return nil, err
		}
		return fn(ctx, svc, in, recorded(ctx, reason))
	})
}

// SuspendIdentityArgs are suspend_identity's arguments.
type SuspendIdentityArgs struct {
	ID string `json:"id" jsonschema:"identity id (nhi_...)"`
	ReasonArg
}

// RevokeIdentityArgs are revoke_identity's arguments.
type RevokeIdentityArgs struct {
	ID   string `json:"id" jsonschema:"identity id (nhi_...)"`
	Code string `json:"code,omitempty" jsonschema:"revocation category: owner_departed, incident, dormant, decommissioned, rotation or manual (default manual)"`
	ReasonArg
}

// RotateCredentialArgs are rotate_credential's arguments.
type RotateCredentialArgs struct {
	ID      string `json:"credential_id" jsonschema:"credential id (crd_...), from get_identity's credentials"`
	Overlap string `json:"overlap,omitempty" jsonschema:"how long the old secret keeps working, as a Go duration such as 0s, 30m or 24h (default 0s: revoked at once; at most 720h)"`
	ReasonArg
}

// RevokeCredentialArgs are revoke_credential's arguments.
type RevokeCredentialArgs struct {
	ID string `json:"credential_id" jsonschema:"credential id (crd_...), from get_identity's credentials"`
	ReasonArg
}

// AcknowledgeFindingArgs are acknowledge_finding's arguments.
type AcknowledgeFindingArgs struct {
	ID string `json:"finding_id" jsonschema:"finding id, from list_findings"`
	ReasonArg
}

func writeTools() []tool {
	hasBroker := func(s Services) bool { return s.Credentials != nil }
	return []tool{
		defineWrite(&sdk.Tool{Name: "suspend_identity", Title: "Suspend an identity", Annotations: writes(false),
			Description: "Suspend an active identity: its credentials stop authenticating until it is resumed (reversible, unlike revoke). " +
				"Acts at once and is recorded with your reason; confirm with the user first."},
			nil, suspendIdentity),
		defineWrite(&sdk.Tool{Name: "revoke_identity", Title: "Revoke an identity (final)", Annotations: writes(true),
			InputSchema: schema[RevokeIdentityArgs](map[string][]any{"code": oneOf(steward.RevokeReasons...)}),
			Description: "Revoke an identity and all its credentials. FINAL: a revoked identity can never be used again. Prefer suspend_identity when unsure. " +
				"Acts at once and is recorded with your reason; confirm with the user first."},
			nil, revokeIdentity),
		defineWrite(&sdk.Tool{Name: "rotate_credential", Title: "Rotate a credential", Annotations: writes(true),
			Description: "Rotate a Steward-issued credential: a successor is issued and the old secret stops working after the overlap (default: at once). " +
				"The new secret is NOT returned to you (it must not enter a conversation): its holder obtains a usable secret through `steward credential` with their own token. " +
				"Returns the new credential's id, fingerprint and expiry. Acts at once and is recorded with your reason; confirm with the user first."},
			hasBroker, rotateCredential),
		defineWrite(&sdk.Tool{Name: "revoke_credential", Title: "Revoke a credential", Annotations: writes(true),
			Description: "Revoke one Steward-issued credential (the identity and its other credentials stay). Final for that credential. " +
				"Acts at once and is recorded with your reason; confirm with the user first."},
			hasBroker, revokeCredential),
		defineWrite(&sdk.Tool{Name: "acknowledge_finding", Title: "Acknowledge a posture finding", Annotations: writes(false),
			Description: "Acknowledge an open posture finding: the risk is known and being handled (it stays unresolved until the condition clears). " +
				"Recorded with your reason."},
			func(s Services) bool { return s.Posture != nil }, acknowledgeFinding),
	}
}

func suspendIdentity(ctx context.Context, svc Services, in SuspendIdentityArgs, note string) (any, error) {
	i, err := svc.Inventory.TransitionIdentity(ctx, in.ID, steward.TransitionSuspend, steward.TransitionRequest{Note: note})
	if err != nil {
		return nil, err
	}
	return identityView(i), nil
}

func revokeIdentity(ctx context.Context, svc Services, in RevokeIdentityArgs, note string) (any, error) {
	code := in.Code
	if code == "" {
		code = string(steward.ReasonManual)
	}
	i, err := svc.Inventory.TransitionIdentity(ctx, in.ID, steward.TransitionRevoke, steward.TransitionRequest{Reason: code, Note: note})
	if err != nil {
		return nil, err
	}
	return identityView(i), nil
}

// rotated is rotate_credential's answer: the successor without its secret.
type rotated struct {
	ID            string     `json:"id"`
	IdentityID    string     `json:"identity_id"`
	Type          string     `json:"type"`
	Fingerprint   string     `json:"fingerprint"`
	ExpiresAt     *time.Time `json:"expires_at,omitempty"`
	PredecessorID string     `json:"predecessor_id"`
	OverlapUntil  *time.Time `json:"predecessor_valid_until,omitempty"`
	Secret        string     `json:"secret"`
}

func rotateCredential(ctx context.Context, svc Services, in RotateCredentialArgs, note string) (any, error) {
	req := broker.RotateRequest{Reason: note}
	if in.Overlap != "" {
		d, err := time.ParseDuration(in.Overlap)
		if err != nil || d < 0 {
			return nil, steward.FieldError("overlap", "%q is not a duration such as 0s, 30m or 24h", in.Overlap)
		}
		sd := steward.Duration(d)
		req.Overlap = &sd
	}
	r, err := svc.Credentials.Rotate(ctx, in.ID, req)
	if err != nil {
		return nil, err
	}
	out := rotated{ID: r.ID, IdentityID: r.IdentityID, Type: r.Type, Fingerprint: r.Fingerprint, ExpiresAt: r.ExpiresAt, PredecessorID: r.PredecessorID,
		Secret: "withheld: not shown to assistants"}
	if r.Predecessor != nil {
		out.OverlapUntil = r.Predecessor.OverlapUntil
	}
	return out, nil
}

func revokeCredential(ctx context.Context, svc Services, in RevokeCredentialArgs, note string) (any, error) {
	c, err := svc.Credentials.Revoke(ctx, in.ID, broker.RevokeRequest{Reason: note})
	if err != nil {
		return nil, err
	}
	return credentialView(&c.Credential), nil
}

func acknowledgeFinding(ctx context.Context, svc Services, in AcknowledgeFindingArgs, note string) (any, error) {
	f, err := svc.Posture.AcknowledgeFinding(ctx, in.ID, note)
	if err != nil {
		return nil, err
	}
	return findingView(f), nil
}
