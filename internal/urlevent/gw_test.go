package urlevent

import (
	"crypto/tls"
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNormalizePath(t *testing.T) {
	for _, tc := range []struct{ raw, want string }{
		{"", "/"},
		{"/", "/"},
		{"/hello", "/hello"},
		{"//path/1", "/path/1"},         // recorded on AWS
		{"//pa2%25Fth/1", "/pa2%Fth/1"}, // recorded on AWS: decoded once
		{"/a///b//", "/a/b/"},           // runs of slashes merge
		{"/a%2Fb", "/a/b"},              // %2F decodes to '/'
		{"/a/%2F/b", "/a///b"},          // ... and is not merged (decided: merge before decoding)
		{"/a+b;c=d", "/a+b;c=d"},        // '+' and ';' kept
		{"/a/../b/./c", "/a/../b/./c"},  // dot segments kept
		{"/%zz/%4", "/%zz/%4"},          // invalid escapes kept
		{"/%e2%82%ac", "/€"},            // UTF-8 decoded
		{"/%41%42", "/AB"},
		{"x", "/x"},
	} {
		if got := NormalizePath(tc.raw); got != tc.want {
			t.Errorf("NormalizePath(%q) = %q, want %q", tc.raw, got, tc.want)
		}
	}
}

func TestEventPathAndRawPath(t *testing.T) {
	ev := Build(&Request{Method: "GET", RawPath: "//pa2%25Fth/1", Header: map[string][]string{}})
	if ev.RawPath != "//pa2%25Fth/1" || ev.RequestContext.HTTP.Path != "/pa2%Fth/1" {
		t.Errorf("rawPath %q path %q", ev.RawPath, ev.RequestContext.HTTP.Path)
	}
}

func TestDomainName(t *testing.T) {
	for _, tc := range []struct{ host, want string }{
		{"abc.lambda-url.us-east-1.on.aws", "abc.lambda-url.us-east-1.on.aws"},
		{"abc.lambda-url.us-east-1.localhost:9000", "abc.lambda-url.us-east-1.localhost"},
		{"127.0.0.1:9000", "127.0.0.1"},
		{"[::1]:9000", "[::1]"},
		{"[::1]", "[::1]"},
		{"localhost:", "localhost"},
		{"", ""},
	} {
		if got := DomainName(tc.host); got != tc.want {
			t.Errorf("DomainName(%q) = %q, want %q", tc.host, got, tc.want)
		}
	}
}

func TestTraceHeader(t *testing.T) {
	if got := TraceHeader("1-a-s", "1-a-r", ""); got != "Self=1-a-s;Root=1-a-r" {
		t.Errorf("no client header: %q", got)
	}
	if got := TraceHeader("1-a-s", "1-a-r", "Root=1-b-c;Parent=x"); got != "Self=1-a-s;Root=1-b-c;Parent=x" {
		t.Errorf("client header: %q", got)
	}
}

func TestTransport(t *testing.T) {
	addr := func(s string) net.Addr { a, _ := net.ResolveTCPAddr("tcp", s); return a }
	type out struct{ Proto, Port, Version, Cipher string }
	for _, tc := range []struct {
		name  string
		cs    *tls.ConnectionState
		local net.Addr
		want  out
	}{
		{"plain", nil, addr("127.0.0.1:9000"), out{"http", "9000", "", ""}},
		{"plain no addr", nil, nil, out{"http", "80", "", ""}},
		{"tls13", &tls.ConnectionState{Version: tls.VersionTLS13, CipherSuite: tls.TLS_AES_128_GCM_SHA256}, addr("127.0.0.1:9443"),
			out{"https", "9443", "TLSv1.3", "TLS_AES_128_GCM_SHA256"}},
		{"tls13 aes256", &tls.ConnectionState{Version: tls.VersionTLS13, CipherSuite: tls.TLS_AES_256_GCM_SHA384}, nil,
			out{"https", "443", "TLSv1.3", "TLS_AES_256_GCM_SHA384"}},
		{"tls13 chacha", &tls.ConnectionState{Version: tls.VersionTLS13, CipherSuite: tls.TLS_CHACHA20_POLY1305_SHA256}, nil,
			out{"https", "443", "TLSv1.3", "TLS_CHACHA20_POLY1305_SHA256"}},
		{"tls12 seed", &tls.ConnectionState{Version: tls.VersionTLS12, CipherSuite: tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}, addr("[::1]:443"),
			out{"https", "443", "TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256"}},
		{"tls12 ecdsa256", &tls.ConnectionState{Version: tls.VersionTLS12, CipherSuite: tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}, nil,
			out{"https", "443", "TLSv1.2", "ECDHE-ECDSA-AES256-GCM-SHA384"}},
		{"tls12 chacha", &tls.ConnectionState{Version: tls.VersionTLS12, CipherSuite: tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256}, nil,
			out{"https", "443", "TLSv1.2", "ECDHE-RSA-CHACHA20-POLY1305"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got out
			got.Proto, got.Port, got.Version, got.Cipher = Transport(tc.cs, tc.local)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestTransportHeadersInEvent(t *testing.T) {
	in := &Request{Method: "GET", Header: map[string][]string{"X-Forwarded-Proto": {"https"}, "X-Amzn-Tls-Version": {"forged"}}}
	in.ForwardedProto, in.ForwardedPort, in.TLSVersion, in.TLSCipher = Transport(nil, nil)
	h := Build(in).Headers
	if h["x-forwarded-proto"] != "http" || h["x-forwarded-port"] != "80" {
		t.Errorf("plain: %v", h)
	}
	if _, ok := h["x-amzn-tls-version"]; ok {
		t.Errorf("plain HTTP carries a TLS header (client-forged): %v", h)
	}
}

func TestMapResult(t *testing.T) {
	prelude := []byte(`{"statusCode":201,"headers":{"X-A":"b"}}` + "\x00\x00\x00\x00\x00\x00\x00\x00" + "body")
	for _, tc := range []struct {
		name string
		res  Result
		want *Response
	}{
		{"buffered", Result{Payload: []byte(`{"statusCode":204}`)}, &Response{Status: 204, Headers: []Header{{"Content-Type", "application/json"}}}},
		{"stream url, prelude", Result{Streaming: true, ContentType: PreludeContentType, Payload: prelude},
			&Response{Status: 201, Headers: []Header{{"X-A", "b"}, {"Content-Type", StreamDefaultContentType}}, Body: []byte("body")}},
		{"buffered url, prelude", Result{ContentType: PreludeContentType, Payload: prelude},
			&Response{Status: 200, Headers: []Header{{"Content-Type", DefaultContentType}}}},
		{"stream url, buffered handler", Result{Streaming: true, ContentType: "text/plain", Payload: []byte("hi")},
			&Response{Status: 200, Headers: []Header{{"Content-Type", "text/plain"}}, Body: []byte("hi")}},
		{"stream url, no content type", Result{Streaming: true, Payload: []byte("{}")},
			&Response{Status: 200, Headers: []Header{{"Content-Type", DefaultContentType}}, Body: []byte("{}")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := MapResult(tc.res)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if _, err := MapResult(Result{Streaming: true, ContentType: PreludeContentType, Payload: []byte("{no")}); err == nil {
		t.Error("malformed prelude accepted")
	}
}

func TestStreamHead(t *testing.T) {
	out, rest, err := StreamHead("", strings.NewReader("abc"))
	if err != nil || out.Status != 200 || out.Headers[0].Value != StreamDefaultContentType || rest != nil {
		t.Errorf("plain stream: %+v %q %v", out, rest, err)
	}
	out, rest, err = StreamHead(PreludeContentType, strings.NewReader(`{"statusCode":202}`+"\x00\x00\x00\x00\x00\x00\x00\x00"+"xyz"))
	if err != nil || out.Status != 202 || string(rest) != "xyz" {
		t.Errorf("prelude stream: %+v %q %v", out, rest, err)
	}
}

// TestParseQueryLinear fails when the cost of a repeated key grows faster than linearly: the
// old code joined old + "," + v per repeat, copying ~n²/2 bytes (260k repeats took seconds).
// Bytes allocated are counted rather than time, so the test is deterministic on a busy machine.
func TestParseQueryLinear(t *testing.T) {
	for _, n := range []int{1000, 20000} {
		q := strings.Repeat("a&", n)
		var m map[string]string
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		m = ParseQuery(q)
		runtime.ReadMemStats(&after)
		if len(m["a"]) != n-1 {
			t.Fatalf("n=%d: len %d", n, len(m["a"]))
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > uint64(64*len(q)+64<<10) {
			t.Errorf("ParseQuery of %d repeats allocated %d bytes (budget %d)", n, alloc, 64*len(q)+64<<10)
		}
	}
	if got := ParseQuery("a=1&b=2&a=3&a=%2F"); fmt.Sprint(got) != "map[a:1,3,/ b:2]" {
		t.Errorf("ParseQuery = %v", got)
	}
}

func FuzzNormalizePath(f *testing.F) {
	for _, s := range []string{"//pa2%25Fth/1", "/%zz", "%", "/a%2", "////", "/%2F%2f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got := NormalizePath(raw)
		if got == "" || got[0] != '/' {
			t.Fatalf("NormalizePath(%q) = %q", raw, got)
		}
		if len(got) > len(raw)+1 {
			t.Fatalf("grew: %q -> %q", raw, got)
		}
		if !strings.Contains(raw, "%") && strings.Contains(got, "//") {
			t.Fatalf("slashes not merged: %q -> %q", raw, got)
		}
	})
}

// FuzzParseQueryCost holds ParseQuery to a budget per input: bytes allocated at most linear
// in the query's length (the old repeated-key join copied ~n²/2 bytes). Allocation, unlike
// time, does not depend on how busy the machine is or on the race detector.
func FuzzParseQueryCost(f *testing.F) {
	f.Add("a&a&a&a", 1000)
	f.Add("x=%41&x=b", 5000)
	f.Fuzz(func(t *testing.T, unit string, n int) {
		if len(unit) == 0 || len(unit) > 16 || n < 0 || n > 20000 {
			return
		}
		q := strings.Repeat(unit+"&", n)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_ = ParseQuery(q)
		runtime.ReadMemStats(&after)
		if alloc, budget := after.TotalAlloc-before.TotalAlloc, uint64(64*len(q)+64<<10); alloc > budget {
			t.Fatalf("ParseQuery of %d bytes allocated %d bytes (budget %d)", len(q), alloc, budget)
		}
	})
}
