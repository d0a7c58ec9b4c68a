//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The console suite drives the real web console in headless Debian chromium through chromedp:
// sign-in with a one-time link and with keys, the function list, the live request inspector
// (requests sent with curl appear within a second, without reloading), a request's event and
// log lines, replay, a refused AWS_IAM request explained, and an IAM user without
// lambda:ListFunctions who gets AccessDenied instead of the list. With FURL_UPDATE_SCREENSHOTS=1
// it writes the 1280×800 screenshots shown in the README into docs/.

const consoleWeb = `
import json
def handler(event, context):
    print("handling", event["requestContext"]["http"]["method"], event["rawPath"])
    return {"statusCode": 200, "headers": {"content-type": "application/json"},
            "body": json.dumps({"path": event["rawPath"], "query": event.get("queryStringParameters")})}
`

// chromium starts a headless chromium for the test and returns a fresh browser context
// factory (each context has its own cookies).
func chromium(t *testing.T) func() (context.Context, context.CancelFunc) {
	t.Helper()
	path, err := exec.LookPath("chromium")
	need(t, "chromium", err)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.Headless,
		chromedp.Flag("disable-quic", true), chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 800))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	if err := chromedp.Do(bctx); err != nil { // start the browser
		cancelBrowser()
		cancelAlloc()
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() { cancelBrowser(); cancelAlloc() })
	return func() (context.Context, context.CancelFunc) {
		ctx, cancel := chromedp.NewContext(bctx, chromedp.WithNewBrowserContext())
		ctx, cancel2 := context.WithTimeout(ctx, 2*time.Minute)
		return ctx, func() { cancel2(); cancel() }
	}
}

func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// screenshot saves the page as docs/<name>.png when FURL_UPDATE_SCREENSHOTS=1.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := t.TempDir()
	if os.Getenv("FURL_UPDATE_SCREENSHOTS") == "1" {
		dir = filepath.Join(repoRoot(), "docs")
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestConsoleBrowser(t *testing.T) {
	s := urlStart(t)
	newTab := chromium(t)
	webID := s.deploy("web", "python3.12", "app.handler", map[string][]byte{"app.py": []byte(consoleWeb)}, "NONE", `AllowOrigins=https://example.com,AllowMethods=GET,POST`)
	secureID := s.deploy("secure", "python3.12", "app.handler", map[string][]byte{"app.py": []byte(consoleWeb)}, "AWS_IAM", "")
	base := s.endpoint()
	webURL := base + "/lambda-url/" + webID
	secureURL := base + "/lambda-url/" + secureID + "/private"

	// An IAM user who may read functions but not list them.
	s.awsOK("iam", "create-user", "--user-name", "viewer")
	key := s.awsOK("iam", "create-access-key", "--user-name", "viewer")["AccessKey"].(map[string]any)
	viewer := iamCreds{key["AccessKeyId"].(string), key["SecretAccessKey"].(string), ""}
	s.awsOK("iam", "put-user-policy", "--user-name", "viewer", "--policy-name", "get",
		"--policy-document", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:GetFunction","Resource":"*"}]}`)
	s.curl(webURL + "/warm-up") // a cold start before the browser measures anything

	t.Run("one-time link", func(t *testing.T) {
		out, errs, err := s.furl("console", "--no-browser")
		if err != nil {
			t.Fatalf("furl console: %v\n%s", err, errs)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		link := lines[len(lines)-1]
		if !strings.HasPrefix(link, base+"/furl/console/signin/link?token=") {
			t.Fatalf("last line %q is not a sign-in link", link)
		}
		ctx, cancel := newTab()
		defer cancel()
		do(t, ctx, "open link", chromedp.EmulateViewport(1280, 800), chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("functions")))
		if got := text(t, ctx, "#functions"); !strings.Contains(got, "web") || !strings.Contains(got, "secure") || !strings.Contains(got, "python3.12") {
			t.Fatalf("function list: %q", got)
		}
		screenshot(t, ctx, "console-functions")
		// The link works once.
		ctx2, cancel2 := newTab()
		defer cancel2()
		do(t, ctx2, "reuse link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("signin-error")))
	})

	ctx, cancel := newTab()
	defer cancel()
	t.Run("keys", func(t *testing.T) {
		do(t, ctx, "sign in", chromedp.EmulateViewport(1280, 800), chromedp.Navigate(base+"/furl/console/signin"),
			chromedp.SendKeys(chromedp.ID("access_key_id"), s.root.id), chromedp.SendKeys(chromedp.ID("secret_access_key"), s.root.secret))
		if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.ID("signin"))); err != nil {
			t.Fatal(err)
		}
		do(t, ctx, "function list", chromedp.WaitVisible(chromedp.ID("functions")))
		do(t, ctx, "function page", chromedp.Navigate(base+"/furl/console/functions/web"), chromedp.WaitVisible(chromedp.ID("config")))
		if got := text(t, ctx, "#urls"); !strings.Contains(got, "NONE") || !strings.Contains(got, "https://example.com") || !strings.Contains(got, "FunctionURLAllowPublicAccess") {
			t.Fatalf("URL section: %q", got)
		}
		screenshot(t, ctx, "console-function")
	})

	t.Run("live requests", func(t *testing.T) {
		do(t, ctx, "requests page", chromedp.Navigate(base+"/furl/console/requests"), chromedp.WaitVisible(chromedp.ID("requests")))
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector('[data-live="requests"]').classList.contains("on")`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
			t.Fatalf("live stream did not connect: %v", err)
		}
		for i := 1; i <= 3; i++ {
			path := fmt.Sprintf("/orders/%d", i)
			s.curl(webURL + path + "?color=blue")
			sent := time.Now()
			js := fmt.Sprintf(`Array.from(document.querySelectorAll('#requests td.path')).some(td => td.textContent.includes(%q))`, path)
			if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(5*time.Second), chromedp.WithPollingInterval(20*time.Millisecond))); err != nil {
				t.Fatalf("request %s did not appear: %v", path, err)
			}
			if d := time.Since(sent); d > time.Second {
				t.Errorf("request %s appeared after %v, want within 1 s", path, d)
			} else {
				t.Logf("request %s appeared after %v", path, d.Round(time.Millisecond))
			}
		}
		// A refused AWS_IAM request: a signature made with the wrong secret for a known key.
		out, _ := exec.Command("curl", "-s", "--aws-sigv4", "aws:amz:us-east-1:lambda", "--user", s.root.id+":wrong-secret", secureURL).CombinedOutput()
		if !strings.Contains(string(out), "Forbidden") {
			t.Fatalf("wrongly signed request answered %q", out)
		}
		// And one by the viewer, whose signature is good but whom no policy allows.
		exec.Command("curl", "-s", "--aws-sigv4", "aws:amz:us-east-1:lambda", "--user", viewer.id+":"+viewer.secret, secureURL).Run()
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelectorAll('#requests tbody tr').length >= 6`, chromedp.WithPollingTimeout(5*time.Second))); err != nil {
			t.Fatalf("refused requests did not appear: %v", err)
		}
		screenshot(t, ctx, "console-requests")
	})

	t.Run("request detail and replay", func(t *testing.T) {
		if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.JSPath(`Array.from(document.querySelectorAll('#requests td.path a')).find(a => a.textContent.includes('/orders/2'))`))); err != nil {
			t.Fatal(err)
		}
		do(t, ctx, "request page", chromedp.WaitVisible(chromedp.ID("event-json")))
		if ev := text(t, ctx, "#event-json"); !strings.Contains(ev, `"rawPath": "/orders/2"`) || !strings.Contains(ev, `"version": "2.0"`) || !strings.Contains(ev, `"color": "blue"`) {
			t.Fatalf("event: %s", ev)
		}
		logs := text(t, ctx, "#request-logs")
		for _, want := range []string{"START RequestId:", "handling GET /orders/2", "END RequestId:", "REPORT RequestId:"} {
			if !strings.Contains(logs, want) {
				t.Errorf("log lines lack %q:\n%s", want, logs)
			}
		}
		if c, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID("curl"))); err != nil || !strings.Contains(c, "/orders/2?color=blue") {
			t.Errorf("curl: %s", c)
		}
		screenshot(t, ctx, "console-request")
		if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.ID("replay"))); err != nil {
			t.Fatal(err)
		}
		do(t, ctx, "replay result", chromedp.WaitVisible(chromedp.ID("result-payload")))
		if got := text(t, ctx, "#result-payload"); !strings.Contains(got, `\"path\": \"/orders/2\"`) {
			t.Fatalf("replay result: %s", got)
		}
	})

	t.Run("refused request explained", func(t *testing.T) {
		do(t, ctx, "requests", chromedp.Navigate(base+"/furl/console/functions/secure/requests"), chromedp.WaitVisible(chromedp.ID("requests")))
		rows := text(t, ctx, "#requests tbody")
		if !strings.Contains(rows, "403") {
			t.Fatalf("secure requests: %q", rows)
		}
		// The wrongly signed one (the first sent, so the last row).
		if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`#requests tbody tr:last-child td.path a`))); err != nil {
			t.Fatal(err)
		}
		do(t, ctx, "decision", chromedp.WaitVisible(chromedp.ID("decision")))
		if got := text(t, ctx, "#decision"); !strings.Contains(strings.ToLower(got), "signature") {
			t.Fatalf("decision: %s", got)
		}
		if got := text(t, ctx, "#canonical"); !strings.Contains(got, "GET\n/lambda-url/"+secureID+"/private") && !strings.Contains(got, "/private") {
			t.Fatalf("canonical request: %q", got)
		}
		if got := text(t, ctx, "#sts"); !strings.HasPrefix(got, "AWS4-HMAC-SHA256") {
			t.Fatalf("string to sign: %q", got)
		}
		if got := text(t, ctx, "#http-request"); strings.Contains(got, "Signature=") || !strings.Contains(got, "REDACTED") {
			t.Fatalf("authorization not redacted: %s", got)
		}
		screenshot(t, ctx, "console-refused")
		// The viewer's request: refused by IAM, no statement allows it.
		do(t, ctx, "requests", chromedp.Navigate(base+"/furl/console/functions/secure/requests"), chromedp.WaitVisible(chromedp.ID("requests")))
		if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`#requests tbody tr:first-child td.path a`))); err != nil {
			t.Fatal(err)
		}
		do(t, ctx, "iam decision", chromedp.WaitVisible(chromedp.ID("decision")))
		if got := text(t, ctx, "#decision"); !strings.Contains(got, "lambda:InvokeFunctionUrl") {
			t.Fatalf("IAM decision: %s", got)
		}
	})

	t.Run("IAM user without lambda:ListFunctions", func(t *testing.T) {
		vctx, vcancel := newTab()
		defer vcancel()
		do(t, vctx, "sign in", chromedp.EmulateViewport(1280, 800), chromedp.Navigate(base+"/furl/console/signin"),
			chromedp.SendKeys(chromedp.ID("access_key_id"), viewer.id), chromedp.SendKeys(chromedp.ID("secret_access_key"), viewer.secret))
		if _, err := chromedp.RunResponse(vctx, chromedp.Click(chromedp.ID("signin"))); err != nil {
			t.Fatal(err)
		}
		do(t, vctx, "denied", chromedp.WaitVisible(chromedp.ID("denied")))
		got := text(t, vctx, "#denied")
		if !strings.Contains(got, "AccessDeniedException") || !strings.Contains(got, "lambda:ListFunctions") {
			t.Fatalf("viewer sees %q", got)
		}
		html, err := chromedp.Run(vctx, chromedp.OuterHTML(chromedp.CSS("main")))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(html, "python3.12") || strings.Contains(html, webID) {
			t.Fatalf("viewer sees function data:\n%s", html)
		}
		screenshot(t, vctx, "console-denied")
	})
}
