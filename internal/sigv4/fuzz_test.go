package sigv4

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/furl/furl/internal/awserr"
)

func FuzzParseAuthorization(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261124/us-east-1/lambda/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=213bf2a84266c9c09d515711c11766da410365cdfaf301639ff709523e3c12c2")
	f.Add("AWS4-HMAC-SHA256 Credential=a/b/c/d/e,SignedHeaders=host,Signature=x")
	f.Add("Bearer x")
	f.Add("AWS4-HMAC-SHA256")
	f.Add("AWS4-HMAC-SHA256 ,,,=,Credential==")
	f.Fuzz(func(t *testing.T, v string) {
		h, err := ParseAuthorization(v)
		if err != nil {
			var ae *awserr.Error
			if !errors.As(err, &ae) || ae.Code != CodeIncompleteSignature {
				t.Fatalf("error %v is not IncompleteSignatureException", err)
			}
			return
		}
		if h.Algorithm != Algorithm || h.Credential == "" || h.SignedHeaders == "" || h.Signature == "" {
			t.Fatalf("accepted incomplete header %q: %+v", v, h)
		}
	})
}

// FuzzVerify feeds arbitrary request targets, hosts, Authorization headers, dates, tokens and
// bodies to Verify: it must never panic and must only ever return *awserr.Error. A request
// signed with the right key and then fuzz-mutated must not verify unless the mutation is
// a no-op.
func FuzzVerify(f *testing.F) {
	now := time.Date(2026, 11, 24, 21, 41, 28, 0, time.UTC)
	good, _ := http.NewRequest("POST", "http://127.0.0.1:18080/2015-03-31/functions/f/invocations?Qualifier=live", bytes.NewReader([]byte("{}")))
	_ = v4.NewSigner().SignHTTP(context.Background(), sdkCreds(testAKID, testSecret, ""), good, HashPayload([]byte("{}")), "lambda", "us-east-1", now)
	f.Add("POST", good.URL.RequestURI(), "127.0.0.1:18080", good.Header.Get("Authorization"), good.Header.Get("X-Amz-Date"), "", []byte("{}"))
	_, goodSig, _ := strings.Cut(good.Header.Get("Authorization"), "Signature=")
	f.Add("GET", "/p?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDTEST%2F20261124%2Fus-east-1%2Flambda%2Faws4_request&X-Amz-Date=20261124T214128Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=00", "h", "", "", "", []byte(nil))
	f.Add("GET", "/a/./b//../c?b=x+y&a=%zz&&=", "h:1", "AWS4-HMAC-SHA256 Credential=AKIDTEST/20261124/us-east-1/lambda/aws4_request, SignedHeaders=host;x-amz-date;x-missing, Signature=zz", "20261124T214128Z", "tok", []byte("x"))
	f.Add("GET", "*", "", "AWS4-HMAC-SHA256 Credential=////, SignedHeaders=;;, Signature=", "2026", "", []byte(nil))
	f.Add("GET", "http://h/abs?x=1", "h", "", "", "", []byte(nil))
	clock := func() time.Time { return now }
	v := NewVerifier(clock, testKeys(clock))
	f.Fuzz(func(t *testing.T, method, target, host, authz, date, token string, body []byte) {
		r := &http.Request{Method: method, RequestURI: target, Host: host, Header: http.Header{}, ContentLength: int64(len(body))}
		if u, err := url.ParseRequestURI(target); err == nil {
			r.URL = u
		} else {
			r.URL = &url.URL{Path: "/"}
		}
		if authz != "" {
			r.Header.Set("Authorization", authz)
		}
		if date != "" {
			r.Header.Set("X-Amz-Date", date)
		}
		if token != "" {
			r.Header.Set("X-Amz-Security-Token", token)
		}
		r.Header.Set("Content-Type", "application/json")
		_, err := v.Verify(context.Background(), r, HashPayload(body), Scope{Services: []string{"lambda"}})
		if err != nil {
			var ae *awserr.Error
			if !errors.As(err, &ae) {
				t.Fatalf("error %v (%T) is not *awserr.Error", err, err)
			}
			if ae.Status < 400 || ae.Code == "" || ae.Message == "" {
				t.Fatalf("bad error %+v", ae)
			}
		}
		if method == "POST" && target == good.URL.RequestURI() && host == good.Host && authz == good.Header.Get("Authorization") &&
			date == good.Header.Get("X-Amz-Date") && token == "" && string(body) == "{}" && err != nil {
			t.Fatalf("the signed seed does not verify: %v", err)
		}
		// The fuzzer only knows the seed's signature: anything that verifies must carry it.
		if err == nil && !strings.HasSuffix(authz, "Signature="+goodSig) {
			t.Fatalf("verified without the seed's signature: %s %q %q", method, target, authz)
		}
		_ = IsSigned(r)
		_, _ = CanonicalRequest(r, HashPayload(body))
	})
}

// BenchmarkVerify verifies one botocore-shaped POST (content-type, host, x-amz-date, a small
// JSON body) with the signing key cached, as every request after the first in a day does.
func BenchmarkVerify(b *testing.B) {
	now := time.Date(2026, 11, 24, 21, 41, 28, 0, time.UTC)
	body := []byte(`{"FunctionName":"hello","Runtime":"python3.12","Handler":"app.handler","Timeout":10}`)
	c, _ := http.NewRequest("POST", "http://127.0.0.1:9000/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Ahello/invocations?Qualifier=live", bytes.NewReader(body))
	c.Header.Set("Content-Type", "application/json")
	c.Header.Set("User-Agent", "aws-cli/1.45.11")
	c.Header.Set("X-Amz-Security-Token", sessToken)
	if err := v4.NewSigner().SignHTTP(context.Background(), sdkCreds(sessAKID, sessSecret, sessToken), c, HashPayload(body), "lambda", "us-east-1", now); err != nil {
		b.Fatal(err)
	}
	r := asServer(c)
	clock := func() time.Time { return now }
	v := NewVerifier(clock, testKeys(clock))
	hash := HashPayload(body)
	scope := lambdaScope()
	ctx := context.Background()
	if _, err := v.Verify(ctx, r, hash, scope); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, r, hash, scope); err != nil {
			b.Fatal(err)
		}
	}
}
