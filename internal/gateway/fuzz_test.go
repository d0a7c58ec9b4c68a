package gateway

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/furl/furl/internal/functions"
	"github.com/furl/furl/internal/identity"
	"github.com/furl/furl/internal/inspect"
	"github.com/furl/furl/internal/lambda"
	"github.com/furl/furl/internal/pool"
	"github.com/furl/furl/internal/store"
)

// fuzzResolver knows three URLs: a public NONE URL (buffered), a public RESPONSE_STREAM URL with
// CORS and a rate limit, and an AWS_IAM URL (signatures the fuzzer makes up are refused).
type fuzzResolver struct {
	urls map[string]*functions.URLTarget
}

func (r fuzzResolver) ResolveURL(_ context.Context, id string) (*functions.URLTarget, error) {
	if id == "gone" {
		return nil, functions.ErrURLTargetGone
	}
	if id == "broken" {
		return nil, errors.New("store is on fire")
	}
	return r.urls[id], nil
}

// fuzzInvoker answers with the fuzzed function answer: buffered, or streamed when the URL
// streams; a few answers are throttles and function errors.
type fuzzInvoker struct {
	answer      []byte
	contentType string
}

func (f fuzzInvoker) Invoke(_ context.Context, tg *pool.Target, req *pool.Request) (*pool.Result, error) {
	if !json.Valid(req.Payload) {
		return nil, errors.New("event is not JSON")
	}
	switch string(f.answer) {
	case "throttle":
		return nil, &pool.ThrottleError{Reason: "ReservedFunctionConcurrentInvocationLimitExceeded"}
	case "error":
		return &pool.Result{RequestID: req.RequestID, FunctionError: "Unhandled", ErrorType: "Runtime.ExitError", Payload: []byte(`{}`)}, nil
	}
	res := &pool.Result{RequestID: req.RequestID, ContentType: f.contentType, Duration: time.Millisecond}
	if req.Streaming {
		res.Stream = io.NopCloser(bytes.NewReader(f.answer))
	} else {
		res.Payload = f.answer
	}
	return res, nil
}

func fuzzTarget(id, authType, mode string, cors *lambda.CORS, rate float64) *functions.URLTarget {
	arn := lambda.FunctionARN("us-east-1", "000000000000", "fn-"+id, "")
	pol := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunctionUrl","Resource":"` + arn + `"}]}`
	return &functions.URLTarget{
		Config:      lambda.URLConfig{URLID: id, FunctionName: "fn-" + id, AuthType: authType, InvokeMode: mode, Cors: cors, RateLimit: rate, Burst: 1000},
		Target:      &pool.Target{FunctionName: "fn-" + id, FunctionARN: arn, Version: "$LATEST"},
		ResourceARN: arn, InvokedARN: arn, Policy: []byte(pol), AccountID: "000000000000",
	}
}

// FuzzServeHTTP drives Gateway.ServeHTTP end to end with a raw HTTP request and a function
// answer: the gateway never panics (other than net/http's ErrAbortHandler for an aborted
// stream), always answers a known status, and always finishes one inspection record.
func FuzzServeHTTP(f *testing.F) {
	seeds := []struct{ req, answer, ct string }{
		{"GET /lambda-url/u1/hello?a=1&a=2 HTTP/1.1\r\nHost: x\r\n\r\n", `{"statusCode":201,"body":"hi","cookies":["a=b"]}`, ""},
		{"POST /x HTTP/1.1\r\nHost: u1.lambda-url.us-east-1.on.aws\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nCookie: a=b\r\n\r\nabc", `"str"`, "application/json"},
		{"GET //pa2%25Fth/1 HTTP/1.1\r\nHost: s1.lambda-url.us-east-1.localhost:9000\r\nOrigin: https://a.example.com\r\n\r\n", "{\"statusCode\":200}\x00\x00\x00\x00\x00\x00\x00\x00body", "application/vnd.awslambda.http-integration-response"},
		{"OPTIONS / HTTP/1.1\r\nHost: s1.lambda-url.us-east-1.localhost\r\nOrigin: https://a.example.com\r\nAccess-Control-Request-Method: GET\r\n\r\n", "", ""},
		{"GET / HTTP/1.1\r\nHost: iam1.lambda-url.us-east-1.localhost\r\nAuthorization: AWS4-HMAC-SHA256 Credential=a/b/c/d/e, SignedHeaders=host, Signature=00\r\n\r\n", "", ""},
		{"GET /lambda-url/gone/ HTTP/1.1\r\nHost: x\r\n\r\n", "", ""},
		{"GET /lambda-url/broken/ HTTP/1.1\r\nHost: x\r\n\r\n", "", ""},
		{"GET /lambda-url/u1/ HTTP/1.1\r\nHost: x\r\nX-Amzn-Trace-Id: Root=1-2-3\r\n\r\n", "throttle", ""},
		{"GET /lambda-url/s1/ HTTP/1.1\r\nHost: x\r\n\r\n", "error", ""},
		{"HEAD /lambda-url/u1/ HTTP/1.1\r\nHost: x\r\n\r\n", `{"statusCode":"abc"}`, ""},
	}
	for _, s := range seeds {
		f.Add([]byte(s.req), []byte(s.answer), s.ct)
	}
	res := fuzzResolver{urls: map[string]*functions.URLTarget{
		"u1":   fuzzTarget("u1", lambda.AuthNone, lambda.InvokeBuffered, nil, 0),
		"s1":   fuzzTarget("s1", lambda.AuthNone, lambda.InvokeStream, &lambda.CORS{AllowOrigins: []string{"https://*.example.com"}, AllowMethods: []string{"GET"}, MaxAge: 5}, 1e6),
		"iam1": fuzzTarget("iam1", lambda.AuthIAM, lambda.InvokeBuffered, nil, 0),
	}}
	db, err := store.Open(context.Background(), filepath.Join(f.TempDir(), "furl.db"))
	if err != nil {
		f.Fatal(err)
	}
	defer db.Close()
	ids, err := identity.New(identity.Options{Store: db, AccountID: "000000000000", Region: "us-east-1",
		RootAccessKeyID: "AKIAFURLFUZZROOT0001", RootSecretAccessKey: "furl-fuzz-root-secret-key-000000000000000"})
	if err != nil {
		f.Fatal(err)
	}
	known := map[int]bool{200: true, 403: true, 413: true, 414: true, 429: true, 431: true, 499: true, 502: true}
	f.Fuzz(func(t *testing.T, raw, answer []byte, contentType string) {
		r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil {
			return
		}
		r.RemoteAddr = "192.0.2.1:1234"
		insp := inspect.NewStore(inspect.Options{})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		sub := insp.Subscribe(ctx)
		g := New(res, fuzzInvoker{answer: answer, contentType: contentType}, Options{Region: "us-east-1", Auth: ids, Inspect: insp, StreamMaxBytes: 1 << 10})
		w := httptest.NewRecorder()
		func() {
			defer func() {
				if p := recover(); p != nil && p != http.ErrAbortHandler {
					t.Fatalf("panic: %v", p)
				}
			}()
			g.ServeHTTP(w, r)
		}()
		select {
		case rec := <-sub:
			if rec.Status < 100 || (!known[rec.Status] && rec.Stage != inspect.StageRespond) {
				t.Fatalf("status %d at stage %s", rec.Status, rec.Stage)
			}
			if rec.Status != w.Code && rec.Status != 499 {
				t.Fatalf("record status %d, response %d", rec.Status, w.Code)
			}
			if rec.EventSize > 0 && rec.Event != nil && !json.Valid(rec.Event) {
				t.Fatalf("event is not JSON: %s", rec.Event)
			}
		default:
			t.Fatal("no inspection record")
		}
	})
}

func TestRedactCanonical(t *testing.T) {
	for in, want := range map[string]string{
		"GET\n/\n\nhost:x\nx-amz-security-token:SECRET\n\nhost;x-amz-security-token\nabc": "GET\n/\n\nhost:x\nx-amz-security-token:REDACTED\n\nhost;x-amz-security-token\nabc",
		"GET\n/\n\nhost:x\n\nhost\nabc": "GET\n/\n\nhost:x\n\nhost\nabc",
		"a\nx-amz-security-token:tail":  "a\nx-amz-security-token:REDACTED",
	} {
		if got := redactCanonical(in); got != want {
			t.Errorf("redactCanonical(%q) = %q, want %q", in, got, want)
		}
	}
}
