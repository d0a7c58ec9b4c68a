package iam

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/furl/furl/internal/awserr"
)

func TestLambdaPermissionStatement(t *testing.T) {
	cases := []struct {
		name string
		in   PermissionInput
		want string
	}{
		{"console public URL", PermissionInput{StatementID: SidURLPublicAccess, Action: "lambda:InvokeFunctionUrl", Principal: "*", Resource: fnARN, FunctionUrlAuthType: "NONE"},
			`{"Sid":"FunctionURLAllowPublicAccess","Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunctionUrl","Resource":"` + fnARN + `","Condition":{"StringEquals":{"lambda:FunctionUrlAuthType":"NONE"}}}`},
		{"console invoke action", PermissionInput{StatementID: SidURLInvokeAction, Action: "lambda:InvokeFunction", Principal: "*", Resource: fnARN, InvokedViaFunctionUrl: true},
			`{"Sid":"FunctionURLAllowInvokeAction","Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunction","Resource":"` + fnARN + `","Condition":{"Bool":{"lambda:InvokedViaFunctionUrl":"true"}}}`},
		{"account principal", PermissionInput{StatementID: "x", Action: "lambda:InvokeFunctionUrl", Principal: "444455556666", Resource: fnLive, FunctionUrlAuthType: "AWS_IAM"},
			`{"Sid":"x","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":"lambda:InvokeFunctionUrl","Resource":"` + fnLive + `","Condition":{"StringEquals":{"lambda:FunctionUrlAuthType":"AWS_IAM"}}}`},
		{"role principal", PermissionInput{StatementID: "r", Action: "lambda:*", Principal: "arn:aws:iam::444455556666:role/R", Resource: fnARN},
			`{"Sid":"r","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:role/R"},"Action":"lambda:*","Resource":"` + fnARN + `"}`},
		{"service with source", PermissionInput{StatementID: "s3", Action: "lambda:InvokeFunction", Principal: "s3.amazonaws.com", Resource: fnARN,
			SourceArn: "arn:aws:s3:::bucket", SourceAccount: "111122223333", PrincipalOrgID: "o-abc", EventSourceToken: "tok"},
			`{"Sid":"s3","Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"lambda:InvokeFunction","Resource":"` + fnARN + `","Condition":{"StringEquals":{"AWS:SourceAccount":"111122223333","aws:PrincipalOrgID":"o-abc","lambda:EventSourceToken":"tok"},"ArnLike":{"AWS:SourceArn":"arn:aws:s3:::bucket"}}}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := LambdaPermissionStatement(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
			// The statement is a valid policy statement.
			if _, err := ParsePolicy([]byte(`{"Version":"2012-10-17","Statement":[` + string(got) + `]}`)); err != nil {
				t.Fatalf("statement does not parse: %v", err)
			}
		})
	}
}

func TestLambdaPermissionStatementErrors(t *testing.T) {
	ok := PermissionInput{StatementID: "s", Action: "lambda:InvokeFunctionUrl", Principal: "*", Resource: fnARN}
	cases := []struct {
		name string
		mod  func(*PermissionInput)
		code string
	}{
		{"bad sid", func(p *PermissionInput) { p.StatementID = "a b" }, "ValidationException"},
		{"empty sid", func(p *PermissionInput) { p.StatementID = "" }, "ValidationException"},
		{"long sid", func(p *PermissionInput) { p.StatementID = string(make([]byte, 101)) }, "ValidationException"},
		{"bad action", func(p *PermissionInput) { p.Action = "s3:GetObject" }, "ValidationException"},
		{"action with digits", func(p *PermissionInput) { p.Action = "lambda:Invoke2" }, "ValidationException"},
		{"bad principal", func(p *PermissionInput) { p.Principal = "alice" }, "InvalidParameterValueException"},
		{"wildcard arn principal", func(p *PermissionInput) { p.Principal = "arn:aws:iam::111122223333:user/*" }, "InvalidParameterValueException"},
		{"non-iam arn principal", func(p *PermissionInput) { p.Principal = "arn:aws:s3:::bucket" }, "InvalidParameterValueException"},
		{"bad auth type", func(p *PermissionInput) { p.FunctionUrlAuthType = "IAM" }, "ValidationException"},
		{"auth type on InvokeFunction", func(p *PermissionInput) { p.Action = "lambda:InvokeFunction"; p.FunctionUrlAuthType = "NONE" }, "InvalidParameterValueException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := ok
			tc.mod(&in)
			_, err := LambdaPermissionStatement(in)
			var ae *awserr.Error
			if !errors.As(err, &ae) || ae.Code != tc.code || ae.Status != 400 {
				t.Fatalf("err %v, want %s 400", err, tc.code)
			}
		})
	}
}

func TestPolicyDocumentEditing(t *testing.T) {
	s1, _ := LambdaPermissionStatement(PermissionInput{StatementID: SidURLPublicAccess, Action: "lambda:InvokeFunctionUrl", Principal: "*", Resource: fnARN, FunctionUrlAuthType: "NONE"})
	s2, _ := LambdaPermissionStatement(PermissionInput{StatementID: SidURLInvokeAction, Action: "lambda:InvokeFunction", Principal: "*", Resource: fnARN, InvokedViaFunctionUrl: true})
	doc, err := AppendStatement(nil, s1)
	if err != nil {
		t.Fatal(err)
	}
	want1 := `{"Version":"2012-10-17","Id":"default","Statement":[` + string(s1) + `]}`
	if string(doc) != want1 {
		t.Fatalf("got  %s\nwant %s", doc, want1)
	}
	if doc, err = AppendStatement(doc, s2); err != nil {
		t.Fatal(err)
	}
	if !HasStatement(doc, SidURLInvokeAction) || HasStatement(doc, "nope") {
		t.Error("HasStatement")
	}
	_, err = AppendStatement(doc, s1)
	var ae *awserr.Error
	if !errors.As(err, &ae) || ae.Code != "ResourceConflictException" || ae.Status != 409 ||
		ae.Message != "The statement id (FunctionURLAllowPublicAccess) provided already exists. Please provide a new statement id, or remove the existing statement." {
		t.Fatalf("duplicate: %v", err)
	}
	// The document evaluates: anonymous URL invocation passes both checks.
	p := mustParse(t, string(doc))
	ctx := map[string][]string{"lambda:FunctionUrlAuthType": {"NONE"}, "lambda:InvokedViaFunctionUrl": {"true"}}
	for _, act := range []string{"lambda:InvokeFunctionUrl", "lambda:InvokeFunction"} {
		if d := Evaluate(&Request{Action: act, Resource: fnARN, Context: ctx}, nil, p); !d.Allowed {
			t.Errorf("%s: %s", act, d.Reason)
		}
	}
	if doc, err = RemoveStatement(doc, SidURLPublicAccess); err != nil {
		t.Fatal(err)
	}
	if string(doc) != `{"Version":"2012-10-17","Id":"default","Statement":[`+string(s2)+`]}` {
		t.Fatalf("after remove: %s", doc)
	}
	if _, err = RemoveStatement(doc, "nope"); !errors.As(err, &ae) || ae.Code != "ResourceNotFoundException" || ae.Status != 404 ||
		ae.Message != "Statement nope is not found in resource policy." {
		t.Fatalf("remove unknown: %v", err)
	}
	if doc, err = RemoveStatement(doc, SidURLInvokeAction); err != nil || doc != nil {
		t.Fatalf("remove last: %s %v", doc, err)
	}
	// A single-object Statement is accepted.
	if doc, err = AppendStatement([]byte(`{"Version":"2012-10-17","Statement":`+string(s1)+`}`), s2); err != nil || !HasStatement(doc, SidURLPublicAccess) {
		t.Fatalf("single object: %s %v", doc, err)
	}
}

func TestNewContextAndKindParsers(t *testing.T) {
	now := time.Date(2026, 11, 26, 5, 0, 0, 0, time.UTC)
	ctx := NewContext(ContextInput{SourceIP: "192.0.2.1", Now: now, RequestedRegion: "us-east-1", FunctionURLAuthType: "NONE", InvokedViaFunctionURL: true})
	want := map[string][]string{
		"aws:SourceIp": {"192.0.2.1"}, "aws:SecureTransport": {"false"}, "aws:CurrentTime": {"2026-11-26T05:00:00Z"},
		"aws:EpochTime": {"1795669200"}, "aws:RequestedRegion": {"us-east-1"},
		"lambda:FunctionUrlAuthType": {"NONE"}, "lambda:InvokedViaFunctionUrl": {"true"},
	}
	if diff := cmp.Diff(want, ctx); diff != "" {
		t.Errorf("context (-want +got):\n%s", diff)
	}
	p := mustParse(t, stmts(publicURL, `{"Sid":"T","Effect":"Deny","Principal":"*","Action":"*","Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2026-11-26T04:00:00Z"},"DateLessThan":{"aws:EpochTime":1795672800}}}`))
	if d := Evaluate(&Request{Action: "lambda:InvokeFunctionUrl", Resource: fnARN, Context: ctx}, nil, p); !d.ExplicitDeny || d.Statement != "T" {
		t.Errorf("%+v", d)
	}
	if _, err := ParseIdentityPolicy([]byte(stmts(publicURL))); err == nil || !strings.Contains(err.Error(), "should not specify a principal") {
		t.Errorf("identity with principal: %v", err)
	}
	if _, err := ParseIdentityPolicy([]byte(stmts(allowAllLambda))); err != nil {
		t.Error(err)
	}
	if _, err := ParseIdentityPolicy([]byte(stmts(`{"Effect":"Allow","Action":"*"}`))); err == nil || !strings.Contains(err.Error(), "must contain resources") {
		t.Errorf("identity without resource: %v", err)
	}
	if _, err := ParseResourcePolicy([]byte(stmts(allowAllLambda))); err == nil || !strings.Contains(err.Error(), "Principal") {
		t.Errorf("resource without principal: %v", err)
	}
	if _, err := ParseResourcePolicy([]byte(stmts(publicURL))); err != nil {
		t.Error(err)
	}
}
