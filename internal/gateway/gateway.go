// Package gateway is the function-URL data plane: it routes a request by Host label or
// /lambda-url/<id> path to a URL config, answers CORS preflights, enforces the body limit, the
// URL's auth type and rate limit, builds the payload v2.0 event (urlevent), invokes the function
// through the pool and writes the mapped response, buffered or streamed.
package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/furl/furl/internal/awserr"
	"github.com/furl/furl/internal/functions"
	"github.com/furl/furl/internal/iam"
	"github.com/furl/furl/internal/identity"
	"github.com/furl/furl/internal/inspect"
	"github.com/furl/furl/internal/lambda"
	"github.com/furl/furl/internal/pool"
	"github.com/furl/furl/internal/sigv4"
	"github.com/furl/furl/internal/store"
	"github.com/furl/furl/internal/urlevent"
)

// Resolver finds what a URL id invokes; (nil, nil) means no such URL.
type Resolver interface {
	ResolveURL(ctx context.Context, urlID string) (*functions.URLTarget, error)
}

// Invoker runs an invocation (the pool).
type Invoker interface {
	Invoke(ctx context.Context, t *pool.Target, req *pool.Request) (*pool.Result, error)
}

// Authorizer is the identity service: it verifies SigV4 requests, answers authorization
// questions (identity.Question, the same for every plane), says which address a request comes
// from (aws:SourceIp, trusted-proxy aware) and which organisation principals belong to.
type Authorizer interface {
	Authenticate(ctx context.Context, r *http.Request, bodySHA256Hex string, service string) (*iam.Principal, error)
	Decide(ctx context.Context, q identity.Question) (iam.Decision, *iam.Request, error)
	SourceIP(r *http.Request) string
	OrgID() string
}

// Recorder receives per-request measurements (the metrics package implements it).
type Recorder interface {
	URLRequest(function, urlID string, status int, d time.Duration)
	URLThrottle(function, urlID string)
	ColdStart(function string)
	InFlight(function string, delta int)
}

// Options configure a Gateway. Zero values take the defaults noted.
type Options struct {
	Log *slog.Logger
	// Region is the region in Host-style URLs (<id>.lambda-url.<region>.<domain>); required.
	Region string
	// EventDomain is the domain used for requestContext.domainName (default "on.aws", as AWS).
	EventDomain string
	// Auth authorizes every URL request (NONE: the resource policy for the anonymous caller);
	// without it every request answers 403.
	Auth Authorizer
	// Metrics may be nil.
	Metrics Recorder
	// RequireInvokeFunction also demands lambda:InvokeFunction with
	// lambda:InvokedViaFunctionUrl=true (config.RequireInvokeFunctionForURLs).
	RequireInvokeFunction bool
	// MaxBodyBytes caps the request body (default 6 MB = 6291456).
	MaxBodyBytes int64
	// StreamMaxBytes caps a streamed body (default 200 MB); StreamBandwidthAfter (0 = never)
	// is the size after which streams are shaped to StreamBandwidth bytes/s (default 2 MB/s).
	StreamMaxBytes       int64
	StreamBandwidthAfter int64
	StreamBandwidth      int64
	// EventHistory is how many recent events are kept per function (default 20; <0 = none)
	// when Inspect is nil and the gateway makes its own store.
	EventHistory int
	// Inspect receives one inspection record per request (nil: the gateway makes its own).
	Inspect *inspect.Store
	// Now and NewID are the clock and request-id source (defaults: time.Now, uuid v4).
	Now   func() time.Time
	NewID func() string
}

// Gateway is the function-URL data plane handler.
type Gateway struct {
	res  Resolver
	inv  Invoker
	opt  Options
	log  *slog.Logger
	rec  Recorder
	insp *inspect.Store

	mu      sync.Mutex
	buckets map[string]*bucket // url id -> rate limiter
}

// New returns the data plane over a URL resolver and an invoker.
func New(res Resolver, inv Invoker, opt Options) *Gateway {
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.EventDomain == "" {
		opt.EventDomain = "on.aws"
	}
	if opt.MaxBodyBytes <= 0 {
		opt.MaxBodyBytes = urlevent.MaxEventBytes
	}
	if opt.StreamMaxBytes <= 0 {
		opt.StreamMaxBytes = 200 << 20
	}
	if opt.StreamBandwidth <= 0 {
		opt.StreamBandwidth = 2 << 20
	}
	if opt.EventHistory == 0 {
		opt.EventHistory = 20
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.NewID == nil {
		opt.NewID = uuid.NewString
	}
	g := &Gateway{res: res, inv: inv, opt: opt, log: opt.Log, rec: opt.Metrics,
		buckets: map[string]*bucket{}}
	if g.rec == nil {
		g.rec = nopRecorder{}
	}
	g.insp = opt.Inspect
	if g.insp == nil {
		g.insp = inspect.NewStore(inspect.Options{PerFunction: opt.EventHistory})
	}
	return g
}

type nopRecorder struct{}

func (nopRecorder) URLRequest(string, string, int, time.Duration) {}
func (nopRecorder) URLThrottle(string, string)                    {}
func (nopRecorder) ColdStart(string)                              {}
func (nopRecorder) InFlight(string, int)                          {}

// Exact bodies of the data plane's errors (spec §4).
const (
	bodyUnknownURL = `{"Message":null}`
	bodyForbidden  = `{"Message":"Forbidden. For troubleshooting Function URL authorization issues, see: https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html"}`
	body502        = `Internal Server Error`
	bodyTooLarge   = `{"Message":"Request must be smaller than 6291456 bytes for the InvokeFunction operation"}`
	// The service's limits on the request line and headers are not documented for function
	// URLs; these are API Gateway HTTP API's (docs/COMPATIBILITY.md).
	bodyURITooLong      = `{"Message":"Request-URI Too Long"}`
	bodyHeadersTooLarge = `{"Message":"Request Header Fields Too Large"}`
)

// Limits on a request's URI and headers (bytes).
const (
	MaxURLBytes    = 10240
	MaxHeaderBytes = 10240
)

// Header names spelled as AWS sends them (Go would canonicalize them otherwise).
const (
	hdrRequestID = "x-amzn-RequestId"
	hdrErrorType = "x-amzn-ErrorType"
	hdrTraceID   = "X-Amzn-Trace-Id"
)

// ParseHost returns the URL id of a Host-style function URL host
// (<id>.lambda-url.<region>.<domain>, case-insensitive, port ignored) and its region.
func ParseHost(host string) (id, region string, ok bool) {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(host, ".")
	i := strings.IndexByte(host, '.')
	if i <= 0 {
		return "", "", false
	}
	id, rest := host[:i], host[i+1:]
	const label = "lambda-url."
	if len(rest) <= len(label) || !strings.EqualFold(rest[:len(label)], label) {
		return "", "", false
	}
	rest = rest[len(label):]
	j := strings.IndexByte(rest, '.')
	if j <= 0 || j == len(rest)-1 {
		return "", "", false
	}
	region = rest[:j]
	if !validLabel(id, false) || !validLabel(region, true) {
		return "", "", false
	}
	return strings.ToLower(id), strings.ToLower(region), true
}

// validLabel reports whether s is a URL id (letters and digits) or, with dash, a region name
// (letters, digits and '-').
func validLabel(s string, dash bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20 // ASCII lower case
		if !('a' <= c && c <= 'z' || '0' <= s[i] && s[i] <= '9' || dash && s[i] == '-') {
			return false
		}
	}
	return s != ""
}

// ParsePath splits a path-style URL "/lambda-url/<id>/rest" into the id and the raw prefix
// to strip ("/lambda-url/<id>").
func ParsePath(rawPath string) (id, prefix string, ok bool) {
	const p = "/lambda-url/"
	if !strings.HasPrefix(rawPath, p) {
		return "", "", false
	}
	rest := rawPath[len(p):]
	end := strings.IndexByte(rest, '/')
	if end < 0 {
		end = len(rest)
	}
	if end == 0 {
		return "", "", false
	}
	return strings.ToLower(rest[:end]), rawPath[:len(p)+end], true
}

// route finds the URL id of r and the path prefix to strip.
func (g *Gateway) route(r *http.Request) (id, prefix string, ok bool) {
	if id, region, ok := ParseHost(r.Host); ok {
		return id, "", region == strings.ToLower(g.opt.Region)
	}
	return ParsePath(urlevent.RawPath(r))
}

// request is one function-URL request on its way through the stages. Each stage fills its
// part of rec, the request's inspection record.
type request struct {
	w     http.ResponseWriter
	r     *http.Request
	rec   *inspect.Record
	start time.Time

	// admit
	urlID, prefix string
	t             *functions.URLTarget // nil until the URL id resolves
	body          []byte
	sourceIP      string
	principal     *iam.Principal

	// event
	root, parent string // X-Ray trace ids
	payload      []byte

	status int
}

// ServeHTTP serves one function-URL request: admit → event → invoke → respond. Each stage
// either passes the request on or answers it (a refusal, an error) and stops it.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := g.begin(w, r)
	defer g.finish(q)
	if !g.admit(q) {
		return
	}
	if !g.event(q) {
		return
	}
	res, ok := g.invoke(q)
	if !ok {
		return
	}
	g.respond(q, res)
}

// begin starts a request's record with what the client sent.
func (g *Gateway) begin(w http.ResponseWriter, r *http.Request) *request {
	now := g.opt.Now()
	q := &request{w: w, r: r, start: now}
	q.rec = &inspect.Record{
		RequestID: g.opt.NewID(),
		Time:      now,
		Method:    r.Method,
		Host:      r.Host,
		Headers:   inspect.RedactHeader(r.Header),
		Query:     inspect.RedactQuery(r.URL.RawQuery),
		SourceIP:  urlevent.PeerIP(r.RemoteAddr),
		Stage:     inspect.StageRoute,
	}
	return q
}

// finish records metrics for resolved URLs only (an unknown id must not become a label) and
// hands the record to the inspector.
func (g *Gateway) finish(q *request) {
	if q.status == 0 {
		q.status = 499
	}
	now := g.opt.Now()
	rec := q.rec
	rec.Status = q.status
	rec.Timing.Total = now.Sub(q.start)
	if q.t != nil {
		g.rec.URLRequest(rec.Function, q.urlID, q.status, rec.Timing.Total)
	}
	g.insp.Finish(rec)
}

// admit decides whether the request reaches the function: route, CORS preflight, body,
// auth, rate limit. It answers every refusal itself.
func (g *Gateway) admit(q *request) bool {
	defer func(start time.Time) { q.rec.Timing.Admit = g.opt.Now().Sub(start) }(g.opt.Now())
	return g.resolve(q) && !g.preflight(q) && g.readBody(q) && g.authorize(q) && g.rateLimit(q)
}

// resolve finds the URL config the request names.
func (g *Gateway) resolve(q *request) bool {
	id, prefix, ok := g.route(q.r)
	q.prefix = prefix
	path := urlevent.RawPath(q.r)
	if prefix != "" {
		path = strings.TrimPrefix(path, prefix)
	}
	if path == "" || path[0] != '/' {
		path = "/" + path
	}
	q.rec.Path = path
	if !ok {
		g.refuse(q, inspect.StageRoute, http.StatusForbidden, bodyUnknownURL, "AccessDeniedException",
			&inspect.Decision{Reason: "not a function URL of this region"})
		return false
	}
	q.urlID, q.rec.URLID = id, id
	if len(q.r.RequestURI) > MaxURLBytes {
		g.refuse(q, inspect.StageRoute, http.StatusRequestURITooLong, bodyURITooLong, "",
			&inspect.Decision{Reason: fmt.Sprintf("request URI of %d bytes exceeds %d", len(q.r.RequestURI), MaxURLBytes)})
		return false
	}
	t, err := g.res.ResolveURL(q.r.Context(), id)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, functions.ErrURLTargetGone) {
			// The URL exists (or existed, for an alias that was deleted) but what it points at
			// does not: AWS answers the Forbidden body here, not the unknown-URL one.
			g.refuse(q, inspect.StageRoute, http.StatusForbidden, bodyForbidden, "AccessDeniedException",
				&inspect.Decision{Reason: "the URL's function or alias no longer exists"})
			return false
		}
		g.log.Error("gateway: resolve url", "url_id", id, "request_id", q.rec.RequestID, "err", err)
		g.write502(q, "")
		return false
	}
	if t == nil || t.Target == nil {
		g.refuse(q, inspect.StageRoute, http.StatusForbidden, bodyUnknownURL, "AccessDeniedException",
			&inspect.Decision{Reason: "no function URL has this id"})
		return false
	}
	q.t = t
	q.rec.Function, q.rec.Qualifier, q.rec.AuthType = t.Config.FunctionName, t.Config.Qualifier, t.Config.AuthType
	return true
}

// preflight answers a CORS preflight without invoking (true when it did).
func (g *Gateway) preflight(q *request) bool {
	cfg := &q.t.Config
	if cfg.Cors == nil || q.r.Method != http.MethodOptions || q.r.Header.Get("Access-Control-Request-Method") == "" {
		return false
	}
	q.rec.Stage = inspect.StageCORS
	writePreflight(q.w, cfg.Cors, q.r.Header.Get("Origin"), q.rec.RequestID)
	q.status = http.StatusOK
	return true
}

// readBody reads the body within the limit and checks the header size.
func (g *Gateway) readBody(q *request) bool {
	q.rec.Stage = inspect.StageBody
	if n := headerBytes(q.r); n > MaxHeaderBytes {
		g.refuse(q, inspect.StageBody, http.StatusRequestHeaderFieldsTooLarge, bodyHeadersTooLarge, "",
			&inspect.Decision{Reason: fmt.Sprintf("request headers of %d bytes exceed %d", n, MaxHeaderBytes)})
		return false
	}
	r := q.r
	if r.Body == nil || r.Body == http.NoBody {
		return true
	}
	body, err := io.ReadAll(http.MaxBytesReader(q.w, r.Body, g.opt.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			g.refuse(q, inspect.StageBody, http.StatusRequestEntityTooLarge, bodyTooLarge, "RequestTooLargeException",
				&inspect.Decision{Reason: fmt.Sprintf("body exceeds %d bytes", g.opt.MaxBodyBytes)})
			return false
		}
		g.log.Debug("gateway: read body", "request_id", q.rec.RequestID, "err", err)
		q.status = 499 // client went away
		return false
	}
	q.body = body
	q.rec.Body = inspect.Cut(body, inspect.MaxBody)
	return true
}

// rateLimit applies the URL's token bucket.
func (g *Gateway) rateLimit(q *request) bool {
	q.rec.Stage = inspect.StageRateLimit
	if g.allowRate(q.urlID, &q.t.Config) {
		return true
	}
	g.rec.URLThrottle(q.rec.Function, q.urlID)
	g.writeThrottle(q, "FunctionInvocationRateLimitExceeded")
	q.rec.Decision = &inspect.Decision{Stage: inspect.StageRateLimit, Status: http.StatusTooManyRequests,
		Reason: "the URL's rate limit (furl:rate-limit tag) is exhausted"}
	return false
}

// event builds the payload v2.0 event: the request enters urlevent once, complete.
func (g *Gateway) event(q *request) bool {
	q.rec.Stage = inspect.StageEvent
	start := g.opt.Now()
	self, root, parent := g.traceIDs(start)
	client := q.r.Header.Get("X-Amzn-Trace-Id")
	if cr := traceRoot(client); cr != "" {
		root = cr
	}
	q.root, q.parent = root, parent
	p := urlevent.Params{
		PathPrefix:  q.prefix,
		Body:        q.body,
		SourceIP:    q.sourceIP,
		URLID:       q.urlID,
		RequestID:   q.rec.RequestID,
		Time:        start,
		TraceHeader: urlevent.TraceHeader(self, root, client),
	}
	if q.t.Config.AuthType == lambda.AuthIAM && q.principal != nil {
		p.AccountID = q.principal.AccountID
		p.IAM = urlevent.AuthorizerIAM(q.principal, g.opt.Auth.OrgID())
	}
	ev := urlevent.Build(urlevent.FromHTTP(q.r, p))
	payload := ev.AppendJSON(make([]byte, 0, ev.SizeHint()))
	q.rec.EventSize = len(payload)
	if len(payload) <= inspect.MaxEvent {
		q.rec.Event = payload // shared, not copied: an event is never modified once built
	}
	q.rec.Timing.Event = g.opt.Now().Sub(start)
	if len(payload) > urlevent.MaxEventBytes {
		g.refuse(q, inspect.StageEvent, http.StatusRequestEntityTooLarge, bodyTooLarge, "RequestTooLargeException",
			&inspect.Decision{Reason: fmt.Sprintf("event of %d bytes exceeds %d", len(payload), urlevent.MaxEventBytes)})
		return false
	}
	q.payload = payload
	return true
}

// invoke runs the function. It answers throttles and failures to invoke itself; a result
// (even a function error) goes on to respond.
func (g *Gateway) invoke(q *request) (*pool.Result, bool) {
	q.rec.Stage = inspect.StageInvoke
	t := q.t
	streaming := t.Config.InvokeMode == lambda.InvokeStream
	preq := &pool.Request{
		RequestID:          q.rec.RequestID,
		Payload:            q.payload,
		InvokedFunctionARN: t.InvokedARN,
		TraceID:            "Root=" + q.root + ";Parent=" + q.parent + ";Sampled=0",
		Streaming:          streaming,
	}
	ctx := q.r.Context()
	if !streaming {
		// A buffered invocation runs to its end even if the client leaves, as on AWS.
		ctx = context.WithoutCancel(ctx)
	}
	fn := q.rec.Function
	start := g.opt.Now()
	g.rec.InFlight(fn, 1)
	res, err := g.inv.Invoke(ctx, t.Target, preq)
	g.rec.InFlight(fn, -1)
	wall := g.opt.Now().Sub(start)
	if err != nil {
		q.rec.Timing.Queue = wall
		var te *pool.ThrottleError
		if errors.As(err, &te) {
			g.rec.URLThrottle(fn, q.urlID)
			g.writeThrottle(q, te.Reason)
			q.rec.Decision = &inspect.Decision{Stage: inspect.StageInvoke, Status: http.StatusTooManyRequests, Reason: "throttled: " + te.Reason}
			return nil, false
		}
		if q.r.Context().Err() != nil {
			q.status = 499
			return nil, false
		}
		g.log.Error("gateway: invoke", "function", fn, "request_id", q.rec.RequestID, "err", err)
		g.write502(q, q.respTrace())
		return nil, false
	}
	rec := q.rec
	rec.Cold, rec.FunctionError, rec.ErrorType = res.ColdStart, res.FunctionError, res.ErrorType
	rec.Timing.Init, rec.Timing.Handler = res.InitDuration, res.Duration
	if qd := wall - res.InitDuration - res.Duration; qd > 0 && res.Stream == nil {
		rec.Timing.Queue = qd
	}
	if res.Stream == nil {
		rec.Result = inspect.Cut(res.Payload, inspect.MaxBody)
	} else {
		rec.Streamed = true
	}
	if res.ColdStart {
		g.rec.ColdStart(fn)
	}
	return res, true
}

func (q *request) respTrace() string {
	return "root=" + q.root + ";parent=" + q.parent + ";sampled=0"
}

// respond maps the function's answer (urlevent.MapResult / StreamHead) and writes it.
func (g *Gateway) respond(q *request, res *pool.Result) {
	q.rec.Stage = inspect.StageRespond
	start := g.opt.Now()
	defer func() { q.rec.Timing.Response = g.opt.Now().Sub(start) }()
	if res.Stream != nil {
		g.writeStream(q, res)
		return
	}
	if res.FunctionError != "" {
		g.log.Debug("gateway: function error", "function", q.rec.Function, "request_id", q.rec.RequestID, "type", res.ErrorType)
		g.write502(q, q.respTrace())
		return
	}
	out, err := urlevent.MapResult(urlevent.Result{
		Streaming:   q.t.Config.InvokeMode == lambda.InvokeStream,
		ContentType: res.ContentType,
		Payload:     res.Payload,
	})
	if err != nil {
		g.log.Debug("gateway: malformed response", "function", q.rec.Function, "request_id", q.rec.RequestID, "err", err)
		g.write502(q, q.respTrace())
		return
	}
	h := q.w.Header()
	writeMapped(h, out)
	h["Content-Length"] = []string{strconv.Itoa(len(out.Body))}
	g.invokedHeaders(h, q.r, q.rec.RequestID, q.respTrace())
	if cors := q.t.Config.Cors; cors != nil {
		addCORS(h, cors, q.r.Header.Get("Origin"))
	}
	q.status = out.Status
	q.rec.ResponseHeaders = h
	q.rec.ResponseBody = inspect.Cut(out.Body, inspect.MaxBody)
	q.w.WriteHeader(out.Status)
	if q.r.Method != http.MethodHead {
		_, _ = q.w.Write(out.Body)
	}
}

// invokedHeaders adds the service headers of an invoked response (§3.2).
func (g *Gateway) invokedHeaders(h http.Header, r *http.Request, reqID, trace string) {
	v := []string{reqID, trace, "keep-alive"}
	h[hdrRequestID] = v[0:1:1]
	h[hdrTraceID] = v[1:2:2]
	if r.ProtoAtLeast(1, 1) && !r.Close && r.ProtoMajor == 1 {
		h["Connection"] = v[2:3:3]
	}
}

// writeMapped puts a mapped response's headers and cookies into h, keeping the function's
// spelling of header names.
func writeMapped(h http.Header, out *urlevent.Response) {
	for _, hd := range out.Headers {
		canon := http.CanonicalHeaderKey(hd.Name)
		switch canon {
		case "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive", "Upgrade", "Trailer":
			continue
		}
		if canon != hd.Name {
			switch canon {
			case "Content-Type", "Date":
				if _, ok := h[canon]; !ok {
					h[canon] = nil // suppress net/http's own value; the function's spelling is sent
				}
			}
		}
		h[hd.Name] = append(h[hd.Name], hd.Value)
	}
	for _, c := range out.Cookies {
		h["Set-Cookie"] = append(h["Set-Cookie"], c)
	}
}

func (g *Gateway) writeError(q *request, status int, body string, errType string, withTrace string) {
	h := q.w.Header()
	h["Content-Type"] = []string{"application/json"}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	h[hdrRequestID] = []string{q.rec.RequestID}
	if errType != "" {
		h[hdrErrorType] = []string{errType}
	}
	if withTrace != "" {
		h[hdrTraceID] = []string{withTrace}
	}
	q.status = status
	q.rec.ResponseHeaders = h
	q.rec.ResponseBody = inspect.Cut([]byte(body), inspect.MaxBody)
	q.w.WriteHeader(status)
	_, _ = io.WriteString(q.w, body)
}

// refuse answers a request a stage turned away with AWS's body, and keeps the reason for the
// log (403s at info level: the caller only sees AWS's generic body) and the record.
func (g *Gateway) refuse(q *request, stage string, status int, body, errType string, d *inspect.Decision) {
	d.Stage, d.Status = stage, status
	q.rec.Stage, q.rec.Decision = stage, d
	if status == http.StatusForbidden && q.t != nil {
		attrs := []any{"request_id", q.rec.RequestID, "function", q.rec.Function, "url_id", q.urlID,
			"stage", stage, "reason", d.Reason}
		if d.SigV4 != nil {
			attrs = append(attrs, "sigv4_check", d.SigV4.Check, "access_key_id", d.SigV4.AccessKeyID)
		}
		if d.IAM != nil && d.IAM.Statement != "" {
			attrs = append(attrs, "statement", d.IAM.Statement)
		}
		if d.IAM != nil && d.IAM.Condition != "" {
			attrs = append(attrs, "condition", d.IAM.Condition)
		}
		g.log.Info("gateway: request refused", attrs...)
	} else {
		g.log.Debug("gateway: request refused", "request_id", q.rec.RequestID, "url_id", q.urlID, "stage", stage,
			"status", status, "reason", d.Reason)
	}
	g.writeError(q, status, body, errType, "")
}

func (g *Gateway) write502(q *request, trace string) {
	g.writeError(q, http.StatusBadGateway, body502, "", trace)
}

func (g *Gateway) writeThrottle(q *request, reason string) {
	if reason == "" {
		reason = "ConcurrentInvocationLimitExceeded"
	}
	body := `{"Reason":"` + reason + `","Type":"User","message":"Rate Exceeded."}`
	g.writeError(q, http.StatusTooManyRequests, body, "TooManyRequestsException", "")
}

// headerBytes is the size of a request's header block as the limit counts it: each field's
// name and values.
func headerBytes(r *http.Request) int {
	n := len(r.Host)
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}

// traceIDs returns two new X-Ray ids (1-<8 hex secs>-<24 hex>): the service's own segment
// (Self) and a root for a request that brings none, and a parent id (16 hex).
func (g *Gateway) traceIDs(now time.Time) (self, root, parent string) {
	var b [8 + 12 + 12]byte
	u := uint32(now.Unix())
	for i := 0; i < len(b); i += 8 {
		x := rand.Uint64()
		for j := 0; j < 8 && i+j < len(b); j++ {
			b[i+j] = byte(x >> (8 * j))
		}
	}
	id := func(rnd []byte) string {
		var out [2 + 8 + 1 + 24]byte
		out[0], out[1] = '1', '-'
		ts := [4]byte{byte(u >> 24), byte(u >> 16), byte(u >> 8), byte(u)}
		hex.Encode(out[2:10], ts[:])
		out[10] = '-'
		hex.Encode(out[11:], rnd)
		return string(out[:])
	}
	return id(b[8:20]), id(b[20:32]), hex.EncodeToString(b[0:8])
}

// traceRoot extracts the Root= part of a client-supplied trace header.
func traceRoot(v string) string {
	for _, part := range strings.Split(v, ";") {
		part = strings.TrimSpace(part)
		if len(part) > 5 && strings.EqualFold(part[:5], "root=") {
			return part[5:]
		}
	}
	return ""
}

// authorize applies the URL's auth type (§5) through the identity service's one question:
// NONE asks for the anonymous caller (the resource policy alone), AWS_IAM authenticates the
// SigV4 signature first and asks for the principal (identity and resource policies). A refusal
// is answered with AWS's 403 body; the reason (which check, which statement) goes to the log
// and the record.
func (g *Gateway) authorize(q *request) bool {
	q.rec.Stage = inspect.StageAuth
	start := g.opt.Now()
	defer func() { q.rec.Timing.Auth = g.opt.Now().Sub(start) }()
	r, t := q.r, q.t
	deny := func(d *inspect.Decision) bool {
		g.refuse(q, inspect.StageAuth, http.StatusForbidden, bodyForbidden, "AccessDeniedException", d)
		return false
	}
	if g.opt.Auth == nil {
		q.sourceIP = urlevent.PeerIP(r.RemoteAddr)
		q.rec.SourceIP = q.sourceIP
		return deny(&inspect.Decision{Reason: "function URLs need an authorizer; none is configured"})
	}
	q.sourceIP = g.opt.Auth.SourceIP(r)
	q.rec.SourceIP = q.sourceIP
	switch t.Config.AuthType {
	case lambda.AuthNone:
	case lambda.AuthIAM:
		sum := sha256.Sum256(q.body)
		p, err := g.opt.Auth.Authenticate(r.Context(), r, hex.EncodeToString(sum[:]), "lambda")
		if err != nil {
			d := sigv4Decision(err)
			d.SigV4.Claimed = claimedAuthorization(r.Header.Get("Authorization"))
			return deny(d)
		}
		q.principal = p
		q.rec.Principal = p.ARN
	default:
		return deny(&inspect.Decision{Reason: "unknown auth type " + strconv.Quote(t.Config.AuthType)})
	}
	question := identity.Question{
		Principal: q.principal, Action: "lambda:InvokeFunctionUrl",
		Resource: t.ResourceARN, ResourceAccount: t.AccountID, ResourcePolicy: t.Policy, HTTP: r,
		Facts: iam.ContextInput{SourceIP: q.sourceIP, FunctionARN: t.ResourceARN, FunctionURLAuthType: t.Config.AuthType},
	}
	if d := g.ask(q, &question); d != nil {
		return deny(d)
	}
	if g.opt.RequireInvokeFunction {
		// AWS's rule for accounts created since October 2025: lambda:InvokeFunction too, with
		// lambda:InvokedViaFunctionUrl instead of the auth type.
		question.Action = "lambda:InvokeFunction"
		question.Facts.FunctionURLAuthType, question.Facts.InvokedViaFunctionURL = "", true
		if d := g.ask(q, &question); d != nil {
			return deny(d)
		}
	}
	return true
}

// ask puts one authorization question to the identity service; a refusal or a failure comes
// back as the record's decision, nil means allowed.
func (g *Gateway) ask(q *request, question *identity.Question) *inspect.Decision {
	d, _, err := g.opt.Auth.Decide(q.r.Context(), *question)
	if err != nil {
		var pe *identity.ResourcePolicyError
		if q.principal == nil && errors.As(err, &pe) {
			g.log.Warn("gateway: resource policy does not parse", "function", q.t.Config.FunctionName, "err", pe.Err)
			return &inspect.Decision{Reason: "the resource-based policy does not parse: gateway: parse policy: " + pe.Err.Error()}
		}
		return &inspect.Decision{Reason: "authorization failed: " + err.Error(), IAM: &inspect.IAMFailure{Action: question.Action}}
	}
	if d.Allowed {
		return nil
	}
	reason := d.Reason
	if d.Unmet != "" {
		reason += "; " + d.Unmet
	}
	return &inspect.Decision{Reason: reason, IAM: &inspect.IAMFailure{Action: question.Action, ExplicitDeny: d.ExplicitDeny,
		Statement: d.Statement, Policy: d.Policy, Condition: d.Unmet}}
}

// redactCanonical hides the session token a canonical request may carry as a signed header.
func redactCanonical(cr string) string {
	const tok = "\nx-amz-security-token:"
	i := strings.Index(cr, tok)
	if i < 0 {
		return cr
	}
	j := strings.IndexByte(cr[i+len(tok):], '\n')
	if j < 0 {
		return cr[:i+len(tok)] + inspect.Redacted
	}
	return cr[:i+len(tok)] + inspect.Redacted + cr[i+len(tok)+j:]
}

// claimedAuthorization is an Authorization header with its Signature value redacted: what the
// request claims (algorithm, credential scope, signed headers) without the secret part.
func claimedAuthorization(h string) string {
	if h == "" {
		return ""
	}
	if !strings.HasPrefix(h, "AWS4-") {
		return inspect.Redacted // not SigV4: nothing to show that is not a secret
	}
	if len(h) > 2048 {
		h = h[:2048]
	}
	i := strings.Index(h, "Signature=")
	if i < 0 {
		return h
	}
	j := strings.IndexAny(h[i:], ", ")
	rest := ""
	if j >= 0 {
		rest = h[i+j:]
	}
	return h[:i] + "Signature=" + inspect.Redacted + rest
}

// sigv4Decision explains an authentication failure: the AWS error code and message, and for a
// signature mismatch which check failed and what furl computed.
func sigv4Decision(err error) *inspect.Decision {
	d := &inspect.Decision{Reason: "authentication failed: " + err.Error(), SigV4: &inspect.SigV4Failure{}}
	if ae := awserr.As(err); ae != nil {
		d.SigV4.Code = ae.Code
		d.Reason = "authentication failed: " + ae.Code + ": " + ae.Message
	}
	var m *sigv4.Mismatch
	if errors.As(err, &m) {
		d.SigV4.Check, d.SigV4.AccessKeyID = m.Check, m.AccessKeyID
		d.SigV4.CanonicalRequest, d.SigV4.StringToSign = redactCanonical(m.CanonicalRequest), m.StringToSign
		d.Reason = "authentication failed: " + m.Error()
	}
	return d
}
