package server

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"testing"
	"time"

	"github.com/furl/furl/internal/config"
)

// discardWriter is a ResponseWriter that keeps the status and counts the body without holding
// it, so the allocation budget measures furl, not the recorder.
type discardWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *discardWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.n += len(b)
	return len(b), nil
}

// FuzzRoute sends arbitrary method, Host and request-target through the server's root router
// (function URLs, metrics, console, events, the Query API, the control plane) of a real server
// with no functions: it never panics, never answers 5xx, and stays within a budget of bytes
// allocated linear in the input's size (as the network can send it: HTTP/1.1 caps the request
// line and headers at 1 MB).
func FuzzRoute(f *testing.F) {
	for _, s := range [][3]string{
		{"GET", "abcdefghijklmnopqrstuvwxyz0abcde.lambda-url.us-east-1.localhost:9000", "/"},
		{"POST", "127.0.0.1:9000", "/lambda-url/abcdefghijklmnopqrstuvwxyz0abcde/a/../b?x=1&x=2"},
		{"GET", "127.0.0.1", "/2015-03-31/functions/"},
		{"GET", "", "/?Action=GetCallerIdentity&Version=2011-06-15"},
		{"POST", "localhost", "/"},
		{"GET", "", "/furl/v1/functions/f/events"},
		{"GET", "", "/furl/console/"},
		{"GET", "", "/furl/console/../../metrics"},
		{"OPTIONS", "::.lAmBdA-url.0.0", "/"},
		{"DELETE", "x.lambda-url.us-east-1.on.aws", "//%2e%2e/%00?%zz"},
		{"GET", "", "/metrics"},
		{"PUT", "[::1]:9000", "/2021-10-31/functions/f%3A1/url?Qualifier=%FF"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	cfg := config.Default()
	cfg.DataDir = f.TempDir()
	cfg.RootAccessKeyID, cfg.RootSecretAccessKey = "AKIAFURLTESTROOT0000", "furl-test-secret"
	ctx, cancel := context.WithCancel(context.Background())
	f.Cleanup(cancel)
	s, err := New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_ = s.close(ctx)
	})
	f.Fuzz(func(t *testing.T, method, host, target string) {
		if method == "" || len(method)+len(host)+len(target) > 64<<10 {
			return
		}
		u, err := url.ParseRequestURI(target)
		if err != nil {
			return // net/http answers 400 before any handler
		}
		r := (&http.Request{
			Method: method, URL: u, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{}, Body: http.NoBody, Host: host, RemoteAddr: "127.0.0.1:40000", RequestURI: target,
		}).WithContext(ctx)
		w := &discardWriter{h: http.Header{}}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		s.route(w, r)
		runtime.ReadMemStats(&after)
		if w.status >= 500 {
			t.Fatalf("%s %s (Host %q) = %d", method, target, host, w.status)
		}
		in := len(method) + len(host) + len(target)
		if alloc, budget := after.TotalAlloc-before.TotalAlloc, uint64(64*in+1<<20); alloc > budget {
			t.Fatalf("%s %s (Host %q, %d bytes) allocated %d bytes (budget %d)", method, target, host, in, alloc, budget)
		}
	})
}
