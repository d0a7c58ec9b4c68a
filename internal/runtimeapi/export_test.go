package runtimeapi

import (
	"context"
	"errors"
	"time"
)

// ErrNotReady says the runtime did not call /next in time (Dispatch).
var ErrNotReady = errors.New("runtimeapi: runtime not ready for the next invocation")

// Dispatch is Offer for tests: it hands inv to the runtime and returns once a /next call has
// taken it (the runtime is running it). It fails with ErrClosed when the environment is gone,
// with ErrNotReady when the runtime has not come back to /next by inv.Deadline, or with ctx's
// error.
func (s *Server) Dispatch(ctx context.Context, inv *Invocation) error {
	if err := s.Offer(inv); err != nil {
		return err
	}
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		s.mu.Lock()
		taken := s.pending != inv
		s.mu.Unlock()
		if taken {
			return nil
		}
		var err error
		select {
		case <-tick.C:
			if time.Now().Before(inv.Deadline) {
				continue
			}
			err = ErrNotReady
		case <-s.closed:
			err = ErrClosed
		case <-ctx.Done():
			err = ctx.Err()
		}
		if !s.Withdraw(inv) {
			return nil // a /next took it meanwhile
		}
		return err
	}
}
