//go:build e2e

package e2e

// Execution-role credentials: a Python handler calls furl's Lambda API with the credentials
// and endpoint furl gives its environment, and is allowed or denied as its role's policies say.

import (
	"path/filepath"
	"strings"
	"testing"
)

// roleCredsApp lists functions with the environment's credentials: with boto3 (which reads
// AWS_ENDPOINT_URL itself) when it can be imported, else with a stdlib SigV4 request.
const roleCredsApp = `
import hashlib, hmac, datetime, json, os, urllib.error, urllib.parse, urllib.request

def signed_get(path):
    ep = urllib.parse.urlparse(os.environ["AWS_ENDPOINT_URL"])
    region, token = os.environ["AWS_REGION"], os.environ["AWS_SESSION_TOKEN"]
    t = datetime.datetime.now(datetime.timezone.utc)
    amzdate, date = t.strftime("%Y%m%dT%H%M%SZ"), t.strftime("%Y%m%d")
    body = hashlib.sha256(b"").hexdigest()
    signed = "host;x-amz-content-sha256;x-amz-date;x-amz-security-token"
    headers = "host:%s\nx-amz-content-sha256:%s\nx-amz-date:%s\nx-amz-security-token:%s\n" % (ep.netloc, body, amzdate, token)
    creq = "\n".join(["GET", path, "", headers, signed, body])
    scope = "%s/%s/lambda/aws4_request" % (date, region)
    sts = "\n".join(["AWS4-HMAC-SHA256", amzdate, scope, hashlib.sha256(creq.encode()).hexdigest()])
    h = lambda k, m: hmac.new(k, m.encode(), hashlib.sha256).digest()
    k = h(h(h(h(("AWS4" + os.environ["AWS_SECRET_ACCESS_KEY"]).encode(), date), region), "lambda"), "aws4_request")
    sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    auth = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (os.environ["AWS_ACCESS_KEY_ID"], scope, signed, sig)
    req = urllib.request.Request(os.environ["AWS_ENDPOINT_URL"].rstrip("/") + path,
        headers={"x-amz-date": amzdate, "x-amz-security-token": token, "x-amz-content-sha256": body, "Authorization": auth})
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return "allowed", ""
    except urllib.error.HTTPError as e:
        return e.headers.get("x-amzn-ErrorType", "").split(":")[0] or str(e.code), e.read().decode()

def handler(event, context):
    out = {"endpoint": os.environ.get("AWS_ENDPOINT_URL", ""), "key": os.environ.get("AWS_ACCESS_KEY_ID", "")[:4]}
    try:
        if event.get("stdlib"):
            raise ImportError("asked for the stdlib")
        import boto3, botocore.exceptions
    except ImportError:
        out["via"] = "stdlib"
        out["result"], out["detail"] = signed_get("/2015-03-31/functions/")
        return out
    out["via"] = "boto3"
    # botocore reads AWS_ENDPOINT_URL itself from 1.31 on; older ones (Debian bookworm's
    # python3-boto3, mounted in the sandbox) need it passed.
    kw = {}
    if tuple(int(x) for x in botocore.__version__.split(".")[:2]) < (1, 31):
        kw["endpoint_url"] = os.environ["AWS_ENDPOINT_URL"]
        out["via"] = "boto3 %s, endpoint passed" % botocore.__version__
    try:
        out["caller"] = boto3.client("sts", **kw).get_caller_identity()["Arn"]
        out["n"] = len(boto3.client("lambda", **kw).list_functions()["Functions"])
        out["result"] = "allowed"
    except botocore.exceptions.ClientError as e:
        out["result"], out["detail"] = e.response["Error"]["Code"], e.response["Error"]["Message"]
    except Exception as e:
        out["result"], out["detail"] = type(e).__name__, "%s (environment: %s)" % (e, sorted(os.environ))
    return out
`

func TestExecutionRoleCredentials(t *testing.T) {
	cpNeedCLI(t)
	for _, mode := range []struct {
		name  string
		flags []string
	}{{"sandbox default", nil}, {"sandbox on", []string{"--sandbox=on"}}, {"sandbox off", []string{"--sandbox=off"}}} {
		t.Run(mode.name, func(t *testing.T) {
			data, work := t.TempDir(), t.TempDir()
			s := startFurl(t, data, freeAddr(t), cpKey, cpSecret, mode.flags...)
			trustLambda := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
			trustRoot := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":"sts:AssumeRole"}]}`
			s.awsOK("iam", "create-role", "--role-name", "lister", "--assume-role-policy-document", trustLambda)
			s.awsOK("iam", "put-role-policy", "--role-name", "lister", "--policy-name", "list",
				"--policy-document", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:ListFunctions","Resource":"*"}]}`)
			s.awsOK("iam", "create-role", "--role-name", "not-for-lambda", "--assume-role-policy-document", trustRoot)
			zip := writeZip(t, work, map[string]string{"app.py": roleCredsApp})
			create := func(name, role string) []string {
				return []string{"lambda", "create-function", "--function-name", name, "--runtime", "python3.12", "--handler", "app.handler",
					"--role", "arn:aws:iam::000000000000:role/" + role, "--zip-file", "fileb://" + zip, "--timeout", "30"}
			}

			// Roles Lambda cannot assume are refused, as AWS refuses them.
			for _, role := range []string{"missing", "not-for-lambda"} {
				errs := s.awsFails("InvalidParameterValueException", create("bad-"+role, role)...)
				if !strings.Contains(errs, "The role defined for the function cannot be assumed by Lambda.") {
					t.Errorf("%s: %s", role, errs)
				}
			}

			for _, tc := range []struct{ fn, role, want string }{
				{"allowed", "lister", "allowed"},
				{"denied", "furl-default-lambda-role", "AccessDeniedException"},
			} {
				s.awsOK(create(tc.fn, tc.role)...)
				s.awsOK("lambda", "wait", "function-active-v2", "--function-name", tc.fn)
				for _, payload := range []string{`{}`, `{"stdlib":true}`} {
					out := filepath.Join(work, tc.fn+".json")
					inv := s.awsOK("lambda", "invoke", "--function-name", tc.fn, "--cli-binary-format", "raw-in-base64-out", "--payload", payload, out)
					got := readJSON(t, out)
					if inv["FunctionError"] != nil {
						t.Fatalf("%s: function error %v\nserver log:\n%s", tc.fn, got, tail(s.logs.String(), 3000))
					}
					t.Logf("%s: %v", tc.fn, got)
					if got["result"] != tc.want || got["key"] != "ASIA" || got["endpoint"] != s.endpoint() {
						t.Errorf("%s: %v, want result %s with ASIA credentials and endpoint %s", tc.fn, got, tc.want, s.endpoint())
					}
					if via, _ := got["via"].(string); strings.HasPrefix(via, "boto3") {
						if want := "arn:aws:sts::000000000000:assumed-role/" + tc.role + "/" + tc.fn; got["caller"] != want {
							t.Errorf("%s: caller %v, want %s", tc.fn, got["caller"], want)
						}
					} else if payload == `{}` {
						t.Errorf("%s: boto3 not importable: %v", tc.fn, got)
					}
				}
			}
		})
	}
}
