package iamapi

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// bigPolicy is an identity policy of about n characters (white space not counted).
func bigPolicy(n int) string {
	head := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":["`
	var b strings.Builder
	b.WriteString(head)
	for i := 0; b.Len() < n; i++ {
		if i > 0 {
			b.WriteString(`","`)
		}
		fmt.Fprintf(&b, "arn:aws:s3:::b/%d", i)
	}
	b.WriteString(`"]}]}`)
	return b.String()
}

func TestPolicySizeQuotas(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	root := e.iam(rootID, rootSecret, "")
	if _, err := root.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("alice")}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("g")}); err != nil {
		t.Fatal(err)
	}
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}`
	if _, err := root.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
		t.Fatal(err)
	}
	spaced := strings.ReplaceAll(bigPolicy(2000), ",", " ,   ") // white space is not counted
	tests := []struct {
		name    string
		call    func() error
		code    string
		message string
	}{
		{"user inline fits", func() error {
			_, err := root.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("a"), PolicyDocument: aws.String(spaced)})
			return err
		}, "", ""},
		{"user inline aggregate over 2048", func() error {
			_, err := root.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("b"), PolicyDocument: aws.String(bigPolicy(200))})
			return err
		}, "LimitExceeded", "Maximum policy size of 2048 bytes exceeded for user alice"},
		{"user inline replaced in place", func() error {
			_, err := root.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("a"), PolicyDocument: aws.String(bigPolicy(1900))})
			return err
		}, "", ""},
		{"800 KB inline", func() error {
			_, err := root.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("c"), PolicyDocument: aws.String(bigPolicy(800 << 10))})
			return err
		}, "ValidationError", ""},
		{"group inline over 5120", func() error {
			_, err := root.PutGroupPolicy(ctx, &iam.PutGroupPolicyInput{GroupName: aws.String("g"), PolicyName: aws.String("a"), PolicyDocument: aws.String(bigPolicy(5200))})
			return err
		}, "LimitExceeded", "Maximum policy size of 5120 bytes exceeded for group g"},
		{"role inline fits 10000", func() error {
			_, err := root.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("r"), PolicyName: aws.String("a"), PolicyDocument: aws.String(bigPolicy(10000))})
			return err
		}, "", ""},
		{"role inline over 10240", func() error {
			_, err := root.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("r"), PolicyName: aws.String("b"), PolicyDocument: aws.String(bigPolicy(300))})
			return err
		}, "LimitExceeded", "Maximum policy size of 10240 bytes exceeded for role r"},
		{"managed over 6144", func() error {
			_, err := root.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("m"), PolicyDocument: aws.String(bigPolicy(6200))})
			return err
		}, "LimitExceeded", "Cannot exceed quota for PolicySize: 6144"},
		{"managed fits", func() error {
			_, err := root.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("m"), PolicyDocument: aws.String(bigPolicy(6000))})
			return err
		}, "", ""},
		{"managed version over 6144", func() error {
			_, err := root.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: aws.String("arn:aws:iam::" + testAccount + ":policy/m"), PolicyDocument: aws.String(bigPolicy(7000))})
			return err
		}, "LimitExceeded", "Cannot exceed quota for PolicySize: 6144"},
		{"trust policy over 2048", func() error {
			big := strings.Replace(trust, `"AWS":"*"`, `"AWS":["`+strings.Repeat("arn:aws:iam::111122223333:root\",\"", 70)+`*"]`, 1)
			_, err := root.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("r"), PolicyDocument: aws.String(big)})
			return err
		}, "LimitExceeded", "Cannot exceed quota for ACLSizePerRole: 2048"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if got := apiCode(err); got != tt.code {
				t.Fatalf("code = %q, want %q (%v)", got, tt.code, err)
			}
			if tt.message != "" && !strings.Contains(err.Error(), tt.message) {
				t.Errorf("error %v, want message %q", err, tt.message)
			}
		})
	}
}

func FuzzPolicySize(f *testing.F) {
	f.Add(" {\t\"a\" }\n")
	f.Fuzz(func(t *testing.T, doc string) {
		if n := policySize(doc); n < 0 || n > len(doc) {
			t.Fatalf("policySize(%q) = %d", doc, n)
		}
		_ = checkDocumentShape("policyDocument", doc)
	})
}
