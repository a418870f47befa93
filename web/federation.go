package web

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"github.com/steward-nhi/steward"
)

// FederationReader is the part of the federation capability the console
// shows: an identity's bindings (the service checks the operator's role).
type FederationReader interface {
	ListBindings(ctx context.Context, identityID string) ([]*steward.FederationBinding, error)
}

// bindingRow is one federation binding on the identity page.
type bindingRow struct {
	*steward.FederationBinding
	ClaimList []string // k=pattern, sorted
}

// federationBindings adds the identity's bindings, newest first, when
// federation is wired.
func (c *Console) federationBindings(ctx context.Context, d *identityData) {
	if c.cfg.Federation == nil {
		return
	}
	bs, err := c.cfg.Federation.ListBindings(ctx, d.I.ID)
	if !c.optional(ctx, d, "federation bindings", err) {
		return
	}
	d.HasFed = true
	for i := len(bs) - 1; i >= 0; i-- {
		row := bindingRow{FederationBinding: bs[i]}
		for _, k := range slices.Sorted(maps.Keys(bs[i].Claims)) {
			row.ClaimList = append(row.ClaimList, k+"="+bs[i].Claims[k])
		}
		d.Bindings = append(d.Bindings, row)
	}
}

// bindingDetail names the issuer and patterns of a binding event.
func bindingDetail(e *steward.Event) string {
	raw := e.After
	if len(raw) == 0 || string(raw) == "null" {
		raw = e.Before
	}
	var b struct {
		Issuer   string            `json:"issuer"`
		Subject  string            `json:"subject"`
		Claims   map[string]string `json:"claims"`
		Metadata map[string]string `json:"metadata"` // a removal records the binding's credential
	}
	if json.Unmarshal(raw, &b) != nil {
		return ""
	}
	if b.Issuer == "" && b.Metadata != nil {
		b.Issuer, b.Subject = b.Metadata["issuer"], b.Metadata["subject"]
	}
	if b.Issuer == "" {
		return ""
	}
	parts := []string{"issuer " + b.Issuer}
	if b.Subject != "" {
		parts = append(parts, "subject "+shorten(b.Subject, 120))
	}
	for _, k := range slices.Sorted(maps.Keys(b.Claims)) {
		parts = append(parts, k+"="+shorten(b.Claims[k], 80))
	}
	return strings.Join(parts, " · ")
}
