//go:build e2e

// sigv4_test.go drives the real AWS CLIs (v1 from pip, v2 from Debian when present) against a
// loopback server that verifies with internal/sigv4 and answers errors with internal/awserr:
// a good key verifies (ARN path with %3A, query parameters), a wrong secret comes back as the
// InvalidSignatureException botocore parses from our body, an unknown key as
// UnrecognizedClientException.
//
//	go test -tags e2e -run SigV4 ./test/e2e/ -v
package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/furl/furl/internal/awserr"
	"github.com/furl/furl/internal/sigv4"
)

const (
	sigv4E2EKey    = "AKIDSIGV4E2E"
	sigv4E2ESecret = "c2lndjQtZTJlLXNlY3JldA"
)

func TestSigV4CLIs(t *testing.T) {
	keys := sigv4.KeyLookupFunc(func(_ context.Context, id string) (sigv4.Credentials, error) {
		if id != sigv4E2EKey {
			return sigv4.Credentials{}, sigv4.ErrUnknownAccessKey
		}
		return sigv4.Credentials{AccessKeyID: id, SecretAccessKey: sigv4E2ESecret}, nil
	})
	v := sigv4.NewVerifier(time.Now, keys)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 6<<20))
		if err != nil {
			awserr.WriteJSON(w, "", err)
			return
		}
		if _, err := v.Verify(r.Context(), r, sigv4.HashPayload(body), sigv4.Scope{Services: []string{"lambda"}, Regions: []string{"us-east-1"}}); err != nil {
			awserr.WriteJSON(w, "req-1", err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"Functions": []any{}})
	}))
	defer srv.Close()

	for name, bin := range iamCLIs(t) {
		run := func(key, secret string, args ...string) (string, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, append([]string{"--endpoint-url", srv.URL, "--region", "us-east-1", "--output", "json"}, args...)...)
			cmd.Env = append(iamEnv(iamCreds{key, secret, ""}), "HOME="+t.TempDir())
			out, err := cmd.CombinedOutput()
			return string(out), err
		}
		t.Run(name, func(t *testing.T) {
			if out, err := run(sigv4E2EKey, sigv4E2ESecret, "lambda", "list-functions", "--page-size", "5"); err != nil {
				t.Fatalf("list-functions: %v: %s", err, out)
			}
			out, err := run(sigv4E2EKey, "wrong", "lambda", "list-functions")
			var ee *exec.ExitError
			if !errors.As(err, &ee) || !strings.Contains(out, "InvalidSignatureException") || !strings.Contains(out, "The request signature we calculated does not match") {
				t.Fatalf("wrong secret: %v: %s", err, out)
			}
			out, err = run("AKIDUNKNOWN", sigv4E2ESecret, "lambda", "list-functions")
			if err == nil || !strings.Contains(out, "UnrecognizedClientException") || !strings.Contains(out, "The security token included in the request is invalid") {
				t.Fatalf("unknown key: %v: %s", err, out)
			}
		})
	}
}
