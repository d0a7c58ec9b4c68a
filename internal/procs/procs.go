// Package procs adapts the Go scheduler's parallelism (GOMAXPROCS) to the load furl carries.
//
// With at most one invocation in flight furl has nothing to run in parallel, yet every idle P
// costs: whenever a goroutine becomes runnable while a P is idle, the runtime wakes another
// thread to look for work, and that thread's wake-up, spinning and sleep compete with the
// function process for the CPU. On a small machine (and most of all in a VM, where a thread
// wake-up is expensive) that is a large share of an invocation's latency. So while the load
// stays at one invocation furl runs with one P, and as soon as more are in flight with all of
// them.
package procs

import (
	"context"
	"net/http"
	"runtime"
	"sync/atomic"
	"time"
)

// Default sampling period and the number of quiet periods before going down to one P.
const (
	DefaultEvery = 50 * time.Millisecond
	quietPeriods = 3
)

// Adapt runs until ctx is done, sampling peak every period: peak returns the most invocations
// in flight at once since its previous call. GOMAXPROCS is 1 after quietPeriods periods with a
// peak of at most 1, and back at its value at the start as soon as a peak exceeds 1. It
// restores that value when it returns. It does nothing when GOMAXPROCS is already 1.
func Adapt(ctx context.Context, every time.Duration, peak func() int) {
	full := runtime.GOMAXPROCS(0)
	if full < 2 {
		return
	}
	if every <= 0 {
		every = DefaultEvery
	}
	t := time.NewTicker(every)
	defer t.Stop()
	cur, quiet := full, 0
	defer func() {
		if cur != full {
			runtime.GOMAXPROCS(full)
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if peak() <= 1 {
			quiet++
			if quiet >= quietPeriods && cur != 1 {
				runtime.GOMAXPROCS(1)
				cur = 1
			}
			continue
		}
		quiet = 0
		if cur != full {
			runtime.GOMAXPROCS(full)
			cur = full
		}
	}
}

// Counter counts work in flight (HTTP requests, invocations) and remembers its peak.
type Counter struct {
	n, peak atomic.Int64
}

// Begin counts one more in flight.
func (c *Counter) Begin() {
	n := c.n.Add(1)
	for {
		p := c.peak.Load()
		if n <= p || c.peak.CompareAndSwap(p, n) {
			return
		}
	}
}

// End counts one less in flight.
func (c *Counter) End() { c.n.Add(-1) }

// Peak returns the most in flight at once since its previous call (at least those in flight
// now).
func (c *Counter) Peak() int {
	n := c.n.Load()
	return int(max(c.peak.Swap(n), n))
}

// Wrap counts h's requests.
func (c *Counter) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.Begin()
		defer c.End()
		h.ServeHTTP(w, r)
	})
}
