package urlevent

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

func strp(s string) *string { return &s }

// seedCase is one of the article's requests, replayed through FromHTTP + Build with the dynamic
// values AWS chose (request id, time, caller ip, IAM identity) pinned to the recorded ones.
type seedCase struct {
	name      string
	requestID string
	time      time.Time
	iam       *IAMAuthorizer
}

func seedCases() []seedCase {
	alice := &IAMAuthorizer{AccessKey: "ABCD", AccountID: "111122223333", CallerID: "ABCD",
		PrincipalOrgID: strp("o-igflpr8b78"), UserARN: "arn:aws:iam::111122223333:user/alice", UserID: "ABCD"}
	return []seedCase{
		{"example1", "cb4ca2b4-9b33-41fc-91a2-b5d7fd127371", time.UnixMilli(1707157062219), nil},
		{"example2", "89a59336-2777-48ac-b6b9-0971c0ac9069", time.UnixMilli(1707157424532), nil},
		{"example3", "175967d9-69b6-4eb5-93bb-ed54335b3890", time.UnixMilli(1707158027520), alice},
		{"example4", "52475474-4236-4a09-a8f4-9bd504de08ca", time.UnixMilli(1707158230434), alice},
	}
}

func buildSeed(t *testing.T, c seedCase) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "requests", c.name+".http"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	r.RemoteAddr = "111.111.111.111:51234"
	r.TLS = &tls.ConnectionState{Version: tls.VersionTLS12, CipherSuite: tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}
	self, root := seedTrace(t, c.name)
	p := Params{Body: body, URLID: "a1b2c3d4", RequestID: c.requestID, Time: c.time,
		TraceHeader: TraceHeader(self, root, r.Header.Get("X-Amzn-Trace-Id"))}
	if c.iam != nil {
		p.IAM = c.iam
		p.AccountID = c.iam.AccountID
	}
	return Build(FromHTTP(r, p)).AppendJSON(nil)
}

// seedTrace returns the Self and Root ids AWS chose for a seed event, so that the trace header
// furl builds from them can be compared exactly.
func seedTrace(t *testing.T, name string) (self, root string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "seed", name+".event.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev struct {
		Headers map[string]string `json:"headers"`
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	for _, part := range strings.Split(ev.Headers["x-amzn-trace-id"], ";") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "Self":
			self = v
		case "Root":
			root = v
		}
	}
	if self == "" || root == "" {
		t.Fatalf("seed %s: no Self/Root trace ids", name)
	}
	return self, root
}

// normalize decodes an event and replaces what legitimately differs between AWS's recording and
// furl: AWS's internal cell-routing headers and cell host name.
func normalize(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("event is not JSON: %v\n%s", err, b)
	}
	h := m["headers"].(map[string]any)
	for k := range h {
		if strings.HasPrefix(k, "x-amzn-lambda-") {
			delete(h, k)
		}
	}
	fix := func(s any) any {
		return strings.Replace(s.(string), ".cell-1-lambda-url.", ".lambda-url.", 1)
	}
	h["host"] = fix(h["host"])
	rc := m["requestContext"].(map[string]any)
	rc["domainName"] = fix(rc["domainName"])
	return m
}

func TestSeedEvents(t *testing.T) {
	for _, c := range seedCases() {
		t.Run(c.name, func(t *testing.T) {
			got := buildSeed(t, c)
			golden := filepath.Join("testdata", c.name+".golden.json")
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, got, "", "    "); err != nil {
				t.Fatalf("indent: %v\n%s", err, got)
			}
			pretty.WriteByte('\n')
			if *update {
				if err := os.WriteFile(golden, pretty.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if diff := cmp.Diff(string(want), pretty.String()); diff != "" {
				t.Errorf("golden mismatch (-want +got):\n%s", diff)
			}
			seed, err := os.ReadFile(filepath.Join("testdata", "seed", c.name+".event.json"))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(normalize(t, seed), normalize(t, got)); diff != "" {
				t.Errorf("differs from the event AWS delivered (-aws +furl):\n%s", diff)
			}
		})
	}
}

func TestBuildRules(t *testing.T) {
	base := func() *Request {
		return &Request{
			Method: "GET", Host: "id.lambda-url.us-east-1.localhost:9000", SourceIP: "203.0.113.9",
			URLID: "id", DomainName: "id.lambda-url.us-east-1.on.aws", RequestID: "r1",
			Time: time.Date(2024, 1, 12, 13, 59, 26, 133e6, time.UTC), ForwardedProto: "https", ForwardedPort: "443",
			Header: map[string][]string{},
		}
	}
	tests := []struct {
		name  string
		tweak func(*Request)
		check func(t *testing.T, ev *Event)
	}{
		{"defaults", func(r *Request) {}, func(t *testing.T, ev *Event) {
			if ev.RawPath != "/" || ev.RequestContext.HTTP.Path != "/" {
				t.Errorf("path %q %q", ev.RawPath, ev.RequestContext.HTTP.Path)
			}
			if ev.QueryStringParameters != nil || ev.Cookies != nil || ev.Body != "" || ev.IsBase64Encoded {
				t.Errorf("unexpected optional fields: %+v", ev)
			}
			if ev.RequestContext.Time != "12/Jan/2024:13:59:26 +0000" || ev.RequestContext.TimeEpoch != 1705067966133 {
				t.Errorf("time %q %d", ev.RequestContext.Time, ev.RequestContext.TimeEpoch)
			}
			if ev.RequestContext.AccountID != "anonymous" || ev.RequestContext.Authorizer != nil {
				t.Errorf("account %q", ev.RequestContext.AccountID)
			}
			if ev.Headers["x-forwarded-for"] != "203.0.113.9" || ev.Headers["content-length"] != "0" {
				t.Errorf("headers %v", ev.Headers)
			}
		}},
		{"encoded path and query", func(r *Request) {
			r.RawPath = "/pa2%Fth/1"
			r.RawQuery = "multiQuery=foo&multiQuery=%2Fbar&b=%2Fx&flag&a+b=c+d"
		}, func(t *testing.T, ev *Event) {
			if ev.RawPath != "/pa2%Fth/1" || ev.RequestContext.HTTP.Path != "/pa2%Fth/1" {
				t.Errorf("path %q", ev.RawPath)
			}
			want := map[string]string{"multiQuery": "foo,/bar", "b": "/x", "flag": "", "a b": "c d"}
			if diff := cmp.Diff(want, ev.QueryStringParameters); diff != "" {
				t.Error(diff)
			}
			if ev.RawQueryString != "multiQuery=foo&multiQuery=%2Fbar&b=%2Fx&flag&a+b=c+d" {
				t.Errorf("raw query %q", ev.RawQueryString)
			}
		}},
		{"headers lower-cased, joined, hop-by-hop dropped", func(r *Request) {
			r.Header = map[string][]string{
				"ExTrA-HeadErs":   {"With WeiRd CapS"},
				"Header2":         {"h1", "h2"},
				"Connection":      {"keep-alive, X-Hop"},
				"X-Hop":           {"gone"},
				"Keep-Alive":      {"timeout=5"},
				"Authorization":   {"Bearer abc"},
				"X-Forwarded-For": {"10.0.0.1"},
				"Cookie":          {"foo=bar; hello=hello", "x=y"},
			}
		}, func(t *testing.T, ev *Event) {
			want := map[string]string{
				"extra-headers": "With WeiRd CapS", "header2": "h1,h2", "authorization": "Bearer abc",
				"cookie": "foo=bar; hello=hello; x=y", "host": "id.lambda-url.us-east-1.localhost:9000",
				"content-length": "0", "x-forwarded-for": "10.0.0.1, 203.0.113.9",
				"x-forwarded-port": "443", "x-forwarded-proto": "https",
			}
			if diff := cmp.Diff(want, ev.Headers); diff != "" {
				t.Error(diff)
			}
			if diff := cmp.Diff([]string{"foo=bar", "hello=hello", "x=y"}, ev.Cookies); diff != "" {
				t.Error(diff)
			}
		}},
		{"IAM drops authorization, fills authorizer", func(r *Request) {
			r.Header = map[string][]string{"Authorization": {"AWS4-HMAC-SHA256 ..."}, "X-Amz-Date": {"20240101T000000Z"}}
			r.IAM = &IAMAuthorizer{AccessKey: "AKIA", AccountID: "123456789012", CallerID: "AIDA", UserARN: "arn:aws:iam::123456789012:user/a", UserID: "AIDA"}
			r.AccountID = "123456789012"
		}, func(t *testing.T, ev *Event) {
			if _, ok := ev.Headers["authorization"]; ok {
				t.Error("authorization kept")
			}
			if ev.Headers["x-amz-date"] != "20240101T000000Z" {
				t.Error("x-amz-date dropped")
			}
			b := string(ev.AppendJSON(nil))
			if !strings.Contains(b, `"authorizer":{"iam":{"accessKey":"AKIA","accountId":"123456789012","callerId":"AIDA","cognitoIdentity":null,"principalOrgId":null,`) {
				t.Errorf("authorizer: %s", b)
			}
		}},
		{"text body", func(r *Request) {
			r.Method = "POST"
			r.Header = map[string][]string{"Content-Type": {"text/plain;charset=UTF-8"}}
			r.Body = []byte("héllo")
		}, func(t *testing.T, ev *Event) {
			if ev.Body != "héllo" || ev.IsBase64Encoded || ev.Headers["content-length"] != "6" {
				t.Errorf("body %q b64=%v", ev.Body, ev.IsBase64Encoded)
			}
		}},
		{"form body is base64", func(r *Request) {
			r.Method = "POST"
			r.Header = map[string][]string{"Content-Type": {"application/x-www-form-urlencoded"}}
			r.Body = []byte("a=1")
		}, func(t *testing.T, ev *Event) {
			if ev.Body != "YT0x" || !ev.IsBase64Encoded {
				t.Errorf("body %q b64=%v", ev.Body, ev.IsBase64Encoded)
			}
		}},
		{"no content type is base64", func(r *Request) {
			r.Method = "POST"
			r.Body = []byte("<idk/>")
		}, func(t *testing.T, ev *Event) {
			if ev.Body != "PGlkay8+" || !ev.IsBase64Encoded {
				t.Errorf("body %q b64=%v", ev.Body, ev.IsBase64Encoded)
			}
		}},
		{"invalid utf-8 json body is base64", func(r *Request) {
			r.Method = "POST"
			r.Header = map[string][]string{"Content-Type": {"application/json"}}
			r.Body = []byte{'"', 0xff, '"'}
		}, func(t *testing.T, ev *Event) {
			if !ev.IsBase64Encoded {
				t.Errorf("body %q", ev.Body)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := base()
			tt.tweak(r)
			ev := Build(r)
			tt.check(t, ev)
			assertEncodingJSON(t, ev)
		})
	}
}

// marshalNoHTML is encoding/json without HTML escaping, the reference for AppendJSON.
func marshalNoHTML(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func assertEncodingJSON(t *testing.T, ev *Event) {
	t.Helper()
	want, err := marshalNoHTML(ev)
	if err != nil {
		t.Fatal(err)
	}
	if got := ev.AppendJSON(nil); !bytes.Equal(got, want) {
		t.Errorf("AppendJSON differs from encoding/json:\n got %s\nwant %s", got, want)
	}
}

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	weird := "a\"b\\c\x00\x01\x1f\b\f\n\r\t<>&\u2028\u2029\xff\xfe€😀 end"
	ev := &Event{
		Version: "2.0", RouteKey: "$default", RawPath: weird, RawQueryString: weird,
		Cookies: []string{weird, ""}, Headers: map[string]string{weird: weird, "a": "", "z": "1"},
		QueryStringParameters: map[string]string{"": weird},
		RequestContext: RequestContext{AccountID: weird, Authorizer: &Authorizer{IAM: &IAMAuthorizer{CognitoIdentity: strp(weird)}},
			HTTP: HTTP{Method: weird}, TimeEpoch: -5},
		Body: weird, IsBase64Encoded: true,
	}
	assertEncodingJSON(t, ev)
	if got := (&Event{RawQueryString: "a=1&b=<2>"}).AppendJSON(nil); !bytes.Contains(got, []byte(`"rawQueryString":"a=1&b=<2>"`)) {
		t.Errorf("HTML characters escaped: %s", got)
	}
	assertEncodingJSON(t, &Event{RequestContext: RequestContext{Authorizer: &Authorizer{}}})
	assertEncodingJSON(t, &Event{})
}

func BenchmarkBuildAndEncode(b *testing.B) {
	in := &Request{
		Method: "POST", RawPath: "/hello", RawQuery: "a=1&b=2", Host: "x.lambda-url.us-east-1.localhost",
		Header: map[string][]string{"User-Agent": {"wrk"}, "Accept": {"*/*"}, "Content-Type": {"application/json"}},
		Body:   []byte(`{"hello":"world"}`), SourceIP: "127.0.0.1", URLID: "x", DomainName: "x.lambda-url.us-east-1.on.aws",
		RequestID: "5bbd0e3e-fe7a-4299-9076-32d4de45391b", Time: time.Now(), ForwardedProto: "http", ForwardedPort: "9000",
		TraceHeader: "Root=1-643eccfa-2c6028925c2b249524664087",
	}
	b.ReportAllocs()
	buf := make([]byte, 0, 4096)
	for b.Loop() {
		ev := Build(in)
		buf = ev.AppendJSON(buf[:0])
	}
}

func BenchmarkEncodingJSON(b *testing.B) {
	in := &Request{
		Method: "POST", RawPath: "/hello", RawQuery: "a=1&b=2", Host: "x.lambda-url.us-east-1.localhost",
		Header: map[string][]string{"User-Agent": {"wrk"}, "Accept": {"*/*"}, "Content-Type": {"application/json"}},
		Body:   []byte(`{"hello":"world"}`), SourceIP: "127.0.0.1", URLID: "x", DomainName: "x.lambda-url.us-east-1.on.aws",
		RequestID: "5bbd0e3e-fe7a-4299-9076-32d4de45391b", Time: time.Now(), ForwardedProto: "http", ForwardedPort: "9000",
	}
	b.ReportAllocs()
	for b.Loop() {
		ev := Build(in)
		_, _ = json.Marshal(ev)
	}
}

func FuzzBuildEvent(f *testing.F) {
	f.Add("/a%2Fb", "a=1&a=2&b", "foo=bar; x", "text/plain", []byte("hi"), "Ünïcode\x00<>")
	f.Add("", "", "", "", []byte{0xff}, "")
	f.Fuzz(func(t *testing.T, path, query, cookie, ctype string, body []byte, hv string) {
		ev := Build(&Request{Method: "POST", RawPath: path, RawQuery: query, Body: body,
			Header: map[string][]string{"Cookie": {cookie}, "Content-Type": {ctype}, "X-V": {hv, hv}}})
		want, err := marshalNoHTML(ev)
		if err != nil {
			t.Fatal(err)
		}
		got := ev.AppendJSON(nil)
		if !bytes.Equal(got, want) {
			t.Fatalf("mismatch\n got %q\nwant %q", got, want)
		}
	})
}
