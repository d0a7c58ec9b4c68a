//go:build e2e

// iam_test.go drives IAM and STS (Query protocol, XML) on the real `furl serve` with the AWS
// CLI v1 (pip, botocore 1.43), the AWS CLI v2 (/usr/bin/aws) and boto3: users, access keys,
// inline policies, explicit denies, AssumeRole and session credentials, inactive keys and
// wrong secrets. It reuses the server helpers of controlplane_test.go (cpStart, cpKey, ...).
//
//	go test -tags e2e -run IAM ./test/e2e/ -v
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const iamAccount = "000000000000"

var iamRoot = iamCreds{cpKey, cpSecret, ""}

// iamCLIs returns the AWS CLIs on the machine: v1 next to python3 (pyenv), v2 at /usr/bin/aws.
func iamCLIs(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	if py, err := exec.Command("python3", "-c", "import sys,os;print(os.path.join(os.path.dirname(sys.executable),'aws'))").Output(); err == nil {
		if p := strings.TrimSpace(string(py)); fileExists(p) {
			out["v1"] = p
		}
	}
	if fileExists("/usr/bin/aws") {
		out["v2"] = "/usr/bin/aws"
	}
	if len(out) == 0 {
		need(t, "an AWS CLI", errors.New("neither v1 next to python3 nor v2 at /usr/bin/aws"))
	}
	return out
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}

// str digs a string out of decoded JSON: str(m, "User", "Arn").
func str(m map[string]any, path ...string) string {
	var v any = m
	for _, p := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = mm[p]
	}
	s, _ := v.(string)
	return s
}

func TestIAMCLI(t *testing.T) {
	clis := iamCLIs(t)
	srv := cpStart(t, t.TempDir(), freeAddr(t))
	for name, path := range clis {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := iamClient{t: t, cli: path, endpoint: srv.endpoint(), logs: srv.logs.String}
			user := "alice-" + name
			userARN := "arn:aws:iam::" + iamAccount + ":user/" + user

			who := c.ok(iamRoot, "sts", "get-caller-identity")
			if str(who, "Arn") != "arn:aws:iam::"+iamAccount+":root" || str(who, "Account") != iamAccount {
				t.Errorf("root get-caller-identity = %v", who)
			}
			cu := c.ok(iamRoot, "iam", "create-user", "--user-name", user)
			if str(cu, "User", "Arn") != userARN || !strings.HasPrefix(str(cu, "User", "UserId"), "AIDA") {
				t.Errorf("create-user = %v", cu)
			}
			c.fails("EntityAlreadyExists", iamRoot, "iam", "create-user", "--user-name", user)
			ak := c.ok(iamRoot, "iam", "create-access-key", "--user-name", user)
			alice := iamCreds{str(ak, "AccessKey", "AccessKeyId"), str(ak, "AccessKey", "SecretAccessKey"), ""}
			if !strings.HasPrefix(alice.id, "AKIA") || len(alice.secret) != 40 {
				t.Fatalf("create-access-key = %v", ak)
			}
			policy := `{"Version":"2012-10-17","Statement":[` +
				`{"Effect":"Allow","Action":["iam:CreateUser","iam:GetUser","sts:AssumeRole"],"Resource":"*"},` +
				`{"Sid":"NoDenied","Effect":"Deny","Action":"iam:CreateUser","Resource":"arn:aws:iam::*:user/denied-*"}]}`
			c.ok(iamRoot, "iam", "put-user-policy", "--user-name", user, "--policy-name", "p", "--policy-document", policy)
			gp := c.ok(iamRoot, "iam", "get-user-policy", "--user-name", user, "--policy-name", "p")
			if doc, ok := gp["PolicyDocument"].(map[string]any); !ok || doc["Version"] != "2012-10-17" {
				t.Errorf("get-user-policy document not decoded by the CLI: %v", gp["PolicyDocument"])
			}
			c.fails("MalformedPolicyDocument", iamRoot, "iam", "put-user-policy", "--user-name", user, "--policy-name", "bad",
				"--policy-document", `{"Version":"2012-10-17","Statement":[{"Effect":"Perhaps","Action":"*","Resource":"*"}]}`)

			who = c.ok(alice, "sts", "get-caller-identity")
			if str(who, "Arn") != userARN || str(who, "UserId") != str(cu, "User", "UserId") {
				t.Errorf("alice get-caller-identity = %v", who)
			}
			c.ok(alice, "iam", "create-user", "--user-name", "ok-"+name)
			msg := c.fails("AccessDenied", alice, "iam", "create-user", "--user-name", "denied-"+name)
			if !strings.Contains(msg, "explicit deny") {
				t.Errorf("explicit deny message: %s", msg)
			}
			c.fails("AccessDenied", alice, "iam", "list-roles")

			// AssumeRole with a trust policy naming alice, then use the session.
			role := "r-" + name
			trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + userARN + `"},"Action":"sts:AssumeRole"}]}`
			cr := c.ok(iamRoot, "iam", "create-role", "--role-name", role, "--assume-role-policy-document", trust)
			roleID := str(cr, "Role", "RoleId")
			if !strings.HasPrefix(roleID, "AROA") {
				t.Errorf("create-role = %v", cr)
			}
			if _, ok := cr["Role"].(map[string]any)["AssumeRolePolicyDocument"].(map[string]any); !ok {
				t.Errorf("AssumeRolePolicyDocument not decoded: %v", cr)
			}
			c.ok(iamRoot, "iam", "put-role-policy", "--role-name", role, "--policy-name", "lr", "--policy-document",
				`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListRoles","Resource":"*"}]}`)
			roleARN := "arn:aws:iam::" + iamAccount + ":role/" + role
			ar := c.ok(alice, "sts", "assume-role", "--role-arn", roleARN, "--role-session-name", "s-"+name, "--duration-seconds", "900")
			sess := iamCreds{str(ar, "Credentials", "AccessKeyId"), str(ar, "Credentials", "SecretAccessKey"), str(ar, "Credentials", "SessionToken")}
			wantSessARN := "arn:aws:sts::" + iamAccount + ":assumed-role/" + role + "/s-" + name
			if !strings.HasPrefix(sess.id, "ASIA") || sess.token == "" || str(ar, "Credentials", "Expiration") == "" ||
				str(ar, "AssumedRoleUser", "Arn") != wantSessARN || str(ar, "AssumedRoleUser", "AssumedRoleId") != roleID+":s-"+name {
				t.Errorf("assume-role = %v", ar)
			}
			who = c.ok(sess, "sts", "get-caller-identity")
			if str(who, "Arn") != wantSessARN || str(who, "UserId") != roleID+":s-"+name {
				t.Errorf("session get-caller-identity = %v", who)
			}
			c.ok(sess, "iam", "list-roles")
			c.fails("AccessDenied", sess, "iam", "create-user", "--user-name", "x-"+name)
			c.fails("InvalidClientTokenId", iamCreds{sess.id, sess.secret, ""}, "sts", "get-caller-identity")
			c.fails("AccessDenied", iamRoot, "sts", "assume-role", "--role-arn", roleARN, "--role-session-name", "root")

			// Wrong secret, then an inactive key.
			c.fails("SignatureDoesNotMatch", iamCreds{alice.id, strings.Repeat("x", 40), ""}, "sts", "get-caller-identity")
			c.ok(iamRoot, "iam", "update-access-key", "--user-name", user, "--access-key-id", alice.id, "--status", "Inactive")
			c.fails("InvalidClientTokenId", alice, "sts", "get-caller-identity")
			lk := c.ok(iamRoot, "iam", "list-access-keys", "--user-name", user)
			if md, _ := lk["AccessKeyMetadata"].([]any); len(md) != 1 || md[0].(map[string]any)["Status"] != "Inactive" {
				t.Errorf("list-access-keys = %v", lk)
			}
			c.fails("DeleteConflict", iamRoot, "iam", "delete-user", "--user-name", user)
			c.ok(iamRoot, "iam", "delete-access-key", "--user-name", user, "--access-key-id", alice.id)
			c.ok(iamRoot, "iam", "delete-user-policy", "--user-name", user, "--policy-name", "p")
			c.ok(iamRoot, "iam", "delete-user", "--user-name", user)
			c.fails("NoSuchEntity", iamRoot, "iam", "get-user", "--user-name", user)
		})
	}
}

const iamBotoScript = `
import json, sys, boto3, botocore
from botocore.config import Config
ep, key, secret = sys.argv[1], sys.argv[2], sys.argv[3]
cfg = Config(retries={"max_attempts": 1})
def session(k, s, t=None):
    return boto3.session.Session(aws_access_key_id=k, aws_secret_access_key=s, aws_session_token=t, region_name="us-east-1")
root = session(key, secret)
iam = root.client("iam", endpoint_url=ep, config=cfg)
out = {}
def code(fn):
    try:
        fn()
        return "OK"
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"]
out["create_user"] = iam.create_user(UserName="bob")["User"]["Arn"]
k = iam.create_access_key(UserName="bob")["AccessKey"]
iam.put_user_policy(UserName="bob", PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["sts:AssumeRole", "iam:ListUsers"], "Resource": "*"},
    {"Effect": "Deny", "Action": "iam:ListUsers", "Resource": "*", "Condition": {"StringEquals": {"aws:username": "bob"}}}]}))
out["policy_doc_type"] = type(iam.get_user_policy(UserName="bob", PolicyName="p")["PolicyDocument"]).__name__
bob = session(k["AccessKeyId"], k["SecretAccessKey"])
out["bob_arn"] = bob.client("sts", endpoint_url=ep, config=cfg).get_caller_identity()["Arn"]
out["bob_list_users"] = code(lambda: bob.client("iam", endpoint_url=ep, config=cfg).list_users())
iam.create_role(RoleName="B", MaxSessionDuration=43200, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:root"}, "Action": "sts:AssumeRole"}]}))
c = bob.client("sts", endpoint_url=ep, config=cfg).assume_role(RoleArn="arn:aws:iam::000000000000:role/B", RoleSessionName="bs", DurationSeconds=43200)
out["assumed_arn"] = c["AssumedRoleUser"]["Arn"]
out["expiration_type"] = type(c["Credentials"]["Expiration"]).__name__
cr = c["Credentials"]
s = session(cr["AccessKeyId"], cr["SecretAccessKey"], cr["SessionToken"])
out["session_arn"] = s.client("sts", endpoint_url=ep, config=cfg).get_caller_identity()["Arn"]
out["bad_token"] = code(lambda: session(cr["AccessKeyId"], cr["SecretAccessKey"], "nope").client("sts", endpoint_url=ep, config=cfg).get_caller_identity())
out["wrong_secret"] = code(lambda: session(k["AccessKeyId"], "y" * 40).client("sts", endpoint_url=ep, config=cfg).get_caller_identity())
out["missing_user"] = code(lambda: iam.get_user(UserName="nobody"))
out["over_max"] = code(lambda: bob.client("sts", endpoint_url=ep, config=cfg).assume_role(RoleArn="arn:aws:iam::000000000000:role/B", RoleSessionName="bs", DurationSeconds=43201))
iam.update_access_key(UserName="bob", AccessKeyId=k["AccessKeyId"], Status="Inactive")
out["inactive"] = code(lambda: bob.client("sts", endpoint_url=ep, config=cfg).get_caller_identity())
users = [u["UserName"] for p in iam.get_paginator("list_users").paginate(PaginationConfig={"PageSize": 1}) for u in p["Users"]]
out["users"] = users
print(json.dumps(out))
`

func TestIAMBoto3(t *testing.T) {
	need(t, "boto3", exec.Command("python3", "-c", "import boto3").Run())
	srv := cpStart(t, t.TempDir(), freeAddr(t))
	script := filepath.Join(t.TempDir(), "iam.py")
	if err := os.WriteFile(script, []byte(iamBotoScript), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "python3", script, srv.endpoint(), cpKey, cpSecret)
	cmd.Env = iamEnv(iamCreds{"unused", "unused", ""})
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("boto3 script: %v\n%s\nserver log tail:\n%s", err, errb.String(), tail(srv.logs.String(), 2000))
	}
	var got map[string]any
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("output %q: %v", out.String(), err)
	}
	want := map[string]any{
		"create_user":     "arn:aws:iam::" + iamAccount + ":user/bob",
		"policy_doc_type": "dict",
		"bob_arn":         "arn:aws:iam::" + iamAccount + ":user/bob",
		"bob_list_users":  "AccessDenied",
		"assumed_arn":     "arn:aws:sts::" + iamAccount + ":assumed-role/B/bs",
		"expiration_type": "datetime",
		"session_arn":     "arn:aws:sts::" + iamAccount + ":assumed-role/B/bs",
		"bad_token":       "InvalidClientTokenId",
		"wrong_secret":    "SignatureDoesNotMatch",
		"missing_user":    "NoSuchEntity",
		"over_max":        "ValidationError",
		"inactive":        "InvalidClientTokenId",
		"users":           []any{"bob"},
	}
	for k, v := range want {
		if g, _ := json.Marshal(got[k]); string(g) != mustJSON(v) {
			t.Errorf("%s = %s, want %s", k, g, mustJSON(v))
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

const iamWhoami = `import json
def handler(event, context):
    rc = event["requestContext"]
    return {"statusCode": 200, "headers": {"content-type": "application/json"},
            "body": json.dumps({"accountId": rc.get("accountId"), "authorizer": rc.get("authorizer")})}
`

// iamSignedGet calls url signed (service lambda) with the given credentials, as
// requests_aws4auth does in the article's examples 3 and 4.
const iamSignedGet = `import json, sys, urllib.request, hashlib
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
url, key, secret, token = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] or None
headers = {"User-Agent": "python-requests/2.31.0", "x-amz-content-sha256": hashlib.sha256(b"").hexdigest()}
req = AWSRequest(method="GET", url=url, headers=headers)
SigV4Auth(Credentials(key, secret, token), "lambda", "us-east-1").add_auth(req)
r = urllib.request.Request(url, headers=dict(req.headers.items()), method="GET")
try:
    with urllib.request.urlopen(r) as resp:
        print(json.dumps({"status": resp.status, "body": resp.read().decode()}))
except urllib.error.HTTPError as e:
    print(json.dumps({"status": e.code, "body": e.read().decode()}))
`

// TestIAMFunctionURLPrincipals calls an AWS_IAM function URL as an IAM user and as an assumed
// role and checks requestContext.authorizer.iam against the shape of the article's examples 3
// and 4 (AWS's recorded events).
func TestIAMFunctionURLPrincipals(t *testing.T) {
	s := urlStart(t)
	id := s.deploy("whoami", "python3.12", "whoami.handler", map[string][]byte{"whoami.py": []byte(iamWhoami)}, "AWS_IAM", "")
	url := s.endpoint() + "/lambda-url/" + id + "/"
	c := s.cli()
	root := s.root

	invoke := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["lambda:InvokeFunctionUrl","lambda:InvokeFunction","sts:AssumeRole"],"Resource":"*"}]}`
	newUser := func(name, policy string) (iamCreds, string) {
		u := c.ok(root, "iam", "create-user", "--user-name", name)
		k := c.ok(root, "iam", "create-access-key", "--user-name", name)
		if policy != "" {
			c.ok(root, "iam", "put-user-policy", "--user-name", name, "--policy-name", "p", "--policy-document", policy)
		}
		return iamCreds{str(k, "AccessKey", "AccessKeyId"), str(k, "AccessKey", "SecretAccessKey"), ""}, str(u, "User", "UserId")
	}
	call := func(cr iamCreds) (int, map[string]any) {
		t.Helper()
		var r struct {
			Status int
			Body   string
		}
		out := s.python(iamSignedGet, url, cr.id, cr.secret, cr.token)
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("output %q: %v", out, err)
		}
		m := map[string]any{}
		_ = json.Unmarshal([]byte(r.Body), &m)
		return r.Status, m
	}
	seed := urlSeed(t, 3)["requestContext"].(map[string]any)["authorizer"].(map[string]any)["iam"].(map[string]any)

	alice, aliceID := newUser("alice", invoke)
	status, got := call(alice)
	if status != 200 {
		t.Fatalf("alice: status %d %v\n%s", status, got, tail(s.logs.String(), 2000))
	}
	wantIAM := map[string]any{"accessKey": alice.id, "accountId": iamAccount, "callerId": aliceID, "cognitoIdentity": nil,
		"principalOrgId": nil, "userArn": "arn:aws:iam::" + iamAccount + ":user/alice", "userId": aliceID}
	gotIAM, _ := got["authorizer"].(map[string]any)["iam"].(map[string]any)
	if mustJSON(gotIAM) != mustJSON(wantIAM) {
		t.Errorf("alice authorizer.iam = %s\nwant %s", mustJSON(gotIAM), mustJSON(wantIAM))
	}
	for k := range seed {
		if _, ok := gotIAM[k]; !ok {
			t.Errorf("authorizer.iam lacks %q, which AWS sends (example 3)", k)
		}
	}
	if got["accountId"] != iamAccount {
		t.Errorf("requestContext.accountId = %v", got["accountId"])
	}

	// An assumed role: callerId/userId are "AROA…:session", userArn the sts assumed-role ARN.
	c.ok(root, "iam", "create-role", "--role-name", "caller", "--assume-role-policy-document",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::`+iamAccount+`:user/alice"},"Action":"sts:AssumeRole"}]}`)
	c.ok(root, "iam", "put-role-policy", "--role-name", "caller", "--policy-name", "inv", "--policy-document", invoke)
	ar := c.ok(alice, "sts", "assume-role", "--role-arn", "arn:aws:iam::"+iamAccount+":role/caller", "--role-session-name", "web")
	sess := iamCreds{str(ar, "Credentials", "AccessKeyId"), str(ar, "Credentials", "SecretAccessKey"), str(ar, "Credentials", "SessionToken")}
	status, got = call(sess)
	if status != 200 {
		t.Fatalf("session: status %d %v", status, got)
	}
	roleID := str(ar, "AssumedRoleUser", "AssumedRoleId")
	wantIAM = map[string]any{"accessKey": sess.id, "accountId": iamAccount, "callerId": roleID, "cognitoIdentity": nil,
		"principalOrgId": nil, "userArn": "arn:aws:sts::" + iamAccount + ":assumed-role/caller/web", "userId": roleID}
	gotIAM, _ = got["authorizer"].(map[string]any)["iam"].(map[string]any)
	if mustJSON(gotIAM) != mustJSON(wantIAM) || !strings.HasPrefix(roleID, "AROA") || !strings.HasSuffix(roleID, ":web") {
		t.Errorf("session authorizer.iam = %s\nwant %s", mustJSON(gotIAM), mustJSON(wantIAM))
	}

	// No policy: 403. Explicit deny: 403. Session without its token: 403.
	mallory, _ := newUser("mallory", "")
	if status, _ := call(mallory); status != 403 {
		t.Errorf("user without policy: status %d", status)
	}
	c.ok(root, "iam", "put-user-policy", "--user-name", "alice", "--policy-name", "deny", "--policy-document",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"lambda:InvokeFunctionUrl","Resource":"*"}]}`)
	if status, _ := call(alice); status != 403 {
		t.Errorf("explicit deny: status %d", status)
	}
	if status, _ := call(iamCreds{sess.id, sess.secret, ""}); status != 403 {
		t.Errorf("session without token: status %d", status)
	}
}
