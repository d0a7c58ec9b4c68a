//go:build e2e

// allowlist_test.go: the article's one wish AWS cannot grant — an IP allow-list on a function
// URL — set with `furl url allow` and `furl policy put`, checked from inside and outside the
// list (clients bound to 127.0.0.2 / 127.0.0.3 so aws:SourceIp differs), behind a trusted
// reverse proxy (--trusted-proxies), with AddPermission/RemovePermission and GetPolicy of the
// AWS CLI working on the same policy.
//
//	go test -tags e2e -run AllowList ./test/e2e/ -v
package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const allowListApp = "def handler(event, context):\n    return {'statusCode': 200, 'body': 'from ' + event['requestContext']['http']['sourceIp']}\n"

const forbiddenBody = `{"Message":"Forbidden. For troubleshooting Function URL authorization issues, see: https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html"}`

// curlFrom calls u with curl bound to the local address iface and returns the status and body.
func curlFrom(t *testing.T, iface, u string, args ...string) (string, string) {
	t.Helper()
	out, err := exec.Command("curl", append([]string{"-sS", "--interface", iface, "-w", "\n%{http_code}", u}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("curl --interface %s %s: %v\n%s", iface, u, err, out)
	}
	i := strings.LastIndexByte(string(out), '\n')
	if i < 0 {
		t.Fatalf("curl output %q", out)
	}
	return string(out[i+1:]), string(out[:i])
}

// goFrom calls u with a Go client whose connections come from the local address ip.
func goFrom(t *testing.T, ip, u string) (int, string) {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	c := &http.Client{Transport: &http.Transport{DialContext: d.DialContext}, Timeout: time.Minute}
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAllowListFromOutside(t *testing.T) {
	needCommands(t, "/usr/bin/aws", "curl", "python3")
	work := t.TempDir()
	// 127.0.0.3 plays a reverse proxy in front of furl: only its X-Forwarded-For is believed.
	s := &urlServer{cpServer: startFurlWith(t, filepath.Join(work, "data"), freeAddr(t), urlKey, urlSecret, nil, "--trusted-proxies", "127.0.0.3/32"), work: work}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log tail:\n%s", tail(s.logs.String(), 4000))
		}
	})
	s.deploy("walled", "python3.12", "app.handler", map[string][]byte{"app.py": []byte(allowListApp)}, "NONE", "")
	fu := str(s.awsOK("lambda", "get-function-url-config", "--function-name", "walled"), "FunctionUrl")

	expect := func(what, iface string, wantStatus, wantBody string, args ...string) {
		t.Helper()
		st, body := curlFrom(t, iface, fu, args...)
		if st != wantStatus || body != wantBody {
			t.Fatalf("%s: from %s %v: %s %q, want %s %q", what, iface, args, st, body, wantStatus, wantBody)
		}
	}
	expect("open URL", "127.0.0.2", "200", "from 127.0.0.2")

	// furl url allow: a Deny for every caller outside the list, beside the public Allow.
	out, errs, err := s.furl("url", "allow", "walled", "--cidr", "127.0.0.1/32")
	if err != nil || !strings.Contains(out, `"Sid": "FurlUrlAllowList"`) || !strings.Contains(out, `"NotIpAddress"`) {
		t.Fatalf("furl url allow: %v\n%s\n%s", err, out, errs)
	}
	expect("inside the list", "127.0.0.1", "200", "from 127.0.0.1")
	expect("outside the list", "127.0.0.2", "403", forbiddenBody)
	if st, body := goFrom(t, "127.0.0.2", fu); st != 403 || body != forbiddenBody {
		t.Fatalf("Go client from 127.0.0.2: %d %s", st, body)
	}

	// GetPolicy shows it as AWS shows policies: one document, AddPermission's statement and ours.
	pol := str(s.awsOK("lambda", "get-policy", "--function-name", "walled"), "Policy")
	var doc struct {
		Version, Id string
		Statement   []struct{ Sid, Effect, Resource string }
	}
	if err := json.Unmarshal([]byte(pol), &doc); err != nil || doc.Version != "2012-10-17" || doc.Id != "default" || len(doc.Statement) != 2 ||
		doc.Statement[0].Sid != "FunctionURLAllowPublicAccess" || doc.Statement[1].Sid != "FurlUrlAllowList" || doc.Statement[1].Effect != "Deny" ||
		doc.Statement[1].Resource != "arn:aws:lambda:us-east-1:000000000000:function:walled" {
		t.Fatalf("get-policy: %v\n%s", err, pol)
	}

	// Behind the trusted proxy the caller is the address it forwards; anyone else's
	// X-Forwarded-For is ignored.
	expect("via the trusted proxy, caller inside", "127.0.0.3", "200", "from 127.0.0.1", "-H", "X-Forwarded-For: 127.0.0.1")
	expect("via the trusted proxy, caller outside", "127.0.0.3", "403", forbiddenBody, "-H", "X-Forwarded-For: 127.0.0.2")
	expect("untrusted peer claiming an inside address", "127.0.0.2", "403", forbiddenBody, "-H", "X-Forwarded-For: 127.0.0.1")

	// RemovePermission (AWS CLI) takes the allow-list out; AddPermission keeps working too.
	s.awsOK("lambda", "remove-permission", "--function-name", "walled", "--statement-id", "FurlUrlAllowList")
	expect("list removed", "127.0.0.2", "200", "from 127.0.0.2")

	// furl policy put from standard input: a whole document with any condition keys.
	custom := `{"Version":"2012-10-17","Statement":[{"Sid":"OfficeCurl","Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunctionUrl",
  "Condition":{"IpAddress":{"aws:SourceIp":"127.0.0.2/32"},"StringLike":{"aws:UserAgent":"office-agent/*"},
  "DateLessThan":{"aws:CurrentTime":"2099-01-01T00:00:00Z"}}}]}`
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := s.furlCmd(ctx, "policy", "put", "walled", "-")
	cmd.Stdin = strings.NewReader(custom)
	if b, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(b), `"Sid": "OfficeCurl"`) {
		t.Fatalf("furl policy put -: %v\n%s", err, b)
	}
	expect("custom: right address and agent", "127.0.0.2", "200", "from 127.0.0.2", "-A", "office-agent/1.0")
	expect("custom: wrong agent", "127.0.0.2", "403", forbiddenBody, "-A", "curl/7.88.1")
	expect("custom: wrong address", "127.0.0.1", "403", forbiddenBody, "-A", "office-agent/1.0")
	s.awsOK("lambda", "add-permission", "--function-name", "walled", "--statement-id", "Loopback",
		"--action", "lambda:InvokeFunctionUrl", "--principal", "*", "--function-url-auth-type", "NONE")
	expect("AddPermission on top of a put policy", "127.0.0.1", "200", "from 127.0.0.1")

	out, _, err = s.furl("policy", "get", "walled")
	if err != nil || !strings.Contains(out, `"Sid": "OfficeCurl"`) || !strings.Contains(out, `"Sid": "Loopback"`) {
		t.Fatalf("furl policy get: %v\n%s", err, out)
	}

	// Bad documents get AWS-shaped errors and change nothing.
	bad := filepath.Join(work, "bad.json")
	os.WriteFile(bad, []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:*"}]}`), 0o644)
	if _, errs, err := s.furl("policy", "put", "walled", bad); err == nil || !strings.Contains(errs, "InvalidParameterValueException") || !strings.Contains(errs, "Missing required field Principal") {
		t.Fatalf("bad document: %v %s", err, errs)
	}
	big := filepath.Join(work, "big.json")
	os.WriteFile(big, []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"lambda:*","Condition":{"StringEquals":{"aws:Referer":"`+strings.Repeat("r", 21000)+`"}}}]}`), 0o644)
	if _, errs, err := s.furl("policy", "put", "walled", big); err == nil || !strings.Contains(errs, "PolicyLengthExceededException") {
		t.Fatalf("20 KB limit: %v %s", err, errs)
	}
	expect("after refused puts", "127.0.0.1", "200", "from 127.0.0.1")

	// Authorized like AddPermission: a user without lambda:AddPermission is refused.
	c := s.cli()
	c.ok(s.root, "iam", "create-user", "--user-name", "viewer")
	c.ok(s.root, "iam", "put-user-policy", "--user-name", "viewer", "--policy-name", "p", "--policy-document",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:GetPolicy","Resource":"*"}]}`)
	k := c.ok(s.root, "iam", "create-access-key", "--user-name", "viewer")
	viewer := func(args ...string) (string, string, error) {
		cmd := exec.CommandContext(ctx, furlBinary(t), args...)
		cmd.Env = append(os.Environ(), "FURL_ENDPOINT="+s.endpoint(), "FURL_ROOT_ACCESS_KEY_ID=", "FURL_ROOT_SECRET_ACCESS_KEY=",
			"AWS_ACCESS_KEY_ID="+str(k, "AccessKey", "AccessKeyId"), "AWS_SECRET_ACCESS_KEY="+str(k, "AccessKey", "SecretAccessKey"))
		var o, e strings.Builder
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		return o.String(), e.String(), err
	}
	if _, errs, err := viewer("url", "allow", "walled", "--cidr", "10.0.0.0/8"); err == nil || !strings.Contains(errs, "AccessDeniedException") || !strings.Contains(errs, "lambda:AddPermission") {
		t.Fatalf("viewer url allow: %v %s", err, errs)
	}
	if out, errs, err := viewer("policy", "get", "walled"); err != nil || !strings.Contains(out, "OfficeCurl") {
		t.Fatalf("viewer policy get: %v %s %s", err, out, errs)
	}
}
