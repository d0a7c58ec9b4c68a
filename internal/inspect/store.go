package inspect

import (
	"context"
	"sync"
	"sync/atomic"
)

// Store keeps the last records of each function and fans finished records out to
// subscribers. The zero value is not usable; call NewStore. A nil *Store accepts and drops
// everything.
type Store struct {
	perFunction int
	maxFuncs    int
	subBuf      int

	mu   sync.Mutex
	fn   map[string]*ring
	byID map[string]*Record
	// order is the functions in first-seen order, to evict the oldest when maxFuncs is hit.
	order []string

	subsN atomic.Int32
	subMu sync.Mutex
	subs  map[*subscriber]struct{}
	// dropped counts records a slow subscriber did not take.
	dropped atomic.Uint64
}

type ring struct {
	items []*Record
	next  int
}

type subscriber struct {
	ch     chan *Record
	closed bool
}

// Options configure a Store.
type Options struct {
	// PerFunction is how many records are kept per function (default 20; < 0 keeps none, but
	// subscribers still get every record).
	PerFunction int
	// MaxFunctions bounds how many functions have records kept (default 10000); the function
	// seen longest ago is forgotten first.
	MaxFunctions int
	// SubscriberBuffer is each subscriber's channel capacity (default 256).
	SubscriberBuffer int
}

// NewStore returns an empty store.
func NewStore(opt Options) *Store {
	if opt.PerFunction == 0 {
		opt.PerFunction = 20
	}
	if opt.MaxFunctions <= 0 {
		opt.MaxFunctions = 10000
	}
	if opt.SubscriberBuffer <= 0 {
		opt.SubscriberBuffer = 256
	}
	return &Store{perFunction: opt.PerFunction, maxFuncs: opt.MaxFunctions, subBuf: opt.SubscriberBuffer,
		fn: map[string]*ring{}, byID: map[string]*Record{}, subs: map[*subscriber]struct{}{}}
}

// Watched reports whether anyone subscribes; the gateway may skip capture that only
// subscribers would see.
func (s *Store) Watched() bool {
	return s != nil && s.subsN.Load() > 0
}

// Finish hands a completed record to the store: it is kept under its function (records of
// unknown URLs, with no function, are only sent to subscribers) and sent to every subscriber
// that has room. rec must not be modified afterwards.
func (s *Store) Finish(rec *Record) {
	if s == nil || rec == nil {
		return
	}
	if rec.Function != "" && s.perFunction > 0 {
		s.keep(rec)
	}
	if s.subsN.Load() == 0 {
		return
	}
	s.subMu.Lock()
	for sub := range s.subs {
		select {
		case sub.ch <- rec:
		default:
			s.dropped.Add(1)
		}
	}
	s.subMu.Unlock()
}

func (s *Store) keep(rec *Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.fn[rec.Function]
	if r == nil {
		if len(s.order) >= s.maxFuncs {
			s.forget(s.order[0])
		}
		r = &ring{items: make([]*Record, 0, s.perFunction)}
		s.fn[rec.Function] = r
		s.order = append(s.order, rec.Function)
	}
	if len(r.items) < s.perFunction {
		r.items = append(r.items, rec)
	} else {
		if old := r.items[r.next]; old != nil && s.byID[old.RequestID] == old {
			delete(s.byID, old.RequestID)
		}
		r.items[r.next] = rec
	}
	r.next = (r.next + 1) % s.perFunction
	s.byID[rec.RequestID] = rec
}

// forget drops a function's records; s.mu is held.
func (s *Store) forget(function string) {
	if r := s.fn[function]; r != nil {
		for _, old := range r.items {
			if s.byID[old.RequestID] == old {
				delete(s.byID, old.RequestID)
			}
		}
	}
	delete(s.fn, function)
	for i, f := range s.order {
		if f == function {
			s.order = append(s.order[:i], s.order[i+1:]...)
			break
		}
	}
}

// Recent returns function's kept records, newest first.
func (s *Store) Recent(function string) []*Record {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.fn[function]
	if r == nil {
		return nil
	}
	n := len(r.items)
	out := make([]*Record, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, r.items[(r.next-1-i+2*n)%n])
	}
	return out
}

// Get returns the kept record of a request id, or nil.
func (s *Store) Get(requestID string) *Record {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byID[requestID]
}

// Dropped is how many records subscribers missed because they were not reading fast enough.
func (s *Store) Dropped() uint64 {
	if s == nil {
		return 0
	}
	return s.dropped.Load()
}

// Subscribe returns a channel that receives every record finished from now on until ctx ends;
// then the channel is closed. A subscriber that does not keep up misses records (the request
// path never waits for it).
func (s *Store) Subscribe(ctx context.Context) <-chan *Record {
	sub := &subscriber{ch: make(chan *Record, s.subBuf)}
	if ctx.Err() != nil {
		close(sub.ch)
		return sub.ch
	}
	s.subMu.Lock()
	s.subs[sub] = struct{}{}
	s.subsN.Add(1)
	s.subMu.Unlock()
	context.AfterFunc(ctx, func() {
		s.subMu.Lock()
		defer s.subMu.Unlock()
		if !sub.closed {
			delete(s.subs, sub)
			s.subsN.Add(-1)
			sub.closed = true
			close(sub.ch)
		}
	})
	return sub.ch
}
