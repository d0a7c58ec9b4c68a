package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/furl/furl/internal/inspect"
	"github.com/furl/furl/internal/pool"
	"github.com/furl/furl/internal/urlevent"
)

// writeStream pipes a streamed answer to the client (§7): the prelude (when the runtime sent
// one) gives status, headers and cookies; the body is flushed chunk by chunk as it arrives,
// capped at StreamMaxBytes and shaped to StreamBandwidth after StreamBandwidthAfter bytes. When
// the client leaves, the stream is closed at once, which releases the environment.
func (g *Gateway) writeStream(q *request, res *pool.Result) {
	w, r := q.w, q.r
	var once sync.Once
	closeStream := func() { once.Do(func() { _ = res.Stream.Close() }) }
	defer closeStream()
	stop := context.AfterFunc(r.Context(), closeStream)
	defer stop()

	trace := q.respTrace()
	if res.FunctionError != "" {
		g.write502(q, trace)
		return
	}
	out, rest, err := urlevent.StreamHead(res.ContentType, res.Stream)
	if err != nil {
		if r.Context().Err() != nil {
			q.status = 499
			return
		}
		g.log.Debug("gateway: stream prelude", "function", q.rec.Function, "request_id", q.rec.RequestID, "err", err)
		g.write502(q, trace)
		return
	}
	h := w.Header()
	writeMapped(h, out)
	g.invokedHeaders(h, r, q.rec.RequestID, trace)
	if cors := q.t.Config.Cors; cors != nil {
		addCORS(h, cors, r.Header.Get("Origin"))
	}
	rc := http.NewResponseController(w)
	q.status = out.Status
	q.rec.ResponseHeaders = h
	w.WriteHeader(out.Status)
	_ = rc.Flush()
	if r.Method == http.MethodHead {
		return
	}

	s := &shaper{max: g.opt.StreamMaxBytes, after: g.opt.StreamBandwidthAfter, rate: g.opt.StreamBandwidth}
	body := &q.rec.ResponseBody
	if len(rest) > 0 {
		body.Append(rest, inspect.MaxBody)
		if !s.write(r.Context(), w, rc, rest) {
			g.abort(q, "stream cap or client gone")
		}
	}
	buf := make([]byte, 64<<10)
	for {
		n, err := res.Stream.Read(buf)
		if n > 0 {
			body.Append(buf[:n], inspect.MaxBody)
			if !s.write(r.Context(), w, rc, buf[:n]) {
				if r.Context().Err() != nil {
					return
				}
				g.log.Info("gateway: stream exceeded its cap", "function", q.rec.Function, "request_id", q.rec.RequestID, "max_bytes", s.max)
				g.abort(q, "cap")
			}
		}
		if err == nil {
			continue
		}
		if errors.Is(err, io.EOF) {
			return
		}
		if r.Context().Err() != nil {
			return
		}
		var se *pool.StreamError
		if errors.As(err, &se) {
			q.rec.FunctionError, q.rec.ErrorType = "Unhandled", se.Type
			g.log.Debug("gateway: function failed mid-stream", "function", q.rec.Function, "request_id", q.rec.RequestID, "type", se.Type)
		} else {
			g.log.Warn("gateway: stream read", "function", q.rec.Function, "request_id", q.rec.RequestID, "err", err)
		}
		g.abort(q, "error")
	}
}

// abort ends a response whose headers are already out so that the client sees it incomplete
// (the chunked body is not terminated): net/http's documented way is ErrAbortHandler.
// ServeHTTP's deferred accounting still runs.
func (g *Gateway) abort(q *request, why string) {
	g.log.Debug("gateway: aborting streamed response", "request_id", q.rec.RequestID, "why", why)
	panic(http.ErrAbortHandler)
}

// shaper writes stream chunks, enforcing the size cap and the bandwidth after a threshold.
type shaper struct {
	max, after, rate int64
	sent             int64
	shapedStart      time.Time
}

// write sends p (flushing); false means stop: the cap was reached or the client left.
func (s *shaper) write(ctx context.Context, w io.Writer, rc *http.ResponseController, p []byte) bool {
	for len(p) > 0 {
		chunk := p
		if s.max > 0 && s.sent+int64(len(chunk)) > s.max {
			chunk = chunk[:s.max-s.sent]
			if len(chunk) == 0 {
				return false
			}
		}
		if s.after > 0 && s.rate > 0 && s.sent+int64(len(chunk)) > s.after {
			if s.sent < s.after { // send the unshaped part first
				chunk = chunk[:s.after-s.sent]
			} else {
				if s.shapedStart.IsZero() {
					s.shapedStart = time.Now()
				}
				// at most ~1/20 s worth per write, paced
				if lim := s.rate / 20; lim > 0 && int64(len(chunk)) > lim {
					chunk = chunk[:lim]
				}
				due := s.shapedStart.Add(time.Duration(float64(s.sent-s.after+int64(len(chunk))) / float64(s.rate) * float64(time.Second)))
				if d := time.Until(due); d > 0 {
					t := time.NewTimer(d)
					select {
					case <-ctx.Done():
						t.Stop()
						return false
					case <-t.C:
					}
				}
			}
		}
		if _, err := w.Write(chunk); err != nil {
			return false
		}
		_ = rc.Flush()
		s.sent += int64(len(chunk))
		p = p[len(chunk):]
		if s.max > 0 && s.sent >= s.max && len(p) > 0 {
			return false
		}
	}
	return true
}
