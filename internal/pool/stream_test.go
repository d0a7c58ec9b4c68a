package pool_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/furl/furl/internal/pool"
)

const prelude = `{"statusCode":201,"headers":{"x-a":"b"}}` + "\x00\x00\x00\x00\x00\x00\x00\x00"

func TestStreaming(t *testing.T) {
	h := newPool(t, pool.Config{})
	tg := goTarget("stream")
	tg.Timeout = 10 * time.Second

	t.Run("incremental", func(t *testing.T) {
		start := time.Now()
		res, err := h.p.Invoke(context.Background(), tg, &pool.Request{Payload: []byte(`{"op":"stream","n":3,"sleepMs":300}`), Streaming: true})
		if err != nil {
			t.Fatal(err)
		}
		if res.Stream == nil {
			t.Fatalf("no stream: %s", res.Payload)
		}
		if res.ContentType != "application/vnd.awslambda.http-integration-response" {
			t.Errorf("content type %q", res.ContentType)
		}
		var got bytes.Buffer
		buf := make([]byte, 4096)
		var firstChunk time.Duration
		for {
			n, err := res.Stream.Read(buf)
			got.Write(buf[:n])
			if firstChunk == 0 && strings.Contains(got.String(), "chunk0;") {
				firstChunk = time.Since(start)
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		total := time.Since(start)
		if err := res.Stream.Close(); err != nil {
			t.Fatal(err)
		}
		if got.String() != prelude+"chunk0;chunk1;chunk2;" {
			t.Errorf("body %q", got.String())
		}
		// The function sleeps 300 ms after each chunk: the first must arrive long before the end.
		if firstChunk == 0 || total-firstChunk < 500*time.Millisecond {
			t.Errorf("not incremental: first chunk after %v, end after %v", firstChunk, total)
		}
		if !strings.Contains(string(res.Log), "REPORT RequestId: "+res.RequestID) {
			t.Errorf("log after Close:\n%s", res.Log)
		}
	})

	t.Run("error trailer", func(t *testing.T) {
		res, err := h.p.Invoke(context.Background(), tg, &pool.Request{Payload: []byte(`{"op":"streamfail","n":2,"sleepMs":10}`), Streaming: true})
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(res.Stream)
		res.Stream.Close()
		var se *pool.StreamError
		if !errors.As(err, &se) || se.Type != "errorString" || !strings.Contains(string(se.Body), `"errorMessage":"reader broke"`) {
			t.Fatalf("err %v (%+v)", err, se)
		}
		if string(body) != prelude+"chunk0;chunk1;" {
			t.Errorf("body before the error %q", body)
		}
	})

	t.Run("buffered when not asked to stream", func(t *testing.T) {
		res, err := h.p.Invoke(context.Background(), tg, &pool.Request{Payload: []byte(`{"op":"stream","n":2,"sleepMs":10}`)})
		if err != nil {
			t.Fatal(err)
		}
		if res.Stream != nil || string(res.Payload) != prelude+"chunk0;chunk1;" {
			t.Errorf("got stream=%v payload %q", res.Stream != nil, res.Payload)
		}
		res, err = h.p.Invoke(context.Background(), tg, &pool.Request{Payload: []byte(`{"op":"streamfail","n":1,"sleepMs":10}`)})
		if err != nil {
			t.Fatal(err)
		}
		if res.FunctionError != "Unhandled" || res.ErrorType != "errorString" {
			t.Errorf("trailer error, buffered: %q %s", res.ErrorType, res.Payload)
		}
	})

	t.Run("caller closes early", func(t *testing.T) {
		res, err := h.p.Invoke(context.Background(), tg, &pool.Request{Payload: []byte(`{"op":"stream","n":20,"sleepMs":50}`), Streaming: true})
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 10)
		if _, err := res.Stream.Read(buf); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { res.Stream.Close(); close(done) }()
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			t.Fatal("Close blocked")
		}
		res2 := invoke(t, h, tg, `{"op":"echo"}`)
		if string(res2.Payload) != `{"op":"echo"}` {
			t.Errorf("next invoke: %s", res2.Payload)
		}
	})

	t.Run("timeout mid-stream", func(t *testing.T) {
		tg2 := *tg
		tg2.FunctionName = "streamto"
		tg2.Timeout = 300 * time.Millisecond
		res, err := h.p.Invoke(context.Background(), &tg2, &pool.Request{Payload: []byte(`{"op":"stream","n":20,"sleepMs":100}`), Streaming: true})
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.ReadAll(res.Stream)
		res.Stream.Close()
		var se *pool.StreamError
		if !errors.As(err, &se) || se.Type != "Sandbox.Timedout" {
			t.Errorf("err %v", err)
		}
		if !strings.Contains(string(res.Log), "Status: timeout") {
			t.Errorf("log:\n%s", res.Log)
		}
	})
}

func TestCloseWithOpenStream(t *testing.T) {
	h := newPool(t, pool.Config{})
	tg := goTarget("openstream")
	res, err := h.p.Invoke(context.Background(), tg, &pool.Request{Payload: []byte(`{"op":"stream","n":100,"sleepMs":50}`), Streaming: true})
	if err != nil || res.Stream == nil {
		t.Fatalf("%v %+v", err, res)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	done := make(chan error)
	go func() { done <- h.p.Close(ctx) }()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close hung on a stream nobody closed")
	}
	if _, err := io.ReadAll(res.Stream); err == nil {
		t.Error("stream of a killed environment ended cleanly")
	}
	res.Stream.Close()
}
