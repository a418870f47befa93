package steward

import (
	"context"
	"time"
)

// UsageEvent is one use of an identity: an authentication attempt, an
// authorization decision, or a call seen in an ingested log.
type UsageEvent struct {
	ID           string            `json:"id"`
	Time         time.Time         `json:"time"`
	Kind         string            `json:"kind"` // auth, decision, ingest
	IdentityID   string            `json:"identity_id"`
	CredentialID string            `json:"credential_id"`
	Subject      string            `json:"subject"` // the caller as named by the source, when no identity matched
	Action       string            `json:"action"`
	Resource     string            `json:"resource"`
	Source       string            `json:"source"` // source address
	UserAgent    string            `json:"user_agent"`
	Environment  string            `json:"environment"`
	Outcome      string            `json:"outcome"` // ok, unknown, expired, revoked, bad_signature, cidr_denied, allow, deny, error
	Reason       string            `json:"reason"`
	PolicyIDs    []string          `json:"policy_ids"`
	LatencyMicro int64             `json:"latency_us"`
	Attributes   map[string]string `json:"attributes"`
}

// Usage event kinds.
const (
	UsageAuth     = "auth"
	UsageDecision = "decision"
	UsageIngest   = "ingest"
	// UsageGateway is a request (or an MCP tool call) through the gateway.
	UsageGateway = "gateway"
)

// UsageRecorder takes usage events off the request path. Record never
// blocks: when its queue is full it drops the event and counts the drop.
type UsageRecorder interface {
	Record(ctx context.Context, ev UsageEvent)
}

// UsagePipeline is the one path every usage event takes, whoever produced
// it (authentication, the PDP, log ingest, the gateway): the usage log's
// recorder, wrapped by the anomaly detectors when alerts are on, so that
// the detectors see every event the log keeps.
type UsagePipeline interface {
	UsageRecorder
	// IngestUsage writes evs durably before it returns (bulk log ingest,
	// where the caller reports what was written), then passes them on.
	IngestUsage(ctx context.Context, evs []UsageEvent) error
}

// DiscardUsage is a pipeline that keeps nothing.
type DiscardUsage struct{}

// Record drops the event.
func (DiscardUsage) Record(context.Context, UsageEvent) {}

// IngestUsage drops the events.
func (DiscardUsage) IngestUsage(context.Context, []UsageEvent) error { return nil }
