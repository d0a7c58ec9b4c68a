// Package runtimeapi is the per-environment AWS Lambda Runtime API (2018-06-01) server and its
// state machine: the function's runtime long-polls /next for an event and posts /response,
// /error or /init/error. It also answers the minimal Extensions API (register, a blocking
// event/next) so internal extensions such as aws-lambda-go's WithEnableSIGTERM work, and
// stubs the Telemetry and Logs APIs as the RIE does.
//
// One Server serves one environment, on its own 127.0.0.1 ephemeral port, one invocation at a
// time. The pool hands invocations over with Dispatch and learns the outcome from the
// Invocation; the server never times anything out itself.
package runtimeapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Limits from the RIE: a buffered response may be 6 MB + 100 bytes.
const (
	DefaultMaxResponseBytes = 6*1024*1024 + 100
	DefaultMaxStreamBytes   = 200 << 20
	maxErrorBodyBytes       = DefaultMaxResponseBytes
	maxDrainBytes           = 1 << 30
)

// Header names.
const (
	HeaderRequestID       = "Lambda-Runtime-Aws-Request-Id"
	HeaderDeadlineMs      = "Lambda-Runtime-Deadline-Ms"
	HeaderFunctionARN     = "Lambda-Runtime-Invoked-Function-Arn"
	HeaderTraceID         = "Lambda-Runtime-Trace-Id"
	HeaderClientContext   = "Lambda-Runtime-Client-Context"
	HeaderCognitoIdentity = "Lambda-Runtime-Cognito-Identity"
	HeaderTenantID        = "Lambda-Runtime-Aws-Tenant-Id"
	HeaderResponseMode    = "Lambda-Runtime-Function-Response-Mode"
	HeaderErrorType       = "Lambda-Runtime-Function-Error-Type"
	HeaderErrorBody       = "Lambda-Runtime-Function-Error-Body"
	headerExtName         = "Lambda-Extension-Name"
	headerExtID           = "Lambda-Extension-Identifier"
	headerExtEventID      = "Lambda-Extension-Event-Identifier"
	headerExtErrType      = "Lambda-Extension-Function-Error-Type"
	contentTypeErrorCause = "application/vnd.aws.lambda.error.cause+json"
)

// ErrClosed says the server (its environment) is gone.
var ErrClosed = errors.New("runtimeapi: environment closed")

// Config configures a Server.
type Config struct {
	FunctionName    string
	FunctionVersion string
	Handler         string
	// MaxResponseBytes caps a buffered response (default DefaultMaxResponseBytes).
	MaxResponseBytes int64
	// MaxStreamBytes caps a streamed response (default DefaultMaxStreamBytes).
	MaxStreamBytes int64
	// Admit, if set, decides whether an accepted connection may use this Runtime API (the
	// sandbox admits only its own environment's processes); refused connections are closed
	// unread.
	Admit func(net.Conn) bool
}

// Hooks are called by the server on its request goroutines. They must not block for long.
type Hooks struct {
	// Idle runs when the runtime enters /next with no invocation in flight: first is true the
	// first time (init is complete); later calls mean the previous invocation is complete.
	Idle func(first bool)
	// InitError runs when the runtime posts /runtime/init/error.
	InitError func(errorType string, body []byte)
}

// OutcomeKind says how an invocation ended on the runtime side.
type OutcomeKind int

// Outcome kinds.
const (
	OutcomeResponse      OutcomeKind = iota // /response accepted (Payload or Stream)
	OutcomeFunctionError                    // /error, or a response with an error trailer
	OutcomePlatformError                    // oversized or malformed response: ErrorType says which
)

// Outcome is the runtime's answer to an invocation.
type Outcome struct {
	Kind        OutcomeKind
	Payload     []byte
	ContentType string
	ErrorType   string
	// Stream is set when the runtime streams and the invocation allowed it. Reads end with
	// io.EOF, or with a *StreamError for a mid-stream function error.
	Stream io.ReadCloser
}

// StreamError is a function error reported in the trailers of a streamed response (or a
// platform error ending the stream, such as Function.ResponseSizeTooLarge).
type StreamError struct {
	Type string
	Body []byte
}

func (e *StreamError) Error() string { return "runtimeapi: stream error: " + e.Type }

// Invocation is one event handed to the runtime. The caller fills the request fields and then
// calls Dispatch; Done is closed once Outcome is valid.
type Invocation struct {
	RequestID       string
	Payload         []byte
	Deadline        time.Time
	FunctionARN     string
	TraceID         string
	ClientContext   string
	CognitoIdentity string
	TenantID        string
	// AllowStream lets a chunked or streaming-mode response reach the caller as a stream.
	AllowStream bool

	done       chan struct{}
	outcome    Outcome
	streamDone chan struct{}
	pw         *io.PipeWriter
	deadlineMs []string
}

// Done is closed when the runtime has answered (for a stream: when the stream begins).
func (inv *Invocation) Done() <-chan struct{} { return inv.done }

// Outcome is valid after Done is closed.
func (inv *Invocation) Outcome() Outcome { return inv.outcome }

// StreamDone is closed when a streamed body has been fully received from the runtime (or cut
// off). It is nil unless the outcome is a stream.
func (inv *Invocation) StreamDone() <-chan struct{} { return inv.streamDone }

// Abort ends a stream in flight: the caller's next Read returns err.
func (inv *Invocation) Abort(err error) {
	if inv.pw != nil {
		inv.pw.CloseWithError(err)
	}
}

func (inv *Invocation) finish(o Outcome) {
	inv.outcome = o
	close(inv.done)
}

type state int

const (
	stStarted state = iota
	stReady
	stRunning
	stResponding
	stResponded
	stInitError
)

func (s state) String() string {
	switch s {
	case stStarted:
		return "Started"
	case stReady:
		return "Ready"
	case stRunning:
		return "Running"
	case stResponding:
		return "InvocationResponse"
	case stResponded:
		return "RuntimeResponseSentState"
	case stInitError:
		return "InitError"
	}
	return "Unknown"
}

type extension struct {
	name     string
	shutdown bool
}

// Server is one environment's Runtime API.
type Server struct {
	cfg   Config
	hooks Hooks
	log   *slog.Logger
	ln    net.Listener
	hs    *http.Server
	addr  string

	closed    chan struct{}
	closeOnce sync.Once
	stopping  chan struct{} // closed by Shutdown: extensions get SHUTDOWN
	stopOnce  sync.Once

	mu             sync.Mutex
	state          state
	cur            *Invocation
	pending        *Invocation   // offered before the runtime came to /next
	parked         []*parkedNext // /next calls waiting for an event, oldest first
	exts           map[string]*extension
	shutdownReason string
	shutdownAt     time.Time

	handoff *connListener // connections the lean loop hands to hs
	connMu  sync.Mutex
	conns   map[net.Conn]struct{} // served by the lean loop; nil once closed
}

// New listens on 127.0.0.1 with an ephemeral port and serves until Close.
func New(cfg Config, hooks Hooks, log *slog.Logger) (*Server, error) {
	if cfg.MaxResponseBytes <= 0 {
		cfg.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if cfg.MaxStreamBytes <= 0 {
		cfg.MaxStreamBytes = DefaultMaxStreamBytes
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("runtimeapi: listen: %w", err)
	}
	s := &Server{
		cfg: cfg, hooks: hooks, log: log, ln: ln, addr: ln.Addr().String(),
		closed:   make(chan struct{}),
		stopping: make(chan struct{}),
		exts:     map[string]*extension{},
		conns:    map[net.Conn]struct{}{},
		handoff:  &connListener{addr: ln.Addr(), ch: make(chan net.Conn), done: make(chan struct{})},
	}
	// No read or idle timeouts: /next is a long poll that must never time out, and the
	// runtimes keep their connections alive across invocations.
	s.hs = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	go func() { _ = s.hs.Serve(s.handoff) }()
	go s.acceptLoop()
	return s, nil
}

// Addr is host:port for AWS_LAMBDA_RUNTIME_API.
func (s *Server) Addr() string { return s.addr }

// Close stops the server and drops every connection; pending Dispatch calls return ErrClosed.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { close(s.closed) })
	s.Shutdown("spindown")
	err := s.ln.Close()
	s.closeConns()
	if herr := s.hs.Close(); err == nil || errors.Is(err, net.ErrClosed) {
		err = herr
	}
	return err
}

// Shutdown wakes the extensions subscribed to SHUTDOWN with the given reason.
func (s *Server) Shutdown(reason string) {
	s.stopOnce.Do(func() {
		s.mu.Lock()
		s.shutdownReason = reason
		s.shutdownAt = time.Now()
		s.mu.Unlock()
		close(s.stopping)
	})
}

// HasExtensions reports whether any extension registered (then the runtime gets SIGTERM and a
// grace period before SIGKILL).
func (s *Server) HasExtensions() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.exts) > 0
}

// Offer hands inv to the runtime without waiting. When the runtime waits in /next the event
// is delivered at once; on a lean connection Offer writes it itself, so no other goroutine is
// woken to deliver it. Otherwise inv is kept for the runtime's next /next, and until that /next
// takes it Withdraw can take it back. Only one invocation may be offered at a time. Offer fails
// with ErrClosed when the environment is gone.
func (s *Server) Offer(inv *Invocation) error {
	inv.done = make(chan struct{})
	inv.deadlineMs = []string{strconv.FormatInt(inv.Deadline.UnixMilli(), 10)}
	s.mu.Lock()
	select {
	case <-s.closed:
		s.mu.Unlock()
		return ErrClosed
	default:
	}
	if len(s.parked) > 0 {
		pk := s.parked[0]
		s.parked = s.parked[1:]
		s.state, s.cur = stRunning, inv
		s.mu.Unlock()
		pk.give(inv)
		return nil
	}
	s.pending = inv
	s.mu.Unlock()
	return nil
}

// Withdraw takes back an offered invocation no /next has taken; false when one has.
func (s *Server) Withdraw(inv *Invocation) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending != inv {
		return false
	}
	s.pending = nil
	return true
}

// parkedNext is a /next waiting for an event. On a lean connection the dispatcher writes the
// event to lean and then closes delivered (made anew each time it parks; a lean connection
// reuses its parkedNext); a /next served by net/http receives it on ch.
type parkedNext struct {
	lean      *leanWriter
	delivered chan struct{}
	ch        chan *Invocation
}

func (pk *parkedNext) give(inv *Invocation) {
	if pk.ch != nil {
		pk.ch <- inv
		return
	}
	// A failed write leaves the invocation running unanswered: the runtime's next /next gets
	// the same event again (see enterNext).
	writeEvent(pk.lean, inv)
	_ = pk.lean.finish()
	pk.lean.reset()
	close(pk.delivered)
}

// enterNext moves the runtime to Ready for a /next call. It returns the event to answer with at
// once (one already dispatched, or the unanswered one again), or parks pk and returns parked.
// It answers w itself when the call is not allowed in the current state (both results zero).
func (s *Server) enterNext(w http.ResponseWriter, pk *parkedNext) (inv *Invocation, parked bool) {
	s.mu.Lock()
	switch s.state {
	case stInitError, stResponding:
		st := s.state
		s.mu.Unlock()
		writeTransitionError(w, st, "Ready")
		return nil, false
	case stRunning:
		// The invocation is in flight and unanswered: deliver the same event again.
		inv := s.cur
		s.mu.Unlock()
		return inv, false
	}
	notify := s.state == stStarted || s.state == stResponded
	first := s.state == stStarted
	s.state = stReady
	s.cur = nil
	s.mu.Unlock()
	if notify && s.hooks.Idle != nil {
		s.hooks.Idle(first)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if inv := s.pending; inv != nil {
		s.pending = nil
		s.state, s.cur = stRunning, inv
		return inv, false
	}
	if pk.lean != nil {
		pk.delivered = make(chan struct{})
	}
	s.parked = append(s.parked, pk)
	return nil, true
}

// unpark withdraws pk; false when a dispatcher has already taken it.
func (s *Server) unpark(pk *parkedNext) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, p := range s.parked {
		if p == pk {
			s.parked = append(s.parked[:i], s.parked[i+1:]...)
			return true
		}
	}
	return false
}

// awaitEvent parks a /next until an event is dispatched (nil when the server closes or done
// fires first). An event dispatched while done fires stays the running, unanswered invocation:
// the runtime's next /next gets it.
func (s *Server) awaitEvent(w http.ResponseWriter, done <-chan struct{}) *Invocation {
	pk := &parkedNext{ch: make(chan *Invocation, 1)}
	inv, parked := s.enterNext(w, pk)
	if !parked {
		return inv
	}
	select {
	case inv := <-pk.ch:
		return inv
	case <-done:
	case <-s.closed:
	}
	s.unpark(pk)
	return nil
}

// ServeHTTP routes the Runtime API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	route, id := ParsePath(r.URL.EscapedPath())
	switch route {
	case RouteNext:
		if r.Method != http.MethodGet {
			break
		}
		s.next(w, r)
		return
	case RouteResponse, RouteError:
		if r.Method != http.MethodPost {
			break
		}
		s.answer(w, r, route, id)
		return
	case RouteInitError:
		if r.Method != http.MethodPost {
			break
		}
		s.initError(w, r)
		return
	case RoutePing:
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "pong")
		return
	case RouteExtRegister:
		s.extRegister(w, r)
		return
	case RouteExtNext:
		s.extNext(w, r)
		return
	case RouteExtInitError, RouteExtExitError:
		s.extError(w, r)
		return
	case RouteTelemetry:
		writeError(w, http.StatusAccepted, "Telemetry.NotSupported", "Telemetry API is not supported")
		return
	case RouteLogs:
		writeError(w, http.StatusAccepted, "Logs.NotSupported", "Logs API is not supported")
		return
	default:
		writeError(w, http.StatusNotFound, "InvalidRequest", "Not found")
		return
	}
	writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "Method not allowed")
}

// Header values shared by every response (net/http never modifies them).
var (
	okBody          = []byte(`{"status":"OK"}`)
	jsonContentType = []string{"application/json"}
	okLength        = []string{"15"}
)

func writeOK(w http.ResponseWriter) {
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h["Content-Length"] = okLength
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write(okBody)
}

func writeError(w http.ResponseWriter, status int, typ, msg string) {
	b, _ := json.Marshal(struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}{msg, typ})
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeTransitionError(w http.ResponseWriter, from state, to string) {
	writeError(w, http.StatusForbidden, "InvalidStateTransition",
		"State transition from "+from.String()+" to "+to+" failed for runtime. Error: State transition is not allowed")
}

func (s *Server) next(w http.ResponseWriter, r *http.Request) {
	if inv := s.awaitEvent(w, r.Context().Done()); inv != nil {
		writeEvent(w, inv)
	}
}

func writeEvent(w http.ResponseWriter, inv *Invocation) {
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h[HeaderRequestID] = []string{inv.RequestID}
	h[HeaderDeadlineMs] = inv.deadlineMs
	if inv.FunctionARN != "" {
		h[HeaderFunctionARN] = []string{inv.FunctionARN}
	}
	if inv.TraceID != "" {
		h[HeaderTraceID] = []string{inv.TraceID}
	}
	if inv.ClientContext != "" {
		h[HeaderClientContext] = []string{inv.ClientContext}
	}
	if inv.CognitoIdentity != "" {
		h[HeaderCognitoIdentity] = []string{inv.CognitoIdentity}
	}
	if inv.TenantID != "" {
		h[HeaderTenantID] = []string{inv.TenantID}
	}
	h["Content-Length"] = []string{strconv.Itoa(len(inv.Payload))}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(inv.Payload)
}

// answer handles /response and /error.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, route Route, id string) {
	s.mu.Lock()
	inv := s.cur
	if inv == nil || inv.RequestID != id {
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, "InvalidRequestID", "Invalid request ID")
		return
	}
	if s.state != stRunning {
		st := s.state
		s.mu.Unlock()
		to := "InvocationResponse"
		if route == RouteError {
			to = "InvocationErrorResponse"
		}
		writeTransitionError(w, st, to)
		return
	}
	mode := r.Header.Get(HeaderResponseMode)
	if route == RouteResponse && mode != "" && !strings.EqualFold(mode, "streaming") {
		s.state = stResponded
		s.mu.Unlock()
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, maxDrainBytes))
		inv.finish(platformError(inv.RequestID, "Runtime.InvalidResponseModeHeader", "Invalid function response mode"))
		writeError(w, http.StatusBadRequest, "InvalidFunctionResponseMode", "Invalid function response mode")
		return
	}
	s.state = stResponding
	s.mu.Unlock()

	if route == RouteError {
		s.errorResponse(w, r, inv)
		return
	}
	if inv.AllowStream && (mode != "" || r.ContentLength < 0) {
		s.stream(w, r, inv)
		return
	}
	body, size, err := readBounded(r.Body, r.ContentLength, s.cfg.MaxResponseBytes)
	if err != nil {
		s.responded()
		inv.finish(platformError(inv.RequestID, "Runtime.TruncatedResponse", "Runtime response was truncated"))
		writeError(w, http.StatusBadRequest, "TruncatedHTTPRequest", "HTTP request detected as truncated")
		return
	}
	if size > s.cfg.MaxResponseBytes {
		s.responded()
		inv.finish(Outcome{
			Kind:      OutcomePlatformError,
			ErrorType: "Function.ResponseSizeTooLarge",
			Payload: ErrorJSON("Function.ResponseSizeTooLarge", fmt.Sprintf(
				"Response payload size (%d bytes) exceeded maximum allowed payload size (%d bytes).", size, s.cfg.MaxResponseBytes)),
		})
		writeError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge",
			fmt.Sprintf("Exceeded maximum allowed payload size (%d bytes).", s.cfg.MaxResponseBytes))
		return
	}
	s.responded()
	if t, b, ok := trailerError(r.Trailer); ok {
		inv.finish(Outcome{Kind: OutcomeFunctionError, ErrorType: t, Payload: b, ContentType: "application/json"})
	} else {
		inv.finish(Outcome{Kind: OutcomeResponse, Payload: body, ContentType: r.Header.Get("Content-Type")})
	}
	writeOK(w)
}

func (s *Server) responded() {
	s.mu.Lock()
	s.state = stResponded
	s.mu.Unlock()
}

func (s *Server) errorResponse(w http.ResponseWriter, r *http.Request, inv *Invocation) {
	body, size, err := readBounded(r.Body, r.ContentLength, maxErrorBodyBytes)
	if err != nil {
		s.responded()
		inv.finish(platformError(inv.RequestID, "Runtime.TruncatedResponse", "Runtime error response was truncated"))
		writeError(w, http.StatusBadRequest, "TruncatedHTTPRequest", "HTTP request detected as truncated")
		return
	}
	if size > maxErrorBodyBytes {
		body = body[:maxErrorBodyBytes]
	}
	if ct := r.Header.Get("Content-Type"); strings.HasPrefix(ct, contentTypeErrorCause) {
		body = stripErrorCause(body)
	}
	typ := errorTypeOf(body)
	if typ == "" {
		typ = r.Header.Get(HeaderErrorType)
	}
	if typ == "" {
		typ = "Unhandled"
	}
	s.responded()
	inv.finish(Outcome{Kind: OutcomeFunctionError, ErrorType: typ, Payload: body, ContentType: "application/json"})
	writeOK(w)
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// stream pipes a chunked body to the caller as it arrives.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, inv *Invocation) {
	pr, pw := io.Pipe()
	inv.pw = pw
	inv.streamDone = make(chan struct{})
	inv.finish(Outcome{Kind: OutcomeResponse, Stream: pr, ContentType: r.Header.Get("Content-Type")})
	bp := bufPool.Get().(*[]byte)
	buf := *bp
	var n int64
	var werr, rerr error
	for {
		k, err := r.Body.Read(buf)
		if k > 0 {
			n += int64(k)
			if werr == nil && n <= s.cfg.MaxStreamBytes {
				_, werr = pw.Write(buf[:k])
			}
		}
		if err != nil {
			if err != io.EOF {
				rerr = err
			}
			break
		}
		if n > maxDrainBytes {
			rerr = errors.New("stream too large")
			break
		}
	}
	bufPool.Put(bp)
	status := http.StatusAccepted
	switch t, b, ok := trailerError(r.Trailer); {
	case rerr != nil:
		pw.CloseWithError(&StreamError{Type: "Runtime.TruncatedResponse",
			Body: ErrorJSON("Runtime.TruncatedResponse", "RequestId: "+inv.RequestID+" Error: Runtime response stream was truncated")})
		status = http.StatusBadRequest
	case n > s.cfg.MaxStreamBytes:
		pw.CloseWithError(&StreamError{Type: "Function.ResponseSizeTooLarge", Body: ErrorJSON("Function.ResponseSizeTooLarge",
			fmt.Sprintf("Response payload size exceeded maximum allowed payload streaming size (%d bytes).", s.cfg.MaxStreamBytes))})
	case ok:
		pw.CloseWithError(&StreamError{Type: t, Body: b})
	default:
		pw.Close()
	}
	s.responded()
	close(inv.streamDone)
	if status == http.StatusAccepted {
		writeOK(w)
	} else {
		writeError(w, status, "TruncatedHTTPRequest", "HTTP request detected as truncated")
	}
}

// readBounded reads a body, keeping at most limit bytes (and draining the rest up to a bound),
// and returns the kept bytes with the full size. An error means the body was cut off.
func readBounded(body io.Reader, contentLength, limit int64) ([]byte, int64, error) {
	if contentLength >= 0 && contentLength <= limit {
		b := make([]byte, contentLength)
		if _, err := io.ReadFull(body, b); err != nil {
			return nil, 0, err
		}
		return b, contentLength, nil
	}
	bp := readPool.Get().(*bytes.Buffer)
	defer func() {
		if bp.Cap() <= 1<<20 {
			bp.Reset()
			readPool.Put(bp)
		}
	}()
	buf := bp
	n, err := buf.ReadFrom(io.LimitReader(body, limit+1))
	if err != nil {
		return nil, 0, err
	}
	if n <= limit {
		return bytes.Clone(buf.Bytes()), n, nil
	}
	m, err := io.Copy(io.Discard, io.LimitReader(body, maxDrainBytes))
	if err != nil {
		return nil, 0, err
	}
	return bytes.Clone(buf.Bytes()[:limit]), n + m, nil
}

var readPool = sync.Pool{New: func() any { return bytes.NewBuffer(make([]byte, 0, 4096)) }}

// trailerError reads the error trailers of a chunked body (only valid after EOF).
func trailerError(tr http.Header) (string, []byte, bool) {
	if tr == nil {
		return "", nil, false
	}
	typ := tr.Get(HeaderErrorType)
	if typ == "" {
		return "", nil, false
	}
	raw := tr.Get(HeaderErrorBody)
	body, err := base64.StdEncoding.DecodeString(raw)
	if err != nil || len(body) == 0 {
		body = ErrorJSON(typ, raw)
	}
	return typ, body, true
}

// ErrorJSON is the {"errorMessage","errorType"} body of a platform-generated function error.
func ErrorJSON(typ, msg string) []byte {
	b, _ := json.Marshal(struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}{msg, typ})
	return b
}

func platformError(requestID, typ, detail string) Outcome {
	return Outcome{
		Kind:        OutcomePlatformError,
		ErrorType:   typ,
		Payload:     ErrorJSON(typ, "RequestId: "+requestID+" Error: "+detail),
		ContentType: "application/json",
	}
}

// errorTypeOf extracts "errorType" from a JSON error body without validating its schema.
func errorTypeOf(body []byte) string {
	var v struct {
		ErrorType string `json:"errorType"`
	}
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	return v.ErrorType
}

func stripErrorCause(body []byte) []byte {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return body
	}
	if _, ok := m["errorCause"]; !ok {
		return body
	}
	delete(m, "errorCause")
	b, err := json.Marshal(m)
	if err != nil {
		return body
	}
	return b
}

func (s *Server) initError(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.state != stStarted {
		st := s.state
		s.mu.Unlock()
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, maxDrainBytes))
		writeTransitionError(w, st, "InitError")
		return
	}
	s.state = stInitError
	s.mu.Unlock()
	body, size, err := readBounded(r.Body, r.ContentLength, maxErrorBodyBytes)
	if err != nil {
		body = nil
	} else if size > maxErrorBodyBytes {
		body = body[:maxErrorBodyBytes]
	}
	typ := r.Header.Get(HeaderErrorType)
	if typ == "" {
		typ = errorTypeOf(body)
	}
	if typ == "" {
		typ = "Runtime.Unknown"
	}
	if len(body) == 0 {
		body = ErrorJSON(typ, "")
	}
	if s.hooks.InitError != nil {
		s.hooks.InitError(typ, body)
	}
	writeOK(w)
}

func (s *Server) extRegister(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "Method not allowed")
		return
	}
	name := r.Header.Get(headerExtName)
	if name == "" {
		writeError(w, http.StatusForbidden, "Extension.InvalidExtensionName", "Empty extension name")
		return
	}
	var req struct {
		Events            []string        `json:"events"`
		ConfigurationKeys json.RawMessage `json:"configurationKeys"`
	}
	body, _, err := readBounded(r.Body, r.ContentLength, 64<<10)
	if err != nil || (len(bytes.TrimSpace(body)) > 0 && json.Unmarshal(body, &req) != nil) {
		writeError(w, http.StatusForbidden, "InvalidRequestFormat", "Invalid request format")
		return
	}
	if len(req.ConfigurationKeys) > 0 && string(req.ConfigurationKeys) != "null" {
		writeError(w, http.StatusForbidden, "InvalidRequestFormat", "configurationKeys are deprecated")
		return
	}
	ext := &extension{name: name}
	for _, e := range req.Events {
		switch e {
		case "INVOKE":
		case "SHUTDOWN":
			ext.shutdown = true
		default:
			writeError(w, http.StatusForbidden, "Extension.InvalidEventType", "Invalid event type: "+e)
			return
		}
	}
	s.mu.Lock()
	if s.state != stStarted {
		s.mu.Unlock()
		writeError(w, http.StatusForbidden, "Extension.RegistrationClosed", "Extension registration closed already")
		return
	}
	if len(s.exts) >= 10 {
		s.mu.Unlock()
		writeError(w, http.StatusForbidden, "Extension.TooManyExtensions", "Too many extensions")
		return
	}
	id := uuid.NewString()
	s.exts[id] = ext
	s.mu.Unlock()
	b, _ := json.Marshal(map[string]string{
		"functionName": s.cfg.FunctionName, "functionVersion": s.cfg.FunctionVersion, "handler": s.cfg.Handler,
	})
	w.Header().Set(headerExtID, id)
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

func (s *Server) extLookup(w http.ResponseWriter, r *http.Request) (*extension, bool) {
	id := r.Header.Get(headerExtID)
	if id == "" {
		writeError(w, http.StatusForbidden, "Extension.MissingExtensionIdentifier", "Missing extension identifier")
		return nil, false
	}
	if _, err := uuid.Parse(id); err != nil {
		writeError(w, http.StatusForbidden, "Extension.InvalidExtensionIdentifier", "Invalid extension identifier")
		return nil, false
	}
	s.mu.Lock()
	ext := s.exts[id]
	s.mu.Unlock()
	if ext == nil {
		writeError(w, http.StatusForbidden, "Extension.UnknownExtensionIdentifier", "Unknown extension identifier")
		return nil, false
	}
	return ext, true
}

// extNext blocks until shutdown. INVOKE events are not delivered (only internal extensions
// without events are supported fully).
func (s *Server) extNext(w http.ResponseWriter, r *http.Request) {
	ext, ok := s.extLookup(w, r)
	if !ok {
		return
	}
	select {
	case <-s.stopping:
	case <-r.Context().Done():
		return
	}
	if !ext.shutdown {
		select {
		case <-s.closed:
		case <-r.Context().Done():
		}
		return
	}
	s.mu.Lock()
	reason, at := s.shutdownReason, s.shutdownAt
	s.mu.Unlock()
	b, _ := json.Marshal(map[string]any{
		"eventType": "SHUTDOWN", "deadlineMs": at.Add(2 * time.Second).UnixMilli(), "shutdownReason": reason,
	})
	w.Header().Set(headerExtEventID, uuid.NewString())
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

func (s *Server) extError(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "Method not allowed")
		return
	}
	if _, ok := s.extLookup(w, r); !ok {
		return
	}
	if r.Header.Get(headerExtErrType) == "" {
		writeError(w, http.StatusForbidden, "Extension.MissingHeader", "Missing Lambda-Extension-Function-Error-Type header")
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
	writeOK(w)
}
