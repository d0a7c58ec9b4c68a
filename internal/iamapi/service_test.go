package iamapi

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/furl/furl/internal/awserr"
	fiam "github.com/furl/furl/internal/iam"
	"github.com/furl/furl/internal/identity"
	"github.com/furl/furl/internal/sigv4"
	"github.com/furl/furl/internal/store"
)

const (
	testAccount = "123456789012"
	rootID      = "AKIAROOTROOTROOTROOT"
	rootSecret  = "rootsecretrootsecretrootsecretrootsecret"
)

// clock is a settable clock that starts at the real time (the SDK signs with real time).
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

type env struct {
	svc *identity.Service
	clk *clock
	url string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "furl.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clk := &clock{}
	svc, err := identity.New(identity.Options{Store: db, AccountID: testAccount, Region: "us-east-1",
		RootAccessKeyID: rootID, RootSecretAccessKey: rootSecret, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	api, err := New(Options{Identity: svc, Store: db, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return &env{svc: svc, clk: clk, url: srv.URL}
}

func (e *env) iam(id, secret, token string) *iam.Client {
	return iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: aws.String(e.url),
		Credentials: credentials.NewStaticCredentialsProvider(id, secret, token), RetryMaxAttempts: 1})
}

func (e *env) sts(id, secret, token string) *sts.Client {
	return sts.New(sts.Options{Region: "us-west-2", BaseEndpoint: aws.String(e.url),
		Credentials: credentials.NewStaticCredentialsProvider(id, secret, token), RetryMaxAttempts: 1})
}

// newUser creates the user as root, with an access key, and answers the key's id and secret.
func newUser(t *testing.T, root *iam.Client, name string) (akid, secret string) {
	t.Helper()
	ctx := context.Background()
	if _, err := root.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	ck, err := root.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(ck.AccessKey.AccessKeyId), aws.ToString(ck.AccessKey.SecretAccessKey)
}

// apiCode is the AWS error code of err ("" for nil).
func apiCode(err error) string {
	if err == nil {
		return ""
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return "not an API error: " + err.Error()
}

func TestQueryAPIWithGoSDK(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	root := e.iam(rootID, rootSecret, "")

	// Root: who am I, create a user and a key.
	who, err := e.sts(rootID, rootSecret, "").GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if got := [3]string{aws.ToString(who.Arn), aws.ToString(who.UserId), aws.ToString(who.Account)}; got != [3]string{"arn:aws:iam::" + testAccount + ":root", testAccount, testAccount} {
		t.Errorf("root GetCallerIdentity = %v", got)
	}
	cu, err := root.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("alice")})
	if err != nil {
		t.Fatal(err)
	}
	if u := cu.User; aws.ToString(u.Arn) != "arn:aws:iam::"+testAccount+":user/alice" || len(aws.ToString(u.UserId)) != 21 ||
		!strings.HasPrefix(aws.ToString(u.UserId), "AIDA") || u.CreateDate == nil || aws.ToString(u.Path) != "/" {
		t.Errorf("CreateUser = %+v", u)
	}
	if _, err := root.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("alice")}); apiCode(err) != "EntityAlreadyExists" {
		t.Errorf("duplicate CreateUser: %v", err)
	}
	if _, err := root.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("nobody")}); apiCode(err) != "NoSuchEntity" {
		t.Errorf("GetUser(nobody): %v", err)
	}
	ck, err := root.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("alice")})
	if err != nil {
		t.Fatal(err)
	}
	akid, secret := aws.ToString(ck.AccessKey.AccessKeyId), aws.ToString(ck.AccessKey.SecretAccessKey)
	if len(akid) != 20 || !strings.HasPrefix(akid, "AKIA") || len(secret) != 40 || ck.AccessKey.Status != "Active" {
		t.Errorf("CreateAccessKey = %s / %s / %s", akid, secret, ck.AccessKey.Status)
	}
	alice := e.iam(akid, secret, "")
	aliceSTS := e.sts(akid, secret, "")
	who, err = aliceSTS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(who.Arn) != aws.ToString(cu.User.Arn) || aws.ToString(who.UserId) != aws.ToString(cu.User.UserId) {
		t.Errorf("alice GetCallerIdentity = %s %s", aws.ToString(who.Arn), aws.ToString(who.UserId))
	}
	gu, err := alice.GetUser(ctx, &iam.GetUserInput{}) // own user: still needs iam:GetUser
	if apiCode(err) != "AccessDenied" {
		t.Errorf("alice GetUser without policy: %v %+v", err, gu)
	}

	// Alice has no permissions: AccessDenied, then allowed by an inline policy.
	if _, err := alice.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("bob")}); apiCode(err) != "AccessDenied" {
		t.Errorf("CreateUser without policy: %v", err)
	} else if !strings.Contains(err.Error(), "is not authorized to perform: iam:CreateUser on resource: arn:aws:iam::"+testAccount+":user/bob") {
		t.Errorf("AccessDenied message: %v", err)
	}
	allowIAM := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:CreateUser","iam:GetUser","iam:ListUsers"],"Resource":"*"}]}`
	if _, err := root.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("iam"), PolicyDocument: aws.String(allowIAM)}); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("bob"), Path: aws.String("/dev/")}); err != nil {
		t.Errorf("CreateUser with policy: %v", err)
	}
	gp, err := root.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("iam")})
	if err != nil {
		t.Fatal(err)
	}
	if doc, _ := url.PathUnescape(aws.ToString(gp.PolicyDocument)); doc != allowIAM {
		t.Errorf("GetUserPolicy document = %s", aws.ToString(gp.PolicyDocument))
	}
	// An explicit deny wins.
	deny := `{"Version":"2012-10-17","Statement":[{"Sid":"NoBob","Effect":"Deny","Action":"iam:CreateUser","Resource":"arn:aws:iam::*:user/carol"}]}`
	if _, err := root.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("deny"), PolicyDocument: aws.String(deny)}); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("carol")}); apiCode(err) != "AccessDenied" || !strings.Contains(err.Error(), "explicit deny") {
		t.Errorf("CreateUser with explicit deny: %v", err)
	}
	lp, err := root.ListUserPolicies(ctx, &iam.ListUserPoliciesInput{UserName: aws.String("alice")})
	if err != nil || !cmp.Equal(lp.PolicyNames, []string{"deny", "iam"}) {
		t.Errorf("ListUserPolicies = %v, %v", lp, err)
	}
	lu, err := alice.ListUsers(ctx, &iam.ListUsersInput{PathPrefix: aws.String("/dev/")})
	if err != nil || len(lu.Users) != 1 || aws.ToString(lu.Users[0].Arn) != "arn:aws:iam::"+testAccount+":user/dev/bob" {
		t.Errorf("ListUsers(/dev/) = %+v, %v", lu, err)
	}

	// Malformed documents.
	if _, err := root.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("bad"), PolicyDocument: aws.String(`{"Statement":[{"Effect":"Maybe","Action":"*","Resource":"*"}]}`)}); apiCode(err) != "MalformedPolicyDocument" {
		t.Errorf("bad Effect: %v", err)
	}
	if _, err := root.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("bad"), PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}`)}); apiCode(err) != "MalformedPolicyDocument" {
		t.Errorf("Principal in identity policy: %v", err)
	}

	// Wrong secret, inactive key, deleted key.
	wrong := secret[:39] + "x"
	if secret[39] == 'x' {
		wrong = secret[:39] + "y" // a random secret can end in x already
	}
	if _, err := e.sts(akid, wrong, "").GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); apiCode(err) != "SignatureDoesNotMatch" {
		t.Errorf("wrong secret: %v", err)
	}
	if _, err := root.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("alice"), AccessKeyId: aws.String(akid), Status: "Inactive"}); err != nil {
		t.Fatal(err)
	}
	if _, err := aliceSTS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); apiCode(err) != "InvalidClientTokenId" {
		t.Errorf("inactive key: %v", err)
	}
	lk, err := root.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("alice")})
	if err != nil || len(lk.AccessKeyMetadata) != 1 || lk.AccessKeyMetadata[0].Status != "Inactive" {
		t.Errorf("ListAccessKeys = %+v, %v", lk, err)
	}
	if _, err := root.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("alice")}); apiCode(err) != "DeleteConflict" {
		t.Errorf("DeleteUser with keys: %v", err)
	}
	if _, err := root.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("alice"), AccessKeyId: aws.String(akid)}); err != nil {
		t.Fatal(err)
	}
	if _, err := aliceSTS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); apiCode(err) != "InvalidClientTokenId" {
		t.Errorf("deleted key: %v", err)
	}
	if _, err := root.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("alice")}); apiCode(err) != "DeleteConflict" {
		t.Errorf("DeleteUser with policies: %v", err)
	}
	for _, p := range []string{"iam", "deny"} {
		if _, err := root.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String(p)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := root.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("alice")}); err != nil {
		t.Errorf("DeleteUser: %v", err)
	}
}

func TestManagedPoliciesAndGroups(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	root := e.iam(rootID, rootSecret, "")
	mustDo := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	devID, devSecret := newUser(t, root, "dev1")
	dev := e.iam(devID, devSecret, "")
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:List*","Resource":"*"}]}`
	cp, err := root.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("lister"), PolicyDocument: aws.String(doc), Description: aws.String("lists")})
	if err != nil {
		t.Fatal(err)
	}
	parn := aws.ToString(cp.Policy.Arn)
	if parn != "arn:aws:iam::"+testAccount+":policy/lister" || !strings.HasPrefix(aws.ToString(cp.Policy.PolicyId), "ANPA") || aws.ToString(cp.Policy.DefaultVersionId) != "v1" {
		t.Errorf("CreatePolicy = %+v", cp.Policy)
	}
	if _, err := root.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("lister"), PolicyDocument: aws.String(doc)}); apiCode(err) != "EntityAlreadyExists" {
		t.Errorf("duplicate CreatePolicy: %v", err)
	}
	if _, err := dev.ListRoles(ctx, &iam.ListRolesInput{}); apiCode(err) != "AccessDenied" {
		t.Errorf("ListRoles before group: %v", err)
	}
	mustDo(root.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("devs")}))
	mustDo(root.AttachGroupPolicy(ctx, &iam.AttachGroupPolicyInput{GroupName: aws.String("devs"), PolicyArn: aws.String(parn)}))
	mustDo(root.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: aws.String("devs"), UserName: aws.String("dev1")}))
	if _, err := dev.ListRoles(ctx, &iam.ListRolesInput{}); err != nil {
		t.Errorf("ListRoles through group policy: %v", err)
	}
	gp, err := root.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(parn)})
	if err != nil || aws.ToInt32(gp.Policy.AttachmentCount) != 1 {
		t.Errorf("GetPolicy = %+v, %v", gp, err)
	}
	if _, err := root.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: aws.String(parn)}); apiCode(err) != "DeleteConflict" {
		t.Errorf("DeletePolicy while attached: %v", err)
	}
	mustDo(root.RemoveUserFromGroup(ctx, &iam.RemoveUserFromGroupInput{GroupName: aws.String("devs"), UserName: aws.String("dev1")}))
	if _, err := dev.ListRoles(ctx, &iam.ListRolesInput{}); apiCode(err) != "AccessDenied" {
		t.Errorf("ListRoles after leaving the group: %v", err)
	}
	// Group inline policy, user-attached managed policy.
	mustDo(root.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("dev1"), PolicyArn: aws.String(parn)}))
	la, err := root.ListAttachedUserPolicies(ctx, &iam.ListAttachedUserPoliciesInput{UserName: aws.String("dev1")})
	if err != nil || len(la.AttachedPolicies) != 1 || aws.ToString(la.AttachedPolicies[0].PolicyArn) != parn {
		t.Errorf("ListAttachedUserPolicies = %+v, %v", la, err)
	}
	if _, err := dev.ListUsers(ctx, &iam.ListUsersInput{}); err != nil {
		t.Errorf("ListUsers through attached policy: %v", err)
	}
	mustDo(root.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: aws.String("dev1"), PolicyArn: aws.String(parn)}))
	if _, err := root.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("dev1"), PolicyArn: aws.String("arn:aws:iam::" + testAccount + ":policy/none")}); apiCode(err) != "NoSuchEntity" {
		t.Errorf("attach missing policy: %v", err)
	}
	mustDo(root.PutGroupPolicy(ctx, &iam.PutGroupPolicyInput{GroupName: aws.String("devs"), PolicyName: aws.String("inl"), PolicyDocument: aws.String(doc)}))
	mustDo(root.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: aws.String("devs"), UserName: aws.String("dev1")}))
	if _, err := dev.ListGroups(ctx, &iam.ListGroupsInput{}); err != nil {
		t.Errorf("ListGroups through group inline policy: %v", err)
	}
	lp, err := root.ListPolicies(ctx, &iam.ListPoliciesInput{Scope: "Local"})
	if err != nil || len(lp.Policies) != 1 {
		t.Errorf("ListPolicies(Local) = %+v, %v", lp, err)
	}
	aws1, err := root.ListPolicies(ctx, &iam.ListPoliciesInput{Scope: "AWS", MaxItems: aws.Int32(1)})
	if err != nil || len(aws1.Policies) != 1 || !aws1.IsTruncated || aws.ToString(aws1.Marker) == "" {
		t.Errorf("ListPolicies(AWS, 1) = %+v, %v", aws1, err)
	}
	if _, err := root.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String("arn:aws:iam::aws:policy/AdministratorAccess")}); err != nil {
		t.Errorf("AWS managed AdministratorAccess: %v", err)
	}
	// The usual Lambda execution role.
	lambdaTrust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	mustDo(root.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("lambda-role"), AssumeRolePolicyDocument: aws.String(lambdaTrust)}))
	basic := "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
	mustDo(root.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("lambda-role"), PolicyArn: aws.String(basic)}))
	lr, err := root.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String("lambda-role")})
	if err != nil || len(lr.AttachedPolicies) != 1 || aws.ToString(lr.AttachedPolicies[0].PolicyName) != "AWSLambdaBasicExecutionRole" {
		t.Errorf("ListAttachedRolePolicies = %+v, %v", lr, err)
	}
	if ip, err := root.ListInstanceProfilesForRole(ctx, &iam.ListInstanceProfilesForRoleInput{RoleName: aws.String("lambda-role")}); err != nil || len(ip.InstanceProfiles) != 0 {
		t.Errorf("ListInstanceProfilesForRole = %+v, %v", ip, err)
	}
	if _, err := root.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("lambda-role")}); apiCode(err) != "DeleteConflict" {
		t.Errorf("DeleteRole with attached policy: %v", err)
	}
	if _, err := root.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("no-principal"), AssumeRolePolicyDocument: aws.String(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}`)}); apiCode(err) != "MalformedPolicyDocument" {
		t.Errorf("trust policy without Principal: %v", err)
	}
}

func TestAssumeRole(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	root := e.iam(rootID, rootSecret, "")
	akid, secret := newUser(t, root, "alice")
	aliceSTS := e.sts(akid, secret, "")
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + testAccount + `:user/alice"},"Action":"sts:AssumeRole"}]}`
	cr, err := root.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("R"), AssumeRolePolicyDocument: aws.String(trust), MaxSessionDuration: aws.Int32(7200)})
	if err != nil {
		t.Fatal(err)
	}
	roleID := aws.ToString(cr.Role.RoleId)
	if !strings.HasPrefix(roleID, "AROA") || len(roleID) != 21 || aws.ToString(cr.Role.Arn) != "arn:aws:iam::"+testAccount+":role/R" {
		t.Errorf("CreateRole = %+v", cr.Role)
	}
	if d, _ := url.PathUnescape(aws.ToString(cr.Role.AssumeRolePolicyDocument)); d != trust {
		t.Errorf("AssumeRolePolicyDocument = %s", aws.ToString(cr.Role.AssumeRolePolicyDocument))
	}
	if _, err := root.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("R"), PolicyName: aws.String("p"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListRoles","Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	roleARN := aws.String("arn:aws:iam::" + testAccount + ":role/R")

	for _, tt := range []struct {
		name     string
		client   *sts.Client
		in       sts.AssumeRoleInput
		wantCode string
	}{
		{"root may not assume", e.sts(rootID, rootSecret, ""), sts.AssumeRoleInput{RoleArn: roleARN, RoleSessionName: aws.String("s1")}, "AccessDenied"},
		{"session name too short", aliceSTS, sts.AssumeRoleInput{RoleArn: roleARN, RoleSessionName: aws.String("s")}, "ValidationError"},
		{"too short", aliceSTS, sts.AssumeRoleInput{RoleArn: roleARN, RoleSessionName: aws.String("s1"), DurationSeconds: aws.Int32(899)}, "ValidationError"},
		{"too long", aliceSTS, sts.AssumeRoleInput{RoleArn: roleARN, RoleSessionName: aws.String("s1"), DurationSeconds: aws.Int32(43201)}, "ValidationError"},
		{"over role max", aliceSTS, sts.AssumeRoleInput{RoleArn: roleARN, RoleSessionName: aws.String("s1"), DurationSeconds: aws.Int32(7201)}, "ValidationError"},
		{"missing role", aliceSTS, sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + testAccount + ":role/None"), RoleSessionName: aws.String("s1")}, "AccessDenied"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.client.AssumeRole(ctx, &tt.in)
			if apiCode(err) != tt.wantCode {
				t.Errorf("AssumeRole: %v, want %s", err, tt.wantCode)
			}
		})
	}

	ar, err := aliceSTS.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: roleARN, RoleSessionName: aws.String("sess1"), DurationSeconds: aws.Int32(900)})
	if err != nil {
		t.Fatal(err)
	}
	c := ar.Credentials
	if !strings.HasPrefix(aws.ToString(c.AccessKeyId), "ASIA") || aws.ToString(c.SessionToken) == "" || c.Expiration == nil ||
		c.Expiration.Sub(time.Now()) > 901*time.Second || c.Expiration.Sub(time.Now()) < 880*time.Second {
		t.Errorf("credentials = %+v", c)
	}
	wantARN := "arn:aws:sts::" + testAccount + ":assumed-role/R/sess1"
	if aws.ToString(ar.AssumedRoleUser.Arn) != wantARN || aws.ToString(ar.AssumedRoleUser.AssumedRoleId) != roleID+":sess1" {
		t.Errorf("AssumedRoleUser = %+v", ar.AssumedRoleUser)
	}
	sess := e.sts(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
	who, err := sess.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(who.Arn) != wantARN || aws.ToString(who.UserId) != roleID+":sess1" {
		t.Errorf("session GetCallerIdentity = %s %s", aws.ToString(who.Arn), aws.ToString(who.UserId))
	}
	sessIAM := e.iam(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
	if _, err := sessIAM.ListRoles(ctx, &iam.ListRolesInput{}); err != nil {
		t.Errorf("session ListRoles (role policy): %v", err)
	}
	if _, err := sessIAM.ListUsers(ctx, &iam.ListUsersInput{}); apiCode(err) != "AccessDenied" {
		t.Errorf("session ListUsers: %v", err)
	}
	// Token required and must match.
	if _, err := e.sts(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), "").GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); apiCode(err) != "InvalidClientTokenId" {
		t.Errorf("session without token: %v", err)
	}
	if _, err := e.sts(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), "bogus").GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); apiCode(err) != "InvalidClientTokenId" {
		t.Errorf("session with a wrong token: %v", err)
	}
	// A trust policy that names only the account delegates to identity policies.
	acctTrust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + testAccount + `"},"Action":"sts:AssumeRole"}]}`
	if _, err := root.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("R"), PolicyDocument: aws.String(acctTrust)}); err != nil {
		t.Fatal(err)
	}
	if _, err := aliceSTS.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: roleARN, RoleSessionName: aws.String("s2")}); apiCode(err) != "AccessDenied" {
		t.Errorf("account trust without identity allow: %v", err)
	}
	if _, err := root.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("assume"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := aliceSTS.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: roleARN, RoleSessionName: aws.String("s2")}); err != nil {
		t.Errorf("account trust with identity allow: %v", err)
	}
	// An identity allow is not enough when the trust policy does not admit the caller.
	otherTrust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + testAccount + `:user/bob"},"Action":"sts:AssumeRole"}]}`
	if _, err := root.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("R"), PolicyDocument: aws.String(otherTrust)}); err != nil {
		t.Fatal(err)
	}
	if _, err := aliceSTS.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: roleARN, RoleSessionName: aws.String("s3")}); apiCode(err) != "AccessDenied" {
		t.Errorf("trust naming someone else: %v", err)
	}
	// Expiry: the server clock moves past the session's end; the request is signed at the
	// moved time so that only the session, not the signature, is stale.
	e.clk.advance(16 * time.Minute)
	req := signedRequest(t, "sts", aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken), e.clk.now())
	if _, err := e.svc.Authenticate(ctx, req, "", "sts"); awserr.As(err).Code != sigv4.CodeExpiredToken {
		t.Errorf("expired session: %v", err)
	}
}

// signedRequest returns a GetCallerIdentity request signed for service at t.
func signedRequest(t *testing.T, service, id, secret, token string, at time.Time) *http.Request {
	t.Helper()
	body := []byte("Action=GetCallerIdentity&Version=2011-06-15")
	r, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:9000/", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.RequestURI = "/"
	creds := aws.Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: token}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, sigv4.HashPayload(body), service, "us-east-1", at); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestAuthenticateAndAuthorize(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	root := e.iam(rootID, rootSecret, "")
	akid, secret := newUser(t, root, "alice")
	gu, err := root.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("alice")})
	if err != nil {
		t.Fatal(err)
	}
	userID := aws.ToString(gu.User.UserId)

	lambdaReq := func(id, sec, region string) *http.Request {
		r, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:9000/2015-03-31/functions/", nil)
		r.RequestURI = "/2015-03-31/functions/"
		if err := v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: id, SecretAccessKey: sec}, r, sigv4.EmptyPayloadHash, "lambda", region, time.Now()); err != nil {
			t.Fatal(err)
		}
		return r
	}
	p, err := e.svc.Authenticate(ctx, lambdaReq(akid, secret, "us-east-1"), "", "lambda")
	if err != nil {
		t.Fatal(err)
	}
	want := &fiam.Principal{Type: identity.TypeUser, AccountID: testAccount, ARN: "arn:aws:iam::" + testAccount + ":user/alice",
		PrincipalARN: "arn:aws:iam::" + testAccount + ":user/alice", UserID: userID, Username: "alice", AccessKeyID: akid}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("principal (-want +got):\n%s", diff)
	}
	if _, err := e.svc.Authenticate(ctx, lambdaReq(akid, secret, "eu-west-1"), "", "lambda"); awserr.As(err).Code != sigv4.CodeInvalidSignature {
		t.Errorf("wrong region: %v", err)
	}
	if _, err := e.svc.Authenticate(ctx, lambdaReq("AKIANOSUCHKEY0000000", secret, "us-east-1"), "", "lambda"); awserr.As(err).Code != sigv4.CodeUnrecognizedClient {
		t.Errorf("unknown key: %v", err)
	}
	rp, err := e.svc.Authenticate(ctx, lambdaReq(rootID, rootSecret, "us-east-1"), "", "lambda")
	if err != nil || rp.Type != identity.TypeAccount || rp.ARN != "arn:aws:iam::"+testAccount+":root" || rp.UserID != testAccount {
		t.Errorf("root principal = %+v, %v", rp, err)
	}

	fn := "arn:aws:lambda:us-east-1:" + testAccount + ":function:f"
	invoke := func(pr *fiam.Principal, resource string) fiam.Decision {
		t.Helper()
		req := &fiam.Request{Action: "lambda:InvokeFunctionUrl", Resource: fn,
			Context: map[string][]string{"lambda:FunctionUrlAuthType": {"AWS_IAM"}}}
		d, err := e.svc.Authorize(ctx, pr, req, []byte(resource))
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"aws:CurrentTime", "aws:EpochTime"} {
			if len(req.Context[k]) != 1 {
				t.Errorf("context key %s not set: %v", k, req.Context)
			}
		}
		if pr != nil && (req.Context["aws:PrincipalArn"][0] != pr.PrincipalARN || req.Context["aws:userid"][0] != pr.UserID) {
			t.Errorf("principal context keys: %v", req.Context)
		}
		return d
	}
	if d := invoke(p, ""); d.Allowed {
		t.Errorf("user without policies allowed: %+v", d)
	}
	if d := invoke(rp, ""); !d.Allowed {
		t.Errorf("root denied: %+v", d)
	}
	if d := invoke(nil, ""); d.Allowed {
		t.Errorf("anonymous allowed: %+v", d)
	}
	resPolicy := `{"Version":"2012-10-17","Statement":[{"Sid":"u","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + testAccount + `:user/alice"},"Action":"lambda:InvokeFunctionUrl","Resource":"` + fn + `"}]}`
	if d := invoke(p, resPolicy); !d.Allowed {
		t.Errorf("user allowed by resource policy: %+v", d)
	}
	if _, err := root.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("inv"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:InvokeFunctionUrl","Resource":"*","Condition":{"StringEquals":{"aws:username":"alice"}}}]}`)}); err != nil {
		t.Fatal(err)
	}
	if d := invoke(p, ""); !d.Allowed {
		t.Errorf("user allowed by identity policy with aws:username condition: %+v", d)
	}
	denyRes := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"lambda:*","Resource":"*"}]}`
	if d := invoke(p, denyRes); d.Allowed || !d.ExplicitDeny {
		t.Errorf("resource deny: %+v", d)
	}
}

func TestListUsersPaginator(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	root := e.iam(rootID, rootSecret, "")
	want := []string{"u1", "u2", "u3", "u4", "u5"}
	for _, n := range want {
		if _, err := root.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(n)}); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	pages := 0
	for p := iam.NewListUsersPaginator(root, &iam.ListUsersInput{MaxItems: aws.Int32(2)}); p.HasMorePages(); pages++ {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range out.Users {
			got = append(got, aws.ToString(u.UserName))
		}
	}
	if diff := cmp.Diff(want, got); diff != "" || pages != 3 {
		t.Errorf("pages %d, users (-want +got):\n%s", pages, diff)
	}
}

func TestGetSessionToken(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	root := e.iam(rootID, rootSecret, "")
	akid, secret := newUser(t, root, "alice")
	if _, err := root.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("p"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	gst, err := e.sts(akid, secret, "").GetSessionToken(ctx, &sts.GetSessionTokenInput{DurationSeconds: aws.Int32(900)})
	if err != nil {
		t.Fatal(err)
	}
	c := gst.Credentials
	if !strings.HasPrefix(aws.ToString(c.AccessKeyId), "ASIA") || aws.ToString(c.SessionToken) == "" || c.Expiration == nil {
		t.Fatalf("credentials = %+v", c)
	}
	sessSTS := e.sts(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
	who, err := sessSTS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(who.Arn) != "arn:aws:iam::"+testAccount+":user/alice" {
		t.Errorf("GetCallerIdentity with a session token = %+v, %v", who, err)
	}
	if _, err := e.iam(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken)).ListUsers(ctx, &iam.ListUsersInput{}); err != nil {
		t.Errorf("ListUsers as the user's session: %v", err)
	}
	if _, err := sessSTS.GetSessionToken(ctx, &sts.GetSessionTokenInput{}); apiCode(err) != "AccessDenied" {
		t.Errorf("GetSessionToken with session credentials: %v", err)
	}
	if _, err := e.sts(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), "").GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); apiCode(err) != "InvalidClientTokenId" {
		t.Errorf("session key without its token: %v", err)
	}
	rs, err := e.sts(rootID, rootSecret, "").GetSessionToken(ctx, &sts.GetSessionTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(aws.ToTime(rs.Credentials.Expiration)); d > time.Hour+time.Minute {
		t.Errorf("root session lasts %v, want at most 1 h", d)
	}
	who, err = e.sts(aws.ToString(rs.Credentials.AccessKeyId), aws.ToString(rs.Credentials.SecretAccessKey), aws.ToString(rs.Credentials.SessionToken)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(who.Arn) != "arn:aws:iam::"+testAccount+":root" {
		t.Errorf("root session GetCallerIdentity = %+v, %v", who, err)
	}
}

func TestTagsAndPrincipalTags(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	root := e.iam(rootID, rootSecret, "")
	cu, err := root.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("alice"), Tags: []iamtypes.Tag{{Key: aws.String("team"), Value: aws.String("red")}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(cu.User.Tags) != 1 || aws.ToString(cu.User.Tags[0].Value) != "red" {
		t.Errorf("CreateUser tags = %+v", cu.User.Tags)
	}
	if _, err := root.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("p"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListRoles","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"red"}}}]}`)}); err != nil {
		t.Fatal(err)
	}
	ck, err := root.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("alice")})
	if err != nil {
		t.Fatal(err)
	}
	alice := e.iam(aws.ToString(ck.AccessKey.AccessKeyId), aws.ToString(ck.AccessKey.SecretAccessKey), "")
	if _, err := alice.ListRoles(ctx, &iam.ListRolesInput{}); err != nil {
		t.Errorf("ListRoles with matching principal tag: %v", err)
	}
	if _, err := root.TagUser(ctx, &iam.TagUserInput{UserName: aws.String("alice"), Tags: []iamtypes.Tag{{Key: aws.String("team"), Value: aws.String("blue")}, {Key: aws.String("env"), Value: aws.String("dev")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.ListRoles(ctx, &iam.ListRolesInput{}); apiCode(err) != "AccessDenied" {
		t.Errorf("ListRoles after the tag changed: %v", err)
	}
	lt, err := root.ListUserTags(ctx, &iam.ListUserTagsInput{UserName: aws.String("alice")})
	if err != nil || len(lt.Tags) != 2 || aws.ToString(lt.Tags[0].Key) != "env" {
		t.Errorf("ListUserTags = %+v, %v", lt, err)
	}
	if _, err := root.UntagUser(ctx, &iam.UntagUserInput{UserName: aws.String("alice"), TagKeys: []string{"env"}}); err != nil {
		t.Fatal(err)
	}
	gu, err := root.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("alice")})
	if err != nil || len(gu.User.Tags) != 1 || aws.ToString(gu.User.Tags[0].Value) != "blue" {
		t.Errorf("GetUser tags = %+v, %v", gu, err)
	}
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	if _, err := root.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("R"), AssumeRolePolicyDocument: aws.String(trust),
		Tags: []iamtypes.Tag{{Key: aws.String("owner"), Value: aws.String("alice")}}}); err != nil {
		t.Fatal(err)
	}
	gr, err := root.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("R")})
	if err != nil || len(gr.Role.Tags) != 1 {
		t.Errorf("GetRole tags = %+v, %v", gr, err)
	}
	lrt, err := root.ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: aws.String("R")})
	if err != nil || len(lrt.Tags) != 1 || aws.ToString(lrt.Tags[0].Key) != "owner" {
		t.Errorf("ListRoleTags = %+v, %v", lrt, err)
	}
}

// TestOwnerNameInAnyCase names an existing user in another case: the operations act on the
// user as created.
func TestOwnerNameInAnyCase(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	root := e.iam(rootID, rootSecret, "")
	id, _ := newUser(t, root, "alice")
	akid := aws.String(id)
	upper := aws.String("ALICE")
	if _, err := root.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: upper, PolicyName: aws.String("p"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: upper,
		PolicyArn: aws.String("arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.TagUser(ctx, &iam.TagUserInput{UserName: upper, Tags: []iamtypes.Tag{{Key: aws.String("team"), Value: aws.String("red")}}}); err != nil {
		t.Fatal(err)
	}
	if lp, err := root.ListUserPolicies(ctx, &iam.ListUserPoliciesInput{UserName: aws.String("alice")}); err != nil || len(lp.PolicyNames) != 1 {
		t.Errorf("ListUserPolicies = %+v, %v", lp, err)
	}
	if lp, err := root.ListUserPolicies(ctx, &iam.ListUserPoliciesInput{UserName: upper}); err != nil || len(lp.PolicyNames) != 1 {
		t.Errorf("ListUserPolicies(ALICE) = %+v, %v", lp, err)
	}
	if la, err := root.ListAttachedUserPolicies(ctx, &iam.ListAttachedUserPoliciesInput{UserName: upper}); err != nil || len(la.AttachedPolicies) != 1 {
		t.Errorf("ListAttachedUserPolicies(ALICE) = %+v, %v", la, err)
	}
	if lt, err := root.ListUserTags(ctx, &iam.ListUserTagsInput{UserName: aws.String("alice")}); err != nil || len(lt.Tags) != 1 {
		t.Errorf("ListUserTags = %+v, %v", lt, err)
	}
	if _, err := root.UntagUser(ctx, &iam.UntagUserInput{UserName: upper, TagKeys: []string{"team"}}); err != nil {
		t.Fatal(err)
	}
	if lt, err := root.ListUserTags(ctx, &iam.ListUserTagsInput{UserName: upper}); err != nil || len(lt.Tags) != 0 {
		t.Errorf("ListUserTags(ALICE) after UntagUser = %+v, %v", lt, err)
	}
	if _, err := root.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: upper, AccessKeyId: akid, Status: iamtypes.StatusTypeInactive}); err != nil {
		t.Fatal(err)
	}
	lk, err := root.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("alice")})
	if err != nil || len(lk.AccessKeyMetadata) != 1 || lk.AccessKeyMetadata[0].Status != iamtypes.StatusTypeInactive {
		t.Errorf("ListAccessKeys after UpdateAccessKey(ALICE) = %+v, %v", lk, err)
	}
	if _, err := root.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: upper, AccessKeyId: akid}); err != nil {
		t.Fatal(err)
	}
	if lk, err := root.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("alice")}); err != nil || len(lk.AccessKeyMetadata) != 0 {
		t.Errorf("ListAccessKeys after DeleteAccessKey(ALICE) = %+v, %v", lk, err)
	}
	if _, err := root.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("devs")}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: aws.String("DEVS"), UserName: upper}); err != nil {
		t.Fatal(err)
	}
	if lg, err := root.ListGroupsForUser(ctx, &iam.ListGroupsForUserInput{UserName: aws.String("alice")}); err != nil || len(lg.Groups) != 1 {
		t.Errorf("ListGroupsForUser after AddUserToGroup(DEVS, ALICE) = %+v, %v", lg, err)
	}
	if _, err := root.RemoveUserFromGroup(ctx, &iam.RemoveUserFromGroupInput{GroupName: aws.String("Devs"), UserName: upper}); err != nil {
		t.Fatal(err)
	}
	_, err = root.RemoveUserFromGroup(ctx, &iam.RemoveUserFromGroupInput{GroupName: aws.String("Devs"), UserName: upper})
	if apiCode(err) != "NoSuchEntity" || !strings.Contains(err.Error(), "The user with name ALICE cannot be found in group Devs.") {
		t.Errorf("RemoveUserFromGroup of a non-member: %v", err)
	}
}

// TestConcurrentWrites creates users and keys from many clients at once: SQLite must serialise
// them without "database is locked" failures, and every key must then authenticate.
func TestConcurrentWrites(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	root := e.iam(rootID, rootSecret, "")
	const n = 16
	errs := make(chan error, n)
	keys := make(chan [2]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := "u" + strconv.Itoa(i)
			if _, err := root.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)}); err != nil {
				errs <- err
				return
			}
			k, err := root.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
			if err != nil {
				errs <- err
				return
			}
			keys <- [2]string{aws.ToString(k.AccessKey.AccessKeyId), aws.ToString(k.AccessKey.SecretAccessKey)}
		}()
	}
	wg.Wait()
	close(errs)
	close(keys)
	for err := range errs {
		t.Error(err)
	}
	for k := range keys {
		if _, err := e.sts(k[0], k[1], "").GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
			t.Errorf("key %s: %v", k[0], err)
		}
	}
}

func TestPolicyVersionsAndKeyLastUsed(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	root := e.iam(rootID, rootSecret, "")
	basic := aws.String("arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
	lv, err := root.ListPolicyVersions(ctx, &iam.ListPolicyVersionsInput{PolicyArn: basic})
	if err != nil || len(lv.Versions) != 1 || aws.ToString(lv.Versions[0].VersionId) != "v1" || !lv.Versions[0].IsDefaultVersion {
		t.Errorf("ListPolicyVersions = %+v, %v", lv, err)
	}
	gv, err := root.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: basic, VersionId: aws.String("v1")})
	if doc, _ := url.PathUnescape(aws.ToString(gv.PolicyVersion.Document)); err != nil || !strings.Contains(doc, "logs:CreateLogGroup") {
		t.Errorf("GetPolicyVersion = %v, %v", doc, err)
	}
	akid, _ := newUser(t, root, "alice")
	lu, err := root.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: aws.String(akid)})
	if err != nil || aws.ToString(lu.UserName) != "alice" || aws.ToString(lu.AccessKeyLastUsed.ServiceName) != "N/A" {
		t.Errorf("GetAccessKeyLastUsed = %+v, %v", lu, err)
	}
}

func TestManagedPolicyVersions(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	root := e.iam(rootID, rootSecret, "")
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	listUsers := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*"}]}`
	listRoles := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListRoles","Resource":"*"}]}`
	cp, err := root.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("p"), PolicyDocument: aws.String(listUsers)})
	if err != nil {
		t.Fatal(err)
	}
	parn := cp.Policy.Arn
	akid, secret := newUser(t, root, "alice")
	must(root.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("alice"), PolicyArn: parn}))
	alice := e.iam(akid, secret, "")
	if _, err := alice.ListUsers(ctx, &iam.ListUsersInput{}); err != nil {
		t.Fatalf("v1: %v", err)
	}
	cv, err := root.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: parn, PolicyDocument: aws.String(listRoles), SetAsDefault: true})
	if err != nil || aws.ToString(cv.PolicyVersion.VersionId) != "v2" || !cv.PolicyVersion.IsDefaultVersion {
		t.Fatalf("CreatePolicyVersion = %+v, %v", cv, err)
	}
	if _, err := alice.ListUsers(ctx, &iam.ListUsersInput{}); apiCode(err) != "AccessDenied" {
		t.Errorf("ListUsers under v2: %v", err)
	}
	if _, err := alice.ListRoles(ctx, &iam.ListRolesInput{}); err != nil {
		t.Errorf("ListRoles under v2: %v", err)
	}
	gp, err := root.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: parn})
	if err != nil || aws.ToString(gp.Policy.DefaultVersionId) != "v2" {
		t.Errorf("GetPolicy = %+v, %v", gp, err)
	}
	lv, err := root.ListPolicyVersions(ctx, &iam.ListPolicyVersionsInput{PolicyArn: parn})
	if err != nil || len(lv.Versions) != 2 {
		t.Errorf("ListPolicyVersions = %+v, %v", lv, err)
	}
	must(root.SetDefaultPolicyVersion(ctx, &iam.SetDefaultPolicyVersionInput{PolicyArn: parn, VersionId: aws.String("v1")}))
	if _, err := alice.ListUsers(ctx, &iam.ListUsersInput{}); err != nil {
		t.Errorf("ListUsers back on v1: %v", err)
	}
	if _, err := root.DeletePolicyVersion(ctx, &iam.DeletePolicyVersionInput{PolicyArn: parn, VersionId: aws.String("v1")}); apiCode(err) != "DeleteConflict" {
		t.Errorf("delete default version: %v", err)
	}
	must(root.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: aws.String("alice"), PolicyArn: parn}))
	if _, err := root.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: parn}); apiCode(err) != "DeleteConflict" {
		t.Errorf("delete policy with versions: %v", err)
	}
	must(root.DeletePolicyVersion(ctx, &iam.DeletePolicyVersionInput{PolicyArn: parn, VersionId: aws.String("v2")}))
	must(root.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: parn}))
	if _, err := root.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: aws.String("arn:aws:iam::aws:policy/AdministratorAccess"),
		PolicyDocument: aws.String(listUsers)}); apiCode(err) != "AccessDenied" {
		t.Errorf("version of an AWS-managed policy: %v", err)
	}
}

func TestSimulatePrincipalPolicy(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	root := e.iam(rootID, rootSecret, "")
	if _, err := root.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("alice")}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("p"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Sid":"Invoke","Effect":"Allow","Action":"lambda:InvokeFunctionUrl","Resource":"*","Condition":{"StringEquals":{"lambda:FunctionUrlAuthType":"AWS_IAM"}}},` +
			`{"Sid":"NoSecret","Effect":"Deny","Action":"lambda:*","Resource":"arn:aws:lambda:*:*:function:secret"}]}`)}); err != nil {
		t.Fatal(err)
	}
	fn := "arn:aws:lambda:us-east-1:" + testAccount + ":function:"
	out, err := root.SimulatePrincipalPolicy(ctx, &iam.SimulatePrincipalPolicyInput{
		PolicySourceArn: aws.String("arn:aws:iam::" + testAccount + ":user/alice"),
		ActionNames:     []string{"lambda:InvokeFunctionUrl", "lambda:GetFunction"},
		ResourceArns:    []string{fn + "public", fn + "secret"},
		ContextEntries:  []iamtypes.ContextEntry{{ContextKeyName: aws.String("lambda:FunctionUrlAuthType"), ContextKeyValues: []string{"AWS_IAM"}, ContextKeyType: iamtypes.ContextKeyTypeEnumString}},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range out.EvaluationResults {
		got[aws.ToString(r.EvalActionName)+" "+strings.TrimPrefix(aws.ToString(r.EvalResourceName), fn)] = string(r.EvalDecision)
	}
	want := map[string]string{
		"lambda:InvokeFunctionUrl public": "allowed", "lambda:InvokeFunctionUrl secret": "explicitDeny",
		"lambda:GetFunction public": "implicitDeny", "lambda:GetFunction secret": "explicitDeny",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decisions (-want +got):\n%s", diff)
	}
	if _, err := root.SimulatePrincipalPolicy(ctx, &iam.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String("arn:aws:iam::" + testAccount + ":user/nobody"),
		ActionNames: []string{"lambda:GetFunction"}}); apiCode(err) != "NoSuchEntity" {
		t.Errorf("unknown user: %v", err)
	}
}

// IAM names are unique whatever their case, so an owner named in another case has the same
// keys, members and policies: the 2-key quota holds, and deletes refuse while any remain.
func TestOwnerReferencesInAnyCase(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	root := e.iam(rootID, rootSecret, "")
	newUser(t, root, "bob")
	upper := aws.String("BOB")
	if _, err := root.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: upper}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: upper}); apiCode(err) != "LimitExceeded" {
		t.Errorf("third key through BOB: %v, want LimitExceeded", err)
	}
	if lk, err := root.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: upper}); err != nil || len(lk.AccessKeyMetadata) != 2 {
		t.Errorf("ListAccessKeys(BOB) = %+v, %v, want bob's 2 keys", lk, err)
	}
	if _, err := root.DeleteUser(ctx, &iam.DeleteUserInput{UserName: upper}); apiCode(err) != "DeleteConflict" {
		t.Errorf("DeleteUser(BOB) with keys: %v, want DeleteConflict", err)
	}
	if _, err := root.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("ops")}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: aws.String("ops"), UserName: aws.String("bob")}); err != nil {
		t.Fatal(err)
	}
	if g, err := root.GetGroup(ctx, &iam.GetGroupInput{GroupName: aws.String("OPS")}); err != nil || len(g.Users) != 1 {
		t.Errorf("GetGroup(OPS) = %+v, %v, want its member", g, err)
	}
	if _, err := root.DeleteGroup(ctx, &iam.DeleteGroupInput{GroupName: aws.String("OPS")}); apiCode(err) != "DeleteConflict" {
		t.Errorf("DeleteGroup(OPS) with a member: %v, want DeleteConflict", err)
	}
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	if _, err := root.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("svc"), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("svc"), PolicyName: aws.String("p"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("SVC")}); apiCode(err) != "DeleteConflict" {
		t.Errorf("DeleteRole(SVC) with a policy: %v, want DeleteConflict", err)
	}
	if _, err := root.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("SVC"), PolicyDocument: aws.String(trust)}); err != nil {
		t.Errorf("UpdateAssumeRolePolicy(SVC): %v", err)
	}
}
