package runtimeapi

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestLeanConnection talks raw HTTP/1.1 on one connection: lean requests (Content-Length and
// chunked bodies with trailers) and then one the lean loop hands to net/http (a query string),
// after which the connection keeps working.
func TestLeanConnection(t *testing.T) {
	srv, err := New(Config{}, Hooks{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	c, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	roundTrip := func(req string) *http.Response {
		t.Helper()
		if _, err := io.WriteString(c, req); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("read response to %q: %v", req, err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body = io.NopCloser(bytes.NewReader(b))
		return res
	}
	invs := make([]*Invocation, 3)
	for i, id := range []string{"a", "b", "c"} {
		inv := &Invocation{RequestID: id, Payload: []byte(`{"n":` + string(rune('1'+i)) + `}`), Deadline: time.Now().Add(5 * time.Second)}
		invs[i] = inv
		go func() { _ = srv.Dispatch(context.Background(), inv) }()
		res := roundTrip("GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\nUser-Agent: t\r\n\r\n")
		if res.StatusCode != 200 || res.Header.Get(HeaderRequestID) != id || res.Header.Get("Date") == "" {
			t.Fatalf("next: %d %v", res.StatusCode, res.Header)
		}
		switch id {
		case "a":
			res = roundTrip("POST /2018-06-01/runtime/invocation/a/response HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello")
		case "b":
			res = roundTrip("POST /2018-06-01/runtime/invocation/b/response HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTrailer: Lambda-Runtime-Function-Error-Type\r\n\r\n" +
				"3\r\nabc\r\n0\r\nLambda-Runtime-Function-Error-Type: Boom\r\n\r\n")
		case "c":
			res = roundTrip("POST /2018-06-01/runtime/invocation/c/error?x=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 17\r\n\r\n{\"errorType\":\"E\"}")
		}
		if res.StatusCode != http.StatusAccepted {
			t.Fatalf("%s: status %d", id, res.StatusCode)
		}
		<-inv.Done()
	}
	if o := invs[0].Outcome(); o.Kind != OutcomeResponse || string(o.Payload) != "hello" || o.ContentType != "text/plain" {
		t.Errorf("a: %+v", o)
	}
	if o := invs[1].Outcome(); o.Kind != OutcomeFunctionError || o.ErrorType != "Boom" {
		t.Errorf("b: %+v", o)
	}
	if o := invs[2].Outcome(); o.Kind != OutcomeFunctionError || o.ErrorType != "E" {
		t.Errorf("c: %+v", o)
	}
	if res := roundTrip("GET /2018-06-01/ping HTTP/1.1\r\nHost: x\r\n\r\n"); res.StatusCode != 200 {
		t.Errorf("ping after handoff: %d", res.StatusCode)
	}
}

// FuzzLeanHead feeds arbitrary bytes to the lean request parser and chunked decoder: it must
// never panic, and when it declines a request, the bytes it consumed are exactly the input's
// prefix (so net/http can replay them).
func FuzzLeanHead(f *testing.F) {
	f.Add([]byte("GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n"))
	f.Add([]byte("POST /2018-06-01/runtime/invocation/id/response HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nLambda-Runtime-Function-Error-Type: X\r\n\r\n"))
	f.Add([]byte("POST /2018-06-01/runtime/invocation/id/error HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}"))
	f.Add([]byte("POST /2018-06-01/runtime/invocation/id/response HTTP/1.1\r\n Folded: x\r\nContent-Length: +1\r\n\r\nx"))
	f.Fuzz(func(t *testing.T, in []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(in), 16)
		var raw []byte
		lr, ok, err := readLeanHead(br, &raw)
		if err != nil {
			return
		}
		if !ok {
			if !bytes.HasPrefix(in, raw) {
				t.Fatalf("consumed %q is not a prefix", raw)
			}
			return
		}
		if lr.chunked {
			var traw []byte
			b := &chunkedBody{cr: httputilChunked(br), br: br, trailer: http.Header{}, raw: &traw}
			_, _ = io.Copy(io.Discard, b)
		} else if lr.contentLength < 0 {
			t.Fatal("lean request without a length")
		}
		if lr.route != RouteNext && lr.route != RouteResponse && lr.route != RouteError {
			t.Fatalf("route %v", lr.route)
		}
	})
}
