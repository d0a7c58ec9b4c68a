package procs

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

func TestAdapt(t *testing.T) {
	full := runtime.GOMAXPROCS(0)
	if full < 2 {
		t.Skip("needs at least 2 CPUs")
	}
	var load atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); Adapt(ctx, 2*time.Millisecond, func() int { return int(load.Load()) }) }()
	waitProcs := func(want int) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); runtime.GOMAXPROCS(0) != want; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("GOMAXPROCS = %d, want %d", runtime.GOMAXPROCS(0), want)
			}
		}
	}
	load.Store(1)
	waitProcs(1) // one in flight: one P
	load.Store(3)
	waitProcs(full) // more: all of them
	load.Store(0)
	waitProcs(1)
	cancel()
	<-done
	if got := runtime.GOMAXPROCS(0); got != full {
		t.Fatalf("after Adapt returned: GOMAXPROCS = %d, want %d restored", got, full)
	}
}

func TestCounterPeak(t *testing.T) {
	var c Counter
	if p := c.Peak(); p != 0 {
		t.Fatalf("empty peak %d", p)
	}
	c.Begin()
	c.Begin()
	c.Begin()
	c.End()
	c.End()
	if p := c.Peak(); p != 3 {
		t.Fatalf("peak %d, want 3", p)
	}
	if p := c.Peak(); p != 1 {
		t.Fatalf("peak after reset %d, want the 1 still in flight", p)
	}
	c.End()
	if p := c.Peak(); p != 1 {
		t.Fatalf("peak %d, want 1 (it was in flight during the period)", p)
	}
	if p := c.Peak(); p != 0 {
		t.Fatalf("peak %d, want 0", p)
	}
}
