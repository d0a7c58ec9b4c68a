package urlevent

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/furl/furl/internal/iam"
)

func TestAuthorizerIAM(t *testing.T) {
	const acct = "123456789012"
	user := &iam.Principal{Type: "User", AccountID: acct, ARN: "arn:aws:iam::" + acct + ":user/alice",
		PrincipalARN: "arn:aws:iam::" + acct + ":user/alice", UserID: "AIDAEXAMPLEEXAMPLEEX", Username: "alice", AccessKeyID: "AKIAEXAMPLE"}
	want := map[string]any{"accessKey": "AKIAEXAMPLE", "accountId": acct, "callerId": "AIDAEXAMPLEEXAMPLEEX",
		"cognitoIdentity": nil, "principalOrgId": nil, "userArn": "arn:aws:iam::" + acct + ":user/alice", "userId": "AIDAEXAMPLEEXAMPLEEX"}
	// asMap is the object as the event carries it.
	asMap := func(a any) map[string]any {
		b, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	if diff := cmp.Diff(want, asMap(AuthorizerIAM(user, ""))); diff != "" {
		t.Errorf("user (-want +got):\n%s", diff)
	}
	want["principalOrgId"] = "o-abc123"
	if diff := cmp.Diff(want, asMap(AuthorizerIAM(user, "o-abc123"))); diff != "" {
		t.Errorf("user in an organisation (-want +got):\n%s", diff)
	}
	role := &iam.Principal{Type: "AssumedRole", AccountID: acct, ARN: "arn:aws:sts::" + acct + ":assumed-role/R/s",
		PrincipalARN: "arn:aws:iam::" + acct + ":role/R", UserID: "AROAEXAMPLE:s", AccessKeyID: "ASIAEXAMPLE", SessionToken: "t"}
	got := asMap(AuthorizerIAM(role, ""))
	if got["callerId"] != "AROAEXAMPLE:s" || got["userId"] != "AROAEXAMPLE:s" || got["userArn"] != role.ARN || got["accessKey"] != "ASIAEXAMPLE" {
		t.Errorf("assumed role = %v", got)
	}
	if AuthorizerIAM(nil, "o-abc123") != nil {
		t.Error("anonymous principal has an authorizer")
	}
}
