package console_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	lambdasdk "github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/furl/furl/internal/config"
	"github.com/furl/furl/internal/console"
	"github.com/furl/furl/internal/server"
	"github.com/furl/furl/internal/sigv4"
)

const rootID, rootSecret = "AKIAFURLTESTROOT0000", "furl-test-secret"

// start runs a real server on loopback with a fresh data dir.
func start(t *testing.T) string {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.RootAccessKeyID, cfg.RootSecretAccessKey = rootID, rootSecret
	ctx, cancel := context.WithCancel(context.Background())
	s, err := server.New(ctx, cfg, slog.New(slog.DiscardHandler))
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
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("Serve did not return")
		}
	})
	return "http://" + ln.Addr().String()
}

type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(method, path string, form url.Values, hdr map[string]string) (*http.Response, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", b.base)
	}
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp, string(out)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, html string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(html)
	if m == nil {
		t.Fatalf("no csrf token in page:\n%s", html)
	}
	return m[1]
}

// signIn signs in with a key pair and answers the sign-in POST's response.
func (b *browser) signIn(id, secret string) *http.Response {
	_, page := b.do("GET", "/furl/console/signin", nil, nil)
	resp, _ := b.do("POST", "/furl/console/signin", url.Values{"csrf": {csrfOf(b.t, page)}, "access_key_id": {id}, "secret_access_key": {secret}}, nil)
	return resp
}

func TestSecurityHeaders(t *testing.T) {
	base := start(t)
	b := newBrowser(t, base)
	for _, p := range []string{"/furl/console/signin", "/furl/console/", "/furl/console/assets/app.js"} {
		resp, _ := b.do("GET", p, nil, nil)
		csp := resp.Header.Get("Content-Security-Policy")
		for _, want := range []string{"script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "default-src 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", p, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: CSP allows inline: %q", p, csp)
		}
		if resp.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: X-Frame-Options %q", p, resp.Header.Get("X-Frame-Options"))
		}
	}
	// Not signed in: the console redirects to sign-in and the live stream is refused.
	if resp, _ := b.do("GET", "/furl/console/", nil, nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/furl/console/signin" {
		t.Errorf("unsigned console: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := b.do("GET", "/furl/console/requests/stream", nil, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unsigned stream: %d", resp.StatusCode)
	}
}

func TestSignInWithKey(t *testing.T) {
	base := start(t)
	b := newBrowser(t, base)
	if resp := b.signIn(rootID, "wrong-secret"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("wrong secret: %d", resp.StatusCode)
	}
	if resp := b.signIn("AKIANOSUCHKEY0000000", rootSecret); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("unknown key: %d", resp.StatusCode)
	}
	// A sign-in form posted from another origin, or without the form's token, is refused.
	_, page := b.do("GET", "/furl/console/signin", nil, nil)
	tok := csrfOf(t, page)
	if resp, _ := b.do("POST", "/furl/console/signin", url.Values{"csrf": {tok}, "access_key_id": {rootID}, "secret_access_key": {rootSecret}},
		map[string]string{"Origin": "http://evil.example"}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin sign-in: %d", resp.StatusCode)
	}
	if resp, _ := b.do("POST", "/furl/console/signin", url.Values{"csrf": {"nope"}, "access_key_id": {rootID}, "secret_access_key": {rootSecret}}, nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("sign-in without the form token: %d", resp.StatusCode)
	}
	resp := b.signIn(rootID, rootSecret)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: %d", resp.StatusCode)
	}
	var sc string
	for _, c := range resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "furl_console=") {
			sc = c
		}
	}
	for _, want := range []string{"HttpOnly", "SameSite=Strict", "Path=/furl/console/"} {
		if !strings.Contains(sc, want) {
			t.Errorf("session cookie %q lacks %s", sc, want)
		}
	}
	resp, page = b.do("GET", "/furl/console/", nil, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "arn:aws:iam::000000000000:root") || !strings.Contains(page, `id="functions"`) {
		t.Fatalf("console after sign-in: %d\n%s", resp.StatusCode, page)
	}
	// Changes need the session's CSRF token and a same-origin request.
	tok = csrfOf(t, page)
	if resp, _ := b.do("POST", "/furl/console/signout", url.Values{}, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("sign-out without token: %d", resp.StatusCode)
	}
	if resp, _ := b.do("POST", "/furl/console/signout", url.Values{"csrf": {tok}}, map[string]string{"Origin": "http://evil.example"}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin sign-out: %d", resp.StatusCode)
	}
	if resp, _ := b.do("POST", "/furl/console/signout", url.Values{"csrf": {tok}}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("sign-out: %d", resp.StatusCode)
	}
	if resp, _ := b.do("GET", "/furl/console/", nil, nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after sign-out: %d", resp.StatusCode)
	}
}

func mintLink(t *testing.T, base, id, secret string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+console.LinkAPIPath, nil)
	if id != "" {
		creds := aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, sigv4.EmptyPayloadHash, "lambda", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var l console.LinkResponse
	_ = json.NewDecoder(resp.Body).Decode(&l)
	return resp.StatusCode, l.URL
}

func TestOneTimeLink(t *testing.T) {
	base := start(t)
	if code, _ := mintLink(t, base, "", ""); code != http.StatusForbidden {
		t.Fatalf("unsigned link request: %d", code)
	}
	if code, _ := mintLink(t, base, rootID, "wrong"); code != http.StatusForbidden {
		t.Fatalf("badly signed link request: %d", code)
	}
	code, link := mintLink(t, base, rootID, rootSecret)
	if code != http.StatusOK || !strings.HasPrefix(link, base+"/furl/console/signin/link?token=") {
		t.Fatalf("link: %d %q", code, link)
	}
	path := strings.TrimPrefix(link, base)
	b := newBrowser(t, base)
	if resp, _ := b.do("GET", path, nil, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("link: %d", resp.StatusCode)
	}
	if resp, page := b.do("GET", "/furl/console/", nil, nil); resp.StatusCode != http.StatusOK || !strings.Contains(page, ":root") {
		t.Fatalf("after link: %d", resp.StatusCode)
	}
	other := newBrowser(t, base)
	if resp, _ := other.do("GET", path, nil, nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("second use of the link: %d", resp.StatusCode)
	}
	if resp, _ := other.do("GET", "/furl/console/", nil, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("second browser is signed in: %d", resp.StatusCode)
	}
}

func TestIAMUserSeesAccessDenied(t *testing.T) {
	base := start(t)
	ctx := context.Background()
	root := iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: aws.String(base),
		Credentials: credentials.NewStaticCredentialsProvider(rootID, rootSecret, ""), RetryMaxAttempts: 1})
	if _, err := root.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("viewer")}); err != nil {
		t.Fatal(err)
	}
	ck, err := root.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("viewer")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := root.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("viewer"), PolicyName: aws.String("get"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:GetFunction","Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, base)
	if resp := b.signIn(aws.ToString(ck.AccessKey.AccessKeyId), aws.ToString(ck.AccessKey.SecretAccessKey)); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("user sign-in: %d", resp.StatusCode)
	}
	resp, page := b.do("GET", "/furl/console/", nil, nil)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(page, "AccessDeniedException") ||
		!strings.Contains(page, "lambda:ListFunctions") || strings.Contains(page, `id="functions"`) {
		t.Fatalf("user without lambda:ListFunctions: %d\n%s", resp.StatusCode, page)
	}
	// The link API mints links for the user too; the link signs in as the user.
	code, link := mintLink(t, base, aws.ToString(ck.AccessKey.AccessKeyId), aws.ToString(ck.AccessKey.SecretAccessKey))
	if code != http.StatusOK {
		t.Fatalf("user link: %d", code)
	}
	b2 := newBrowser(t, base)
	b2.do("GET", strings.TrimPrefix(link, base), nil, nil)
	if _, page := b2.do("GET", "/furl/console/requests", nil, nil); !strings.Contains(page, "user/viewer") || !strings.Contains(page, "AccessDeniedException") {
		t.Fatalf("user via link:\n%s", page)
	}
}

func TestFunctionPage(t *testing.T) {
	base := start(t)
	ctx := context.Background()
	cl := lambdasdk.New(lambdasdk.Options{Region: "us-east-1", BaseEndpoint: aws.String(base),
		Credentials: credentials.NewStaticCredentialsProvider(rootID, rootSecret, ""), RetryMaxAttempts: 1})
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	w, _ := zw.Create("app.py")
	_, _ = w.Write([]byte("def handler(e, c):\n    return e\n"))
	_ = zw.Close()
	if _, err := cl.CreateFunction(ctx, &lambdasdk.CreateFunctionInput{FunctionName: aws.String("f"), Runtime: "python3.12",
		Handler: aws.String("app.handler"), Role: aws.String("arn:aws:iam::000000000000:role/furl-default-lambda-role"),
		Code: &lambdatypes.FunctionCode{ZipFile: zbuf.Bytes()}, Environment: &lambdatypes.Environment{Variables: map[string]string{"GREETING": "hi"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.CreateFunctionUrlConfig(ctx, &lambdasdk.CreateFunctionUrlConfigInput{FunctionName: aws.String("f"), AuthType: "AWS_IAM",
		Cors: &lambdatypes.Cors{AllowOrigins: []string{"https://example.com"}}}); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, base)
	b.signIn(rootID, rootSecret)
	resp, page := b.do("GET", "/furl/console/functions/f", nil, nil)
	for _, want := range []string{"python3.12", "GREETING", "AWS_IAM", "https://example.com", "$LATEST", `name="csrf"`, "<svg"} {
		if !strings.Contains(page, want) {
			t.Errorf("function page lacks %q", want)
		}
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("function page: %d\n%s", resp.StatusCode, page)
	}
	if resp, page := b.do("GET", "/furl/console/functions/nope", nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown function: %d\n%s", resp.StatusCode, page)
	}
	if resp, _ := b.do("GET", "/furl/console/requests/nope", nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown request: %d", resp.StatusCode)
	}
	if resp, page := b.do("GET", "/furl/console/functions/f/requests", nil, nil); resp.StatusCode != http.StatusOK || !strings.Contains(page, `id="requests"`) {
		t.Errorf("function requests: %d", resp.StatusCode)
	}
	// Invoking needs the session's token.
	if resp, _ := b.do("POST", "/furl/console/functions/f/invoke", url.Values{"event": {"{}"}}, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("invoke without token: %d", resp.StatusCode)
	}
}
