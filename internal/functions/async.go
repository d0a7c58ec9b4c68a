package functions

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/furl/furl/internal/pool"
	"github.com/furl/furl/internal/store"
)

// Invoker runs invocations (the pool).
type Invoker interface {
	Invoke(ctx context.Context, t *pool.Target, r *pool.Request) (*pool.Result, error)
}

// MaxAsyncPayload is the Event invocation payload limit (AWS: 1 MB since 2025).
const MaxAsyncPayload = 1 << 20

// EnqueueEvent stores an Event invocation durably and returns its request id.
func (s *Service) EnqueueEvent(ctx context.Context, ref Ref, payload []byte, clientContext string) (string, error) {
	if len(payload) > MaxAsyncPayload {
		return "", &Error{Kind: KindRequestTooLarge, Message: "Request must be smaller than 1048576 bytes for the InvokeAsync operation"}
	}
	// Resolve now so a missing function or alias is reported to the caller.
	if _, err := s.Resolve(ctx, ref); err != nil {
		return "", err
	}
	id := uuid.NewString()
	now := s.now()
	err := s.db.FunctionsTx(ctx, func(tx *store.FuncTx) error {
		return tx.EnqueueAsync(&store.AsyncInvocation{ID: id, FunctionName: ref.Name, Qualifier: ref.Qualifier, Payload: payload,
			ClientContext: clientContext, Next: now, Created: now})
	})
	if err != nil {
		return "", internal(err)
	}
	select {
	case s.asyncWake <- struct{}{}:
	default:
	}
	return id, nil
}

// RunAsync works the Event queue until ctx ends: each invocation is tried, and on a function
// error retried twice (after AsyncRetryDelay, then twice that), as Lambda does. Throttled
// attempts are retried without counting. The queue lives in the store, so pending invocations
// survive a restart; one interrupted mid-run is run again (at-least-once, like AWS).
func (s *Service) RunAsync(ctx context.Context, inv Invoker) {
	sem := make(chan struct{}, s.opt.AsyncWorkers)
	var wg sync.WaitGroup
	defer wg.Wait()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		due, err := s.claimDue(ctx, cap(sem))
		if err != nil && ctx.Err() == nil {
			s.log.Warn("functions: async queue", "err", err)
		}
		for _, a := range due {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			wg.Add(1)
			go func(a *store.AsyncInvocation) {
				defer wg.Done()
				defer func() { <-sem }()
				s.runOne(ctx, inv, a)
			}(a)
		}
		if len(due) > 0 {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-s.asyncWake:
		}
	}
}

// claimDue leases due invocations: their next attempt moves past the longest a run can take,
// so a concurrent loop does not pick them again, while a crash leaves them to be retried.
func (s *Service) claimDue(ctx context.Context, limit int) ([]*store.AsyncInvocation, error) {
	var due []*store.AsyncInvocation
	err := s.db.FunctionsTx(ctx, func(tx *store.FuncTx) error {
		var err error
		due, err = tx.DueAsync(s.now(), limit)
		if err != nil {
			return err
		}
		lease := s.now().Add(16 * time.Minute)
		for _, a := range due {
			if err := tx.RescheduleAsync(a.ID, a.Attempts, lease); err != nil {
				return err
			}
		}
		return nil
	})
	return due, err
}

func (s *Service) runOne(ctx context.Context, inv Invoker, a *store.AsyncInvocation) {
	log := s.log.With("function", a.FunctionName, "qualifier", a.Qualifier, "requestId", a.ID, "attempt", a.Attempts+1)
	done := func() {
		if err := s.db.FunctionsTx(context.WithoutCancel(ctx), func(tx *store.FuncTx) error { return tx.DeleteAsync(a.ID) }); err != nil {
			log.Warn("functions: async dequeue", "err", err)
		}
	}
	retryAt := func(attempts int, at time.Time) {
		if err := s.db.FunctionsTx(context.WithoutCancel(ctx), func(tx *store.FuncTx) error { return tx.RescheduleAsync(a.ID, attempts, at) }); err != nil {
			log.Warn("functions: async reschedule", "err", err)
		}
	}
	target, err := s.Resolve(ctx, Ref{Name: a.FunctionName, Qualifier: a.Qualifier})
	if err != nil {
		if KindOf(err) == KindNotFound {
			log.Info("functions: dropping async invocation of a deleted function")
			done()
			return
		}
		retryAt(a.Attempts, s.now().Add(time.Second))
		return
	}
	res, err := inv.Invoke(ctx, target.Target, &pool.Request{RequestID: a.ID, Payload: a.Payload,
		InvokedFunctionARN: target.InvokedARN, ClientContext: a.ClientContext})
	if ctx.Err() != nil {
		// Shutting down: leave it for the next start.
		retryAt(a.Attempts, s.now())
		return
	}
	var te *pool.ThrottleError
	switch {
	case errors.As(err, &te):
		retryAt(a.Attempts, s.now().Add(s.opt.AsyncRetryDelay))
		return
	case err != nil:
		log.Warn("functions: async invocation failed in the platform", "err", err)
	case res.FunctionError == "":
		log.Debug("functions: async invocation succeeded")
		done()
		return
	default:
		log.Info("functions: async invocation returned a function error", "errorType", res.ErrorType)
	}
	attempts := a.Attempts + 1
	if attempts > 2 {
		log.Warn("functions: async invocation failed after 3 attempts; discarding (no DLQ or destination)")
		done()
		return
	}
	retryAt(attempts, s.now().Add(s.opt.AsyncRetryDelay*time.Duration(attempts)))
}

// PendingEvents reports the number of queued Event invocations.
func (s *Service) PendingEvents(ctx context.Context) (int, error) {
	var n int
	err := s.db.FunctionsTx(ctx, func(tx *store.FuncTx) error {
		var err error
		n, err = tx.CountAsync()
		return err
	})
	return n, err
}
