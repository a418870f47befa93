package posture

import "github.com/steward-nhi/steward/evidence"

// Signer signs evidence manifests (the audit key).
type Signer = evidence.Signer
