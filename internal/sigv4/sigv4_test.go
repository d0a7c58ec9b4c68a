package sigv4

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/furl/furl/internal/awserr"
)

const (
	testAKID    = "AKIDTEST"
	testSecret  = "c2VjcmV0LXRlc3Qta2V5LWZvci1mdXJsLXNpZ3Y0"
	sessAKID    = "ASIATEST"
	sessSecret  = "c2Vzc2lvbi1zZWNyZXQ"
	sessToken   = "FwoGZXIvYXdzEJr//////////session+token/="
	expiredAKID = "ASIAEXPIRED"
)

// testKeys is the key store of these tests: a long-term key, a live session and an expired one.
func testKeys(now func() time.Time) KeyLookup {
	return KeyLookupFunc(func(_ context.Context, id string) (Credentials, error) {
		switch id {
		case testAKID:
			return Credentials{AccessKeyID: id, SecretAccessKey: testSecret, Subject: "user/alice"}, nil
		case sessAKID:
			return Credentials{AccessKeyID: id, SecretAccessKey: sessSecret, SessionToken: sessToken, Expiration: now().Add(time.Hour), Subject: "session"}, nil
		case expiredAKID:
			return Credentials{AccessKeyID: id, SecretAccessKey: sessSecret, SessionToken: sessToken, Expiration: now().Add(-time.Second)}, nil
		}
		return Credentials{}, ErrUnknownAccessKey
	})
}

// answer is what the loopback server reports for one request.
type answer struct {
	Status  int
	Code    string
	Message string
	Result  *Result
}

// newServer starts a loopback HTTP server that verifies every request the way furl's planes
// do: read the body, hash it, Verify, and answer AWS-shaped errors.
func newServer(t testing.TB, now func() time.Time, scope Scope) *httptest.Server {
	t.Helper()
	v := NewVerifier(now, testKeys(now))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 6<<20))
		if err != nil {
			awserr.WriteJSON(w, "", err)
			return
		}
		res, err := v.Verify(r.Context(), r, HashPayload(body), scope)
		if err != nil {
			awserr.WriteJSON(w, "", err)
			return
		}
		_ = json.NewEncoder(w).Encode(res)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func send(t testing.TB, r *http.Request) answer {
	t.Helper()
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{Status: resp.StatusCode, Code: resp.Header.Get("X-Amzn-Errortype")}
	if resp.StatusCode == 200 {
		a.Result = &Result{}
		if err := json.Unmarshal(b, a.Result); err != nil {
			t.Fatalf("decode %s: %v", b, err)
		}
		return a
	}
	var body map[string]any
	_ = json.Unmarshal(b, &body)
	a.Message, _ = body["message"].(string)
	return a
}

func sdkCreds(id, secret, token string) aws.Credentials {
	return aws.Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: token}
}

// signed builds a client request and signs it with aws-sdk-go-v2's v4 signer.
func signed(t testing.TB, srvURL, method, pathQuery string, body []byte, hdr map[string]string, creds aws.Credentials, service, region string, at time.Time) *http.Request {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	r, err := http.NewRequest(method, srvURL+pathQuery, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	if creds.SessionToken != "" {
		r.Header.Set("X-Amz-Security-Token", creds.SessionToken)
	}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, HashPayload(body), service, region, at); err != nil {
		t.Fatal(err)
	}
	return r
}

func lambdaScope() Scope { return Scope{Services: []string{"lambda"}, Regions: []string{"us-east-1"}} }

func TestSDKSignedRequests(t *testing.T) {
	now := time.Now().UTC()
	clock := func() time.Time { return now }
	srv := newServer(t, clock, lambdaScope())
	long := sdkCreds(testAKID, testSecret, "")
	cases := []struct {
		name      string
		method    string
		pathQuery string
		body      []byte
		hdr       map[string]string
		creds     aws.Credentials
	}{
		{"GET list", "GET", "/2015-03-31/functions", nil, nil, long},
		{"POST json", "POST", "/2015-03-31/functions", []byte(`{"FunctionName":"f"}`), map[string]string{"Content-Type": "application/json"}, long},
		{"ARN in path", "GET", "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Af/configuration", nil, nil, long},
		{"query sorted by signer", "GET", "/2015-03-31/functions?MaxItems=5&Marker=abc%20def&FunctionVersion=ALL", nil, nil, long},
		{"repeated and empty query", "GET", "/x?b=2&a=&a=1&c", nil, nil, long},
		{"space and unicode path", "POST", "/fn/some%20path/%C3%A9t%C3%A9/x", []byte("payload"), nil, long},
		{"dot segments kept by the Go SDK", "GET", "/edge-go/a/./b//c/../d/", nil, nil, long},
		{"header folding", "PUT", "/h", []byte("x"), map[string]string{"X-Custom": "  a   b  ", "Content-Type": "text/plain"}, long},
		{"session token", "POST", "/2015-03-31/functions/f/invocations", []byte(`{"k":1}`), nil, sdkCreds(sessAKID, sessSecret, sessToken)},
		{"big body", "POST", "/big", bytes.Repeat([]byte("0123456789"), 100000), nil, long},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := signed(t, srv.URL, tc.method, tc.pathQuery, tc.body, tc.hdr, tc.creds, "lambda", "us-east-1", now)
			a := send(t, r)
			if a.Status != 200 {
				t.Fatalf("%d %s %s", a.Status, a.Code, a.Message)
			}
			if a.Result.AccessKeyID != tc.creds.AccessKeyID || a.Result.Form != FormHeader || a.Result.SessionToken != tc.creds.SessionToken {
				t.Errorf("result %+v", a.Result)
			}
			if a.Result.Credentials.Subject == "" {
				t.Error("subject not passed through")
			}
		})
	}
}

func TestSDKPresigned(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	var clock time.Time
	srv := newServer(t, func() time.Time { return clock }, lambdaScope())
	presign := func(t *testing.T, pathQuery string, expires int, creds aws.Credentials) string {
		u := srv.URL + pathQuery
		sep := "?"
		if strings.Contains(u, "?") {
			sep = "&"
		}
		if expires != 0 {
			u += sep + "X-Amz-Expires=" + itoa(expires)
		}
		r, _ := http.NewRequest("GET", u, nil)
		if creds.SessionToken != "" {
			q := r.URL.Query()
			q.Set("X-Amz-Security-Token", creds.SessionToken)
			r.URL.RawQuery = q.Encode()
		}
		signedURL, _, err := v4.NewSigner().PresignHTTP(context.Background(), creds, r, EmptyPayloadHash, "lambda", "us-east-1", now)
		if err != nil {
			t.Fatal(err)
		}
		return signedURL
	}
	get := func(t *testing.T, u string) answer {
		r, err := http.NewRequest("GET", u, nil)
		if err != nil {
			t.Fatal(err)
		}
		return send(t, r)
	}
	cases := []struct {
		name     string
		path     string
		expires  int
		creds    aws.Credentials
		at       time.Duration
		code     string
		contains string
	}{
		{name: "fresh", path: "/2015-03-31/functions/f", expires: 300, creds: sdkCreds(testAKID, testSecret, "")},
		{name: "with query", path: "/2015-03-31/functions/f?Qualifier=live", expires: 300, creds: sdkCreds(testAKID, testSecret, "")},
		{name: "with session token", path: "/p", expires: 300, creds: sdkCreds(sessAKID, sessSecret, sessToken)},
		{name: "at expiry edge", path: "/p", expires: 60, at: 60 * time.Second, creds: sdkCreds(testAKID, testSecret, "")},
		{name: "long validity", path: "/p", expires: 604800, at: 6 * 24 * time.Hour, creds: sdkCreds(testAKID, testSecret, "")},
		{name: "expired", path: "/p", expires: 60, at: 61 * time.Second, creds: sdkCreds(testAKID, testSecret, ""), code: CodeInvalidSignature, contains: "Signature expired"},
		{name: "not yet current", path: "/p", expires: 60, at: -6 * time.Minute, creds: sdkCreds(testAKID, testSecret, ""), code: CodeInvalidSignature, contains: "not yet current"},
		{name: "over seven days", path: "/p", expires: 604801, creds: sdkCreds(testAKID, testSecret, ""), code: CodeIncompleteSignature, contains: "604800"},
		{name: "unknown key", path: "/p", expires: 60, creds: sdkCreds("AKIDNOPE", testSecret, ""), code: CodeUnrecognizedClient},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock = now.Add(tc.at)
			a := get(t, presign(t, tc.path, tc.expires, tc.creds))
			if tc.code == "" {
				if a.Status != 200 || a.Result.Form != FormQuery {
					t.Fatalf("%d %s %s", a.Status, a.Code, a.Message)
				}
				return
			}
			if a.Code != tc.code || !strings.Contains(a.Message, tc.contains) {
				t.Fatalf("got %d %s %q, want %s containing %q", a.Status, a.Code, a.Message, tc.code, tc.contains)
			}
		})
	}
	t.Run("tampered query", func(t *testing.T) {
		clock = now
		u := presign(t, "/p?Qualifier=live", 300, sdkCreds(testAKID, testSecret, ""))
		a := get(t, strings.Replace(u, "Qualifier=live", "Qualifier=prod", 1))
		if a.Code != CodeInvalidSignature || a.Message != MsgSignatureMismatch {
			t.Fatalf("%+v", a)
		}
	})
	t.Run("negative expiry", func(t *testing.T) {
		clock = now
		u := presign(t, "/p", 60, sdkCreds(testAKID, testSecret, ""))
		a := get(t, strings.Replace(u, "X-Amz-Expires=60", "X-Amz-Expires=-1", 1))
		if a.Code != CodeIncompleteSignature || !strings.Contains(a.Message, "non-negative") {
			t.Fatalf("%+v", a)
		}
		a = get(t, strings.Replace(u, "X-Amz-Expires=60", "X-Amz-Expires=soon", 1))
		if a.Code != CodeIncompleteSignature || !strings.Contains(a.Message, "should be a number") {
			t.Fatalf("%+v", a)
		}
	})
	t.Run("missing signature", func(t *testing.T) {
		clock = now
		u := presign(t, "/p", 300, sdkCreds(testAKID, testSecret, ""))
		pu, _ := url.Parse(u)
		q := pu.Query()
		q.Del("X-Amz-Signature")
		pu.RawQuery = q.Encode()
		a := get(t, pu.String())
		if a.Code != CodeIncompleteSignature || !strings.Contains(a.Message, "X-Amz-Signature") {
			t.Fatalf("%+v", a)
		}
	})
}

func TestTampering(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	var clock time.Time
	srv := newServer(t, func() time.Time { return clock }, lambdaScope())
	base := func(t *testing.T) *http.Request {
		return signed(t, srv.URL, "POST", "/2015-03-31/functions/f/invocations?Qualifier=live",
			[]byte(`{"a":1}`), map[string]string{"Content-Type": "application/json", "X-Amz-Content-Sha256": HashPayload([]byte(`{"a":1}`))},
			sdkCreds(testAKID, testSecret, ""), "lambda", "us-east-1", now)
	}
	mismatch := answer{Status: 403, Code: CodeInvalidSignature, Message: MsgSignatureMismatch}
	cases := []struct {
		name   string
		at     time.Duration
		mutate func(t *testing.T, r *http.Request) *http.Request
		want   answer // Status 200 = accepted
	}{
		{"untouched", 0, func(_ *testing.T, r *http.Request) *http.Request { return r }, answer{Status: 200}},
		{"unsigned header added", 0, func(_ *testing.T, r *http.Request) *http.Request { r.Header.Set("X-Extra", "1"); return r }, answer{Status: 200}},
		{"body changed", 0, func(_ *testing.T, r *http.Request) *http.Request {
			r.Body = io.NopCloser(strings.NewReader(`{"a":2}`))
			return r
		}, mismatch},
		{"signed header changed", 0, func(_ *testing.T, r *http.Request) *http.Request {
			r.Header.Set("Content-Type", "text/plain")
			return r
		}, mismatch},
		{"path changed", 0, func(_ *testing.T, r *http.Request) *http.Request {
			r.URL.Path = "/2015-03-31/functions/g/invocations"
			return r
		}, mismatch},
		{"query changed", 0, func(_ *testing.T, r *http.Request) *http.Request { r.URL.RawQuery = "Qualifier=prod"; return r }, mismatch},
		{"query added", 0, func(_ *testing.T, r *http.Request) *http.Request { r.URL.RawQuery += "&x=1"; return r }, mismatch},
		{"method changed", 0, func(_ *testing.T, r *http.Request) *http.Request { r.Method = "PUT"; return r }, mismatch},
		{"host changed", 0, func(_ *testing.T, r *http.Request) *http.Request { r.Host = "example.com"; return r }, mismatch},
		{"signature flipped", 0, func(_ *testing.T, r *http.Request) *http.Request {
			a := r.Header.Get("Authorization")
			last := a[len(a)-1]
			repl := byte('0')
			if last == '0' {
				repl = '1'
			}
			r.Header.Set("Authorization", a[:len(a)-1]+string(repl))
			return r
		}, mismatch},
		{"signature uppercase", 0, func(_ *testing.T, r *http.Request) *http.Request {
			a := r.Header.Get("Authorization")
			i := strings.Index(a, "Signature=")
			r.Header.Set("Authorization", a[:i+len("Signature=")]+strings.ToUpper(a[i+len("Signature="):]))
			return r
		}, mismatch},
		{"content sha256 lies", 0, func(_ *testing.T, r *http.Request) *http.Request {
			r.Body = io.NopCloser(strings.NewReader(`{"a":9}`))
			return r
		}, mismatch},
		{"expired", 5*time.Minute + time.Second, nil, answer{Status: 403, Code: CodeInvalidSignature}},
		{"within skew", 5 * time.Minute, nil, answer{Status: 200}},
		{"future", -5*time.Minute - time.Second, nil, answer{Status: 403, Code: CodeInvalidSignature}},
		{"no auth at all", 0, func(_ *testing.T, r *http.Request) *http.Request { r.Header.Del("Authorization"); return r },
			answer{Status: 403, Code: CodeMissingAuthToken, Message: MsgMissingAuthentication}},
		{"bearer token", 0, func(_ *testing.T, r *http.Request) *http.Request {
			r.Header.Set("Authorization", "Bearer abc")
			return r
		},
			answer{Status: 400, Code: CodeIncompleteSignature}},
		{"missing signature part", 0, func(_ *testing.T, r *http.Request) *http.Request {
			a := r.Header.Get("Authorization")
			r.Header.Set("Authorization", a[:strings.Index(a, ", Signature=")])
			return r
		}, answer{Status: 400, Code: CodeIncompleteSignature, Message: "Authorization header requires 'Signature' parameter. Authorization="}},
		{"missing date", 0, func(_ *testing.T, r *http.Request) *http.Request { r.Header.Del("X-Amz-Date"); return r },
			answer{Status: 400, Code: CodeIncompleteSignature, Message: "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."}},
		{"bad credential", 0, func(_ *testing.T, r *http.Request) *http.Request {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/aws4_request", "", 1))
			return r
		}, answer{Status: 400, Code: CodeIncompleteSignature, Message: "Credential must have exactly 5 slash-delimited elements"}},
		{"bad terminator", 0, func(_ *testing.T, r *http.Request) *http.Request {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/aws4_request", "/aws5_request", 1))
			return r
		}, answer{Status: 403, Code: CodeInvalidSignature, Message: "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'."}},
		{"host not signed", 0, func(_ *testing.T, r *http.Request) *http.Request {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "host;", "", 1))
			return r
		}, answer{Status: 400, Code: CodeIncompleteSignature, Message: "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."}},
		{"scope date differs", 0, func(_ *testing.T, r *http.Request) *http.Request {
			r.Header.Set("X-Amz-Date", now.Add(24*time.Hour).Format(amzDateLayout))
			return r
		}, answer{Status: 403, Code: CodeInvalidSignature, Message: "Date in Credential scope does not match YYYYMMDD"}},
		{"token on long-term key", 0, func(_ *testing.T, r *http.Request) *http.Request { r.Header.Set("X-Amz-Security-Token", "x"); return r },
			answer{Status: 403, Code: CodeUnrecognizedClient, Message: MsgUnrecognizedClient}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock = now.Add(tc.at)
			r := base(t)
			if tc.mutate != nil {
				r = tc.mutate(t, r)
			}
			a := send(t, r)
			if a.Status != tc.want.Status || a.Code != tc.want.Code || !strings.HasPrefix(a.Message, tc.want.Message) {
				t.Fatalf("got %d %s %q\nwant %d %s %q", a.Status, a.Code, a.Message, tc.want.Status, tc.want.Code, tc.want.Message)
			}
		})
	}
}

func TestScopeAndKeys(t *testing.T) {
	now := time.Now().UTC()
	clock := func() time.Time { return now }
	srv := newServer(t, clock, lambdaScope())
	cases := []struct {
		name            string
		creds           aws.Credentials
		service, region string
		tokenOverride   *string
		status          int
		code, msg       string
	}{
		{"wrong service", sdkCreds(testAKID, testSecret, ""), "s3", "us-east-1", nil, 403, CodeInvalidSignature, "Credential should be scoped to correct service: 'lambda'. "},
		{"wrong region", sdkCreds(testAKID, testSecret, ""), "lambda", "eu-west-1", nil, 403, CodeInvalidSignature, "Credential should be scoped to a valid region."},
		{"unknown key", sdkCreds("AKIDUNKNOWN", testSecret, ""), "lambda", "us-east-1", nil, 403, CodeUnrecognizedClient, MsgUnrecognizedClient},
		{"wrong secret", sdkCreds(testAKID, "wrong", ""), "lambda", "us-east-1", nil, 403, CodeInvalidSignature, MsgSignatureMismatch},
		{"session ok", sdkCreds(sessAKID, sessSecret, sessToken), "lambda", "us-east-1", nil, 200, "", ""},
		{"session without token", sdkCreds(sessAKID, sessSecret, ""), "lambda", "us-east-1", nil, 403, CodeUnrecognizedClient, MsgUnrecognizedClient},
		{"session wrong token", sdkCreds(sessAKID, sessSecret, sessToken+"x"), "lambda", "us-east-1", nil, 403, CodeUnrecognizedClient, MsgUnrecognizedClient},
		{"expired session", sdkCreds(expiredAKID, sessSecret, sessToken), "lambda", "us-east-1", nil, 403, CodeExpiredToken, MsgExpiredToken},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := signed(t, srv.URL, "GET", "/2015-03-31/functions", nil, nil, tc.creds, tc.service, tc.region, now)
			a := send(t, r)
			if a.Status != tc.status || a.Code != tc.code || a.Message != tc.msg {
				t.Fatalf("got %d %s %q, want %d %s %q", a.Status, a.Code, a.Message, tc.status, tc.code, tc.msg)
			}
		})
	}
	// Several services and any region.
	multi := newServer(t, clock, Scope{Services: []string{"iam", "sts"}})
	for _, sr := range [][2]string{{"iam", "us-east-1"}, {"sts", "eu-central-1"}} {
		a := send(t, signed(t, multi.URL, "POST", "/", []byte("Action=GetUser"), map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, sdkCreds(testAKID, testSecret, ""), sr[0], sr[1], now))
		if a.Status != 200 || a.Result.Service != sr[0] || a.Result.Region != sr[1] {
			t.Errorf("%v: %+v", sr, a)
		}
	}
	a := send(t, signed(t, multi.URL, "POST", "/", nil, nil, sdkCreds(testAKID, testSecret, ""), "iam", "bad_region!", now))
	if a.Code != CodeInvalidSignature || !strings.Contains(a.Message, "valid region") {
		t.Errorf("bad region: %+v", a)
	}
}

func TestUnsignedPayload(t *testing.T) {
	now := time.Now().UTC()
	body := []byte("hello")
	mk := func() *http.Request {
		r, _ := http.NewRequest("POST", "http://127.0.0.1:1/up", bytes.NewReader(body))
		r.Header.Set("X-Amz-Content-Sha256", UnsignedPayload)
		if err := v4.NewSigner().SignHTTP(context.Background(), sdkCreds(testAKID, testSecret, ""), r, UnsignedPayload, "lambda", "us-east-1", now); err != nil {
			t.Fatal(err)
		}
		return asServer(r)
	}
	v := NewVerifier(func() time.Time { return now }, testKeys(func() time.Time { return now }))
	_, err := v.Verify(context.Background(), mk(), HashPayload(body), lambdaScope())
	wantCode(t, err, CodeInvalidSignature, 403)
	v.AllowUnsignedPayload = true
	if _, err := v.Verify(context.Background(), mk(), HashPayload(body), lambdaScope()); err != nil {
		t.Fatalf("allowed unsigned payload: %v", err)
	}
}

// asServer turns a client request into what a net/http server hands its handler.
func asServer(r *http.Request) *http.Request {
	s := r.Clone(context.Background())
	s.RequestURI = r.URL.RequestURI()
	s.Host = r.URL.Host
	if r.Host != "" {
		s.Host = r.Host
	}
	if r.ContentLength > 0 {
		s.Header.Set("Content-Length", itoa(int(r.ContentLength)))
	}
	return s
}

// botocoreScript signs a set of requests with botocore's SigV4Auth / SigV4QueryAuth (the
// signer of boto3 and the AWS CLI) and prints them as JSON lines.
const botocoreScript = `
import json, sys
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
base = sys.argv[1]
long = Credentials("AKIDTEST", "c2VjcmV0LXRlc3Qta2V5LWZvci1mdXJsLXNpZ3Y0")
sess = Credentials("ASIATEST", "c2Vzc2lvbi1zZWNyZXQ", "FwoGZXIvYXdzEJr//////////session+token/=")
cases = [
  ("json post", "POST", "/2015-03-31/functions", b'{"FunctionName":"f"}', {"Content-Type": "application/json"}, long, False),
  ("arn path", "GET", "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Af", b"", {}, long, False),
  ("canonical query", "GET", "/2015-03-31/functions?MaxItems=5&Marker=abc%20def", b"", {}, long, False),
  ("dot segments", "GET", "/a/./b//c/../d/", b"", {}, long, False),
  ("session", "POST", "/2015-03-31/functions/f/invocations", b'{"x":1}', {}, sess, False),
  ("plus in query (hand-built URL)", "GET", "/q?b=x+y&a=1", b"", {}, long, False),
  ("presigned", "GET", "/2015-03-31/functions/f?Qualifier=live", b"", {}, long, True),
  ("presigned session", "GET", "/2015-03-31/functions/f", b"", {}, sess, True),
]
for name, method, path, body, headers, creds, presign in cases:
    req = AWSRequest(method=method, url=base + path, data=body, headers=headers)
    if presign:
        SigV4QueryAuth(creds, "lambda", "us-east-1", expires=120).add_auth(req)
    else:
        SigV4Auth(creds, "lambda", "us-east-1").add_auth(req)
    print(json.dumps({"name": name, "method": method, "url": req.url, "headers": dict(req.headers.items()), "body": body.decode()}))
`

func TestBotocoreSigned(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not available")
	}
	srv := newServer(t, time.Now, lambdaScope())
	out, err := exec.Command("python3", "-c", botocoreScript, srv.URL).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok && strings.Contains(string(ee.Stderr), "No module named") {
			t.Skipf("botocore not installed: %s", ee.Stderr)
		}
		t.Fatalf("python3: %v", err)
	}
	n := 0
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		var c struct {
			Name, Method, URL, Body string
			Headers                 map[string]string
		}
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		n++
		t.Run(c.Name, func(t *testing.T) {
			var rd io.Reader
			if c.Body != "" {
				rd = strings.NewReader(c.Body)
			}
			r, err := http.NewRequest(c.Method, c.URL, rd)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range c.Headers {
				r.Header.Set(k, v)
			}
			a := send(t, r)
			if a.Status != 200 {
				t.Fatalf("%d %s %s (url %s)", a.Status, a.Code, a.Message, c.URL)
			}
			if (a.Result.Form == FormQuery) != strings.Contains(c.Name, "presigned") {
				t.Errorf("form %s", a.Result.Form)
			}
			if strings.Contains(c.Name, "session") && a.Result.SessionToken == "" {
				t.Error("no session token")
			}
		})
	}
	if n != 8 {
		t.Fatalf("%d botocore cases", n)
	}
}

func TestDateHeaderFallback(t *testing.T) {
	// botocore uses the Date header when the caller set one and no X-Amz-Date.
	now := time.Now().UTC().Truncate(time.Second)
	r, _ := http.NewRequest("GET", "http://127.0.0.1:9/p", nil)
	r.Header.Set("Date", now.Format(http.TimeFormat))
	date := now.Format(amzDateLayout)
	// Sign by hand: the string to sign uses the basic form of the Date header.
	cr := "GET\n/p\n\ndate:" + now.Format(http.TimeFormat) + "\nhost:127.0.0.1:9\n\ndate;host\n" + EmptyPayloadHash
	sts := Algorithm + "\n" + date + "\n" + date[:8] + "/us-east-1/lambda/aws4_request\n" + HashPayload([]byte(cr))
	sig := hmacSHA256(DeriveSigningKey(testSecret, date[:8], "us-east-1", "lambda"), sts)
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+testAKID+"/"+date[:8]+"/us-east-1/lambda/aws4_request, SignedHeaders=date;host, Signature="+hex.EncodeToString(sig))
	v := NewVerifier(func() time.Time { return now }, testKeys(func() time.Time { return now }))
	res, err := v.Verify(context.Background(), asServer(r), "", lambdaScope())
	if err != nil {
		cr2, _ := CanonicalRequest(asServer(r), EmptyPayloadHash)
		t.Fatalf("%v\n%s", err, cr2)
	}
	if !res.Date.Equal(now) {
		t.Errorf("date %v", res.Date)
	}
}

func TestCanonicalHelpers(t *testing.T) {
	paths := []struct{ in, want string }{
		{"", "/"},
		{"/", "/"},
		{"/a/b", "/a/b"},
		{"/a/./b//c/../d/", "/a/b/d/"},
		{"/..", "/"},
		{"/a/..", "/"},
		{"/a/.", "/a/"},
		{"//", "/"},
		{"/a/.hidden", "/a/.hidden"},
	}
	for _, p := range paths {
		if got := normalisePath(p.in); got != p.want {
			t.Errorf("normalisePath(%q) = %q, want %q", p.in, got, p.want)
		}
	}
	qs := []struct{ in, want string }{
		{"", ""},
		{"b=2&a=1", "a=1&b=2"},
		{"a=2&a=1&a=", "a=&a=1&a=2"},
		{"d&c=", "c=&d="},
		{"b=x+y&c=%2B&e=%7e&f=a/b", "b=x%20y&c=%2B&e=~&f=a%2Fb"},
		{"&&a=1&", "a=1"},
		{"bad=%zz", "bad=%25zz"},
	}
	for _, q := range qs {
		if got := string(appendCanonicalQuery(nil, q.in, false, false, false)); got != q.want {
			t.Errorf("query %q = %q, want %q", q.in, got, q.want)
		}
	}
	if got := string(appendTrimmed(nil, "  a \t b   c ")); got != "a b c" {
		t.Errorf("trimmed %q", got)
	}
	if !queryNeedsEncoding("b=x+y") || queryNeedsEncoding("a=%2B&b=1") || !queryNeedsEncoding("a=%2b") {
		t.Error("queryNeedsEncoding")
	}
	for c, ok := range map[string]bool{"a/b/c/d/e": true, "a/b/c/d": false, "a/b/c/d/e/f": false, "/b/c/d/e": false, "": false} {
		var a auth
		if err := a.setCredential(c); (err == nil) != ok {
			t.Errorf("setCredential(%q): %v", c, err)
		}
	}
	if QueryCode(CodeInvalidSignature) != "SignatureDoesNotMatch" || QueryCode(CodeUnrecognizedClient) != "InvalidClientTokenId" || QueryCode("X") != "X" {
		t.Error("QueryCode")
	}
}

func TestKeyCacheBounded(t *testing.T) {
	v := &Verifier{CacheSize: 4}
	for i := range 50 {
		k1 := v.signingKey("s", "2026112"+itoa(i%10), "r", "lambda")
		k2 := v.signingKey("s", "2026112"+itoa(i%10), "r", "lambda")
		if *k1 != *k2 || *k1 != *newSigningKey(DeriveSigningKey("s", "2026112"+itoa(i%10), "r", "lambda")) {
			t.Fatal("cache returned a different key")
		}
	}
	if n := len(v.keys.cur) + len(v.keys.old); n > 8 {
		t.Fatalf("cache holds %d keys", n)
	}
}

func TestIsSigned(t *testing.T) {
	for _, tc := range []struct {
		target string
		auth   string
		want   bool
	}{
		{"/p", "", false},
		{"/p?a=1", "", false},
		{"/p", "AWS4-HMAC-SHA256 x", true},
		{"/p?X-Amz-Signature=abc", "", true},
		{"/p?x=1&X-Amz-Credential=abc", "", true},
	} {
		r := httptest.NewRequest("GET", tc.target, nil)
		if tc.auth != "" {
			r.Header.Set("Authorization", tc.auth)
		}
		if got := IsSigned(r); got != tc.want {
			t.Errorf("%s %q: %v", tc.target, tc.auth, got)
		}
	}
}
