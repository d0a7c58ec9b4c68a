package server

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/furl/furl/internal/config"
)

// startServer runs a real server on a loopback port with a fresh data dir.
func startServer(t *testing.T, opts ...func(*config.Config)) string {
	t.Helper()
	_, _, addr := runServer(t, opts...)
	return addr
}

// runServer is startServer that also returns the server and its configuration.
func runServer(t *testing.T, opts ...func(*config.Config)) (*Server, config.Config, string) {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.RootAccessKeyID, cfg.RootSecretAccessKey = "AKIAFURLTESTROOT0000", "furl-test-secret"
	for _, o := range opts {
		o(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s, err := New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("Serve did not return after cancel")
		}
	})
	return s, cfg, ln.Addr().String()
}

func TestRouting(t *testing.T) {
	addr := startServer(t)
	for _, tt := range []struct {
		name, method, path, host string
		wantStatus               int
		wantErrorType            string
		wantBody                 string
	}{
		{"unknown URL id, host style", "GET", "/", "abcdefghijklmnopqrstuvwxyz0abcde.lambda-url.us-east-1.localhost", 403, "AccessDeniedException", `{"Message":null}`},
		{"unknown URL id, path style", "GET", "/lambda-url/abcdefghijklmnopqrstuvwxyz0abcde/x", "", 403, "AccessDeniedException", `{"Message":null}`},
		{"unsigned control plane", "GET", "/2015-03-31/functions/", "", 403, "MissingAuthenticationTokenException", ""},
		{"unsigned STS by GET", "GET", "/?Action=GetCallerIdentity&Version=2011-06-15", "", 403, "", "MissingAuthenticationToken"},
		{"unsigned events history", "GET", "/furl/v1/functions/f/events", "", 403, "MissingAuthenticationTokenException", ""},
		{"unsigned metrics", "GET", "/metrics", "", 403, "MissingAuthenticationTokenException", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, "http://"+addr+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.host != "" {
				req.Host = tt.host
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d; body %s", resp.StatusCode, tt.wantStatus, body)
			}
			if got := resp.Header.Get("X-Amzn-Errortype"); tt.wantErrorType != "" && got != tt.wantErrorType {
				t.Errorf("x-amzn-ErrorType = %q, want %q", got, tt.wantErrorType)
			}
			if tt.wantBody != "" && !strings.Contains(string(body), tt.wantBody) {
				t.Errorf("body = %s, want it to contain %s", body, tt.wantBody)
			}
		})
	}
}

func TestIsURLHost(t *testing.T) {
	for host, want := range map[string]bool{
		"abc.lambda-url.us-east-1.localhost:9000": true,
		"ABC.LAMBDA-URL.us-east-1.on.aws":         true,
		"127.0.0.1:9000":                          false,
		"lambda-url.us-east-1.localhost":          false,
		"abc.lambda-url.":                         false,
		"abc.lambda-url.us-east-1":                false,
		"localhost":                               false,
		"":                                        false,
	} {
		if got := IsURLHost(host); got != want {
			t.Errorf("IsURLHost(%q) = %v, want %v", host, got, want)
		}
	}
}
