package console

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/furl/furl/internal/lambda"
)

// Request is one function URL request as the inspector shows it: what was received (with
// credentials redacted), the event, the function's result, the response, the timing and, for
// a refusal, the decision explained.
type Request struct {
	ID            string
	Time          time.Time
	Function      string
	Qualifier     string
	URLID         string
	AuthType      string
	Method        string
	Path          string
	Query         string
	Headers       http.Header
	Body          []byte
	BodyTruncated bool
	SourceIP      string
	Principal     string
	Event         []byte
	Result        []byte
	FunctionError string
	Status        int
	RespHeaders   http.Header
	RespBody      []byte
	Cold          bool
	Timing        Timing
	Decision      *Decision
}

// Timing is where a request's time went.
type Timing struct {
	Auth, Queue, Init, Handler, Response, Total time.Duration
}

// Decision explains a refusal (or, for an allowed IAM request, which statement allowed it).
type Decision struct {
	Stage  string // admit stage: route, cors, body, auth, ratelimit, invoke
	Reason string
	SigV4  *SigV4Explain
	IAM    *IAMExplain
}

// SigV4Explain tells which SigV4 check failed and, when the key is known, what furl computed
// beside what the request claimed.
type SigV4Explain struct {
	Failed           string // which part failed (signature, scope, date, token, ...)
	KeyKnown         bool
	CanonicalRequest string
	StringToSign     string
	Claimed          string // the Authorization header as claimed, its signature redacted
}

// IAMExplain tells which statement decided and which condition did not match.
type IAMExplain struct {
	Allowed      bool
	ExplicitDeny bool
	Action       string
	Statement    string // the deciding statement (Sid or index), "" when none matched
	Policy       string // identity or resource
	Condition    string // the condition that did not match, if any
}

// Inspector is the source of inspection records (the gateway's inspect.Store, adapted).
type Inspector interface {
	Recent(function string) []*Request
	Get(id string) *Request
	Subscribe(ctx context.Context) <-chan *Request
}

// rowView is a request's summary line, sent as JSON to the live list too.
type rowView struct {
	ID        string `json:"id"`
	Time      string `json:"time"`
	Function  string `json:"function"`
	Method    string `json:"method"`
	Path      string `json:"path"`
	Status    int    `json:"status"`
	Duration  string `json:"duration"`
	Start     string `json:"start"`
	Caller    string `json:"caller"`
	Principal string `json:"principal"`
	Refused   string `json:"refused,omitempty"`
}

func rowOf(r *Request) rowView {
	v := rowView{ID: r.ID, Time: r.Time.UTC().Format("15:04:05.000"), Function: r.Function, Method: r.Method,
		Path: r.Path, Status: r.Status, Duration: fmtDuration(r.Timing.Total), Start: "warm",
		Caller: r.SourceIP, Principal: r.Principal}
	if r.Query != "" {
		v.Path += "?" + r.Query
	}
	if r.Cold {
		v.Start = "cold"
	}
	if r.Event == nil && r.Decision != nil {
		v.Start = "–"
	}
	if r.Decision != nil && r.Status >= 400 {
		v.Refused = r.Decision.Reason
	}
	if v.Principal == "" {
		v.Principal = "anonymous"
	}
	return v
}

// visibility caches, per live stream, whether the principal may see a function's requests
// (lambda:GetFunction), for a few seconds.
type visibility struct {
	c  *call
	mu sync.Mutex
	m  map[string]visEntry
}

type visEntry struct {
	ok bool
	at time.Time
}

func (v *visibility) may(function string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.c.h.opt.Now()
	if e, ok := v.m[function]; ok && now.Sub(e.at) < 5*time.Second {
		return e.ok
	}
	ok := v.c.allow("lambda:GetFunction", v.c.h.opt.Functions.ARN(function, ""), nil) == nil
	v.m[function] = visEntry{ok: ok, at: now}
	return ok
}

func (h *Handler) requestsPage(c *call, function string) {
	type body struct {
		Function string
		Denied   string
		Rows     []rowView
	}
	b := body{Function: function}
	vis := &visibility{c: c, m: map[string]visEntry{}}
	var recs []*Request
	if function != "" {
		if !vis.may(function) {
			b.Denied = denial(c.allow("lambda:GetFunction", h.opt.Functions.ARN(function, ""), nil))
		} else if h.opt.Inspect != nil {
			recs = h.opt.Inspect.Recent(function)
		}
	} else if err := c.allow("lambda:ListFunctions", "*", nil); err != nil {
		b.Denied = denial(err)
	} else if h.opt.Inspect != nil {
		fs, _, err := h.opt.Functions.ListFunctions(c.r.Context(), "", 50, false)
		if err != nil {
			c.fail(err)
			return
		}
		for _, f := range fs {
			if vis.may(f.Name) {
				recs = append(recs, h.opt.Inspect.Recent(f.Name)...)
			}
		}
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].Time.After(recs[j].Time) })
	if len(recs) > 200 {
		recs = recs[:200]
	}
	for _, r := range recs {
		b.Rows = append(b.Rows, rowOf(r))
	}
	status := http.StatusOK
	if b.Denied != "" {
		status = http.StatusForbidden
	}
	title := "Requests"
	if function != "" {
		title = "Requests · " + function
	}
	c.render(status, "requests", title, "requests", b)
}

// requestsStream sends each new request the principal may see as a server-sent event.
func (h *Handler) requestsStream(c *call, function string) {
	if h.opt.Inspect == nil {
		http.Error(c.w, "no inspector", http.StatusNotFound)
		return
	}
	vis := &visibility{c: c, m: map[string]visEntry{}}
	if function != "" && !vis.may(function) {
		err := c.allow("lambda:GetFunction", h.opt.Functions.ARN(function, ""), nil)
		http.Error(c.w, denial(err), http.StatusForbidden)
		return
	}
	ctx, cancel := context.WithCancel(c.r.Context())
	defer cancel()
	ch := h.opt.Inspect.Subscribe(ctx)
	s, ok := newSSE(c.w)
	if !ok {
		return
	}
	ping := time.NewTicker(20 * time.Second)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ping.C:
			if _, err := io.WriteString(c.w, ": ping\n\n"); err != nil {
				return
			}
			s.f.Flush()
		case r, ok := <-ch:
			if !ok {
				return
			}
			if (function != "" && r.Function != function) || !vis.may(r.Function) {
				continue
			}
			b, _ := json.Marshal(rowOf(r))
			if s.send("request", b) != nil {
				return
			}
		}
	}
}

// record returns the request id names if the principal may see it (lambda:GetFunction).
func (h *Handler) record(c *call, id string) (*Request, error) {
	if h.opt.Inspect == nil {
		return nil, errNotKept
	}
	r := h.opt.Inspect.Get(id)
	if r == nil {
		return nil, errNotKept
	}
	if err := c.allow("lambda:GetFunction", h.opt.Functions.ARN(r.Function, ""), nil); err != nil {
		return nil, err
	}
	return r, nil
}

var errNotKept = notFound("This request is no longer kept (retention is bounded per function).")

type requestView struct {
	R         *Request
	Row       rowView
	URL       string
	Headers   []kv
	Resp      []kv
	Body      string
	RespBody  string
	Event     string
	Result    string
	Logs      []logLine
	TimingSVG template.HTML
	Timings   []kv
	Curl      string
	Others    []rowView
	Result2   *invokeResult
	SendHdrs  string
	CSRF      string
}

type httpView struct {
	Status  int
	Headers []kv
	Body    string
}

func headerKVs(h http.Header) []kv {
	var out []kv
	for k, vs := range h {
		for _, v := range vs {
			out = append(out, kv{k, v})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].K < out[j].K })
	return out
}

func (h *Handler) requestView(c *call, r *Request) *requestView {
	v := &requestView{R: r, Row: rowOf(r), Headers: headerKVs(r.Headers), Resp: headerKVs(r.RespHeaders),
		Body: string(r.Body), RespBody: string(r.RespBody), Event: prettyJSON(r.Event), Result: prettyJSON(r.Result)}
	if r.URLID != "" {
		v.URL = h.opt.Functions.FunctionURL(r.URLID)
	}
	if h.opt.Logs != nil && r.Event != nil {
		evs, _ := h.opt.Logs.Since(r.Function, r.Time.Add(-time.Minute), 0)
		for _, e := range evs {
			if e.RequestID == r.ID {
				v.Logs = append(v.Logs, logLineOf(e.Time, e.RequestID, e.Message))
			}
		}
	}
	t := r.Timing
	v.Timings = []kv{{"auth", fmtDuration(t.Auth)}, {"queue", fmtDuration(t.Queue)}, {"init", fmtDuration(t.Init)},
		{"handler", fmtDuration(t.Handler)}, {"response", fmtDuration(t.Response)}, {"total", fmtDuration(t.Total)}}
	v.TimingSVG = timingChart(t)
	v.Curl = h.curl(r)
	v.CSRF = c.s.csrf
	var hs []string
	for _, p := range v.Headers {
		if skipSendHeader(p.K) {
			continue
		}
		hs = append(hs, p.K+": "+p.V)
	}
	v.SendHdrs = strings.Join(hs, "\n")
	if h.opt.Inspect != nil {
		for _, o := range h.opt.Inspect.Recent(r.Function) {
			if o.ID != r.ID && o.Event != nil {
				v.Others = append(v.Others, rowOf(o))
			}
		}
	}
	return v
}

// timingChart draws the stages of a request as one stacked bar.
func timingChart(t Timing) template.HTML {
	stages := []struct {
		d     time.Duration
		color string
	}{{t.Auth, "#8250df"}, {t.Queue, "#bf8700"}, {t.Init, "#cf222e"}, {t.Handler, "#1f6feb"}, {t.Response, "#2e7d32"}}
	var sum time.Duration
	for _, s := range stages {
		sum += s.d
	}
	if t.Total > sum {
		sum = t.Total
	}
	const w, hgt = 600, 18
	var b strings.Builder
	x := 0.0
	for _, s := range stages {
		if s.d <= 0 || sum <= 0 {
			continue
		}
		width := float64(s.d) / float64(sum) * w
		if width < 1 {
			width = 1
		}
		fmt.Fprintf(&b, `<rect x="%.1f" y="0" width="%.1f" height="%d" fill="%s"/>`, x, width, hgt, s.color)
		x += width
	}
	return template.HTML(fmt.Sprintf(`<svg class="timing" viewBox="0 0 %d %d" width="%d" height="%d" preserveAspectRatio="none" role="img" aria-label="timing">`+
		`<rect x="0" y="0" width="%d" height="%d" fill="#eaeef2"/>%s</svg>`, w, hgt, w, hgt, w, hgt, b.String()))
}

func (h *Handler) requestPage(c *call, id string) {
	r, err := h.record(c, id)
	if err != nil {
		c.fail(err)
		return
	}
	c.render(http.StatusOK, "request", "Request "+id, "requests", h.requestView(c, r))
}

// replay sends the recorded event again to the same function and qualifier, through the pool,
// authorized as lambda:InvokeFunction.
func (h *Handler) replay(c *call, id string) {
	r, err := h.record(c, id)
	if err != nil {
		c.fail(err)
		return
	}
	if r.Event == nil {
		c.fail(badRequest("This request never reached the function: there is no event to replay."))
		return
	}
	res := h.invokeEvent(c, r.Function, r.Qualifier, r.Event)
	res.Title = "Replay of " + r.ID
	v := h.requestView(c, r)
	v.Result2 = res
	c.render(http.StatusOK, "request", "Request "+id, "requests", v)
}

// skipSendHeader drops headers that belong to the connection or to the original signature.
func skipSendHeader(k string) bool {
	switch strings.ToLower(k) {
	case "host", "content-length", "authorization", "x-amz-date", "x-amz-security-token",
		"x-amz-content-sha256", "cookie", "connection", "transfer-encoding":
		return true
	}
	return false
}

// editAndSend sends an edited request through the real function-URL handler (path-style),
// as a client would; it appears in the inspector like any other request.
func (h *Handler) editAndSend(c *call, id string) {
	r, err := h.record(c, id)
	if err != nil {
		c.fail(err)
		return
	}
	if h.opt.URLs == nil || r.URLID == "" {
		c.fail(badRequest("This request has no function URL to send to."))
		return
	}
	method := strings.ToUpper(strings.TrimSpace(c.r.PostFormValue("method")))
	if method == "" || strings.ContainsAny(method, " \t\r\n") || len(method) > 16 {
		c.fail(badRequest("Enter an HTTP method."))
		return
	}
	path := strings.TrimSpace(c.r.PostFormValue("path"))
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	target := "/lambda-url/" + r.URLID + path
	u, err := url.ParseRequestURI(target)
	if err != nil {
		c.fail(badRequest("The path is not a valid request target."))
		return
	}
	body := c.r.PostFormValue("body")
	req, err := http.NewRequestWithContext(c.r.Context(), method, u.String(), strings.NewReader(body))
	if err != nil {
		c.fail(badRequest("The request could not be built."))
		return
	}
	req.RequestURI = u.RequestURI()
	req.Host = c.r.Host
	req.RemoteAddr = c.r.RemoteAddr
	req.Proto, req.ProtoMajor, req.ProtoMinor = "HTTP/1.1", 1, 1
	for _, line := range strings.Split(c.r.PostFormValue("headers"), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		k = strings.TrimSpace(k)
		if !ok || k == "" || skipSendHeader(k) {
			continue
		}
		req.Header.Add(k, strings.TrimSpace(v))
	}
	rec := newCapture(256 << 10)
	h.opt.URLs.ServeHTTP(rec, req)
	v := h.requestView(c, r)
	v.Result2 = &invokeResult{Title: "Sent " + method + " " + path, Status: rec.status,
		HTTP: &httpView{Status: rec.status, Headers: headerKVs(rec.h), Body: rec.buf.String()}}
	if id := rec.h.Get("X-Amzn-Requestid"); id != "" {
		v.Result2.RecordLink = id
	}
	c.render(http.StatusOK, "request", "Request "+r.ID, "requests", v)
}

// curl renders the request as a curl command line; AWS_IAM URLs get --aws-sigv4 with the
// caller's credentials taken from the environment.
func (h *Handler) curl(r *Request) string {
	if r.URLID == "" {
		return ""
	}
	q := func(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
	u := strings.TrimSuffix(h.opt.Functions.FunctionURL(r.URLID), "/") + r.Path
	if r.Query != "" {
		u += "?" + r.Query
	}
	parts := []string{"curl", "-X", r.Method}
	if r.AuthType == lambda.AuthIAM {
		parts = append(parts, "--aws-sigv4", q("aws:amz:"+h.opt.Region+":lambda"),
			"--user", `"$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY"`)
	}
	for _, p := range headerKVs(r.Headers) {
		if skipSendHeader(p.K) || strings.EqualFold(p.K, "user-agent") || strings.EqualFold(p.K, "accept-encoding") {
			continue
		}
		parts = append(parts, "-H", q(p.K+": "+p.V))
	}
	if r.AuthType == lambda.AuthIAM && r.Headers.Get("X-Amz-Security-Token") != "" {
		parts = append(parts, "-H", `"x-amz-security-token: $AWS_SESSION_TOKEN"`)
	}
	if len(r.Body) > 0 {
		parts = append(parts, "--data-binary", q(string(r.Body)))
	}
	parts = append(parts, q(u))
	return strings.Join(parts, " ")
}

// capture is a bounded in-memory http.ResponseWriter.
type capture struct {
	h      http.Header
	status int
	buf    strings.Builder
	max    int
}

func newCapture(max int) *capture { return &capture{h: http.Header{}, max: max} }

func (w *capture) Header() http.Header { return w.h }
func (w *capture) WriteHeader(s int) {
	if w.status == 0 {
		w.status = s
	}
}
func (w *capture) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if room := w.max - w.buf.Len(); room > 0 {
		if len(b) > room {
			w.buf.Write(b[:room])
		} else {
			w.buf.Write(b)
		}
	}
	return len(b), nil
}
func (w *capture) Flush() {}

// diffPage shows the line diff of two requests' events.
func (h *Handler) diffPage(c *call) {
	a, err := h.record(c, c.r.URL.Query().Get("a"))
	if err != nil {
		c.fail(err)
		return
	}
	b, err := h.record(c, c.r.URL.Query().Get("b"))
	if err != nil {
		c.fail(err)
		return
	}
	type body struct {
		A, B  rowView
		Lines []diffLine
	}
	c.render(http.StatusOK, "diff", "Diff", "requests", body{A: rowOf(a), B: rowOf(b),
		Lines: diffLines(strings.Split(prettyJSON(a.Event), "\n"), strings.Split(prettyJSON(b.Event), "\n"))})
}

type diffLine struct {
	Op   string // "same", "del", "add"
	Text string
}

// diffLines is a longest-common-subsequence line diff (inputs capped at 2000 lines each).
func diffLines(a, b []string) []diffLine {
	if len(a) > 2000 {
		a = a[:2000]
	}
	if len(b) > 2000 {
		b = b[:2000]
	}
	n, m := len(a), len(b)
	lcs := make([][]int32, n+1)
	for i := range lcs {
		lcs[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out []diffLine
	i, j := 0, 0
	for i < n && j < m {
		switch {
		case a[i] == b[j]:
			out = append(out, diffLine{"same", a[i]})
			i++
			j++
		case lcs[i+1][j] >= lcs[i][j+1]:
			out = append(out, diffLine{"del", a[i]})
			i++
		default:
			out = append(out, diffLine{"add", b[j]})
			j++
		}
	}
	for ; i < n; i++ {
		out = append(out, diffLine{"del", a[i]})
	}
	for ; j < m; j++ {
		out = append(out, diffLine{"add", b[j]})
	}
	return out
}
