package gateway

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"
)

// history keeps the last N events each function received, for "which event did this request
// produce" debugging.
type history struct {
	n  int
	mu sync.Mutex
	fn map[string]*ring
}

type ring struct {
	items []*recorded
	next  int
}

type recorded struct {
	RequestID string          `json:"RequestId"`
	URLID     string          `json:"UrlId"`
	Time      time.Time       `json:"Time"`
	Status    int             `json:"Status"`
	EventSize int             `json:"EventSize"`
	Event     json.RawMessage `json:"Event"`
}

// maxRecordedEvent bounds the memory of the history: larger events are recorded by size only
// (Event is null).
const maxRecordedEvent = 256 << 10

func newHistory(n int) *history {
	return &history{n: n, fn: map[string]*ring{}}
}

func (h *history) add(function, urlID, reqID string, t time.Time, event []byte) *recorded {
	if h == nil {
		return nil
	}
	rec := &recorded{RequestID: reqID, URLID: urlID, Time: t.UTC(), EventSize: len(event)}
	if len(event) <= maxRecordedEvent {
		rec.Event = event // shared, not copied: an event is never modified once built
	} else {
		rec.Event = json.RawMessage("null")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.fn[function]
	if r == nil {
		r = &ring{items: make([]*recorded, 0, h.n)}
		h.fn[function] = r
	}
	if len(r.items) < h.n {
		r.items = append(r.items, rec)
	} else {
		r.items[r.next] = rec
	}
	r.next = (r.next + 1) % h.n
	return rec
}

func (h *history) setStatus(rec *recorded, status int) {
	if h == nil || rec == nil {
		return
	}
	h.mu.Lock()
	rec.Status = status
	h.mu.Unlock()
}

// recent returns function's kept events, newest first.
func (h *history) recent(function string) []recorded {
	if h == nil {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.fn[function]
	if r == nil {
		return nil
	}
	out := make([]recorded, 0, len(r.items))
	for i := 0; i < len(r.items); i++ {
		idx := (r.next - 1 - i + 2*len(r.items)) % len(r.items)
		out = append(out, *r.items[idx])
	}
	return out
}

// RecentEvents returns the last events function received through its URLs, newest first:
// request id, URL id, time, the HTTP status answered and the exact event JSON.
func (g *Gateway) RecentEvents(function string) []RecordedEvent {
	rs := g.hist.recent(function)
	out := make([]RecordedEvent, len(rs))
	for i, r := range rs {
		out[i] = RecordedEvent(r)
	}
	return out
}

// RecordedEvent is one kept event. Event is the exact JSON delivered to the function, or null
// when it was larger than 256 KiB (EventSize still tells its size).
type RecordedEvent struct {
	RequestID string          `json:"RequestId"`
	URLID     string          `json:"UrlId"`
	Time      time.Time       `json:"Time"`
	Status    int             `json:"Status"`
	EventSize int             `json:"EventSize"`
	Event     json.RawMessage `json:"Event"`
}

// EventsHandler serves GET /furl/v1/functions/{name}/events:
// {"Events":[{"RequestId","UrlId","Time","Status","Event"}...]}, newest first. The caller
// mounts it (behind whatever authentication the control plane uses).
func (g *Gateway) EventsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		const prefix = "/furl/v1/functions/"
		rest, ok := strings.CutPrefix(r.URL.Path, prefix)
		name, tail, _ := strings.Cut(rest, "/")
		if !ok || name == "" || tail != "events" {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		evs := g.RecentEvents(name)
		if evs == nil {
			evs = []RecordedEvent{}
		}
		b, err := json.Marshal(map[string]any{"Events": evs})
		if err != nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	})
}
