package functions

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestAddPermissionMemberConstraints(t *testing.T) {
	s := newTestService(t)
	ctx := context.Background()
	timeout := 3
	if _, err := s.CreateFunction(ctx, &CreateInput{FunctionName: "f", Runtime: "python3.12", Handler: "app.handler",
		Role: "arn:aws:iam::000000000000:role/r", Timeout: &timeout, Code: CodeInput{ZipFile: mustZip(t)}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   PermissionInput
		want string // "" = accepted; else the message's start
	}{
		{"account ok", PermissionInput{SourceAccount: "123456789012"}, ""},
		{"account 1000 x", PermissionInput{SourceAccount: strings.Repeat("x", 1000)},
			"2 validation errors detected: Value '" + strings.Repeat("x", 256) + "...' at 'sourceAccount' failed to satisfy constraint: Member must have length less than or equal to 12; "},
		{"account 11 digits", PermissionInput{SourceAccount: "12345678901"},
			`1 validation error detected: Value '12345678901' at 'sourceAccount' failed to satisfy constraint: Member must satisfy regular expression pattern: \d{12}`},
		{"source arn ok", PermissionInput{SourceArn: "arn:aws:s3:::bucket"}, ""},
		{"source arn bad", PermissionInput{SourceArn: "bucket"}, "1 validation error detected: Value 'bucket' at 'sourceArn'"},
		{"token bad", PermissionInput{EventSourceToken: "a b"}, "1 validation error detected: Value 'a b' at 'eventSourceToken'"},
		{"org bad", PermissionInput{PrincipalOrgID: "o-x"}, "2 validation errors detected: Value 'o-x' at 'principalOrgID'"},
		{"org ok", PermissionInput{PrincipalOrgID: "o-abcdefghij"}, ""},
		{"principal with space", PermissionInput{Principal: "a b"}, "1 validation error detected: Value 'a b' at 'principal'"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			in.StatementId = "s" + strings.Repeat("x", i)
			in.Action = "lambda:InvokeFunction"
			if in.Principal == "" {
				in.Principal = "s3.amazonaws.com"
			}
			_, err := s.AddPermission(ctx, Ref{Name: "f"}, &in)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("AddPermission: %v", err)
				}
				return
			}
			var fe *Error
			if !errors.As(err, &fe) || fe.Kind != KindValidation || !strings.HasPrefix(fe.Message, tt.want) {
				t.Fatalf("AddPermission = %v, want ValidationException %q", err, tt.want)
			}
		})
	}
}
