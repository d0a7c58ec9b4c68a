package functions

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/furl/furl/internal/awserr"
	"github.com/furl/furl/internal/iam"
)

// FuzzBuildStatement drives AddPermission's member checks and statement builder: anything they
// accept renders a statement that is valid JSON and parses as a policy statement; anything
// they refuse is an AWS-shaped 4xx.
func FuzzBuildStatement(f *testing.F) {
	f.Add("s", "lambda:InvokeFunctionUrl", "*", "", "", "", "", "NONE", true)
	f.Add("x-1", "lambda:*", "123456789012", "arn:aws:s3:::b", "123456789012", "tok.en", "o-abcdefghij", "AWS_IAM", false)
	f.Add("s", "*", "arn:aws:iam::111122223333:role/r", "", "", "", "", "", false)
	f.Add("s", "lambda:InvokeFunction", "s3.amazonaws.com", "arn:aws:s3:::\"x\\", "x", "a b", "o-", "BAD", true)
	f.Fuzz(func(t *testing.T, sid, action, principal, sourceArn, sourceAccount, token, org, authType string, viaURL bool) {
		in := &PermissionInput{StatementId: sid, Action: action, Principal: principal, SourceArn: sourceArn,
			SourceAccount: sourceAccount, EventSourceToken: token, PrincipalOrgID: org, FunctionUrlAuthType: authType,
			InvokedViaFunctionUrl: &viaURL}
		err := checkPermissionMembers(in)
		var stmt []byte
		if err == nil {
			stmt, err = BuildStatement(in, "arn:aws:lambda:us-east-1:000000000000:function:f")
		}
		if err != nil {
			// A refusal: the service's own (*Error) or the statement builder's (internal/iam).
			var ae *awserr.Error
			if KindOf(err) == 0 && (!errors.As(err, &ae) || ae.Status < 400 || ae.Status >= 500) {
				t.Fatalf("refusal is not an AWS 4xx: %v", err)
			}
			return
		}
		if !json.Valid(stmt) {
			t.Fatalf("statement is not JSON: %s", stmt)
		}
		doc := `{"Version":"2012-10-17","Statement":[` + string(stmt) + `]}`
		if _, err := iam.ParsePolicy([]byte(doc)); err != nil {
			t.Fatalf("statement does not parse as a policy: %v\n%s", err, stmt)
		}
	})
}
