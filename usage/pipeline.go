package usage

import (
	"context"

	"github.com/steward-nhi/steward"
)

var _ steward.UsagePipeline = (*Recorder)(nil)

// IngestUsage writes evs to the usage log at once, in the caller's
// transaction of work (log ingest reports what it wrote, so it cannot go
// through the queue, which drops events when full).
func (r *Recorder) IngestUsage(ctx context.Context, evs []steward.UsageEvent) error {
	if len(evs) == 0 {
		return nil
	}
	if err := r.cfg.Store.AppendUsage(ctx, evs); err != nil {
		r.failed.Add(int64(len(evs)))
		return err
	}
	r.written.Add(int64(len(evs)))
	return nil
}

// storeWriter is the pipeline of a Service built without one: ingested
// events go straight to the usage store (tools and tests that run no
// detectors).
type storeWriter struct{ store steward.UsageStore }

func (w storeWriter) Record(ctx context.Context, ev steward.UsageEvent) {
	_ = w.store.AppendUsage(ctx, []steward.UsageEvent{ev})
}

func (w storeWriter) IngestUsage(ctx context.Context, evs []steward.UsageEvent) error {
	return w.store.AppendUsage(ctx, evs)
}
