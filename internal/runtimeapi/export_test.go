package runtimeapi

import (
	"context"
	"errors"
	"time"
)

// ErrNotReady says the runtime did not call /next in time (Dispatch).
var ErrNotReady = errors.New("runtimeapi: runtime not ready for the next invocation")

// Dispatch is Offer for tests: it hands inv to the runtime and returns once a /next call has taken it (the runtime is
// running it). It fails with ErrClosed when the environment is gone, with ErrNotReady when the
// runtime has not come back to /next by inv.Deadline, or with ctx's error.
func (s *Server) Dispatch(ctx context.Context, inv *Invocation) error {
	taken, err := s.Offer(inv)
	if err != nil || taken == nil {
		return err
	}
	t := time.NewTimer(time.Until(inv.Deadline))
	defer t.Stop()
	select {
	case <-taken:
		return nil
	case <-s.closed:
		err = ErrClosed
	case <-t.C:
		err = ErrNotReady
	case <-ctx.Done():
		err = ctx.Err()
	}
	if !s.Withdraw(inv) {
		return nil // a /next took it meanwhile
	}
	return err
}
