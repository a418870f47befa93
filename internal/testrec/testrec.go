// Package testrec holds the recording fakes that tests hand to the code
// under test: a notifier and a usage recorder that keep what they are given,
// safe for concurrent use.
package testrec

import (
	"context"
	"sync"

	"github.com/steward-nhi/steward"
)

// Log keeps values in the order they came.
type Log[T any] struct {
	mu    sync.Mutex
	items []T
}

func (l *Log[T]) add(x T) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.items = append(l.items, x)
}

// All returns a copy of what was kept.
func (l *Log[T]) All() []T {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]T(nil), l.items...)
}

// Notifier is a steward.Notifier that keeps every notification.
type Notifier struct{ Log[steward.Notification] }

// Notify keeps x.
func (n *Notifier) Notify(_ context.Context, x steward.Notification) error {
	n.add(x)
	return nil
}

// Usage is a usage recorder that keeps every event.
type Usage struct{ Log[steward.UsageEvent] }

// Record keeps ev.
func (u *Usage) Record(_ context.Context, ev steward.UsageEvent) { u.add(ev) }
