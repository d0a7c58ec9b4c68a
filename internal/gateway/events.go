package gateway

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/furl/furl/internal/inspect"
)

// RecentEvents returns the last events function received through its URLs, newest first:
// request id, URL id, time, the HTTP status answered and the exact event JSON. Requests that
// were refused before an event was built are not listed (RecentRequests has them).
func (g *Gateway) RecentEvents(function string) []RecordedEvent {
	var out []RecordedEvent
	for _, e := range g.RecentRequests(function) {
		if e.EventSize > 0 {
			out = append(out, e)
		}
	}
	return out
}

// RecentRequests is RecentEvents with the refused requests too: their Refused says which stage
// refused them and why (the caller only saw AWS's generic answer), and Event is null.
func (g *Gateway) RecentRequests(function string) []RecordedEvent {
	rs := g.insp.Recent(function)
	out := make([]RecordedEvent, 0, len(rs))
	for _, r := range rs {
		ev := r.Event
		if ev == nil {
			ev = json.RawMessage("null")
		}
		out = append(out, RecordedEvent{RequestID: r.RequestID, URLID: r.URLID, Time: r.Time.UTC(),
			Status: r.Status, EventSize: r.EventSize, Event: ev, Refused: r.Decision})
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
	// Refused is set for a request a stage refused (only listed with ?refused=true).
	Refused *inspect.Decision `json:"Refused,omitempty"`
}

// Inspector returns the store of per-request inspection records the gateway fills.
func (g *Gateway) Inspector() *inspect.Store { return g.insp }

// EventsHandler serves GET /furl/v1/functions/{name}/events:
// {"Events":[{"RequestId","UrlId","Time","Status","Event"}...]}, newest first; with
// ?refused=true the refused requests are listed too, each with its "Refused" reason (stage,
// status, reason, SigV4 check or IAM decision). The caller mounts it (behind whatever
// authentication the control plane uses).
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
		if r.URL.Query().Get("refused") == "true" {
			evs = g.RecentRequests(name)
		}
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
