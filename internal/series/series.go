// Package series keeps a short in-memory history of function URL traffic for the console's
// charts: per function, one slot per 30 seconds over the last 15 minutes with requests,
// errors (5xx), throttles and a latency histogram for p50/p99. It sits beside the Prometheus
// metrics as a gateway.Recorder that forwards every call to the next recorder (Tee), so the
// metrics package is unchanged and the console needs no scraping.
package series

import (
	"math"
	"sort"
	"sync"
	"time"
)

// Slot is the width of one point; Window is how far back the history reaches.
const (
	Slot   = 30 * time.Second
	Window = 15 * time.Minute
	slots  = int(Window / Slot)
)

// MaxFunctions bounds the functions tracked (the oldest untouched one is dropped beyond it).
const MaxFunctions = 4096

// Latency buckets: upper bounds in microseconds, roughly ×1.5 from 100 µs to 15 min.
var bounds = func() []float64 {
	var b []float64
	for v := 100.0; v < 9e8; v *= 1.5 {
		b = append(b, v)
	}
	return b
}()

type slot struct {
	start     int64 // slot start, Unix seconds; 0 = unused
	requests  uint32
	errors    uint32
	throttles uint32
	lat       []uint32 // len(bounds)+1, allocated on first latency
}

type fnSeries struct {
	slots [slots]slot
	last  int64 // last touched, Unix seconds
}

// Recorder is what the gateway calls (gateway.Recorder); Tee forwards to it.
type Recorder interface {
	URLRequest(function, urlID string, status int, d time.Duration)
	URLThrottle(function, urlID string)
	ColdStart(function string)
	InFlight(function string, delta int)
}

// Series records traffic per function. The zero value is not usable; call New.
type Series struct {
	now  func() time.Time
	next Recorder

	mu sync.Mutex
	fn map[string]*fnSeries
}

// New returns a Series that forwards every call to next (may be nil). now defaults to time.Now.
func New(next Recorder, now func() time.Time) *Series {
	if now == nil {
		now = time.Now
	}
	return &Series{now: now, next: next, fn: map[string]*fnSeries{}}
}

// slotLocked returns function's slot for the current time, resetting a stale one.
func (s *Series) slotLocked(function string) *slot {
	now := s.now().Unix()
	start := now - now%int64(Slot/time.Second)
	f := s.fn[function]
	if f == nil {
		if len(s.fn) >= MaxFunctions {
			s.evictLocked()
		}
		f = &fnSeries{}
		s.fn[function] = f
	}
	f.last = now
	sl := &f.slots[(start/int64(Slot/time.Second))%int64(slots)]
	if sl.start != start {
		lat := sl.lat
		for i := range lat {
			lat[i] = 0
		}
		*sl = slot{start: start, lat: lat}
	}
	return sl
}

func (s *Series) evictLocked() {
	var oldest string
	var t int64 = math.MaxInt64
	for n, f := range s.fn {
		if f.last < t {
			oldest, t = n, f.last
		}
	}
	delete(s.fn, oldest)
}

// URLRequest counts one finished request.
func (s *Series) URLRequest(function, urlID string, status int, d time.Duration) {
	us := float64(d.Microseconds())
	i := sort.SearchFloat64s(bounds, us)
	s.mu.Lock()
	sl := s.slotLocked(function)
	sl.requests++
	if status >= 500 {
		sl.errors++
	}
	if sl.lat == nil {
		sl.lat = make([]uint32, len(bounds)+1)
	}
	sl.lat[i]++
	s.mu.Unlock()
	if s.next != nil {
		s.next.URLRequest(function, urlID, status, d)
	}
}

// URLThrottle counts a throttled request.
func (s *Series) URLThrottle(function, urlID string) {
	s.mu.Lock()
	s.slotLocked(function).throttles++
	s.mu.Unlock()
	if s.next != nil {
		s.next.URLThrottle(function, urlID)
	}
}

// ColdStart forwards.
func (s *Series) ColdStart(function string) {
	if s.next != nil {
		s.next.ColdStart(function)
	}
}

// InFlight forwards.
func (s *Series) InFlight(function string, delta int) {
	if s.next != nil {
		s.next.InFlight(function, delta)
	}
}

// Point is one slot of a function's history. P50 and P99 are upper bucket bounds (0 when the
// slot has no requests).
type Point struct {
	Start     time.Time
	Requests  int
	Errors    int
	Throttles int
	P50, P99  time.Duration
}

// History returns function's points over the last Window, oldest first, one per Slot
// (empty slots included), and the totals with p50/p99 over the whole window.
func (s *Series) History(function string) (points []Point, total Point) {
	now := s.now().Unix()
	step := int64(Slot / time.Second)
	cur := now - now%step
	points = make([]Point, slots)
	all := make([]uint32, len(bounds)+1)
	s.mu.Lock()
	f := s.fn[function]
	for i := 0; i < slots; i++ {
		start := cur - int64(slots-1-i)*step
		p := Point{Start: time.Unix(start, 0).UTC()}
		if f != nil {
			sl := &f.slots[(start/step)%int64(slots)]
			if sl.start == start {
				p.Requests, p.Errors, p.Throttles = int(sl.requests), int(sl.errors), int(sl.throttles)
				p.P50, p.P99 = quantile(sl.lat, 0.5), quantile(sl.lat, 0.99)
				for j, n := range sl.lat {
					all[j] += n
				}
			}
		}
		total.Requests += p.Requests
		total.Errors += p.Errors
		total.Throttles += p.Throttles
		points[i] = p
	}
	s.mu.Unlock()
	total.Start = points[0].Start
	total.P50, total.P99 = quantile(all, 0.5), quantile(all, 0.99)
	return points, total
}

func quantile(h []uint32, q float64) time.Duration {
	var n uint64
	for _, c := range h {
		n += uint64(c)
	}
	if n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(n)))
	var seen uint64
	for i, c := range h {
		seen += uint64(c)
		if seen >= rank {
			if i >= len(bounds) {
				return time.Duration(bounds[len(bounds)-1]) * time.Microsecond
			}
			return time.Duration(bounds[i]) * time.Microsecond
		}
	}
	return 0
}
