package alerts

import (
	"context"
	"time"

	"github.com/steward-nhi/steward"
)

var _ steward.AlertRaiser = (*Engine)(nil)

// raisedAlert is a RaiseAlert call waiting for the Run goroutine, which
// owns the live alerts.
type raisedAlert struct {
	r    steward.RaisedAlert
	done chan *steward.Alert
}

// RaiseAlert opens an alert at once (or counts it into the live alert of
// the same detector and identity), notifies and answers it as the rules
// say, writes it, and returns it. Run must be running.
func (e *Engine) RaiseAlert(ctx context.Context, r steward.RaisedAlert) (*steward.Alert, error) {
	if r.Detector == "" || r.Title == "" || !steward.ValidSeverity(r.Severity) {
		return nil, steward.Errorf(steward.EINVALID, "a raised alert needs a detector, a title and a severity")
	}
	if r.Time.IsZero() {
		r.Time = time.Now()
	}
	req := raisedAlert{r: r, done: make(chan *steward.Alert, 1)}
	select {
	case e.raised <- req:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case a := <-req.done:
		return a, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// applyRaised runs on the Run goroutine.
func (e *Engine) applyRaised(ctx context.Context, req raisedAlert) {
	r := req.r
	ev := steward.UsageEvent{Kind: "system", IdentityID: r.IdentityID, CredentialID: r.CredentialID, Time: r.Time.UTC().Truncate(time.Microsecond)}
	in := &Input{Event: &ev}
	if r.IdentityID != "" {
		in.Subject = e.subject(ctx, r.IdentityID, r.CredentialID)
	}
	d := &Detector{Name: r.Detector, OWASP: r.OWASP, CSF: r.CSF}
	a := e.raise(ctx, d, &Signal{Severity: r.Severity, Title: r.Title, Evidence: r.Evidence}, in)
	if a == nil { // counted into the live alert of the same key
		subject := r.IdentityID
		if subject == "" {
			subject = "src:"
		}
		a = e.live[r.Detector+":"+subject]
	}
	e.flushAlerts(ctx)
	req.done <- a
}
