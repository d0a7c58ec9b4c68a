//go:build e2e

package e2e

import (
	"regexp"
	"strings"
	"testing"
)

// TestControlPlaneFidelity checks answers AWS gives that furl once got wrong: an empty
// Environment echoed, RuntimeVersionConfig, a function ARN from another region, and S3 code
// locations refused with a clear error.
func TestControlPlaneFidelity(t *testing.T) {
	cpNeedCLI(t)
	data, work := t.TempDir(), t.TempDir()
	s := cpStart(t, data, freeAddr(t))
	role := "arn:aws:iam::000000000000:role/furl-default-lambda-role"
	zip := writeZip(t, work, cpApp("1"))
	s.awsOK("lambda", "create-function", "--function-name", "empty-env", "--runtime", "python3.12", "--handler", "app.handler",
		"--role", role, "--zip-file", "fileb://"+zip, "--environment", `{"Variables":{}}`)
	s.awsOK("lambda", "wait", "function-active-v2", "--function-name", "empty-env")
	runtimeARN := regexp.MustCompile(`^arn:aws:lambda:us-east-1::runtime:[0-9a-f]{64}$`)
	check := func(what string, cfg map[string]any) {
		t.Helper()
		env, ok := cfg["Environment"].(map[string]any)
		if !ok {
			t.Fatalf("%s: no Environment in %v", what, cfg)
		}
		if vars, ok := env["Variables"].(map[string]any); !ok || len(vars) != 0 {
			t.Fatalf("%s: Environment = %v, want {Variables: {}}", what, env)
		}
		rv, _ := cfg["RuntimeVersionConfig"].(map[string]any)
		if arn, _ := rv["RuntimeVersionArn"].(string); !runtimeARN.MatchString(arn) {
			t.Fatalf("%s: RuntimeVersionConfig = %v", what, cfg["RuntimeVersionConfig"])
		}
	}
	check("get-function", s.awsOK("lambda", "get-function", "--function-name", "empty-env")["Configuration"].(map[string]any))
	check("get-function-configuration", s.awsOK("lambda", "get-function-configuration", "--function-name", "empty-env"))
	check("publish-version", s.awsOK("lambda", "publish-version", "--function-name", "empty-env"))

	// A function without Environment has none in its configuration.
	s.awsOK("lambda", "create-function", "--function-name", "no-env", "--runtime", "python3.12", "--handler", "app.handler",
		"--role", role, "--zip-file", "fileb://"+zip)
	if cfg := s.awsOK("lambda", "get-function-configuration", "--function-name", "no-env"); cfg["Environment"] != nil {
		t.Fatalf("no-env: Environment = %v", cfg["Environment"])
	}

	// Another region's ARN: AWS's ResourceNotFoundException naming both regions.
	errs := s.awsFails("ResourceNotFoundException", "lambda", "get-function", "--function-name", "arn:aws:lambda:eu-central-1:000000000000:function:empty-env")
	if !strings.Contains(errs, "Functions from 'eu-central-1' are not reachable in this region ('us-east-1')") {
		t.Fatalf("cross-region get-function: %s", errs)
	}
	errs = s.awsFails("ResourceNotFoundException", "lambda", "invoke", "--function-name", "arn:aws:lambda:eu-central-1:000000000000:function:empty-env", work+"/out.json")
	if !strings.Contains(errs, "not reachable in this region") {
		t.Fatalf("cross-region invoke: %s", errs)
	}

	// S3 code locations: a clear InvalidParameterValueException that says ZipFile.
	errs = s.awsFails("InvalidParameterValueException", "lambda", "create-function", "--function-name", "from-s3", "--runtime", "python3.12",
		"--handler", "app.handler", "--role", role, "--code", "S3Bucket=bucket,S3Key=app.zip")
	if !strings.Contains(errs, "ZipFile") || !strings.Contains(errs, "S3") {
		t.Fatalf("create-function from S3: %s", errs)
	}
	errs = s.awsFails("InvalidParameterValueException", "lambda", "update-function-code", "--function-name", "empty-env",
		"--s3-bucket", "bucket", "--s3-key", "app.zip", "--s3-object-version", "3")
	if !strings.Contains(errs, "ZipFile") || !strings.Contains(errs, "S3") {
		t.Fatalf("update-function-code from S3: %s", errs)
	}
}
