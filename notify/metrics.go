package notify

import "github.com/prometheus/client_golang/prometheus"

// Register exports the dispatcher's delivery counters on reg.
func (d *Dispatcher) Register(reg prometheus.Registerer) error {
	for _, m := range []struct {
		name, help string
		f          func() float64
	}{
		{"steward_notifications_sent_total", "Notifications delivered to a sink.", func() float64 { return float64(d.Stats().Sent) }},
		{"steward_notification_failures_total", "Failed delivery attempts (each retry counts).", func() float64 { return float64(d.Stats().Failed) }},
		{"steward_notification_dead_letters_total", "Notifications given up on after their retries.", func() float64 { return float64(d.Stats().DeadLetters) }},
	} {
		if err := reg.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: m.name, Help: m.help}, m.f)); err != nil {
			return err
		}
	}
	return nil
}
