package runtimeapi

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/textproto"
	"strconv"
	"sync"
	"time"
)

// The hot path of the Runtime API (GET /next, POST /response and /error with a Content-Length
// body) is served by a lean HTTP/1.1 loop, one goroutine per connection: no per-request
// goroutines, no background reads, one write per response. Any request it does not recognise
// exactly (chunked or streamed bodies, trailers, Expect, Connection: close, HTTP/1.0, query
// strings, escapes, extensions, malformed heads, ...) hands the connection, with the bytes read
// so far, to the net/http server for the rest of its life, so the protocol's edge cases keep
// net/http's exact behaviour.

const maxLeanHead = 64 << 10

// connListener feeds handed-over connections to the net/http server.
type connListener struct {
	addr   net.Addr
	ch     chan net.Conn
	done   chan struct{}
	closed sync.Once
}

func (l *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *connListener) Close() error {
	l.closed.Do(func() { close(l.done) })
	return nil
}

func (l *connListener) Addr() net.Addr { return l.addr }

// replayConn is a connection whose first bytes were already read by the lean loop.
type replayConn struct {
	net.Conn
	r io.Reader
}

func (c *replayConn) Read(b []byte) (int, error) { return c.r.Read(b) }

// acceptLoop accepts runtime connections and serves each with the lean loop.
func (s *Server) acceptLoop() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(5 * time.Millisecond)
				continue
			}
			return
		}
		if !s.track(c, true) {
			c.Close()
			return
		}
		if s.cfg.Admit != nil {
			go s.admit(c)
			continue
		}
		go s.serveLean(c)
	}
}

// admit serves c if the Admit hook allows it, and closes it otherwise.
func (s *Server) admit(c net.Conn) {
	if !s.cfg.Admit(c) {
		s.log.Info("runtimeapi: refused a connection from outside the environment", "function", s.cfg.FunctionName, "peer", c.RemoteAddr().String())
		s.track(c, false)
		c.Close()
		return
	}
	s.serveLean(c)
}

// track adds (or removes) a connection served by the lean loop; false when the server is closed.
func (s *Server) track(c net.Conn, add bool) bool {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	if !add {
		delete(s.conns, c)
		return true
	}
	if s.conns == nil {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

// closeConns closes the lean connections and refuses new ones.
func (s *Server) closeConns() {
	s.connMu.Lock()
	conns := s.conns
	s.conns = nil
	s.connMu.Unlock()
	for c := range conns {
		c.Close()
	}
}

// leanReq is one parsed request head.
type leanReq struct {
	route         Route
	id            string
	chunked       bool
	contentLength int64
	contentType   string
	errorType     string
}

// leanWriter is the http.ResponseWriter of the lean loop: headers go out with the first write
// (Content-Length from the header or from the buffered body), the body into the buffered writer.
type leanWriter struct {
	conn    net.Conn
	bw      *bufio.Writer
	h       http.Header
	status  int
	wrote   bool
	direct  bool // Content-Length known: the body goes straight to bw
	body    []byte
	dateBuf []byte
	date    int64
}

func (w *leanWriter) Header() http.Header { return w.h }

func (w *leanWriter) WriteHeader(code int) {
	if w.wrote {
		return
	}
	w.wrote = true
	w.status = code
	if _, ok := w.h["Content-Length"]; ok {
		w.direct = true
		w.writeHead(-1)
	}
}

func (w *leanWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if w.direct {
		return w.bw.Write(b)
	}
	w.body = append(w.body, b...)
	return len(b), nil
}

// finish completes the response and flushes it.
func (w *leanWriter) finish() error {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if !w.direct {
		w.writeHead(len(w.body))
		_, _ = w.bw.Write(w.body)
	}
	return w.bw.Flush()
}

func (w *leanWriter) writeHead(contentLength int) {
	bw := w.bw
	bw.WriteString("HTTP/1.1 ")
	bw.WriteString(strconv.Itoa(w.status))
	bw.WriteByte(' ')
	bw.WriteString(http.StatusText(w.status))
	bw.WriteString("\r\n")
	for k, vs := range w.h {
		for _, v := range vs {
			bw.WriteString(k)
			bw.WriteString(": ")
			bw.WriteString(v)
			bw.WriteString("\r\n")
		}
	}
	if contentLength >= 0 {
		bw.WriteString("Content-Length: ")
		bw.WriteString(strconv.Itoa(contentLength))
		bw.WriteString("\r\n")
	}
	if now := time.Now().Unix(); now != w.date || w.dateBuf == nil {
		w.date = now
		w.dateBuf = time.Unix(now, 0).UTC().AppendFormat(w.dateBuf[:0], http.TimeFormat)
	}
	bw.WriteString("Date: ")
	bw.Write(w.dateBuf)
	bw.WriteString("\r\n\r\n")
}

func (w *leanWriter) reset() {
	clear(w.h)
	w.status, w.wrote, w.direct, w.body = 0, false, false, w.body[:0]
	if cap(w.body) > 64<<10 {
		w.body = nil
	}
}

// leanBody is a request body of the lean loop, reused across the connection's requests.
type leanBody struct {
	limited io.LimitedReader
	chunked *chunkedBody
}

func (b *leanBody) Read(p []byte) (int, error) {
	if b.chunked != nil {
		return b.chunked.Read(p)
	}
	return b.limited.Read(p)
}

func (b *leanBody) Close() error { return nil }

// serveLean serves one runtime connection until it closes or is handed to net/http.
func (s *Server) serveLean(c net.Conn) {
	br := bufio.NewReaderSize(c, 4096)
	w := &leanWriter{conn: c, bw: bufio.NewWriterSize(c, 4096), h: http.Header{}}
	raw := make([]byte, 0, 512)
	hdr := http.Header{}
	trailer := http.Header{}
	var traw []byte
	body := &leanBody{}
	req := &http.Request{Method: http.MethodGet, Header: hdr, ProtoMajor: 1, ProtoMinor: 1, Proto: "HTTP/1.1"}
	// parked is this connection's /next while it waits for an event: the dispatcher owns w
	// until it closes parked.delivered, and the loop meanwhile reads the connection, so a
	// runtime that gives up on its /next is noticed at once.
	var parked *parkedNext
	pk := &parkedNext{lean: w}
	closeConn := func() {
		s.track(c, false)
		c.Close()
	}
	for {
		raw = raw[:0]
		lr, ok, err := readLeanHead(br, &raw)
		if parked != nil {
			if !s.unpark(parked) {
				<-parked.delivered
			} else if err == nil {
				// Another request while /next waits (pipelining): answer the /next first.
				inv := s.awaitEvent(w, nil)
				if inv == nil {
					closeConn()
					return
				}
				writeEvent(w, inv)
				ferr := w.finish()
				w.reset()
				if ferr != nil {
					closeConn()
					return
				}
			}
			parked = nil
		}
		if err != nil {
			closeConn()
			return
		}
		if !ok {
			// Not ours: net/http serves the rest of the connection, starting with this request.
			s.track(c, false)
			rc := &replayConn{Conn: c, r: io.MultiReader(bytes.NewReader(raw), br)}
			select {
			case s.handoff.ch <- rc:
			case <-s.handoff.done:
				c.Close()
			}
			return
		}
		clear(hdr)
		if lr.contentType != "" {
			hdr["Content-Type"] = []string{lr.contentType}
		}
		if lr.errorType != "" {
			hdr[HeaderErrorType] = []string{lr.errorType}
		}
		req.ContentLength = lr.contentLength
		var lbody *io.LimitedReader
		var cbody *chunkedBody
		req.Trailer = nil
		body.chunked = nil
		if lr.chunked {
			clear(trailer)
			req.Trailer = trailer
			cbody = &chunkedBody{cr: httputilChunked(br), br: br, trailer: trailer, raw: &traw}
			body.chunked = cbody
		} else {
			body.limited = io.LimitedReader{R: br, N: lr.contentLength}
			lbody = &body.limited
		}
		req.Body = body
		switch lr.route {
		case RouteNext:
			req.Method = http.MethodGet
			inv, isParked := s.enterNext(w, pk)
			if isParked {
				parked = pk
			} else if inv != nil {
				writeEvent(w, inv)
			}
		case RouteResponse, RouteError:
			req.Method = http.MethodPost
			s.answer(w, req, lr.route, lr.id)
		}
		// Consume what the handler left of the body, so the next request starts at its head.
		var berr error
		switch {
		case lbody != nil && lbody.N > maxDrainBytes:
			berr = errors.New("runtimeapi: body too large") // close rather than drain
		case lbody != nil && lbody.N > 0:
			_, berr = io.Copy(io.Discard, lbody)
		case cbody != nil && cbody.err != io.EOF:
			if cbody.err != nil {
				berr = cbody.err
			} else if n, err := io.Copy(io.Discard, io.LimitReader(cbody, maxDrainBytes)); err != nil {
				berr = err
			} else if n == maxDrainBytes {
				berr = errors.New("runtimeapi: body too large")
			}
		}
		if parked != nil {
			// The dispatcher writes the response; the loop goes back to reading.
			if berr != nil {
				if !s.unpark(parked) {
					<-parked.delivered
				}
				closeConn()
				return
			}
			continue
		}
		err = w.finish()
		w.reset()
		if err != nil || berr != nil {
			closeConn()
			return
		}
	}
}

// readLeanHead reads a request head, keeping its bytes in raw. ok is false when the request is
// not one the lean loop serves (raw then holds everything consumed); err ends the connection.
func readLeanHead(br *bufio.Reader, raw *[]byte) (leanReq, bool, error) {
	var lr leanReq
	line, err := readLine(br, raw)
	if err != nil {
		if len(*raw) > 0 && (err == bufio.ErrBufferFull || err == errHeadTooLarge) {
			return lr, false, nil
		}
		return lr, false, err
	}
	method, rest, ok1 := bytes.Cut(line, []byte{' '})
	target, proto, ok2 := bytes.Cut(rest, []byte{' '})
	ok := ok1 && ok2 && string(proto) == "HTTP/1.1" && len(target) > 0 && target[0] == '/' &&
		bytes.IndexAny(target, "?#%") < 0
	if ok {
		lr.route, lr.id = ParsePath(string(target))
		switch lr.route {
		case RouteNext:
			ok = string(method) == http.MethodGet
		case RouteResponse, RouteError:
			ok = string(method) == http.MethodPost
		default:
			ok = false
		}
	}
	lr.contentLength = -1
	for {
		line, err := readLine(br, raw)
		if err != nil {
			if err == bufio.ErrBufferFull || err == errHeadTooLarge {
				return lr, false, nil
			}
			return lr, false, err
		}
		if len(line) == 0 {
			break
		}
		if !ok {
			continue // keep reading the head so the handoff replays whole lines
		}
		k, v, found := bytes.Cut(line, []byte{':'})
		if !found || len(k) == 0 || k[0] == ' ' || k[0] == '\t' || k[len(k)-1] == ' ' || k[len(k)-1] == '\t' {
			ok = false
			continue
		}
		v = bytes.Trim(v, " \t")
		switch {
		case eqFold(k, "Content-Length"):
			n, err := strconv.ParseInt(string(v), 10, 64)
			if err != nil || n < 0 || lr.contentLength >= 0 || len(v) == 0 || v[0] == '+' {
				ok = false
			}
			lr.contentLength = n
		case eqFold(k, "Content-Type"):
			if string(v) == "application/json" {
				lr.contentType = "application/json"
			} else {
				lr.contentType = string(v)
			}
		case eqFold(k, HeaderErrorType):
			lr.errorType = string(v)
		case eqFold(k, "Transfer-Encoding"):
			if lr.chunked || !eqFold(v, "chunked") {
				ok = false
			}
			lr.chunked = true
		case eqFold(k, "Expect"), eqFold(k, "Connection"), eqFold(k, HeaderResponseMode), eqFold(k, "Upgrade"):
			ok = false
		}
	}
	if !ok || lr.chunked && (lr.contentLength >= 0 || lr.route == RouteNext) {
		return lr, false, nil
	}
	if lr.chunked {
		return lr, true, nil
	}
	if lr.contentLength < 0 {
		if lr.route != RouteNext {
			return lr, false, nil // a POST without Content-Length: net/http decides
		}
		lr.contentLength = 0
	}
	return lr, true, nil
}

var errHeadTooLarge = errors.New("runtimeapi: request head too large")

// readLine reads one CRLF- (or LF-) terminated line, appending its raw bytes to raw.
func readLine(br *bufio.Reader, raw *[]byte) ([]byte, error) {
	start := len(*raw)
	for {
		frag, err := br.ReadSlice('\n')
		*raw = append(*raw, frag...)
		if len(*raw) > maxLeanHead {
			return nil, errHeadTooLarge
		}
		if err == nil {
			break
		}
		if err != bufio.ErrBufferFull {
			return nil, err
		}
	}
	line := (*raw)[start:]
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

func httputilChunked(br *bufio.Reader) io.Reader { return httputil.NewChunkedReader(br) }

// chunkedBody decodes a chunked request body; at its end it reads the trailer section into
// the request's Trailer, as net/http does.
type chunkedBody struct {
	cr      io.Reader
	br      *bufio.Reader
	trailer http.Header
	raw     *[]byte
	err     error
}

func (b *chunkedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.cr.Read(p)
	if err == io.EOF {
		if terr := b.readTrailer(); terr != nil {
			err = terr
		}
	} else if err != nil {
		err = fmt.Errorf("runtimeapi: chunked body: %w", err)
	}
	if err != nil {
		b.err = err
	}
	return n, err
}

func (b *chunkedBody) readTrailer() error {
	*b.raw = (*b.raw)[:0]
	for {
		line, err := readLine(b.br, b.raw)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("runtimeapi: trailer: %w", err)
		}
		if len(line) == 0 {
			return nil
		}
		k, v, found := bytes.Cut(line, []byte{':'})
		if !found || len(k) == 0 || bytes.ContainsAny(k, " \t") {
			return errors.New("runtimeapi: malformed trailer")
		}
		key := textproto.CanonicalMIMEHeaderKey(string(k))
		switch key {
		case "Transfer-Encoding", "Trailer", "Content-Length":
			continue
		}
		b.trailer[key] = append(b.trailer[key], string(bytes.Trim(v, " \t")))
	}
}

func eqFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c, d := b[i], s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if d >= 'A' && d <= 'Z' {
			d += 'a' - 'A'
		}
		if c != d {
			return false
		}
	}
	return true
}
