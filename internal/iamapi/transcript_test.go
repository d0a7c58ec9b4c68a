package iamapi

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/furl/furl/internal/iam"
)

// TestIAMTranscript pins the exact answer (HTTP status and XML) of every IAM operation over a
// scripted session: successes, validation and not-found errors, pagination (MaxItems, Marker,
// IsTruncated) and, as a user without policies, the action and resource each one authorizes.
// Run with -update to rewrite testdata/iam_transcript.txt after an intended change.
func TestIAMTranscript(t *testing.T) {
	ctx := context.Background()
	s, rootP, alice := deterministicService(t)
	ops := s.iamOps()
	var out bytes.Buffer
	run := func(p *iam.Principal, action string, kv ...string) {
		t.Helper()
		op, ok := ops[action]
		if !ok {
			t.Fatalf("no operation %s", action)
		}
		ps := params{}
		for i := 0; i+1 < len(kv); i += 2 {
			ps[kv[i]] = append(ps[kv[i]], kv[i+1])
		}
		who := "root"
		if p == alice {
			who = "alice"
		}
		fmt.Fprintf(&out, "=== %s %s %s\n", who, action, strings.Join(kv, " "))
		const rid = "00000000-0000-4000-8000-000000000000"
		res, err := op(&call{ctx: ctx, p: p, params: ps, requestID: rid})
		if err != nil {
			ae := wireError(err)
			fmt.Fprintf(&out, "status %d\n", ae.Status)
			out.Write(renderError(nsIAM, ae, rid))
			return
		}
		out.WriteString("status 200\n")
		out.Write(renderResponse(nsIAM, action, res, rid))
	}
	keyIDs := func(user string) []string {
		t.Helper()
		ks, err := s.db.ListAccessKeys(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, k := range ks {
			ids = append(ids, k.AccessKeyID)
		}
		return ids
	}
	const (
		allow  = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}`
		allow2 = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`
		trust  = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/alice"},"Action":"sts:AssumeRole"}]}`
		pol    = "arn:aws:iam::123456789012:policy/P"
		polDev = "arn:aws:iam::123456789012:policy/dev/Q"
	)

	// users
	run(rootP, "CreateUser", "UserName", "alice", "Tags.member.1.Key", "team", "Tags.member.1.Value", "red")
	run(rootP, "CreateUser", "UserName", "bob", "Path", "/dev/")
	run(rootP, "CreateUser", "UserName", "carol")
	run(rootP, "CreateUser", "UserName", "Alice")
	run(rootP, "CreateUser", "UserName", "a b")
	run(rootP, "CreateUser", "UserName", strings.Repeat("x", 65))
	run(rootP, "CreateUser", "UserName", "dave", "Path", "dev")
	run(rootP, "CreateUser")
	run(rootP, "CreateUser", "UserName", "dave", "Tags.member.1.Value", "v")
	run(rootP, "GetUser", "UserName", "alice")
	run(rootP, "GetUser", "UserName", "ALICE")
	run(rootP, "GetUser", "UserName", "nobody")
	run(rootP, "GetUser")
	run(rootP, "ListUsers")
	run(rootP, "ListUsers", "MaxItems", "1")
	run(rootP, "ListUsers", "MaxItems", "1", "Marker", "1")
	run(rootP, "ListUsers", "MaxItems", "2", "Marker", "1")
	run(rootP, "ListUsers", "Marker", "9")
	run(rootP, "ListUsers", "Marker", "x")
	run(rootP, "ListUsers", "Marker", "-1")
	run(rootP, "ListUsers", "MaxItems", "0")
	run(rootP, "ListUsers", "MaxItems", "1001")
	run(rootP, "ListUsers", "PathPrefix", "/dev/")

	// access keys
	run(rootP, "CreateAccessKey", "UserName", "alice")
	run(rootP, "CreateAccessKey", "UserName", "ALICE")
	run(rootP, "CreateAccessKey", "UserName", "alice")
	run(rootP, "CreateAccessKey", "UserName", "nobody")
	run(rootP, "CreateAccessKey")
	run(rootP, "ListAccessKeys", "UserName", "alice")
	run(rootP, "ListAccessKeys", "UserName", "alice", "MaxItems", "1")
	run(rootP, "ListAccessKeys", "UserName", "alice", "MaxItems", "1", "Marker", "1")
	run(rootP, "ListAccessKeys", "UserName", "nobody")
	run(rootP, "ListAccessKeys", "UserName", "carol")
	ids := keyIDs("alice")
	run(rootP, "UpdateAccessKey", "UserName", "alice", "AccessKeyId", ids[0], "Status", "Inactive")
	run(rootP, "UpdateAccessKey", "UserName", "alice", "AccessKeyId", ids[0], "Status", "Off")
	run(rootP, "UpdateAccessKey", "UserName", "alice", "AccessKeyId", "AKIANOPE", "Status", "Active")
	run(rootP, "UpdateAccessKey", "UserName", "alice")
	run(rootP, "GetAccessKeyLastUsed", "AccessKeyId", ids[0])
	run(rootP, "GetAccessKeyLastUsed", "AccessKeyId", "AKIANOPE")
	run(rootP, "DeleteUser", "UserName", "alice")
	run(rootP, "DeleteAccessKey", "UserName", "alice", "AccessKeyId", ids[1])
	run(rootP, "DeleteAccessKey", "UserName", "alice", "AccessKeyId", ids[1])
	run(rootP, "ListAccessKeys", "UserName", "alice")

	// inline policies and tags, for each kind of owner
	run(rootP, "CreateGroup", "GroupName", "devs")
	run(rootP, "CreateGroup", "GroupName", "ops", "Path", "/dev/")
	run(rootP, "CreateGroup", "GroupName", "DEVS")
	run(rootP, "CreateGroup", "GroupName", "x", "Path", "bad")
	run(rootP, "CreateRole", "RoleName", "R", "AssumeRolePolicyDocument", trust, "Description", "the role", "MaxSessionDuration", "7200",
		"Tags.member.1.Key", "a", "Tags.member.1.Value", "1", "Tags.member.2.Key", "b", "Tags.member.2.Value", "2")
	run(rootP, "CreateRole", "RoleName", "S", "AssumeRolePolicyDocument", trust, "Path", "/svc/")
	run(rootP, "CreateRole", "RoleName", "r", "AssumeRolePolicyDocument", trust)
	run(rootP, "CreateRole", "RoleName", "T", "AssumeRolePolicyDocument", allow)
	run(rootP, "CreateRole", "RoleName", "T", "AssumeRolePolicyDocument", trust, "MaxSessionDuration", "60")
	run(rootP, "CreateRole", "RoleName", "T")
	for _, o := range []struct{ title, param, name string }{{"User", "UserName", "alice"}, {"Group", "GroupName", "devs"}, {"Role", "RoleName", "R"}} {
		run(rootP, "Put"+o.title+"Policy", o.param, o.name, "PolicyName", "p1", "PolicyDocument", allow)
		run(rootP, "Put"+o.title+"Policy", o.param, strings.ToUpper(o.name), "PolicyName", "p2", "PolicyDocument", allow2)
		run(rootP, "Put"+o.title+"Policy", o.param, o.name, "PolicyName", "p3", "PolicyDocument", trust)
		run(rootP, "Put"+o.title+"Policy", o.param, "nobody", "PolicyName", "p3", "PolicyDocument", allow)
		run(rootP, "Put"+o.title+"Policy", o.param, o.name, "PolicyName", "p3")
		run(rootP, "Get"+o.title+"Policy", o.param, strings.ToUpper(o.name), "PolicyName", "p1")
		run(rootP, "Get"+o.title+"Policy", o.param, o.name, "PolicyName", "nope")
		run(rootP, "Get"+o.title+"Policy", o.param, "nobody", "PolicyName", "p1")
		run(rootP, "List"+o.title+"Policies", o.param, o.name)
		run(rootP, "List"+o.title+"Policies", o.param, o.name, "MaxItems", "1")
		run(rootP, "List"+o.title+"Policies", o.param, o.name, "MaxItems", "1", "Marker", "1")
		run(rootP, "List"+o.title+"Policies", o.param, o.name, "MaxItems", "x")
		run(rootP, "List"+o.title+"Policies", o.param, "nobody")
		run(rootP, "Delete"+o.title+"Policy", o.param, o.name, "PolicyName", "p2")
		run(rootP, "Delete"+o.title+"Policy", o.param, o.name, "PolicyName", "p2")
		run(rootP, "Delete"+o.title+"Policy", o.param, "nobody", "PolicyName", "p2")
		run(rootP, "List"+o.title+"Policies", o.param, o.name)
		if o.title == "Group" {
			continue
		}
		run(rootP, "Tag"+o.title, o.param, strings.ToUpper(o.name), "Tags.member.1.Key", "k", "Tags.member.1.Value", "v", "Tags.member.2.Key", "team", "Tags.member.2.Value", "blue")
		run(rootP, "Tag"+o.title, o.param, o.name)
		run(rootP, "Tag"+o.title, o.param, "nobody", "Tags.member.1.Key", "k")
		run(rootP, "List"+o.title+"Tags", o.param, o.name)
		run(rootP, "List"+o.title+"Tags", o.param, o.name, "MaxItems", "1")
		run(rootP, "List"+o.title+"Tags", o.param, o.name, "MaxItems", "1", "Marker", "1")
		run(rootP, "List"+o.title+"Tags", o.param, "nobody")
		run(rootP, "Untag"+o.title, o.param, o.name, "TagKeys.member.1", "k")
		run(rootP, "Untag"+o.title, o.param, o.name)
		run(rootP, "List"+o.title+"Tags", o.param, o.name)
		run(rootP, "List"+o.title+"Tags", o.param, "carol")
	}

	// managed policies
	run(rootP, "CreatePolicy", "PolicyName", "P", "PolicyDocument", allow, "Description", "d")
	run(rootP, "CreatePolicy", "PolicyName", "Q", "PolicyDocument", allow2, "Path", "/dev/")
	run(rootP, "CreatePolicy", "PolicyName", "P", "PolicyDocument", allow)
	run(rootP, "CreatePolicy", "PolicyName", "Z", "PolicyDocument", trust)
	run(rootP, "CreatePolicy", "PolicyName", "Z", "PolicyDocument", "{")
	run(rootP, "GetPolicy", "PolicyArn", pol)
	run(rootP, "GetPolicy", "PolicyArn", "arn:aws:iam::123456789012:policy/none")
	run(rootP, "GetPolicy", "PolicyArn", "nope")
	run(rootP, "GetPolicy")
	run(rootP, "CreatePolicyVersion", "PolicyArn", pol, "PolicyDocument", allow2, "SetAsDefault", "true")
	run(rootP, "CreatePolicyVersion", "PolicyArn", pol, "PolicyDocument", allow)
	run(rootP, "CreatePolicyVersion", "PolicyArn", pol, "PolicyDocument", trust)
	run(rootP, "GetPolicyVersion", "PolicyArn", pol, "VersionId", "v2")
	run(rootP, "GetPolicyVersion", "PolicyArn", pol, "VersionId", "v9")
	run(rootP, "GetPolicyVersion", "PolicyArn", pol, "VersionId", "2")
	run(rootP, "ListPolicyVersions", "PolicyArn", pol)
	run(rootP, "ListPolicyVersions", "PolicyArn", "arn:aws:iam::123456789012:policy/none")
	run(rootP, "SetDefaultPolicyVersion", "PolicyArn", pol, "VersionId", "v1")
	run(rootP, "SetDefaultPolicyVersion", "PolicyArn", pol, "VersionId", "v9")
	run(rootP, "DeletePolicyVersion", "PolicyArn", pol, "VersionId", "v1")
	run(rootP, "DeletePolicyVersion", "PolicyArn", pol, "VersionId", "v9")
	run(rootP, "DeletePolicyVersion", "PolicyArn", pol, "VersionId", "v3")
	run(rootP, "GetPolicy", "PolicyArn", pol)
	for _, o := range []struct{ title, param, name string }{{"User", "UserName", "alice"}, {"Group", "GroupName", "devs"}, {"Role", "RoleName", "R"}} {
		run(rootP, "Attach"+o.title+"Policy", o.param, strings.ToUpper(o.name), "PolicyArn", pol)
		run(rootP, "Attach"+o.title+"Policy", o.param, o.name, "PolicyArn", polDev)
		run(rootP, "Attach"+o.title+"Policy", o.param, o.name, "PolicyArn", "arn:aws:iam::123456789012:policy/none")
		run(rootP, "Attach"+o.title+"Policy", o.param, "nobody", "PolicyArn", pol)
		run(rootP, "Attach"+o.title+"Policy", o.param, o.name, "PolicyArn", "bad")
		run(rootP, "ListAttached"+o.title+"Policies", o.param, o.name)
		run(rootP, "ListAttached"+o.title+"Policies", o.param, o.name, "MaxItems", "1")
		run(rootP, "ListAttached"+o.title+"Policies", o.param, o.name, "MaxItems", "1", "Marker", "1")
		run(rootP, "ListAttached"+o.title+"Policies", o.param, o.name, "PathPrefix", "/dev/")
		run(rootP, "ListAttached"+o.title+"Policies", o.param, "nobody")
	}
	run(rootP, "ListPolicies")
	run(rootP, "ListPolicies", "Scope", "Local", "MaxItems", "1")
	run(rootP, "ListPolicies", "Scope", "Local", "MaxItems", "1", "Marker", "1")
	run(rootP, "ListPolicies", "Scope", "AWS", "MaxItems", "2")
	run(rootP, "ListPolicies", "Scope", "Local", "OnlyAttached", "true", "PathPrefix", "/dev/")
	run(rootP, "ListPolicies", "Scope", "Nope")
	run(rootP, "ListPolicies", "MaxItems", "-3")
	run(rootP, "DeletePolicy", "PolicyArn", pol)
	run(rootP, "DeletePolicy", "PolicyArn", "arn:aws:iam::aws:policy/AdministratorAccess")
	run(rootP, "DeleteGroup", "GroupName", "devs")
	run(rootP, "DeleteRole", "RoleName", "R")
	for _, o := range []struct{ title, param, name string }{{"User", "UserName", "alice"}, {"Group", "GroupName", "devs"}, {"Role", "RoleName", "R"}} {
		run(rootP, "Detach"+o.title+"Policy", o.param, o.name, "PolicyArn", pol)
		run(rootP, "Detach"+o.title+"Policy", o.param, o.name, "PolicyArn", pol)
		run(rootP, "Detach"+o.title+"Policy", o.param, "nobody", "PolicyArn", pol)
		run(rootP, "ListAttached"+o.title+"Policies", o.param, o.name)
	}
	run(rootP, "DeletePolicy", "PolicyArn", pol)
	run(rootP, "DeletePolicyVersion", "PolicyArn", pol, "VersionId", "v2")
	run(rootP, "DeletePolicy", "PolicyArn", pol)
	run(rootP, "GetPolicy", "PolicyArn", pol)

	// groups
	run(rootP, "GetGroup", "GroupName", "devs")
	run(rootP, "AddUserToGroup", "GroupName", "DEVS", "UserName", "ALICE")
	run(rootP, "AddUserToGroup", "GroupName", "devs", "UserName", "bob")
	run(rootP, "AddUserToGroup", "GroupName", "ops", "UserName", "alice")
	run(rootP, "AddUserToGroup", "GroupName", "devs", "UserName", "nobody")
	run(rootP, "AddUserToGroup", "GroupName", "nobody", "UserName", "alice")
	run(rootP, "GetGroup", "GroupName", "devs")
	run(rootP, "GetGroup", "GroupName", "nobody")
	run(rootP, "ListGroups")
	run(rootP, "ListGroups", "MaxItems", "1")
	run(rootP, "ListGroups", "MaxItems", "1", "Marker", "1")
	run(rootP, "ListGroups", "PathPrefix", "/dev/")
	run(rootP, "ListGroupsForUser", "UserName", "ALICE")
	run(rootP, "ListGroupsForUser", "UserName", "alice", "MaxItems", "1")
	run(rootP, "ListGroupsForUser", "UserName", "alice", "MaxItems", "1", "Marker", "1")
	run(rootP, "ListGroupsForUser", "UserName", "carol")
	run(rootP, "ListGroupsForUser", "UserName", "nobody")
	run(rootP, "ListGroupsForUser")
	run(rootP, "DeleteGroup", "GroupName", "devs")
	run(rootP, "DeleteUser", "UserName", "bob")
	run(rootP, "RemoveUserFromGroup", "GroupName", "devs", "UserName", "bob")
	run(rootP, "RemoveUserFromGroup", "GroupName", "devs", "UserName", "bob")
	run(rootP, "RemoveUserFromGroup", "GroupName", "devs", "UserName", "nobody")
	run(rootP, "RemoveUserFromGroup", "GroupName", "nobody", "UserName", "bob")
	run(rootP, "RemoveUserFromGroup", "GroupName", "DEVS", "UserName", "ALICE")
	run(rootP, "DeleteGroup", "GroupName", "devs")
	run(rootP, "DeleteGroupPolicy", "GroupName", "devs", "PolicyName", "p1")
	run(rootP, "DeleteGroup", "GroupName", "devs")
	run(rootP, "DeleteGroup", "GroupName", "devs")

	// roles
	run(rootP, "GetRole", "RoleName", "R")
	run(rootP, "GetRole", "RoleName", "s")
	run(rootP, "GetRole", "RoleName", "nobody")
	run(rootP, "GetRole", "RoleName", strings.Repeat("r", 65))
	run(rootP, "ListRoles")
	run(rootP, "ListRoles", "MaxItems", "1")
	run(rootP, "ListRoles", "MaxItems", "1", "Marker", "1")
	run(rootP, "ListRoles", "PathPrefix", "/svc/")
	run(rootP, "ListRoles", "Marker", "bad")
	run(rootP, "UpdateAssumeRolePolicy", "RoleName", "S", "PolicyDocument", trust)
	run(rootP, "UpdateAssumeRolePolicy", "RoleName", "S", "PolicyDocument", allow)
	run(rootP, "UpdateAssumeRolePolicy", "RoleName", "nobody", "PolicyDocument", trust)
	run(rootP, "ListInstanceProfilesForRole", "RoleName", "S")
	run(rootP, "ListInstanceProfilesForRole", "RoleName", "nobody")
	run(rootP, "DeleteRole", "RoleName", "R")
	run(rootP, "DeleteRolePolicy", "RoleName", "R", "PolicyName", "p1")
	run(rootP, "DeleteRole", "RoleName", "R")
	run(rootP, "DeleteRole", "RoleName", "R")
	run(rootP, "ListRoleTags", "RoleName", "R")

	// users, to the end
	run(rootP, "DeleteUser", "UserName", "alice")
	run(rootP, "DeleteAccessKey", "UserName", "alice", "AccessKeyId", ids[0])
	run(rootP, "DeleteUser", "UserName", "alice")
	run(rootP, "DeleteUserPolicy", "UserName", "alice", "PolicyName", "p1")
	run(rootP, "DeleteUser", "UserName", "alice")
	run(rootP, "DeleteUser", "UserName", "carol")
	run(rootP, "DeleteUser", "UserName", "carol")
	run(rootP, "ListUsers")

	// every operation as a user without policies: the action and resource it authorizes
	run(rootP, "CreateUser", "UserName", "alice")
	run(rootP, "CreateGroup", "GroupName", "g")
	run(rootP, "CreateRole", "RoleName", "R", "AssumeRolePolicyDocument", trust)
	run(rootP, "CreatePolicy", "PolicyName", "P", "PolicyDocument", allow)
	run(rootP, "CreateAccessKey", "UserName", "alice")
	ids = keyIDs("alice")
	names := make([]string, 0, len(ops))
	for name := range ops {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if name == "SimulatePrincipalPolicy" {
			continue
		}
		run(alice, name, "UserName", "alice", "GroupName", "g", "RoleName", "R", "PolicyName", "P", "PolicyArn", pol,
			"PolicyDocument", allow, "AssumeRolePolicyDocument", trust, "AccessKeyId", ids[0], "VersionId", "v1", "Status", "Active",
			"Tags.member.1.Key", "k", "TagKeys.member.1", "k")
	}
	run(alice, "GetUser")
	run(alice, "ListAccessKeys")
	run(alice, "GetUser", "UserName", "nobody")
	run(alice, "GetRole", "RoleName", "nobody")
	run(alice, "GetGroup", "GroupName", "nobody")

	checkGolden(t, filepath.Join("testdata", "iam_transcript.txt"), out.Bytes())
}
