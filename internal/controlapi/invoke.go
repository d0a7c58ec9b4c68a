package controlapi

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/furl/furl/internal/awserr"
	"github.com/furl/furl/internal/functions"
	"github.com/furl/furl/internal/invocationlog"
	"github.com/furl/furl/internal/pool"
)

// invokeParams are the parsed Invoke headers.
type invokeParams struct {
	ref           functions.Ref
	typ           string
	tail          bool
	clientContext string
	payload       []byte
}

func (h *Handler) invokeParams(c *call, stream bool) (*invokeParams, error) {
	ref, err := h.ref(c)
	if err != nil {
		return nil, err
	}
	p := &invokeParams{ref: ref, typ: c.r.Header.Get("X-Amz-Invocation-Type"), payload: c.body}
	if p.typ == "" {
		p.typ = "RequestResponse"
	}
	if p.typ != "RequestResponse" && p.typ != "DryRun" && (stream || p.typ != "Event") {
		enum := "[Event, RequestResponse, DryRun]"
		if stream {
			enum = "[RequestResponse, DryRun]"
		}
		return nil, awserr.Validation("1 validation error detected: Value '%s' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: %s", p.typ, enum)
	}
	switch lt := c.r.Header.Get("X-Amz-Log-Type"); lt {
	case "", "None":
	case "Tail":
		p.tail = true
	default:
		return nil, awserr.Validation("1 validation error detected: Value '%s' at 'logType' failed to satisfy constraint: Member must satisfy enum value set: [None, Tail]", lt)
	}
	if cc := c.r.Header.Get("X-Amz-Client-Context"); cc != "" {
		if len(cc) > 3583 {
			return nil, awserr.InvalidParameter("Client context must be at most 3583 bytes of base64.")
		}
		raw, err := base64.StdEncoding.DecodeString(cc)
		if err != nil || !json.Valid(raw) {
			return nil, awserr.InvalidParameter("Client context must be a valid Base64-encoded JSON object.")
		}
		p.clientContext = string(raw)
	}
	if len(strings.TrimSpace(string(p.payload))) == 0 {
		p.payload = []byte("{}")
	} else if !json.Valid(p.payload) {
		return nil, awserr.New(http.StatusBadRequest, "InvalidRequestContentException", "Could not parse request body into json: Could not parse payload into json: Unexpected character: was expecting a valid JSON value")
	}
	return p, nil
}

// invokeError maps a pool refusal to the API error.
func invokeError(err error) error {
	var te *pool.ThrottleError
	if errors.As(err, &te) {
		e := awserr.TooManyRequests(te.Reason, "Rate Exceeded.")
		e.Header = http.Header{"Retry-After": {"1"}}
		e.Cause = err
		return e
	}
	var ae *awserr.Error
	if errors.As(err, &ae) {
		return ae
	}
	return awserr.Internal(err)
}

// tailLog returns base64 of the last 4 KB of an invocation's log.
func tailLog(log []byte) string {
	if len(log) > 4096 {
		log = log[len(log)-4096:]
	}
	return base64.StdEncoding.EncodeToString(log)
}

func (h *Handler) invoke(c *call) error {
	p, err := h.invokeParams(c, false)
	if err != nil {
		return err
	}
	ctx := c.r.Context()
	switch p.typ {
	case "DryRun":
		if _, err := h.svc.Resolve(ctx, p.ref); err != nil {
			return err
		}
		return writeEmpty(c, http.StatusNoContent)
	case "Event":
		id, err := h.svc.EnqueueEvent(ctx, p.ref, p.payload, p.clientContext)
		if err != nil {
			return err
		}
		c.requestID = id
		return writeEmpty(c, http.StatusAccepted)
	}
	inv, err := h.svc.Resolve(ctx, p.ref)
	if err != nil {
		return err
	}
	c.requestID = uuid.NewString()
	res, err := h.invoker.Invoke(ctx, inv.Target, &pool.Request{
		RequestID: c.requestID, Payload: p.payload, InvokedFunctionARN: inv.InvokedARN, ClientContext: p.clientContext,
	})
	if err != nil {
		return invokeError(err)
	}
	body := res.Payload
	if res.Stream != nil {
		b, rerr := io.ReadAll(io.LimitReader(res.Stream, MaxInvokeBytes+1))
		res.Stream.Close()
		body = b
		if rerr != nil {
			return awserr.Internal(rerr)
		}
	}
	hd := c.w.Header()
	hd.Set("X-Amz-Executed-Version", inv.ExecutedVersion)
	if res.FunctionError != "" {
		hd.Set("X-Amz-Function-Error", res.FunctionError)
	}
	if p.tail {
		hd.Set("X-Amz-Log-Result", tailLog(res.Log))
	}
	return writeBody(c, http.StatusOK, "application/json", body)
}

// invokeStream answers InvokeWithResponseStream: an AWS event stream of PayloadChunk events
// and a final InvokeComplete.
func (h *Handler) invokeStream(c *call) error {
	p, err := h.invokeParams(c, true)
	if err != nil {
		return err
	}
	ctx := c.r.Context()
	inv, err := h.svc.Resolve(ctx, p.ref)
	if err != nil {
		return err
	}
	if p.typ == "DryRun" {
		return writeEmpty(c, http.StatusNoContent)
	}
	c.requestID = uuid.NewString()
	res, err := h.invoker.Invoke(ctx, inv.Target, &pool.Request{
		RequestID: c.requestID, Payload: p.payload, InvokedFunctionARN: inv.InvokedARN, ClientContext: p.clientContext, Streaming: true,
	})
	if err != nil {
		return invokeError(err)
	}
	hd := c.w.Header()
	hd.Set("Content-Type", "application/vnd.amazon.eventstream")
	hd.Set("X-Amzn-Requestid", c.requestID)
	hd.Set("X-Amz-Executed-Version", inv.ExecutedVersion)
	c.w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(c.w, 32<<10)
	flush := func() {
		_ = bw.Flush()
		if f, ok := c.w.(http.Flusher); ok {
			f.Flush()
		}
	}
	complete := map[string]string{}
	if res.Stream == nil {
		if len(res.Payload) > 0 {
			_, _ = bw.Write(PayloadChunk(res.Payload))
		}
		if res.FunctionError != "" {
			complete["ErrorCode"] = res.ErrorType
			if complete["ErrorCode"] == "" {
				complete["ErrorCode"] = res.FunctionError
			}
			complete["ErrorDetails"] = string(res.Payload)
		}
	} else {
		buf := make([]byte, 32<<10)
		for {
			n, rerr := res.Stream.Read(buf)
			if n > 0 {
				_, _ = bw.Write(PayloadChunk(buf[:n]))
				flush()
			}
			if rerr == io.EOF {
				break
			}
			if rerr != nil {
				var se *pool.StreamError
				if errors.As(rerr, &se) {
					complete["ErrorCode"], complete["ErrorDetails"] = se.Type, string(se.Body)
				} else {
					complete["ErrorCode"], complete["ErrorDetails"] = "Runtime.Unknown", rerr.Error()
				}
				break
			}
		}
		res.Stream.Close()
	}
	if p.tail {
		complete["LogResult"] = tailLog(res.Log)
	}
	b, _ := json.Marshal(complete)
	_, _ = bw.Write(InvokeComplete(b))
	flush()
	return nil
}

// ---- logs ----

// logLine is one line of the logs endpoint's NDJSON answer.
type logLine struct {
	Timestamp int64  `json:"timestamp"`
	RequestID string `json:"requestId,omitempty"`
	Stream    string `json:"logStream,omitempty"`
	Message   string `json:"message"`
}

// getLogs serves GET /furl/v1/functions/{name}/logs?since=<RFC3339|unix-ms|duration>&follow=1&limit=N
// as newline-delimited JSON, streaming new lines while follow is set.
func (h *Handler) getLogs(c *call) error {
	name, err := h.unqualified(c)
	if err != nil {
		return err
	}
	if _, err := h.svc.GetFunction(c.r.Context(), functions.Ref{Name: name}); err != nil {
		return err
	}
	if h.logs == nil {
		return awserr.NotFound("Logs are not available on this server.")
	}
	since := time.Now().Add(-time.Hour)
	if v := c.query("since"); v != "" {
		t, err := parseSince(v, time.Now())
		if err != nil {
			return awserr.InvalidParameter("since: %v", err)
		}
		since = t
	}
	limit := 0
	if v := c.query("limit"); v != "" {
		limit, _ = strconv.Atoi(v)
	}
	hd := c.w.Header()
	hd.Set("Content-Type", "application/x-ndjson")
	hd.Set("X-Amzn-Requestid", c.requestID)
	enc := json.NewEncoder(c.w)
	write := func(ev invocationlog.Event) error {
		return enc.Encode(logLine{Timestamp: ev.Time.UnixMilli(), RequestID: ev.RequestID, Stream: ev.Stream, Message: ev.Message})
	}
	if c.query("follow") == "" || c.query("follow") == "0" {
		evs, err := h.logs.Since(name, since, limit)
		if err != nil {
			return awserr.Internal(err)
		}
		c.w.WriteHeader(http.StatusOK)
		for _, ev := range evs {
			if err := write(ev); err != nil {
				return nil
			}
		}
		return nil
	}
	c.w.WriteHeader(http.StatusOK)
	fl, _ := c.w.(http.Flusher)
	if fl != nil {
		fl.Flush()
	}
	_ = h.logs.Follow(c.r.Context(), name, since, func(ev invocationlog.Event) error {
		if err := write(ev); err != nil {
			return err
		}
		if fl != nil {
			fl.Flush()
		}
		return nil
	})
	return nil
}

// parseSince accepts RFC 3339, Unix milliseconds or a duration before now ("10m").
func parseSince(v string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.UnixMilli(n), nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return time.Time{}, errors.New("want RFC 3339, Unix milliseconds or a duration such as 10m")
	}
	return now.Add(-d), nil
}
