package alerts

import (
	"context"

	"github.com/steward-nhi/steward"
)

// Direct raises alerts found outside the usage stream, such as a governed
// credential a scanner found leaked: it stores each alert and hands it to
// the notifier at once, without the detectors' grouping (the caller raises
// one alert per incident).
type Direct struct {
	Store    steward.AlertStore
	Notifier steward.Notifier // nil: stored only
}

// Raise stores a and notifies people of it.
func (d Direct) Raise(ctx context.Context, a *steward.Alert, ident *steward.Identity) error {
	if err := d.Store.SaveAlerts(ctx, []*steward.Alert{a}); err != nil {
		return err
	}
	if d.Notifier == nil {
		return nil
	}
	return d.Notifier.Notify(ctx, Notification(a, ident))
}
