package server

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/furl/furl/internal/config"
	"github.com/furl/furl/internal/sigv4"
)

// TestMetricsAccess: /metrics names functions and URL ids, so by default only a signed caller
// allowed lambda:ListFunctions reads it; --metrics=public and --metrics=off do what they say.
func TestMetricsAccess(t *testing.T) {
	get := func(addr string, sign bool) (int, string) {
		t.Helper()
		r, err := http.NewRequest("GET", "http://"+addr+"/metrics", nil)
		if err != nil {
			t.Fatal(err)
		}
		if sign {
			if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKIAFURLTESTROOT0000", SecretAccessKey: "furl-test-secret"},
				r, sigv4.HashPayload(nil), "lambda", "us-east-1", time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	auth := startServer(t)
	if code, _ := get(auth, false); code != 403 {
		t.Errorf("auth, unsigned: %d, want 403", code)
	}
	if code, body := get(auth, true); code != 200 || !strings.Contains(body, "furl_") {
		t.Errorf("auth, signed by root: %d %.80q", code, body)
	}
	public := startServer(t, func(c *config.Config) { c.Metrics = config.MetricsPublic })
	if code, body := get(public, false); code != 200 || !strings.Contains(body, "furl_") {
		t.Errorf("public, unsigned: %d %.80q", code, body)
	}
	off := startServer(t, func(c *config.Config) { c.Metrics = config.MetricsOff })
	if code, _ := get(off, true); code != 404 {
		t.Errorf("off, signed: %d, want 404", code)
	}
}
