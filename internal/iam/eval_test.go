package iam

import (
	"strings"
	"testing"
)

const (
	acct      = "111122223333"
	otherAcct = "444455556666"
	fnARN     = "arn:aws:lambda:us-east-1:111122223333:function:f"
	fnLive    = "arn:aws:lambda:us-east-1:111122223333:function:f:live"
)

func mustParse(t testing.TB, doc string) *Policy {
	t.Helper()
	p, err := ParsePolicy([]byte(doc))
	if err != nil {
		t.Fatalf("ParsePolicy(%s): %v", doc, err)
	}
	return p
}

func alice() *Principal {
	return &Principal{Type: "User", AccountID: acct, ARN: "arn:aws:iam::111122223333:user/alice",
		PrincipalARN: "arn:aws:iam::111122223333:user/alice", UserID: "AIDAALICE", Username: "alice"}
}

func bob() *Principal { // another account
	return &Principal{Type: "User", AccountID: otherAcct, ARN: "arn:aws:iam::444455556666:user/bob",
		PrincipalARN: "arn:aws:iam::444455556666:user/bob", UserID: "AIDABOB", Username: "bob"}
}

func roleSession() *Principal {
	return &Principal{Type: "AssumedRole", AccountID: acct, ARN: "arn:aws:sts::111122223333:assumed-role/R/s1",
		PrincipalARN: "arn:aws:iam::111122223333:role/R", UserID: "AROAR:s1"}
}

func stmts(s ...string) string {
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(s, ",") + `]}`
}

type evalCase struct {
	name      string
	p         *Principal
	action    string
	resource  string
	ctx       map[string][]string
	identity  []string // documents
	resPolicy string   // document, "" = none
	allowed   bool
	explicit  bool
	stmt      string
}

func runEval(t *testing.T, cases []evalCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var ids []*Policy
			for _, d := range tc.identity {
				ids = append(ids, mustParse(t, d))
			}
			var res *Policy
			if tc.resPolicy != "" {
				res = mustParse(t, tc.resPolicy)
			}
			action := tc.action
			if action == "" {
				action = "lambda:InvokeFunctionUrl"
			}
			resource := tc.resource
			if resource == "" {
				resource = fnARN
			}
			req := &Request{Principal: tc.p, Action: action, Resource: resource, ResourceAccount: acct, Context: tc.ctx}
			d := Evaluate(req, ids, res)
			if d.Allowed != tc.allowed || d.ExplicitDeny != tc.explicit {
				t.Fatalf("got allowed=%v explicit=%v (%s), want allowed=%v explicit=%v", d.Allowed, d.ExplicitDeny, d.Reason, tc.allowed, tc.explicit)
			}
			if tc.stmt != "" && d.Statement != tc.stmt {
				t.Errorf("statement %q, want %q (%s)", d.Statement, tc.stmt, d.Reason)
			}
			if d.Reason == "" {
				t.Error("empty reason")
			}
		})
	}
}

const (
	allowAllLambda = `{"Sid":"AllowLambda","Effect":"Allow","Action":"lambda:*","Resource":"*"}`
	publicURL      = `{"Sid":"FunctionURLAllowPublicAccess","Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunctionUrl","Resource":"` + fnARN + `","Condition":{"StringEquals":{"lambda:FunctionUrlAuthType":"NONE"}}}`
)

func TestEvaluateRules(t *testing.T) {
	none := map[string][]string{"lambda:FunctionUrlAuthType": {"NONE"}}
	runEval(t, []evalCase{
		{name: "implicit deny with no policies", p: alice()},
		{name: "identity allow same account", p: alice(), identity: []string{stmts(allowAllLambda)}, allowed: true, stmt: "AllowLambda"},
		{name: "explicit deny in identity wins", p: alice(), identity: []string{stmts(allowAllLambda, `{"Sid":"No","Effect":"Deny","Action":"lambda:Invoke*","Resource":"*"}`)}, explicit: true, stmt: "No"},
		{name: "explicit deny in resource policy wins over identity allow", p: alice(), identity: []string{stmts(allowAllLambda)},
			resPolicy: stmts(`{"Sid":"D","Effect":"Deny","Principal":"*","Action":"lambda:*","Resource":"*"}`), explicit: true, stmt: "D"},
		{name: "deny in a second identity policy", p: alice(), identity: []string{stmts(allowAllLambda), stmts(`{"Effect":"Deny","Action":"*","Resource":"*"}`)}, explicit: true, stmt: "Statement[0]"},
		{name: "resource allow naming the user suffices same account", p: alice(),
			resPolicy: stmts(`{"Sid":"U","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"lambda:InvokeFunctionUrl","Resource":"` + fnARN + `"}`), allowed: true, stmt: "U"},
		{name: "resource allow naming only the account delegates to IAM", p: alice(),
			resPolicy: stmts(`{"Sid":"A","Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"lambda:InvokeFunctionUrl","Resource":"` + fnARN + `"}`)},
		{name: "account delegation plus identity allow", p: alice(), identity: []string{stmts(allowAllLambda)},
			resPolicy: stmts(`{"Sid":"A","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"lambda:InvokeFunctionUrl","Resource":"` + fnARN + `"}`), allowed: true},
		{name: "role session matched by role ARN", p: roleSession(),
			resPolicy: stmts(`{"Sid":"R","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:role/R"]},"Action":"lambda:InvokeFunctionUrl","Resource":"` + fnARN + `"}`), allowed: true, stmt: "R"},
		{name: "cross-account identity only is denied", p: bob(), identity: []string{stmts(allowAllLambda)}},
		{name: "cross-account resource only is denied", p: bob(),
			resPolicy: stmts(`{"Sid":"B","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:user/bob"},"Action":"lambda:InvokeFunctionUrl","Resource":"` + fnARN + `"}`)},
		{name: "cross-account both allow", p: bob(), identity: []string{stmts(allowAllLambda)},
			resPolicy: stmts(`{"Sid":"B","Effect":"Allow","Principal":{"AWS":"444455556666"},"Action":"lambda:InvokeFunctionUrl","Resource":"` + fnARN + `"}`), allowed: true, stmt: "B"},
		{name: "anonymous with public statement", ctx: none, resPolicy: stmts(publicURL), allowed: true, stmt: "FunctionURLAllowPublicAccess"},
		{name: "anonymous with AWS star", ctx: none, resPolicy: stmts(`{"Sid":"S","Effect":"Allow","Principal":{"AWS":"*"},"Action":"lambda:InvokeFunctionUrl","Resource":"` + fnARN + `"}`), allowed: true},
		{name: "anonymous after switching to AWS_IAM", ctx: map[string][]string{"lambda:FunctionUrlAuthType": {"AWS_IAM"}}, resPolicy: stmts(publicURL)},
		{name: "anonymous ignores identity policies", ctx: none, identity: []string{stmts(allowAllLambda)}},
		{name: "anonymous not matched by account principal", ctx: none, resPolicy: stmts(`{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"*","Resource":"*"}`)},
		{name: "anonymous without any policy", ctx: none},
		{name: "action case-insensitive glob", p: alice(), action: "LAMBDA:invokefunctionURL", identity: []string{stmts(`{"Effect":"Allow","Action":"lambda:Invoke*","Resource":"*"}`)}, allowed: true},
		{name: "action question mark", p: alice(), action: "lambda:GetFunction", identity: []string{stmts(`{"Effect":"Allow","Action":"lambda:?etFunction","Resource":"*"}`)}, allowed: true},
		{name: "action other service", p: alice(), identity: []string{stmts(`{"Effect":"Allow","Action":"s3:*","Resource":"*"}`)}},
		{name: "NotAction allows everything else", p: alice(), identity: []string{stmts(`{"Effect":"Allow","NotAction":"lambda:DeleteFunction","Resource":"*"}`)}, allowed: true},
		{name: "NotAction excludes the listed action", p: alice(), action: "lambda:DeleteFunction", identity: []string{stmts(`{"Effect":"Allow","NotAction":["lambda:DeleteFunction","iam:*"],"Resource":"*"}`)}},
		{name: "Deny NotAction denies other actions", p: alice(), identity: []string{stmts(allowAllLambda, `{"Sid":"OnlyGet","Effect":"Deny","NotAction":"lambda:Get*","Resource":"*"}`)}, explicit: true, stmt: "OnlyGet"},
		{name: "NotResource excludes", p: alice(), identity: []string{stmts(`{"Effect":"Allow","Action":"*","NotResource":"` + fnARN + `"}`)}},
		{name: "NotResource allows others", p: alice(), resource: "arn:aws:lambda:us-east-1:111122223333:function:g", identity: []string{stmts(`{"Effect":"Allow","Action":"*","NotResource":"` + fnARN + `"}`)}, allowed: true},
		{name: "unqualified resource does not match qualified", p: alice(), resource: fnLive, identity: []string{stmts(`{"Effect":"Allow","Action":"*","Resource":"` + fnARN + `"}`)}},
		{name: "qualified wildcard covers alias", p: alice(), resource: fnLive, identity: []string{stmts(`{"Effect":"Allow","Action":"*","Resource":"` + fnARN + `:*"}`)}, allowed: true},
		{name: "f* covers alias", p: alice(), resource: fnLive, identity: []string{stmts(`{"Effect":"Allow","Action":"*","Resource":"arn:aws:lambda:*:*:function:f*"}`)}, allowed: true},
		{name: "f:* does not cover unqualified", p: alice(), identity: []string{stmts(`{"Effect":"Allow","Action":"*","Resource":"` + fnARN + `:*"}`)}},
		{name: "region wildcard does not span colon", p: alice(), identity: []string{stmts(`{"Effect":"Allow","Action":"*","Resource":"arn:aws:lambda:*:function:f"}`)}},
		{name: "NotPrincipal deny spares the listed user", p: alice(), identity: []string{stmts(allowAllLambda)},
			resPolicy: stmts(`{"Sid":"D","Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"*","Resource":"*"}`), allowed: true},
		{name: "NotPrincipal deny hits others", p: roleSession(), identity: []string{stmts(allowAllLambda)},
			resPolicy: stmts(`{"Sid":"D","Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"*","Resource":"*"}`), explicit: true},
		{name: "NotPrincipal deny hits anonymous", ctx: none,
			resPolicy: stmts(publicURL, `{"Sid":"D","Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"*","Resource":"*"}`), explicit: true},
		{name: "root user allowed in own account", p: &Principal{Type: "Account", AccountID: acct, ARN: "arn:aws:iam::111122223333:root", UserID: acct}, allowed: true},
		{name: "root user stopped by resource deny", p: &Principal{Type: "Account", AccountID: acct, ARN: "arn:aws:iam::111122223333:root", UserID: acct},
			resPolicy: stmts(`{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}`), explicit: true},
		{name: "empty Federated principal matches nobody", p: &Principal{Type: "Account", AccountID: otherAcct, ARN: "arn:aws:iam::444455556666:root", UserID: otherAcct},
			identity: []string{stmts(allowAllLambda)}, resPolicy: stmts(`{"Sid":"F","Effect":"Allow","Principal":{"Federated":""},"Action":"*","Resource":"*"}`)},
		{name: "service principal", p: &Principal{Type: "Service", ARN: "cloudfront.amazonaws.com"},
			resPolicy: stmts(`{"Sid":"CF","Effect":"Allow","Principal":{"Service":"cloudfront.amazonaws.com"},"Action":"lambda:InvokeFunctionUrl","Resource":"` + fnARN + `"}`), allowed: true, stmt: "CF"},
		{name: "service principal not listed", p: &Principal{Type: "Service", ARN: "s3.amazonaws.com"},
			resPolicy: stmts(`{"Sid":"CF","Effect":"Allow","Principal":{"Service":"cloudfront.amazonaws.com"},"Action":"lambda:InvokeFunctionUrl","Resource":"` + fnARN + `"}`)},
		{name: "policy variable in resource", p: alice(), resource: "arn:aws:lambda:us-east-1:111122223333:function:alice-fn",
			identity: []string{stmts(`{"Effect":"Allow","Action":"*","Resource":"arn:aws:lambda:*:*:function:${aws:username}-*"}`)}, allowed: true},
		{name: "policy variable missing key", p: roleSession(), resource: "arn:aws:lambda:us-east-1:111122223333:function:alice-fn",
			identity: []string{stmts(`{"Effect":"Allow","Action":"*","Resource":"arn:aws:lambda:*:*:function:${aws:username}-*"}`)}},
		{name: "policy variable default", p: roleSession(), resource: "arn:aws:lambda:us-east-1:111122223333:function:shared-fn",
			identity: []string{stmts(`{"Effect":"Allow","Action":"*","Resource":"arn:aws:lambda:*:*:function:${aws:username, 'shared'}-*"}`)}, allowed: true},
		{name: "2008 version has no variables", p: alice(), resource: "arn:aws:lambda:us-east-1:111122223333:function:alice-fn",
			identity: []string{`{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"arn:aws:lambda:*:*:function:${aws:username}-*"}}`}},
		{name: "dual auth invoke function statement", ctx: map[string][]string{"lambda:InvokedViaFunctionUrl": {"true"}}, action: "lambda:InvokeFunction",
			resPolicy: stmts(publicURL, `{"Sid":"FunctionURLAllowInvokeAction","Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunction","Resource":"`+fnARN+`","Condition":{"Bool":{"lambda:InvokedViaFunctionUrl":"true"}}}`), allowed: true, stmt: "FunctionURLAllowInvokeAction"},
		{name: "dual auth direct invoke not allowed", action: "lambda:InvokeFunction",
			resPolicy: stmts(`{"Sid":"FunctionURLAllowInvokeAction","Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunction","Resource":"` + fnARN + `","Condition":{"Bool":{"lambda:InvokedViaFunctionUrl":"true"}}}`)},
	})
}

func TestEvaluateIPAllowList(t *testing.T) {
	allowList := stmts(
		`{"Sid":"Public","Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunctionUrl","Resource":"` + fnARN + `","Condition":{"IpAddress":{"aws:SourceIp":["203.0.113.0/24","2001:db8::/32"]}}}`,
	)
	denyList := stmts(publicURL,
		`{"Sid":"Block","Effect":"Deny","Principal":"*","Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":["198.51.100.7","2001:db8:bad::/48"]}}}`,
	)
	notIP := stmts(`{"Sid":"OnlyOffice","Effect":"Deny","Principal":"*","Action":"*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}`, publicURL)
	ip := func(a string) map[string][]string {
		return map[string][]string{"aws:SourceIp": {a}, "lambda:FunctionUrlAuthType": {"NONE"}}
	}
	runEval(t, []evalCase{
		{name: "v4 inside allow list", ctx: ip("203.0.113.9"), resPolicy: allowList, allowed: true, stmt: "Public"},
		{name: "v4 outside allow list", ctx: ip("203.0.114.9"), resPolicy: allowList},
		{name: "v6 inside allow list", ctx: ip("2001:db8:1::5"), resPolicy: allowList, allowed: true},
		{name: "v6 outside allow list", ctx: ip("2001:db9::5"), resPolicy: allowList},
		{name: "v4-mapped v6 inside allow list", ctx: ip("::ffff:203.0.113.9"), resPolicy: allowList, allowed: true},
		{name: "no source ip", ctx: map[string][]string{}, resPolicy: allowList},
		{name: "garbage source ip", ctx: ip("not-an-ip"), resPolicy: allowList},
		{name: "blocked v4 single address", ctx: ip("198.51.100.7"), resPolicy: denyList, explicit: true, stmt: "Block"},
		{name: "neighbour v4 not blocked", ctx: ip("198.51.100.8"), resPolicy: denyList, allowed: true},
		{name: "blocked v6 prefix", ctx: ip("2001:db8:bad:1::1"), resPolicy: denyList, explicit: true},
		{name: "v6 outside blocked prefix", ctx: ip("2001:db8:bae::1"), resPolicy: denyList, allowed: true},
		{name: "NotIpAddress denies outsiders", ctx: ip("192.0.2.1"), resPolicy: notIP, explicit: true},
		{name: "NotIpAddress lets insiders", ctx: ip("10.1.2.3"), resPolicy: notIP, allowed: true},
		{name: "NotIpAddress with missing key denies", ctx: map[string][]string{"lambda:FunctionUrlAuthType": {"NONE"}}, resPolicy: notIP, explicit: true},
	})
}

func TestAccessDeniedMessage(t *testing.T) {
	req := &Request{Principal: alice(), Action: "lambda:GetFunction", Resource: fnARN}
	d := Evaluate(req, nil, nil)
	want := "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: lambda:GetFunction on resource: " + fnARN + " because no identity-based policy allows the lambda:GetFunction action"
	if got := d.AccessDeniedMessage(req); got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	d = Evaluate(req, []*Policy{mustParse(t, stmts(`{"Effect":"Deny","Action":"*","Resource":"*"}`))}, nil)
	if got := d.AccessDeniedMessage(req); !strings.HasSuffix(got, "with an explicit deny in an identity-based policy") {
		t.Errorf("got %q", got)
	}
	d = Evaluate(req, nil, mustParse(t, stmts(`{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}`)))
	if got := d.AccessDeniedMessage(req); !strings.HasSuffix(got, "with an explicit deny in a resource-based policy") {
		t.Errorf("got %q", got)
	}
}

func TestDecisionReasons(t *testing.T) {
	idp := mustParse(t, stmts(allowAllLambda))
	res := mustParse(t, stmts(publicURL, `{"Sid":"Block","Effect":"Deny","Principal":"*","Action":"lambda:DeleteFunction","Resource":"*"}`))
	cases := []struct {
		name string
		req  *Request
		ids  []*Policy
		res  *Policy
		want []string
	}{
		{"identity allow", &Request{Principal: alice(), Action: "lambda:GetFunction", Resource: fnARN}, []*Policy{idp}, nil,
			[]string{`statement "AllowLambda"`, "identity-based"}},
		{"resource deny", &Request{Principal: alice(), Action: "lambda:DeleteFunction", Resource: fnARN}, []*Policy{idp}, res,
			[]string{"explicit deny", `"Block"`, "resource-based"}},
		{"anonymous allow", &Request{Action: "lambda:InvokeFunctionUrl", Resource: fnARN, Context: map[string][]string{"lambda:FunctionUrlAuthType": {"NONE"}}}, nil, res,
			[]string{"anonymous", `"FunctionURLAllowPublicAccess"`}},
		{"anonymous deny", &Request{Action: "lambda:InvokeFunctionUrl", Resource: fnARN}, nil, res,
			[]string{"implicit deny", "anonymous", "lambda:InvokeFunctionUrl"}},
		{"cross-account missing identity", &Request{Principal: bob(), Action: "lambda:InvokeFunctionUrl", Resource: fnARN, Context: map[string][]string{"lambda:FunctionUrlAuthType": {"NONE"}}}, nil, res,
			[]string{"cross-account", `"FunctionURLAllowPublicAccess"`, "no identity-based policy of account 444455556666"}},
		{"cross-account missing resource", &Request{Principal: bob(), Action: "lambda:GetFunction", Resource: fnARN}, []*Policy{idp}, res,
			[]string{"cross-account", "no resource-based policy statement of account 111122223333"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := Evaluate(tc.req, tc.ids, tc.res)
			for _, w := range tc.want {
				if !strings.Contains(d.Reason, w) {
					t.Errorf("reason %q lacks %q", d.Reason, w)
				}
			}
		})
	}
}

func TestUnmetCondition(t *testing.T) {
	res := mustParse(t, stmts(
		`{"Sid":"Office","Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunctionUrl","Resource":"`+fnARN+`","Condition":{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}}`))
	req := func(ip string) *Request {
		return &Request{Action: "lambda:InvokeFunctionUrl", Resource: fnARN, ResourceAccount: acct,
			Context: map[string][]string{"aws:SourceIp": {ip}}}
	}
	d := Evaluate(req("198.51.100.1"), nil, res)
	want := `statement "Office" of the resource-based policy: condition IpAddress aws:SourceIp [203.0.113.0/24] is not met; the request has aws:SourceIp = 198.51.100.1`
	if d.Allowed || d.Unmet != want {
		t.Fatalf("Unmet = %q, want %q", d.Unmet, want)
	}
	if d := Evaluate(req("203.0.113.5"), nil, res); !d.Allowed || d.Unmet != "" {
		t.Fatalf("allowed request: %+v", d)
	}
	// Another action: nothing matched but for a condition, so nothing to explain.
	other := req("198.51.100.1")
	other.Action = "lambda:GetFunction"
	if d := Evaluate(other, nil, res); d.Allowed || d.Unmet != "" {
		t.Fatalf("unrelated action: %+v", d)
	}
	// An identity policy's condition.
	id := mustParse(t, stmts(`{"Sid":"Tagged","Effect":"Allow","Action":"lambda:*","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"eu-west-1"}}}`))
	r := &Request{Principal: alice(), Action: "lambda:GetFunction", Resource: fnARN, ResourceAccount: acct, Context: map[string][]string{"aws:RequestedRegion": {"us-east-1"}}}
	if d := Evaluate(r, []*Policy{id}, nil); !strings.Contains(d.Unmet, `statement "Tagged" of the identity-based policy: condition StringEquals aws:RequestedRegion [eu-west-1]`) {
		t.Fatalf("identity Unmet = %q", d.Unmet)
	}
}
