package identity

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/furl/furl/internal/iam"
	"github.com/furl/furl/internal/store"
)

func newAuthzService(t *testing.T, trusted ...string) *Service {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "furl.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var nets []*net.IPNet
	for _, c := range trusted {
		_, n, err := net.ParseCIDR(c)
		if err != nil {
			t.Fatal(err)
		}
		nets = append(nets, n)
	}
	at := time.Date(2026, 12, 4, 17, 0, 0, 0, time.UTC)
	s, err := New(Options{Store: db, AccountID: testAccount, Region: "eu-west-1", RootAccessKeyID: rootID,
		RootSecretAccessKey: rootSecret, TrustedProxies: nets, Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSourceIP(t *testing.T) {
	s := newAuthzService(t, "10.0.0.0/8")
	for _, tc := range []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"untrusted peer ignores the header", "192.0.2.7:4000", []string{"198.51.100.1"}, "192.0.2.7"},
		{"trusted peer: right-most untrusted", "10.0.0.1:4000", []string{"198.51.100.1, 203.0.113.9, 10.1.1.1"}, "203.0.113.9"},
		{"several headers are one list", "10.0.0.1:4000", []string{"198.51.100.1", "10.2.2.2"}, "198.51.100.1"},
		{"malformed entry stops the walk", "10.0.0.1:4000", []string{"198.51.100.1, junk, 10.1.1.1"}, "10.0.0.1"},
		{"only proxies", "10.0.0.1:4000", []string{"10.3.3.3"}, "10.0.0.1"},
		{"IPv6 peer", "[2001:db8::1]:4000", nil, "2001:db8::1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.peer
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := s.SourceIP(r); got != tc.want {
				t.Errorf("SourceIP = %q, want %q", got, tc.want)
			}
		})
	}
}

// Every plane's question gets the same global condition keys from the HTTP request.
func TestDecideContext(t *testing.T) {
	s := newAuthzService(t, "10.0.0.0/8")
	r := httptest.NewRequest("POST", "/", nil)
	r.RemoteAddr = "10.0.0.1:4000"
	r.Header.Set("X-Forwarded-For", "198.51.100.1")
	r.Header.Set("User-Agent", "aws-cli/2")
	r.Header.Set("Referer", "https://example.com/")
	r.TLS = &tls.ConnectionState{}
	_, req, err := s.Decide(context.Background(), Question{Principal: s.RootPrincipal(), Action: "lambda:GetFunction",
		Resource: "arn:aws:lambda:eu-west-1:" + testAccount + ":function:f", HTTP: r,
		Facts: iam.ContextInput{FunctionURLAuthType: "AWS_IAM"}, Keys: map[string][]string{"sts:ExternalId": {"x"}}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"aws:SourceIp": {"198.51.100.1"}, "aws:SecureTransport": {"true"}, "aws:UserAgent": {"aws-cli/2"},
		"aws:Referer": {"https://example.com/"}, "aws:CurrentTime": {"2026-12-04T17:00:00Z"}, "aws:EpochTime": {"1796403600"},
		"aws:RequestedRegion": {"eu-west-1"}, "lambda:FunctionUrlAuthType": {"AWS_IAM"}, "sts:ExternalId": {"x"},
		"lambda:FunctionArn": {"arn:aws:lambda:eu-west-1:" + testAccount + ":function:f"},
		"aws:PrincipalArn":   {s.RootARN()}, "aws:PrincipalAccount": {testAccount}, "aws:PrincipalType": {TypeAccount},
		"aws:userid": {testAccount},
	}
	if diff := cmp.Diff(want, req.Context); diff != "" {
		t.Errorf("context (-want +got):\n%s", diff)
	}
}

// Require answers nil, a *Denied naming the question, or (for an unparsable policy) a failure.
func TestRequire(t *testing.T) {
	s := newAuthzService(t)
	ctx := context.Background()
	fn := "arn:aws:lambda:eu-west-1:" + testAccount + ":function:f"
	r := httptest.NewRequest("GET", "/", nil)
	if err := s.Require(ctx, Question{Principal: s.RootPrincipal(), Action: "lambda:GetFunction", Resource: fn, HTTP: r}); err != nil {
		t.Errorf("root: %v", err)
	}
	err := s.Require(ctx, Question{Action: "lambda:InvokeFunctionUrl", Resource: fn, HTTP: r})
	var d *Denied
	if !errors.As(err, &d) || d.Request.Action != "lambda:InvokeFunctionUrl" || d.Decision.Allowed {
		t.Errorf("anonymous without a policy: %v", err)
	}
	policy := []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunctionUrl","Resource":"*",` +
		`"Condition":{"StringEquals":{"aws:UserAgent":"curl/8"}}}]}`)
	r.Header.Set("User-Agent", "curl/8")
	if err := s.Require(ctx, Question{Action: "lambda:InvokeFunctionUrl", Resource: fn, ResourcePolicy: policy, HTTP: r}); err != nil {
		t.Errorf("anonymous allowed by the resource policy: %v", err)
	}
	r.Header.Set("User-Agent", "wget")
	if err := s.Require(ctx, Question{Action: "lambda:InvokeFunctionUrl", Resource: fn, ResourcePolicy: policy, HTTP: r}); !errors.As(err, &d) {
		t.Errorf("another user agent: %v", err)
	}
	err = s.Require(ctx, Question{Action: "lambda:InvokeFunctionUrl", Resource: fn, ResourcePolicy: []byte("{"), HTTP: r})
	if err == nil || errors.As(err, &d) {
		t.Errorf("unparsable policy: %v, want a failure", err)
	}
}
