//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// TestIAMURLCallers calls an AWS_IAM function URL the way the article's examples 3 and 4 do, with
// `curl --aws-sigv4` and aws-sdk-go-v2's signer, and checks every way a caller is turned away:
// wrong secret, a date outside the 5-minute window, a body that is not the signed one, an
// inactive key, an explicit deny, and an IP allow-list (aws:SourceIp) that includes or excludes
// the caller. Each refusal is AWS's 403 Forbidden body with x-amzn-ErrorType AccessDeniedException.
func TestIAMURLCallers(t *testing.T) {
	s := urlStart(t) // needs curl
	id := s.deploy("whoami", "python3.12", "whoami.handler", map[string][]byte{"whoami.py": []byte(iamWhoami)}, "AWS_IAM", "")
	url := s.endpoint() + "/lambda-url/" + id + "/path?a=1&b=2"
	c := s.cli()
	root := s.root

	const forbidden = `{"Message":"Forbidden. For troubleshooting Function URL authorization issues, see: https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html"}`
	allow := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:InvokeFunctionUrl","Resource":"*"}]}`
	c.ok(root, "iam", "create-user", "--user-name", "carol")
	k := c.ok(root, "iam", "create-access-key", "--user-name", "carol")
	carol := iamCreds{str(k, "AccessKey", "AccessKeyId"), str(k, "AccessKey", "SecretAccessKey"), ""}
	c.ok(root, "iam", "put-user-policy", "--user-name", "carol", "--policy-name", "invoke", "--policy-document", allow)

	// curl returns the status, body and x-amzn-ErrorType of a request curl signed itself. The
	// query is sorted, as a correct verifier needs from curl 7.88 (which does not sort it).
	curlFull := func(cr iamCreds, body string) (int, string, string) {
		t.Helper()
		out, err := exec.Command("curl", "-s", "-i", "--aws-sigv4", "aws:amz:us-east-1:lambda",
			"--user", cr.id+":"+cr.secret, "-H", "content-type: application/json", "--data", body, url).Output()
		if err != nil {
			t.Fatalf("curl: %v", err)
		}
		head, payload, _ := strings.Cut(string(out), "\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(head+"\r\n\r\n")), nil)
		if err != nil {
			t.Fatalf("curl output %q: %v", out, err)
		}
		return resp.StatusCode, payload, resp.Header.Get("X-Amzn-Errortype")
	}
	curl := func(cr iamCreds, body string) (int, string) {
		t.Helper()
		code, payload, _ := curlFull(cr, body)
		return code, payload
	}
	signed := func(cr iamCreds, signedBody, sentBody string, at time.Time) (int, string, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", url, strings.NewReader(sentBody))
		req.Header.Set("Content-Type", "application/json")
		sum := sha256.Sum256([]byte(signedBody))
		if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: cr.id, SecretAccessKey: cr.secret},
			req, hex.EncodeToString(sum[:]), "lambda", "us-east-1", at); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header.Get("X-Amzn-Errortype")
	}

	t.Run("curl --aws-sigv4 as an IAM user", func(t *testing.T) {
		code, body := curl(carol, `{"k":1}`)
		if code != 200 {
			t.Fatalf("status %d: %s", code, body)
		}
		var ctx map[string]any
		if err := json.Unmarshal([]byte(body), &ctx); err != nil {
			t.Fatalf("body %s: %v", body, err)
		}
		iamCtx, _ := ctx["authorizer"].(map[string]any)["iam"].(map[string]any)
		if iamCtx["userArn"] != "arn:aws:iam::"+iamAccount+":user/carol" || iamCtx["accessKey"] != carol.id {
			t.Errorf("authorizer.iam = %v", iamCtx)
		}
	})
	t.Run("aws-sdk-go-v2 signer", func(t *testing.T) {
		if code, body, _ := signed(carol, `{"k":1}`, `{"k":1}`, time.Now()); code != 200 {
			t.Fatalf("status %d: %s", code, body)
		}
	})
	for _, tt := range []struct {
		name string
		call func() (int, string, string)
	}{
		{"wrong secret (curl)", func() (int, string, string) { return curlFull(iamCreds{carol.id, "not-the-secret", ""}, `{}`) }},
		{"date 10 minutes old", func() (int, string, string) { return signed(carol, `{}`, `{}`, time.Now().Add(-10*time.Minute)) }},
		{"date 10 minutes ahead", func() (int, string, string) { return signed(carol, `{}`, `{}`, time.Now().Add(10*time.Minute)) }},
		{"tampered body", func() (int, string, string) { return signed(carol, `{"amount":1}`, `{"amount":1000}`, time.Now()) }},
		{"unknown key", func() (int, string, string) {
			return signed(iamCreds{"AKIAUNKNOWNKEY000000", "x", ""}, `{}`, `{}`, time.Now())
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, body, typ := tt.call()
			if code != 403 || body != forbidden || typ != "AccessDeniedException" {
				t.Errorf("got %d %q %s; want 403 %s AccessDeniedException", code, body, typ, forbidden)
			}
		})
	}
	t.Run("IP allow-list", func(t *testing.T) {
		onlyFrom := func(cidr string) string {
			return `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"lambda:InvokeFunctionUrl","Resource":"*",` +
				`"Condition":{"NotIpAddress":{"aws:SourceIp":"` + cidr + `"}}}]}`
		}
		c.ok(root, "iam", "put-user-policy", "--user-name", "carol", "--policy-name", "iplist", "--policy-document", onlyFrom("127.0.0.0/8"))
		if code, body := curl(carol, `{}`); code != 200 {
			t.Errorf("caller inside the allow-list: %d %s", code, body)
		}
		c.ok(root, "iam", "put-user-policy", "--user-name", "carol", "--policy-name", "iplist", "--policy-document", onlyFrom("203.0.113.0/24"))
		if code, body := curl(carol, `{}`); code != 403 || body != forbidden {
			t.Errorf("caller outside the allow-list: %d %s", code, body)
		}
		c.ok(root, "iam", "delete-user-policy", "--user-name", "carol", "--policy-name", "iplist")
	})
	t.Run("inactive key", func(t *testing.T) {
		c.ok(root, "iam", "update-access-key", "--user-name", "carol", "--access-key-id", carol.id, "--status", "Inactive")
		if code, body := curl(carol, `{}`); code != 403 || body != forbidden {
			t.Errorf("inactive key: %d %s", code, body)
		}
		c.ok(root, "iam", "update-access-key", "--user-name", "carol", "--access-key-id", carol.id, "--status", "Active")
	})
	t.Run("explicit deny", func(t *testing.T) {
		c.ok(root, "iam", "put-user-policy", "--user-name", "carol", "--policy-name", "deny", "--policy-document",
			`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"lambda:InvokeFunctionUrl","Resource":"*"}]}`)
		if code, body := curl(carol, `{}`); code != 403 || body != forbidden {
			t.Errorf("explicit deny: %d %s", code, body)
		}
	})
}
