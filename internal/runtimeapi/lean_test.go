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

// TestNextHandoff covers the ways an event meets a /next: dispatched while /next waits (the
// dispatcher writes it), dispatched before /next comes, a /next abandoned by its runtime (the
// event goes to the next /next, on a new connection), a request pipelined behind a waiting
// /next (the /next is answered first), and a /next served by net/http.
func TestNextHandoff(t *testing.T) {
	srv, err := New(Config{}, Hooks{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	dial := func() (net.Conn, *bufio.Reader) {
		t.Helper()
		c, err := net.Dial("tcp", srv.Addr())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c, bufio.NewReader(c)
	}
	send := func(c net.Conn, req string) {
		t.Helper()
		if _, err := io.WriteString(c, req); err != nil {
			t.Fatal(err)
		}
	}
	read := func(c net.Conn, br *bufio.Reader) (*http.Response, string) {
		t.Helper()
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	const next = "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n"
	respond := func(id string) string {
		return "POST /2018-06-01/runtime/invocation/" + id + "/response HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok"
	}
	dispatch := func(id string) *Invocation {
		t.Helper()
		inv := &Invocation{RequestID: id, Payload: []byte(`"` + id + `"`), Deadline: time.Now().Add(5 * time.Second)}
		if err := srv.Dispatch(context.Background(), inv); err != nil {
			t.Fatalf("dispatch %s: %v", id, err)
		}
		return inv
	}
	waitParked := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
			srv.mu.Lock()
			got := len(srv.parked)
			srv.mu.Unlock()
			if got == n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d parked /next calls, want %d", got, n)
			}
		}
	}
	finish := func(c net.Conn, br *bufio.Reader, inv *Invocation) {
		t.Helper()
		send(c, respond(inv.RequestID))
		if res, _ := read(c, br); res.StatusCode != http.StatusAccepted {
			t.Fatalf("%s: response status %d", inv.RequestID, res.StatusCode)
		}
		<-inv.Done()
		if o := inv.Outcome(); string(o.Payload) != "ok" {
			t.Fatalf("%s: outcome %+v", inv.RequestID, o)
		}
	}

	// /next waits, then the dispatcher writes the event.
	c, br := dial()
	send(c, next)
	waitParked(1)
	inv := dispatch("a")
	if res, body := read(c, br); res.Header.Get(HeaderRequestID) != "a" || body != `"a"` {
		t.Fatalf("a: %v %q", res.Header, body)
	}
	finish(c, br, inv)

	// Dispatched first: the next /next takes it.
	done := make(chan *Invocation)
	go func() {
		inv := &Invocation{RequestID: "b", Payload: []byte(`"b"`), Deadline: time.Now().Add(5 * time.Second)}
		if err := srv.Dispatch(context.Background(), inv); err != nil {
			t.Error(err)
		}
		done <- inv
	}()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		srv.mu.Lock()
		p := srv.pending
		srv.mu.Unlock()
		if p != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("dispatch b never pending")
		}
	}
	send(c, next)
	if res, _ := read(c, br); res.Header.Get(HeaderRequestID) != "b" {
		t.Fatalf("b: %v", res.Header)
	}
	finish(c, br, <-done)

	// The runtime abandons its /next: the event goes to its next /next.
	send(c, next)
	waitParked(1)
	c.Close()
	waitParked(0)
	c2, br2 := dial()
	send(c2, next)
	waitParked(1)
	inv = dispatch("c")
	if res, _ := read(c2, br2); res.Header.Get(HeaderRequestID) != "c" {
		t.Fatalf("c: %v", res.Header)
	}
	finish(c2, br2, inv)

	// A ping pipelined behind a waiting /next: the /next is answered first, then the ping.
	send(c2, next+"GET /2018-06-01/ping HTTP/1.1\r\nHost: x\r\n\r\n")
	time.Sleep(20 * time.Millisecond)
	go func() { done <- dispatch("d") }()
	if res, _ := read(c2, br2); res.Header.Get(HeaderRequestID) != "d" {
		t.Fatalf("d: %v", res.Header)
	}
	if res, body := read(c2, br2); res.StatusCode != 200 || body != "pong" {
		t.Fatalf("ping: %d %q", res.StatusCode, body)
	}
	finish(c2, br2, <-done)

	// A /next net/http serves (a query string is not the lean loop's).
	c3, br3 := dial()
	send(c3, "GET /2018-06-01/runtime/invocation/next?x=1 HTTP/1.1\r\nHost: x\r\n\r\n")
	waitParked(1)
	inv = dispatch("e")
	if res, _ := read(c3, br3); res.Header.Get(HeaderRequestID) != "e" {
		t.Fatalf("e: %v", res.Header)
	}
	finish(c3, br3, inv)
}
