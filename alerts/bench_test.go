package alerts

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
)

type benchInventory struct{}

func (benchInventory) GetIdentity(_ context.Context, id string) (*steward.Identity, error) {
	return &steward.Identity{ID: id, Kind: steward.KindWorkload, Environment: "prod", Status: steward.StatusActive, Labels: map[string]string{}}, nil
}
func (benchInventory) GetOwner(context.Context, string) (*steward.Owner, error) {
	return nil, steward.Errorf(steward.ENOTFOUND, "no")
}
func (benchInventory) GetCredential(context.Context, string) (*steward.Credential, error) {
	return nil, steward.Errorf(steward.ENOTFOUND, "no")
}

// BenchmarkProcess measures the detectors and the baseline update for one
// ordinary event of a learned identity.
func BenchmarkProcess(b *testing.B) {
	e, err := New(Config{Store: nilStore{}, Inventory: benchInventory{}, LearningPeriod: time.Hour, MinEvents: 10})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	evs := make([]steward.UsageEvent, 1000)
	for i := range evs {
		evs[i] = steward.UsageEvent{Time: t0.Add(time.Duration(i) * time.Second), Kind: "decision", IdentityID: fmt.Sprintf("nhi_%d", i%50),
			Action: "s3:GetObject", Resource: fmt.Sprintf("arn:aws:s3:::bucket-%03d/in", i%50), Source: fmt.Sprintf("10.0.%d.7", i%3),
			UserAgent: "aws-sdk-go-v2/1.24.0", Environment: "prod", Outcome: "allow", Attributes: map[string]string{"workload": "w"}}
	}
	for i := range evs {
		e.process(ctx, &evs[i])
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		e.cur = evs[i%len(evs)]
		e.cur.Time = e.cur.Time.Add(time.Duration(i) * time.Millisecond)
		e.process(ctx, &e.cur)
	}
}

// nilStore is an AlertStore the benchmark never reaches.
type nilStore struct{ steward.AlertStore }
