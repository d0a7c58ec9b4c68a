package series

import (
	"testing"
	"time"
)

type countRec struct{ req, thr, cold, infl int }

func (c *countRec) URLRequest(string, string, int, time.Duration) { c.req++ }
func (c *countRec) URLThrottle(string, string)                    { c.thr++ }
func (c *countRec) ColdStart(string)                              { c.cold++ }
func (c *countRec) InFlight(string, int)                          { c.infl++ }

func TestHistory(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	next := &countRec{}
	s := New(next, func() time.Time { return now })
	for i := 0; i < 98; i++ {
		s.URLRequest("f", "u", 200, 2*time.Millisecond)
	}
	s.URLRequest("f", "u", 502, time.Second)
	s.URLRequest("f", "u", 502, time.Second)
	s.URLThrottle("f", "u")
	s.ColdStart("f")
	s.InFlight("f", 1)
	if next.req != 100 || next.thr != 1 || next.cold != 1 || next.infl != 1 {
		t.Fatalf("forwarded %+v", next)
	}
	now = now.Add(Slot)
	s.URLRequest("f", "u", 200, time.Millisecond)
	pts, total := s.History("f")
	if len(pts) != int(Window/Slot) {
		t.Fatalf("%d points", len(pts))
	}
	last, prev := pts[len(pts)-1], pts[len(pts)-2]
	if prev.Requests != 100 || prev.Errors != 2 || prev.Throttles != 1 || last.Requests != 1 {
		t.Fatalf("points %+v %+v", prev, last)
	}
	if prev.P50 < 2*time.Millisecond || prev.P50 > 3*time.Millisecond || prev.P99 < time.Second || prev.P99 > 1500*time.Millisecond {
		t.Fatalf("p50 %v p99 %v", prev.P50, prev.P99)
	}
	if total.Requests != 101 || total.Errors != 2 {
		t.Fatalf("total %+v", total)
	}
	// Past the window the old slot is gone and reused.
	now = now.Add(Window)
	s.URLRequest("f", "u", 200, time.Millisecond)
	_, total = s.History("f")
	if total.Requests != 1 {
		t.Fatalf("after window: %+v", total)
	}
	if _, total := s.History("none"); total.Requests != 0 {
		t.Fatal("unknown function has traffic")
	}
}

func TestBounded(t *testing.T) {
	s := New(nil, nil)
	for i := 0; i < MaxFunctions+10; i++ {
		s.URLThrottle(string(rune('a'+i%26))+time.Duration(i).String(), "u")
	}
	if len(s.fn) > MaxFunctions {
		t.Fatalf("%d functions kept", len(s.fn))
	}
}

func BenchmarkURLRequest(b *testing.B) {
	s := New(nil, nil)
	for i := 0; i < b.N; i++ {
		s.URLRequest("f", "u", 200, time.Millisecond)
	}
}
