package server

import (
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// Body read limits: a body must keep arriving (no gap longer than the idle timeout) and, after
// a grace period, at an average of at least minBodyRate bytes per second. A caller trickling
// bodies (a "slowloris") is cut off instead of holding a connection for ever.
const (
	defaultBodyIdle = 10 * time.Second
	bodyGrace       = 20 * time.Second
	minBodyRate     = 1 << 10
)

var errBodyTooSlow = errors.New("server: request body arrives too slowly")

// withBodyDeadlines enforces the body read limits on every request that has a body. The read
// deadline is lifted once the body is read to its end, so a long invocation afterwards is not
// cut off.
func withBodyDeadlines(idle time.Duration, h http.Handler) http.Handler {
	if idle <= 0 {
		idle = defaultBodyIdle
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
			h.ServeHTTP(w, r)
			return
		}
		// A copy of the request carries the wrapped body: net/http keeps its own body in the
		// original, which it inspects after the handler to decide how to finish.
		b := &deadlineBody{ReadCloser: r.Body, rc: http.NewResponseController(w), idle: idle, start: time.Now()}
		r2 := r.WithContext(r.Context())
		r2.Body = b
		h.ServeHTTP(w, r2)
		if !b.done {
			// net/http may still read the rest of a small body to reuse the connection: not
			// for longer than the idle timeout.
			_ = b.rc.SetReadDeadline(time.Now().Add(idle))
		}
	})
}

type deadlineBody struct {
	io.ReadCloser
	rc    *http.ResponseController
	idle  time.Duration
	start time.Time
	n     int64
	done  bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	if b.done {
		return b.ReadCloser.Read(p)
	}
	now := time.Now()
	if el := now.Sub(b.start); el > bodyGrace && float64(b.n)/el.Seconds() < minBodyRate {
		return 0, errBodyTooSlow
	}
	_ = b.rc.SetReadDeadline(now.Add(b.idle)) // ErrNotSupported on exotic writers: then no deadline
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	if err != nil {
		b.done = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// connLimit caps the connections a listener has open at once: Accept waits for a free slot, so
// furl never runs out of file descriptors for its database, logs and function processes. The
// plain and the TLS listener draw from one set of slots: one descriptor budget for the process.
type connLimit struct {
	net.Listener
	slots chan struct{}
}

// connSlots is a budget of n open connections shared by the listeners wrapped with it (n <= 0:
// no cap, nil).
func connSlots(n int) chan struct{} {
	if n <= 0 {
		return nil
	}
	return make(chan struct{}, n)
}

// limitConns wraps ln so that its connections take slots (nil: no cap).
func limitConns(ln net.Listener, slots chan struct{}) net.Listener {
	if slots == nil {
		return ln
	}
	return &connLimit{Listener: ln, slots: slots}
}

func (l *connLimit) Accept() (net.Conn, error) {
	l.slots <- struct{}{}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &limitedConn{Conn: c, release: func() { <-l.slots }}, nil
}

type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// connectionCap is the default cap on open connections for an open-file limit of nofile: a
// quarter of the descriptors (at least 256) stay free for the store, logs and environments.
func connectionCap(nofile uint64) int {
	headroom := max(nofile/4, 256)
	if nofile <= headroom+64 {
		return 64
	}
	return int(nofile - headroom)
}
