package alerts

import (
	"context"

	"github.com/steward-nhi/steward"
)

// IngestUsage writes evs through Next (durably, before it returns), then
// queues each for the detectors. Unlike Record, which is on request paths
// and drops when the queue is full, ingest waits for room: a log replayed
// into Steward must reach the detectors whole, or a stolen key seen only
// in CloudTrail would raise nothing.
func (e *Engine) IngestUsage(ctx context.Context, evs []steward.UsageEvent) error {
	if err := e.cfg.Next.IngestUsage(ctx, evs); err != nil {
		return err
	}
	for _, ev := range evs {
		e.receive(&ev)
		select {
		case e.queue <- ev:
		default:
			e.wake()
			select {
			case e.queue <- ev:
			case <-ctx.Done():
				e.dropped.Add(1)
				return ctx.Err()
			}
		}
	}
	e.wake()
	return nil
}

// wake asks the detectors to examine the queue before their next tick.
func (e *Engine) wake() {
	select {
	case e.kick <- struct{}{}:
	default:
	}
}
