package gateway_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/furl/furl/internal/functions"
	"github.com/furl/furl/internal/gateway"
	"github.com/furl/furl/internal/inspect"
	"github.com/furl/furl/internal/lambda"
)

// syncBuf is a log sink safe for the server's goroutines.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func eventOf(t *testing.T, body string) (ev, rc, hs map[string]any) {
	t.Helper()
	if err := json.Unmarshal([]byte(body), &ev); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return ev, ev["requestContext"].(map[string]any), ev["headers"].(map[string]any)
}

// #14.5: AWS sends Self=1-…;Root=1-… even when the client sent no trace header; with one, the
// service's Self comes first and the client's Root is kept, and the response names that root.
func TestTraceHeader(t *testing.T) {
	e := newEnv(t, gateway.Options{})
	e.addURL("u1", "fn", lambda.URLConfig{}, publicPolicy("fn"), nil)

	resp := e.do("GET", "u1", "/", nil, nil)
	_, _, hs := eventOf(t, readAll(t, resp))
	m := traceRE.FindStringSubmatch(hs["x-amzn-trace-id"].(string))
	if m == nil {
		t.Fatalf("trace %q, want Self=1-…;Root=1-…", hs["x-amzn-trace-id"])
	}
	if m[1] != m[2] {
		t.Errorf("Self and Root epochs differ: %q", hs["x-amzn-trace-id"])
	}
	root := strings.SplitN(hs["x-amzn-trace-id"].(string), ";Root=", 2)[1]
	if got := resp.Header.Get("X-Amzn-Trace-Id"); !strings.HasPrefix(got, "root="+root+";parent=") {
		t.Errorf("response trace %q does not name root %s", got, root)
	}

	const client = "Root=1-65c12646-4483c50e0acfc05666a5fe0b;Parent=53995c3f42cd8ad8;Sampled=1"
	resp = e.do("GET", "u1", "/", nil, map[string]string{"X-Amzn-Trace-Id": client})
	_, _, hs = eventOf(t, readAll(t, resp))
	tr := hs["x-amzn-trace-id"].(string)
	if !strings.HasPrefix(tr, "Self=1-") || !strings.HasSuffix(tr, ";"+client) {
		t.Errorf("trace %q, want Self=…;%s", tr, client)
	}
	if got := resp.Header.Get("X-Amzn-Trace-Id"); !strings.HasPrefix(got, "root=1-65c12646-4483c50e0acfc05666a5fe0b;") {
		t.Errorf("response trace %q does not keep the client's root", got)
	}
}

// #15.2: requestContext.domainName is the Host header without its port, Host-style and
// path-style alike.
func TestDomainName(t *testing.T) {
	e := newEnv(t, gateway.Options{})
	e.addURL("u1", "fn", lambda.URLConfig{}, publicPolicy("fn"), nil)
	for _, host := range []string{"u1.lambda-url.us-east-1.localhost:9000", "u1.lambda-url.us-east-1.on.aws", "U1.Lambda-Url.us-east-1.example.com:8443"} {
		resp := e.do("GET", "", "/", nil, map[string]string{"Host": host})
		_, rc, hs := eventOf(t, readAll(t, resp))
		want, _, _ := strings.Cut(host, ":")
		if rc["domainName"] != want || hs["host"] != host {
			t.Errorf("Host %s: domainName %v, host header %v", host, rc["domainName"], hs["host"])
		}
	}
}

// #15.1 through the gateway: rawPath as sent, http.path normalised.
func TestPathNormalised(t *testing.T) {
	e := newEnv(t, gateway.Options{})
	e.addURL("u1", "fn", lambda.URLConfig{}, publicPolicy("fn"), nil)
	for raw, want := range map[string]string{"//pa2%25Fth/1": "/pa2%Fth/1", "//path/1": "/path/1"} {
		head, body := rawGet(t, e.srv.URL, "/lambda-url/u1"+raw, "")
		if !strings.Contains(head, " 200 ") {
			t.Fatalf("%s: %s", raw, head)
		}
		ev, rc, _ := eventOf(t, body)
		if ev["rawPath"] != raw || rc["http"].(map[string]any)["path"] != want {
			t.Errorf("%s: rawPath %v, path %v, want %s", raw, ev["rawPath"], rc["http"].(map[string]any)["path"], want)
		}
	}
}

// #16.3: over TLS the event says https, the listener's port and the TLS version and cipher in
// OpenSSL's names; client-sent values of those headers never reach the function.
func TestTLSHeaders(t *testing.T) {
	e := newEnv(t, gateway.Options{})
	e.addURL("u1", "fn", lambda.URLConfig{}, publicPolicy("fn"), nil)
	srv := httptest.NewUnstartedServer(e.gw)
	srv.TLS = &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "https://"))
	for _, tc := range []struct {
		name            string
		max             uint16
		version, cipher string
	}{
		{"TLS 1.2", tls.VersionTLS12, "TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", srv.URL+"/lambda-url/u1/", nil)
			req.Header.Set("X-Forwarded-Proto", "gopher")
			req.Header.Set("X-Amzn-Tls-Version", "forged")
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _, hs := eventOf(t, readAll(t, resp))
			for k, want := range map[string]string{"x-forwarded-proto": "https", "x-forwarded-port": port,
				"x-amzn-tls-version": tc.version, "x-amzn-tls-cipher-suite": tc.cipher} {
				if hs[k] != want {
					t.Errorf("%s = %v, want %s", k, hs[k], want)
				}
			}
		})
	}
	// TLS 1.3 with Go's default suites.
	srv13 := httptest.NewTLSServer(e.gw)
	t.Cleanup(srv13.Close)
	resp, err := srv13.Client().Get(srv13.URL + "/lambda-url/u1/")
	if err != nil {
		t.Fatal(err)
	}
	_, _, hs := eventOf(t, readAll(t, resp))
	if hs["x-amzn-tls-version"] != "TLSv1.3" || !strings.HasPrefix(hs["x-amzn-tls-cipher-suite"].(string), "TLS_") {
		t.Errorf("TLS 1.3: %v %v", hs["x-amzn-tls-version"], hs["x-amzn-tls-cipher-suite"])
	}
	// Plain HTTP: http, and no TLS headers even when the client sends some.
	resp = e.do("GET", "u1", "/", nil, map[string]string{"X-Amzn-Tls-Version": "forged", "X-Forwarded-Proto": "https"})
	_, _, hs = eventOf(t, readAll(t, resp))
	if hs["x-forwarded-proto"] != "http" || hs["x-amzn-tls-version"] != nil || hs["x-amzn-tls-cipher-suite"] != nil {
		t.Errorf("plain: %v", hs)
	}
}

// countingRecorder records which URL ids and functions reached the metrics.
type countingRecorder struct {
	mu   sync.Mutex
	ids  map[string]int
	fns  map[string]int
	thro int
}

func (c *countingRecorder) URLRequest(function, urlID string, status int, d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ids[urlID]++
	c.fns[function]++
}
func (c *countingRecorder) URLThrottle(function, urlID string)  {}
func (c *countingRecorder) ColdStart(function string)           {}
func (c *countingRecorder) InFlight(function string, delta int) {}

// #13.2: requests to unknown URL ids never become metric labels (200k random ids grew RSS by
// 680 MB and made /metrics take 15 s).
func TestMetricsOnlyResolvedURLs(t *testing.T) {
	rec := &countingRecorder{ids: map[string]int{}, fns: map[string]int{}}
	e := newEnv(t, gateway.Options{Metrics: rec})
	e.addURL("u1", "fn", lambda.URLConfig{}, publicPolicy("fn"), nil)
	for i := 0; i < 50; i++ {
		id := fmt.Sprintf("unknown%03d", i)
		readAll(t, e.do("GET", id, "/", nil, nil))
		readAll(t, e.do("GET", "", "/", nil, map[string]string{"Host": id + ".lambda-url.us-east-1.localhost"}))
	}
	readAll(t, e.do("GET", "u1", "/", nil, nil))
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.ids) != 1 || rec.ids["u1"] != 1 || len(rec.fns) != 1 || rec.fns["fn"] != 1 {
		t.Errorf("metrics saw ids %v functions %v; want only u1/fn", rec.ids, rec.fns)
	}
}

// #13.3: AWS-style limits on the request URI and headers, answered before anything is read.
func TestURIAndHeaderLimits(t *testing.T) {
	e := newEnv(t, gateway.Options{})
	e.addURL("u1", "fn", lambda.URLConfig{}, publicPolicy("fn"), nil)
	head, _ := rawGet(t, e.srv.URL, "/lambda-url/u1/?"+strings.Repeat("a&", gateway.MaxURLBytes/2+1), "")
	if !strings.Contains(head, " 414 ") {
		t.Errorf("long URI: %s", head)
	}
	head, _ = rawGet(t, e.srv.URL, "/lambda-url/u1/", "X-Big: "+strings.Repeat("x", gateway.MaxHeaderBytes)+"\r\n")
	if !strings.Contains(head, " 431 ") {
		t.Errorf("large headers: %s", head)
	}
	head, _ = rawGet(t, e.srv.URL, "/lambda-url/u1/?"+strings.Repeat("a&", 4000), "X-Ok: "+strings.Repeat("x", 8000)+"\r\n")
	if !strings.Contains(head, " 200 ") {
		t.Errorf("within limits: %s", head)
	}
}

// #14.3: a refusal keeps AWS's body, and the reason is logged at info level and kept in the
// inspection record: for SigV4 which check failed with the canonical request and string to
// sign furl computed, for IAM the policy decision.
func TestRefusalReasons(t *testing.T) {
	logs := &syncBuf{}
	insp := inspect.NewStore(inspect.Options{})
	e := newEnv(t, gateway.Options{Inspect: insp,
		Log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	e.addURL("iam1", "fn", lambda.URLConfig{AuthType: lambda.AuthIAM}, nil, nil)
	e.addURL("none1", "fn2", lambda.URLConfig{}, nil, nil)
	e.addURL("ip1", "fn3", lambda.URLConfig{}, []byte(`{"Version":"2012-10-17","Statement":[{"Sid":"OfficeOnly","Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunctionUrl","Resource":"`+
		fnARN("fn3")+`","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}`), nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sub := insp.Subscribe(ctx)
	next := func() *inspect.Record {
		t.Helper()
		select {
		case r := <-sub:
			return r
		case <-time.After(10 * time.Second):
			t.Fatal("no record")
		}
		return nil
	}

	t.Run("sigv4 query order", func(t *testing.T) {
		// Signed as curl 7.88 signs: the query in the order sent, not sorted.
		req, _ := http.NewRequest("GET", e.srv.URL+"/?b=2&a=1", nil)
		req.Host = "iam1.lambda-url.us-east-1.localhost"
		signUnsorted(t, req)
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if body := readAll(t, resp); resp.StatusCode != 403 || body != forbidden {
			t.Fatalf("got %d %s", resp.StatusCode, body)
		}
		r := next()
		if r.Decision == nil || r.Decision.Stage != inspect.StageAuth || r.Decision.SigV4 == nil {
			t.Fatalf("decision %+v", r.Decision)
		}
		s := r.Decision.SigV4
		if s.Check != "query-order" || s.Code != "InvalidSignatureException" || !strings.Contains(s.CanonicalRequest, "\na=1&b=2\n") ||
			!strings.HasPrefix(s.StringToSign, "AWS4-HMAC-SHA256\n") || s.AccessKeyID != rootAK {
			t.Errorf("sigv4 failure %+v", s)
		}
		if r.Headers.Get("Authorization") != inspect.Redacted {
			t.Errorf("authorization kept in the record: %q", r.Headers.Get("Authorization"))
		}
		if l := logs.String(); !strings.Contains(l, "level=INFO") || !strings.Contains(l, "sigv4_check=query-order") ||
			!strings.Contains(l, "request_id="+r.RequestID) {
			t.Errorf("log:\n%s", l)
		}
	})
	t.Run("iam no statement", func(t *testing.T) {
		resp := e.do("GET", "none1", "/", nil, nil)
		if body := readAll(t, resp); resp.StatusCode != 403 || body != forbidden {
			t.Fatalf("got %d %s", resp.StatusCode, body)
		}
		r := next()
		if r.Decision == nil || r.Decision.IAM == nil || r.Decision.IAM.Action != "lambda:InvokeFunctionUrl" ||
			!strings.Contains(r.Decision.Reason, "implicit deny") || r.Function != "fn2" {
			t.Fatalf("record %+v decision %+v", r, r.Decision)
		}
		if !strings.Contains(logs.String(), "implicit deny") {
			t.Errorf("log:\n%s", logs.String())
		}
		// The refused request shows in the function's records, but not as an event.
		if got := insp.Recent("fn2"); len(got) != 1 || got[0].RequestID != r.RequestID {
			t.Errorf("Recent: %+v", got)
		}
		if evs := e.gw.RecentEvents("fn2"); len(evs) != 0 {
			t.Errorf("events of a refused request: %+v", evs)
		}
		// The event history lists it with its reason on request.
		rr := httptest.NewRecorder()
		e.gw.EventsHandler().ServeHTTP(rr, httptest.NewRequest("GET", "/furl/v1/functions/fn2/events?refused=true", nil))
		var got struct{ Events []gateway.RecordedEvent }
		if err := json.Unmarshal(rr.Body.Bytes(), &got); err != nil || len(got.Events) != 1 || got.Events[0].Refused == nil ||
			!strings.Contains(got.Events[0].Refused.Reason, "implicit deny") || got.Events[0].Status != 403 {
			t.Errorf("events?refused=true: %v %s", err, rr.Body)
		}
	})
	t.Run("iam condition", func(t *testing.T) {
		resp := e.do("GET", "ip1", "/", nil, nil)
		if body := readAll(t, resp); resp.StatusCode != 403 || body != forbidden {
			t.Fatalf("got %d %s", resp.StatusCode, body)
		}
		r := next()
		if r.Decision == nil || r.Decision.IAM == nil || !strings.Contains(r.Decision.IAM.Condition, "aws:SourceIp") ||
			!strings.Contains(r.Decision.IAM.Condition, "OfficeOnly") {
			t.Fatalf("decision %+v", r.Decision)
		}
		if l := logs.String(); !strings.Contains(l, "condition=") {
			t.Errorf("log:\n%s", l)
		}
	})
}

// signUnsorted signs req with its query in the order sent, as curl 7.88's --aws-sigv4 does.
func signUnsorted(t *testing.T, req *http.Request) {
	t.Helper()
	now := time.Now().UTC()
	amz := now.Format("20060102T150405Z")
	day := now.Format("20060102")
	const empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	cr := "GET\n/\n" + req.URL.RawQuery + "\nhost:" + req.Host + "\nx-amz-date:" + amz + "\n\nhost;x-amz-date\n" + empty
	sts := "AWS4-HMAC-SHA256\n" + amz + "\n" + day + "/" + region + "/lambda/aws4_request\n" + hexSHA([]byte(cr))
	key := hmacB([]byte("AWS4"+rootSK), day)
	key = hmacB(key, region)
	key = hmacB(key, "lambda")
	key = hmacB(key, "aws4_request")
	req.Header.Set("X-Amz-Date", amz)
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+rootAK+"/"+day+"/"+region+"/lambda/aws4_request, SignedHeaders=host;x-amz-date, Signature="+
		fmt.Sprintf("%x", hmacB(key, sts)))
}

// The inspection record of an invoked request: what came in (secrets redacted), the event,
// the result, the response and the timing.
func TestInspectionRecord(t *testing.T) {
	insp := inspect.NewStore(inspect.Options{})
	e := newEnv(t, gateway.Options{Inspect: insp})
	e.addURL("u1", "fn", lambda.URLConfig{}, publicPolicy("fn"), nil)
	resp := e.do("POST", "u1", "/p?q=1&X-Amz-Signature=secret", strings.NewReader("hello"),
		map[string]string{"Cookie": "session=secret", "Authorization": "Bearer secret", "Content-Type": "text/plain"})
	body := readAll(t, resp)
	recs := insp.Recent("fn")
	if len(recs) != 1 {
		t.Fatalf("records %d", len(recs))
	}
	r := recs[0]
	if r.RequestID != resp.Header.Get("x-amzn-RequestId") || r.URLID != "u1" || r.Method != "POST" || r.Path != "/p" ||
		r.Status != 200 || r.Stage != inspect.StageRespond || r.Decision != nil || r.SourceIP != "127.0.0.1" || r.AuthType != "NONE" {
		t.Errorf("record %+v", r)
	}
	if r.Query != "q=1&X-Amz-Signature=REDACTED" || r.Headers.Get("Cookie") != inspect.Redacted || r.Headers.Get("Authorization") != inspect.Redacted {
		t.Errorf("secrets: query %q headers %v", r.Query, r.Headers)
	}
	if string(r.Body.Data) != "hello" || string(r.ResponseBody.Data) != body || len(r.Event) != r.EventSize || r.Result.Size == 0 {
		t.Errorf("bodies: %+v / %+v / event %d", r.Body, r.ResponseBody, r.EventSize)
	}
	if !json.Valid(r.Event) || r.Timing.Total <= 0 || r.Timing.Handler <= 0 {
		t.Errorf("event/timing: %+v", r.Timing)
	}
	// The function itself got the Cookie and the bearer token (NONE URLs pass them through).
	_, _, hs := eventOf(t, body)
	if hs["cookie"] != "session=secret" || hs["authorization"] != "Bearer secret" {
		t.Errorf("event headers %v", hs)
	}
	if got := insp.Get(r.RequestID); got != r {
		t.Error("Get")
	}
}

// #15.5: a URL whose alias was deleted answers AWS's Forbidden body.
func TestDeletedAliasURL(t *testing.T) {
	e := newEnv(t, gateway.Options{})
	e.res.errs = map[string]error{"gone": fmt.Errorf("functions: resolve url gone: %w", functions.ErrURLTargetGone)}
	resp := e.do("GET", "gone", "/", nil, nil)
	if body := readAll(t, resp); resp.StatusCode != 403 || body != forbidden {
		t.Errorf("got %d %s", resp.StatusCode, body)
	}
}

func hexSHA(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func hmacB(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}
