package posture

import (
	"context"
	"errors"
	"fmt"

	"github.com/steward-nhi/steward"
)

// ownerNote is a message to owners (offboarding, digests, reviews): one
// notification is sent per owner, carrying the owner's team and email so
// the sinks' routing rules can match them.
type ownerNote struct {
	kind, severity string
	owners         []string
	title, body    string
	data           map[string]any
}

// notifyOwners sends n through the notifier, one notification per owner
// (one without an owner when n names none).
func (e *Engine) notifyOwners(ctx context.Context, n ownerNote) error {
	if e.o.Notifier == nil {
		return nil
	}
	severity := n.severity
	if severity == "" {
		severity = "info"
	}
	owners := n.owners
	if len(owners) == 0 {
		owners = []string{""}
	}
	var errs []error
	for _, o := range owners {
		fields := make(map[string]string, len(n.data)+1)
		for k, v := range n.data {
			fields[k] = fmt.Sprint(v)
		}
		sn := steward.Notification{Kind: n.kind, Severity: severity, Title: n.title, Body: n.body, OwnerID: o,
			Time: e.o.Clock.Now().UTC(), Fields: fields}
		if o != "" {
			if own, err := e.o.Store.GetOwner(ctx, o); err == nil {
				sn.Team = own.Team
				if own.Email != "" {
					sn.Fields["owner_email"] = own.Email
				}
			}
		}
		errs = append(errs, e.o.Notifier.Notify(ctx, sn))
	}
	return errors.Join(errs...)
}
