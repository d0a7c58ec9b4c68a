package console

import (
	"fmt"
	"net/http"
	"strings"
)

// sse writes server-sent events.
type sse struct {
	w http.ResponseWriter
	f http.Flusher
}

func newSSE(w http.ResponseWriter) (*sse, bool) {
	f, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return nil, false
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	_, _ = fmt.Fprint(w, ": furl console\n\n")
	f.Flush()
	return &sse{w: w, f: f}, true
}

// send writes one event; data must not contain newlines other than JSON's escaped ones.
func (s *sse) send(event string, data []byte) error {
	if _, err := fmt.Fprintf(s.w, "event: %s\ndata: %s\n\n", event, strings.ReplaceAll(string(data), "\n", "\ndata: ")); err != nil {
		return err
	}
	s.f.Flush()
	return nil
}
