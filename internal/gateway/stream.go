package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/furl/furl/internal/lambda"
	"github.com/furl/furl/internal/pool"
	"github.com/furl/furl/internal/urlevent"
)

// writeStream pipes a streamed answer to the client (§7): the prelude (when the runtime sent
// one) gives status, headers and cookies; the body is flushed chunk by chunk as it arrives,
// capped at StreamMaxBytes and shaped to StreamBandwidth after StreamBandwidthAfter bytes. When
// the client leaves, the stream is closed at once, which releases the environment.
func (g *Gateway) writeStream(w http.ResponseWriter, r *http.Request, rp *reply, cfg *lambda.URLConfig, res *pool.Result, trace string) {
	var once sync.Once
	closeStream := func() { once.Do(func() { _ = res.Stream.Close() }) }
	defer closeStream()
	stop := context.AfterFunc(r.Context(), closeStream)
	defer stop()

	if res.FunctionError != "" {
		g.write502(w, rp, trace)
		return
	}
	var out *urlevent.Response
	var rest []byte
	if urlevent.IsPrelude(res.ContentType) {
		var err error
		out, rest, err = urlevent.ReadPrelude(res.Stream, urlevent.MaxPreludeBytes)
		if err != nil {
			if r.Context().Err() != nil {
				rp.status = 499
				return
			}
			g.log.Debug("gateway: stream prelude", "function", rp.function, "request_id", rp.reqID, "err", err)
			g.write502(w, rp, trace)
			return
		}
		out.Headers = defaultCT(out.Headers, urlevent.StreamDefaultContentType)
	} else {
		ct := res.ContentType
		if ct == "" {
			ct = urlevent.StreamDefaultContentType
		}
		out = &urlevent.Response{Status: 200, Headers: []urlevent.Header{{Name: "Content-Type", Value: ct}}}
	}
	h := w.Header()
	writeMapped(h, out)
	g.invokedHeaders(h, r, rp.reqID, trace)
	if cfg.Cors != nil {
		addCORS(h, cfg.Cors, r.Header.Get("Origin"))
	}
	rc := http.NewResponseController(w)
	rp.status = out.Status
	w.WriteHeader(out.Status)
	_ = rc.Flush()
	if r.Method == http.MethodHead {
		return
	}

	s := &shaper{max: g.opt.StreamMaxBytes, after: g.opt.StreamBandwidthAfter, rate: g.opt.StreamBandwidth}
	if len(rest) > 0 {
		if !s.write(r.Context(), w, rc, rest) {
			g.abort(rp, "stream cap or client gone")
		}
	}
	buf := make([]byte, 64<<10)
	for {
		n, err := res.Stream.Read(buf)
		if n > 0 && !s.write(r.Context(), w, rc, buf[:n]) {
			if r.Context().Err() != nil {
				return
			}
			g.log.Info("gateway: stream exceeded its cap", "function", rp.function, "request_id", rp.reqID, "max_bytes", s.max)
			g.abort(rp, "cap")
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
			g.log.Debug("gateway: function failed mid-stream", "function", rp.function, "request_id", rp.reqID, "type", se.Type)
		} else {
			g.log.Warn("gateway: stream read", "function", rp.function, "request_id", rp.reqID, "err", err)
		}
		g.abort(rp, "error")
	}
}

// abort ends a response whose headers are already out so that the client sees it incomplete
// (the chunked body is not terminated): net/http's documented way is ErrAbortHandler.
// ServeHTTP's deferred accounting still runs.
func (g *Gateway) abort(rp *reply, why string) {
	g.log.Debug("gateway: aborting streamed response", "request_id", rp.reqID, "why", why)
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
