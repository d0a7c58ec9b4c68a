//go:build e2e

// tls_clients_test.go: headless Chromium trusting furl's local CA (by its SPKI hash) makes a
// CORS fetch to a function URL over https, and the article's four examples (seed/) go over
// https with the events compared with the ones AWS delivered, TLS headers included.
//
//	go test -tags e2e -run 'TestTLSChromium|TestTLSArticle' ./test/e2e/ -v
package e2e

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"
)

// spkiOf is the base64 SHA-256 of the SubjectPublicKeyInfo of the first certificate in a PEM file.
func spkiOf(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s: no PEM", file)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}

func TestTLSChromiumCORS(t *testing.T) {
	path, err := exec.LookPath("chromium")
	need(t, "chromium", err)
	s := tlsStart(t, "")
	origin := "https://localhost:" + s.tlsPort()
	id := s.deploy("corsfn", "python3.12", "app.handler", map[string][]byte{"app.py": []byte(tlsEcho)}, "NONE",
		"AllowOrigins="+origin+",AllowMethods=POST,AllowHeaders=content-type,x-token,ExposeHeaders=x-amzn-requestid,MaxAge=60")
	u, _ := s.hostURLTLS(id)

	// The SPKI flag trusts the CA's key, which is in the chain furl serves.
	out, errs, err := s.furl("ca", "--data-dir", filepath.Join(s.work, "data"))
	if err != nil {
		t.Fatalf("furl ca: %v %s", err, errs)
	}
	spki := spkiOf(t, s.ca)
	if !strings.Contains(out, "--ignore-certificate-errors-spki-list="+spki) {
		t.Fatalf("furl ca does not print the SPKI flag for %s:\n%s", spki, out)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.Headless,
		chromedp.Flag("ignore-certificate-errors-spki-list", spki),
		chromedp.Flag("disable-quic", true), chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, 2*time.Minute)
	defer cancelT()

	// The page's origin is the API host over https; the fetch goes to the URL host: cross-origin,
	// with a preflight (custom header), both over TLS.
	if err := chromedp.Do(ctx, chromedp.Navigate(origin+"/furl-tls-test")); err != nil {
		t.Fatalf("navigate: %v", err)
	}
	type result struct {
		Status  int
		Body    string
		ReqID   string
		Proto   string
		Origin  string
		Err     string
		Preflag bool
	}
	js := fmt.Sprintf(`(async () => {
  try {
    const r = await fetch(%q, {method: "POST", headers: {"content-type": "application/json", "x-token": "t"}, body: '{"hi":1}'});
    const ev = JSON.parse(await r.text());
    return {Status: r.status, Body: ev.body, ReqID: r.headers.get("x-amzn-requestid") || "",
            Proto: ev.headers["x-forwarded-proto"] || "", Origin: ev.headers["origin"] || ""};
  } catch (e) { return {Err: String(e)}; }
})()`, u+"cors")
	got, err := chromedp.Run(ctx, chromedp.Evaluate[result](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	if got.Err != "" || got.Status != 200 || got.Body != `{"hi":1}` || got.ReqID == "" || got.Origin != origin {
		t.Fatalf("CORS fetch over https: %+v", got)
	}
	if got.Proto != "https" {
		t.Errorf("event x-forwarded-proto %q over TLS", got.Proto)
	}
	// A fetch the URL's CORS does not allow (another method) is blocked by the browser.
	js2 := fmt.Sprintf(`fetch(%q, {method: "PUT", headers: {"x-token": "t"}}).then(() => "allowed", e => "blocked: " + e)`, u)
	blocked, err := chromedp.Run(ctx, chromedp.Evaluate[string](js2, chromedp.EvalAwaitPromise))
	if err != nil || !strings.HasPrefix(blocked, "blocked") {
		t.Errorf("disallowed method: %q %v", blocked, err)
	}
}

// urlTLSClient is urlClient over https, trusting FURL_CA, with TLS 1.2 at most (AWS's events
// in seed/ were recorded over TLS 1.2).
func urlTLSClient(t *testing.T) string {
	t.Helper()
	script := strings.Replace(urlClient, "    with urllib.request.urlopen(req) as r:",
		"    import ssl\n    ctx = ssl.create_default_context(cafile=os.environ['FURL_CA'])\n    ctx.maximum_version = ssl.TLSVersion.TLSv1_2\n    with urllib.request.urlopen(req, context=ctx) as r:", 1)
	if !strings.Contains(script, "FURL_CA") {
		t.Fatalf("urlClient no longer has the line this test rewrites:\n%s", urlClient)
	}
	return script
}

func TestTLSArticleExamples(t *testing.T) {
	// An RSA certificate of the user's: with it TLS 1.2 negotiates ECDHE-RSA-AES128-GCM-SHA256,
	// the suite in AWS's recordings.
	dir := t.TempDir()
	certFile, keyFile := writeRSACert(t, dir, "furl test", "localhost", "127.0.0.1", "*.lambda-url.us-east-1.localhost")
	s := tlsStart(t, certFile, "--tls-cert", certFile, "--tls-key", keyFile)
	ids := map[int]string{
		1: s.deploy("example1", "python3.12", "lambda_function_1.lambda_handler", map[string][]byte{"lambda_function_1.py": []byte(urlExample1)}, "NONE", ""),
		2: s.deploy("example2", "python3.12", "lambda_function_2.lambda_handler", map[string][]byte{"lambda_function_2.py": []byte(urlExample2)}, "NONE", ""),
		3: s.deploy("example3", "python3.12", "lambda_function_1.lambda_handler", map[string][]byte{"lambda_function_1.py": []byte(urlExample1)}, "AWS_IAM", ""),
		4: s.deploy("example4", "python3.12", "lambda_function_2.lambda_handler", map[string][]byte{"lambda_function_2.py": []byte(urlExample2)}, "AWS_IAM", ""),
	}
	script := urlTLSClient(t)
	for _, c := range []struct {
		n            int
		method, body string
		sign         bool
		want         string
	}{
		{1, "GET", "", false, `{"message":"hello world"}`},
		{2, "POST", `{"name": "Alice"}`, false, `{"message":"hello Alice"}`},
		{3, "GET", "", true, `{"message":"hello world"}`},
		{4, "POST", `{"name": "Alice"}`, true, `{"message":"hello Alice"}`},
	} {
		t.Run(fmt.Sprintf("example%d", c.n), func(t *testing.T) {
			mode := "plain"
			if c.sign {
				mode = "sign"
			}
			// Path-style: Python cannot resolve *.localhost (host-style and domainName are the
			// gateway tests' part).
			url := "https://127.0.0.1:" + s.tlsPort() + "/lambda-url/" + ids[c.n] + "/"
			cmd := exec.Command("python3", "-c", script, url, c.method, c.body, mode)
			cmd.Env = append(s.clientEnv(), "FURL_CA="+s.ca)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("python: %v %s", err, out)
			}
			var r urlReply
			if err := json.Unmarshal(out, &r); err != nil || r.Status != 200 || r.Body != c.want {
				t.Fatalf("reply %s: %v", out, err)
			}
			evs := s.events(fmt.Sprintf("example%d", c.n))
			if len(evs) == 0 {
				t.Fatal("no event recorded")
			}
			ev, seed := evs[0], urlSeed(t, c.n)
			h, sh := ev["headers"].(map[string]any), seed["headers"].(map[string]any)
			for _, k := range []string{"x-forwarded-proto", "x-amzn-tls-version", "x-amzn-tls-cipher-suite"} {
				if h[k] != sh[k] {
					t.Errorf("%s = %v, AWS: %v", k, h[k], sh[k])
				}
			}
			if h["x-forwarded-port"] != s.tlsPort() {
				t.Errorf("x-forwarded-port = %v, want the TLS port %s", h["x-forwarded-port"], s.tlsPort())
			}
			if diff := cmp.Diff(urlNormalize(seed), urlNormalize(ev)); diff != "" {
				t.Errorf("event differs from AWS's (-aws +furl):\n%s", diff)
			}
		})
	}
}
