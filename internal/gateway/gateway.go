// Package gateway is the function-URL data plane: it routes a request by Host label or
// /lambda-url/<id> path to a URL config, answers CORS preflights, enforces the body limit, the
// URL's auth type and rate limit, builds the payload v2.0 event (urlevent), invokes the function
// through the pool and writes the mapped response, buffered or streamed.
package gateway

import (
	"bytes"
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

	"github.com/furl/furl/internal/functions"
	"github.com/furl/furl/internal/iam"
	"github.com/furl/furl/internal/lambda"
	"github.com/furl/furl/internal/pool"
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

// Authenticator verifies SigV4 requests, authorizes principals and describes them as the
// event's requestContext.authorizer.iam (the identity service).
type Authenticator interface {
	Authenticate(ctx context.Context, r *http.Request, bodySHA256Hex string, service string) (*iam.Principal, error)
	Authorize(ctx context.Context, p *iam.Principal, req *iam.Request, resourcePolicy []byte) (iam.Decision, error)
	AuthorizerIAM(p *iam.Principal) *urlevent.IAMAuthorizer
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
	// Auth is needed for AWS_IAM URLs; without it they always answer 403.
	Auth Authenticator
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
	// TrustedProxies are peers whose X-Forwarded-For is believed for the source IP.
	TrustedProxies []*net.IPNet
	// EventHistory is how many recent events are kept per function (default 20; <0 = none).
	EventHistory int
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
	hist *history

	mu       sync.Mutex
	policies map[string]cachedPolicy // url id -> parsed resource policy
	buckets  map[string]*bucket      // url id -> rate limiter
}

type cachedPolicy struct {
	raw []byte
	pol *iam.Policy
	err error
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
		policies: map[string]cachedPolicy{}, buckets: map[string]*bucket{}}
	if g.rec == nil {
		g.rec = nopRecorder{}
	}
	if opt.EventHistory > 0 {
		g.hist = newHistory(opt.EventHistory)
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
	return strings.ToLower(id), strings.ToLower(rest[:j]), true
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

// reply is the state of one request, for the deferred accounting.
type reply struct {
	reqID    string
	function string
	urlID    string
	status   int
	start    time.Time
	recorded *recorded
}

// ServeHTTP serves one function-URL request.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rp := &reply{reqID: g.opt.NewID(), start: g.opt.Now()}
	defer g.finish(rp)
	id, prefix, ok := g.route(r)
	if !ok {
		g.writeUnknown(w, rp)
		return
	}
	rp.urlID = id
	t, err := g.res.ResolveURL(r.Context(), id)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			// The URL exists but what it points at does not (an alias being deleted): AWS
			// answers the Forbidden body here, not the unknown-URL one.
			g.writeForbidden(w, rp)
			return
		}
		g.log.Error("gateway: resolve url", "url_id", id, "request_id", rp.reqID, "err", err)
		g.write502(w, rp, "")
		return
	}
	if t == nil || t.Target == nil {
		g.writeUnknown(w, rp)
		return
	}
	rp.function = t.Config.FunctionName
	cfg := &t.Config

	if cfg.Cors != nil && r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		writePreflight(w, cfg.Cors, r.Header.Get("Origin"), rp.reqID)
		rp.status = http.StatusOK
		return
	}

	var body []byte
	if r.Body != nil && r.Body != http.NoBody {
		body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, g.opt.MaxBodyBytes))
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			g.writeTooLarge(w, rp)
			return
		}
		g.log.Debug("gateway: read body", "request_id", rp.reqID, "err", err)
		rp.status = 499 // client went away
		return
	}

	sourceIP := g.sourceIP(r)
	principal, allowed := g.authorize(r, t, body, sourceIP, rp.reqID)
	if !allowed {
		g.writeForbidden(w, rp)
		return
	}

	if !g.allowRate(id, cfg) {
		g.rec.URLThrottle(rp.function, id)
		g.writeThrottle(w, rp, "FunctionInvocationRateLimitExceeded")
		return
	}

	now := g.opt.Now()
	root, parent := g.traceIDs(now)
	in := urlevent.FromHTTP(r, prefix, body)
	in.URLID = id
	in.DomainName = lambda.URLHost(id, g.opt.Region, g.opt.EventDomain)
	in.RequestID = rp.reqID
	in.Time = now
	in.ForwardedPort = localPort(r)
	clientRoot := ""
	if tv := r.Header.Get("X-Amzn-Trace-Id"); tv != "" {
		in.TraceHeader = "Self=" + root + ";" + tv
		clientRoot = traceRoot(tv)
	} else {
		in.TraceHeader = "Root=" + root
	}
	if clientRoot != "" {
		root = clientRoot
	}
	if cfg.AuthType == lambda.AuthIAM && principal != nil {
		in.AccountID = principal.AccountID
		in.IAM = g.opt.Auth.AuthorizerIAM(principal)
	}
	ev := urlevent.Build(in)
	// The event's x-forwarded-for carries the TCP peer (FromHTTP); sourceIp is the caller,
	// which behind a trusted proxy is the address the proxy forwarded.
	ev.RequestContext.HTTP.SourceIP = sourceIP
	payload := ev.AppendJSON(make([]byte, 0, ev.SizeHint()))
	if len(payload) > urlevent.MaxEventBytes {
		g.writeTooLarge(w, rp)
		return
	}
	rp.recorded = g.hist.add(rp.function, id, rp.reqID, now, payload)

	streaming := cfg.InvokeMode == lambda.InvokeStream
	preq := &pool.Request{
		RequestID:          rp.reqID,
		Payload:            payload,
		InvokedFunctionARN: t.InvokedARN,
		TraceID:            "Root=" + root + ";Parent=" + parent + ";Sampled=0",
		Streaming:          streaming,
	}
	ctx := r.Context()
	if !streaming {
		// A buffered invocation runs to its end even if the client leaves, as on AWS.
		ctx = context.WithoutCancel(ctx)
	}
	g.rec.InFlight(rp.function, 1)
	res, err := g.inv.Invoke(ctx, t.Target, preq)
	g.rec.InFlight(rp.function, -1)
	respTrace := "root=" + root + ";parent=" + parent + ";sampled=0"
	if err != nil {
		var te *pool.ThrottleError
		if errors.As(err, &te) {
			g.rec.URLThrottle(rp.function, id)
			g.writeThrottle(w, rp, te.Reason)
			return
		}
		if r.Context().Err() != nil {
			rp.status = 499
			return
		}
		g.log.Error("gateway: invoke", "function", rp.function, "request_id", rp.reqID, "err", err)
		g.write502(w, rp, respTrace)
		return
	}
	if res.ColdStart {
		g.rec.ColdStart(rp.function)
	}
	if res.Stream != nil {
		g.writeStream(w, r, rp, cfg, res, respTrace)
		return
	}
	if res.FunctionError != "" {
		g.log.Debug("gateway: function error", "function", rp.function, "request_id", rp.reqID, "type", res.ErrorType)
		g.write502(w, rp, respTrace)
		return
	}
	var out *urlevent.Response
	switch {
	case urlevent.IsPrelude(res.ContentType) && streaming:
		out, err = urlevent.SplitPrelude(res.Payload)
		if err == nil {
			out.Headers = defaultCT(out.Headers, urlevent.StreamDefaultContentType)
		}
	case urlevent.IsPrelude(res.ContentType):
		// A streaming handler behind a BUFFERED URL: status forced to 200, body lost.
		out = &urlevent.Response{Status: 200, Headers: []urlevent.Header{{Name: "Content-Type", Value: urlevent.DefaultContentType}}}
	case streaming:
		// RESPONSE_STREAM URL in front of a buffered handler: the payload verbatim.
		ct := res.ContentType
		if ct == "" {
			ct = urlevent.DefaultContentType
		}
		out = &urlevent.Response{Status: 200, Headers: []urlevent.Header{{Name: "Content-Type", Value: ct}}, Body: res.Payload}
	default:
		out, err = urlevent.MapBuffered(res.Payload)
	}
	if err != nil {
		g.log.Debug("gateway: malformed response", "function", rp.function, "request_id", rp.reqID, "err", err)
		g.write502(w, rp, respTrace)
		return
	}
	h := w.Header()
	writeMapped(h, out)
	h["Content-Length"] = []string{strconv.Itoa(len(out.Body))}
	g.invokedHeaders(h, r, rp.reqID, respTrace)
	if cfg.Cors != nil {
		addCORS(h, cfg.Cors, r.Header.Get("Origin"))
	}
	rp.status = out.Status
	w.WriteHeader(out.Status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(out.Body)
	}
}

func defaultCT(hs []urlevent.Header, ct string) []urlevent.Header {
	for _, h := range hs {
		if strings.EqualFold(h.Name, "Content-Type") {
			return hs
		}
	}
	return append(hs, urlevent.Header{Name: "Content-Type", Value: ct})
}

// finish records metrics and the status of the recorded event.
func (g *Gateway) finish(rp *reply) {
	if rp.status == 0 {
		rp.status = 499
	}
	g.hist.setStatus(rp.recorded, rp.status)
	g.rec.URLRequest(rp.function, rp.urlID, rp.status, g.opt.Now().Sub(rp.start))
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

func (g *Gateway) writeError(w http.ResponseWriter, rp *reply, status int, body string, errType string, withTrace string) {
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	h[hdrRequestID] = []string{rp.reqID}
	if errType != "" {
		h[hdrErrorType] = []string{errType}
	}
	if withTrace != "" {
		h[hdrTraceID] = []string{withTrace}
	}
	rp.status = status
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func (g *Gateway) writeUnknown(w http.ResponseWriter, rp *reply) {
	g.writeError(w, rp, http.StatusForbidden, bodyUnknownURL, "AccessDeniedException", "")
}

func (g *Gateway) writeForbidden(w http.ResponseWriter, rp *reply) {
	g.writeError(w, rp, http.StatusForbidden, bodyForbidden, "AccessDeniedException", "")
}

func (g *Gateway) write502(w http.ResponseWriter, rp *reply, trace string) {
	g.writeError(w, rp, http.StatusBadGateway, body502, "", trace)
}

func (g *Gateway) writeTooLarge(w http.ResponseWriter, rp *reply) {
	g.writeError(w, rp, http.StatusRequestEntityTooLarge, bodyTooLarge, "RequestTooLargeException", "")
}

func (g *Gateway) writeThrottle(w http.ResponseWriter, rp *reply, reason string) {
	if reason == "" {
		reason = "ConcurrentInvocationLimitExceeded"
	}
	body := `{"Reason":"` + reason + `","Type":"User","message":"Rate Exceeded."}`
	g.writeError(w, rp, http.StatusTooManyRequests, body, "TooManyRequestsException", "")
}

// sourceIP is the TCP peer, or, when the peer is a trusted proxy, the right-most untrusted
// address of X-Forwarded-For.
func (g *Gateway) sourceIP(r *http.Request) string {
	peer := urlevent.PeerIP(r.RemoteAddr)
	if len(g.opt.TrustedProxies) == 0 || !g.trusted(peer) {
		return peer
	}
	xff := strings.Join(r.Header.Values("X-Forwarded-For"), ",")
	parts := strings.Split(xff, ",")
	for i := len(parts) - 1; i >= 0; i-- {
		ip := strings.TrimSpace(parts[i])
		if net.ParseIP(ip) == nil {
			break
		}
		if !g.trusted(ip) {
			return ip
		}
	}
	return peer
}

func (g *Gateway) trusted(ip string) bool {
	p := net.ParseIP(ip)
	if p == nil {
		return false
	}
	for _, n := range g.opt.TrustedProxies {
		if n.Contains(p) {
			return true
		}
	}
	return false
}

func localPort(r *http.Request) string {
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if _, port, err := net.SplitHostPort(a.String()); err == nil {
			return port
		}
	}
	if r.TLS != nil {
		return "443"
	}
	return "80"
}

// traceIDs returns a new X-Ray root (1-<8 hex secs>-<24 hex>) and parent (16 hex).
func (g *Gateway) traceIDs(now time.Time) (root, parent string) {
	var b [8 + 12 + 8]byte
	u := uint32(now.Unix())
	b[0], b[1], b[2], b[3] = byte(u>>24), byte(u>>16), byte(u>>8), byte(u)
	for i := 4; i < len(b); i += 8 {
		x := rand.Uint64()
		for j := 0; j < 8 && i+j < len(b); j++ {
			b[i+j] = byte(x >> (8 * j))
		}
	}
	var out [2 + 8 + 1 + 24]byte
	out[0], out[1] = '1', '-'
	hex.Encode(out[2:10], b[0:4])
	out[10] = '-'
	hex.Encode(out[11:], b[4:16])
	return string(out[:]), hex.EncodeToString(b[16:24])
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

// authorize applies the URL's auth type (§5). It returns the authenticated principal for
// AWS_IAM and whether the request may proceed.
func (g *Gateway) authorize(r *http.Request, t *functions.URLTarget, body []byte, sourceIP, reqID string) (*iam.Principal, bool) {
	ctxKeys := func() map[string][]string {
		now := g.opt.Now().UTC()
		vals := [...]string{t.Config.AuthType, t.ResourceARN, sourceIP, strconv.FormatBool(r.TLS != nil),
			now.Format(time.RFC3339), strconv.FormatInt(now.Unix(), 10), "", ""}
		v := vals[:] // one backing array for every value slice
		m := make(map[string][]string, 10)
		m["lambda:FunctionUrlAuthType"] = v[0:1:1]
		m["lambda:FunctionArn"] = v[1:2:2]
		m["aws:SourceIp"] = v[2:3:3]
		m["aws:SecureTransport"] = v[3:4:4]
		m["aws:CurrentTime"] = v[4:5:5]
		m["aws:EpochTime"] = v[5:6:6]
		if ua := r.Header.Get("User-Agent"); ua != "" {
			v[6] = ua
			m["aws:UserAgent"] = v[6:7:7]
		}
		if ref := r.Header.Get("Referer"); ref != "" {
			v[7] = ref
			m["aws:Referer"] = v[7:8:8]
		}
		return m
	}
	// decide answers one authorization question for the URL's auth type: NONE evaluates the
	// resource policy for the anonymous caller, AWS_IAM the principal's identity policies and
	// the resource policy through the identity service.
	var decide func(req *iam.Request) (iam.Decision, error)
	var p *iam.Principal
	switch t.Config.AuthType {
	case lambda.AuthNone:
		pol, err := g.policy(t)
		if err != nil {
			g.log.Warn("gateway: resource policy does not parse", "function", t.Config.FunctionName, "err", err)
			return nil, false
		}
		decide = func(req *iam.Request) (iam.Decision, error) { return iam.Evaluate(req, nil, pol), nil }
	case lambda.AuthIAM:
		if g.opt.Auth == nil {
			return nil, false
		}
		sum := sha256.Sum256(body)
		var err error
		p, err = g.opt.Auth.Authenticate(r.Context(), r, hex.EncodeToString(sum[:]), "lambda")
		if err != nil {
			g.log.Debug("gateway: authentication failed", "request_id", reqID, "err", err)
			return nil, false
		}
		decide = func(req *iam.Request) (iam.Decision, error) {
			return g.opt.Auth.Authorize(r.Context(), p, req, t.Policy)
		}
	default:
		return nil, false
	}
	allowed := func(action string, ctx map[string][]string) bool {
		d, err := decide(&iam.Request{Principal: p, Action: action, Resource: t.ResourceARN, ResourceAccount: t.AccountID, Context: ctx})
		if err != nil || !d.Allowed {
			g.log.Debug("gateway: denied", "request_id", reqID, "action", action, "reason", d.Reason, "err", err)
			return false
		}
		return true
	}
	if !allowed("lambda:InvokeFunctionUrl", ctxKeys()) {
		return p, false
	}
	if g.opt.RequireInvokeFunction {
		// AWS's rule for accounts created since October 2025: lambda:InvokeFunction too, with
		// lambda:InvokedViaFunctionUrl instead of the auth type.
		ctx := ctxKeys()
		delete(ctx, "lambda:FunctionUrlAuthType")
		ctx["lambda:InvokedViaFunctionUrl"] = []string{"true"}
		if !allowed("lambda:InvokeFunction", ctx) {
			return p, false
		}
	}
	return p, true
}

// policy returns the parsed resource policy of t, cached per URL while its text is unchanged.
func (g *Gateway) policy(t *functions.URLTarget) (*iam.Policy, error) {
	if len(bytes.TrimSpace(t.Policy)) == 0 {
		return nil, nil
	}
	id := t.Config.URLID
	g.mu.Lock()
	c, ok := g.policies[id]
	g.mu.Unlock()
	if ok && bytes.Equal(c.raw, t.Policy) {
		return c.pol, c.err
	}
	pol, err := iam.ParsePolicy(t.Policy)
	if err != nil {
		err = fmt.Errorf("gateway: parse policy: %w", err)
	}
	g.mu.Lock()
	g.policies[id] = cachedPolicy{raw: bytes.Clone(t.Policy), pol: pol, err: err}
	g.mu.Unlock()
	return pol, err
}
