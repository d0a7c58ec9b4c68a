package store

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func openIdentityDB(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "furl.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestIdentityUsersAndKeys(t *testing.T) {
	ctx := context.Background()
	db := openIdentityDB(t)
	now := time.UnixMilli(1764130000123).UTC()
	alice := IAMUser{Name: "alice", ID: "AIDAAAAAAAAAAAAAAAAAA", Path: "/", ARN: "arn:aws:iam::000000000000:user/alice", Created: now}
	bob := IAMUser{Name: "bob", ID: "AIDABBBBBBBBBBBBBBBBB", Path: "/dev/", ARN: "arn:aws:iam::000000000000:user/dev/bob", Created: now}
	for _, u := range []IAMUser{alice, bob} {
		if err := db.CreateIAMUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.CreateIAMUser(ctx, IAMUser{Name: "ALICE", ID: "AIDACCCCCCCCCCCCCCCCC", Path: "/", ARN: "x", Created: now}); !errors.Is(err, ErrEntityExists) {
		t.Fatalf("duplicate (case-insensitive) user: got %v, want ErrEntityExists", err)
	}
	got, err := db.GetIAMUser(ctx, "Alice")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(alice, got); diff != "" {
		t.Errorf("GetIAMUser (-want +got):\n%s", diff)
	}
	if _, err := db.GetIAMUser(ctx, "nobody"); !errors.Is(err, ErrNoSuchEntity) {
		t.Errorf("missing user: %v", err)
	}
	dev, err := db.ListIAMUsers(ctx, "/dev/")
	if err != nil || len(dev) != 1 || dev[0].Name != "bob" {
		t.Errorf("ListIAMUsers(/dev/) = %v, %v", dev, err)
	}

	k := IAMAccessKey{AccessKeyID: "AKIAAAAAAAAAAAAAAAAA", UserName: "alice", Secret: "s3cr3t", Status: "Active", Created: now}
	if err := db.CreateAccessKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateAccessKey(ctx, IAMAccessKey{AccessKeyID: "AKIAX", UserName: "ghost", Secret: "s", Status: "Active", Created: now}); !errors.Is(err, ErrNoSuchEntity) {
		t.Errorf("key for missing user: %v", err)
	}
	if err := db.UpdateAccessKeyStatus(ctx, "alice", k.AccessKeyID, "Inactive"); err != nil {
		t.Fatal(err)
	}
	gk, err := db.GetAccessKey(ctx, k.AccessKeyID)
	if err != nil || gk.Status != "Inactive" || gk.Secret != "s3cr3t" {
		t.Errorf("GetAccessKey = %+v, %v", gk, err)
	}
	if err := db.UpdateAccessKeyStatus(ctx, "bob", k.AccessKeyID, "Active"); !errors.Is(err, ErrNoSuchEntity) {
		t.Errorf("update another user's key: %v", err)
	}
	// Deleting the user cascades to its keys.
	if err := db.DeleteIAMUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.GetAccessKey(ctx, k.AccessKeyID); !errors.Is(err, ErrNoSuchEntity) {
		t.Errorf("key after user deletion: %v", err)
	}
}

func TestIdentityPolicyDocuments(t *testing.T) {
	ctx := context.Background()
	db := openIdentityDB(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(db.CreateIAMUser(ctx, IAMUser{Name: "alice", ID: "AIDA1", Path: "/", ARN: "u", Created: now}))
	must(db.CreateIAMGroup(ctx, IAMGroup{Name: "devs", ID: "AGPA1", Path: "/", ARN: "g", Created: now}))
	must(db.CreateIAMRole(ctx, IAMRole{Name: "R", ID: "AROA1", Path: "/", ARN: "r", TrustPolicy: "{}", MaxSessionDuration: 3600, Created: now}))
	must(db.CreateIAMPolicy(ctx, IAMPolicy{ARN: "arn:aws:iam::000000000000:policy/m1", Name: "m1", ID: "ANPA1", Path: "/", Document: "managed-user", Created: now, Updated: now}))
	must(db.CreateIAMPolicy(ctx, IAMPolicy{ARN: "arn:aws:iam::000000000000:policy/m2", Name: "m2", ID: "ANPA2", Path: "/", Document: "managed-group", Created: now, Updated: now}))
	must(db.PutInlinePolicy(ctx, IAMInlinePolicy{OwnerKind: OwnerUser, OwnerName: "alice", Name: "p", Document: "inline-user-v1"}))
	must(db.PutInlinePolicy(ctx, IAMInlinePolicy{OwnerKind: OwnerUser, OwnerName: "alice", Name: "p", Document: "inline-user"}))
	must(db.PutInlinePolicy(ctx, IAMInlinePolicy{OwnerKind: OwnerGroup, OwnerName: "devs", Name: "p", Document: "inline-group"}))
	must(db.PutInlinePolicy(ctx, IAMInlinePolicy{OwnerKind: OwnerRole, OwnerName: "R", Name: "p", Document: "inline-role"}))
	must(db.AttachPolicy(ctx, OwnerUser, "alice", "arn:aws:iam::000000000000:policy/m1"))
	must(db.AttachPolicy(ctx, OwnerGroup, "devs", "arn:aws:iam::000000000000:policy/m2"))
	if err := db.AttachPolicy(ctx, OwnerUser, "alice", "arn:aws:iam::000000000000:policy/none"); !errors.Is(err, ErrNoSuchEntity) {
		t.Errorf("attach missing policy: %v", err)
	}

	docs := func(kind, name string) []string {
		t.Helper()
		d, err := db.PolicyDocuments(ctx, kind, name)
		must(err)
		slices.Sort(d)
		return d
	}
	if diff := cmp.Diff([]string{"inline-user", "managed-user"}, docs(OwnerUser, "alice")); diff != "" {
		t.Errorf("user without groups (-want +got):\n%s", diff)
	}
	must(db.AddUserToGroup(ctx, "devs", "alice"))
	must(db.AddUserToGroup(ctx, "devs", "alice")) // idempotent
	if diff := cmp.Diff([]string{"inline-group", "inline-user", "managed-group", "managed-user"}, docs(OwnerUser, "alice")); diff != "" {
		t.Errorf("user in group (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"inline-role"}, docs(OwnerRole, "R")); diff != "" {
		t.Errorf("role (-want +got):\n%s", diff)
	}
	p, err := db.GetIAMPolicy(ctx, "arn:aws:iam::000000000000:policy/m1")
	if err != nil || p.AttachmentCount != 1 {
		t.Errorf("GetIAMPolicy = %+v, %v", p, err)
	}
	att, err := db.ListIAMPolicies(ctx, "", "/", true)
	if err != nil || len(att) != 2 {
		t.Errorf("ListIAMPolicies(onlyAttached) = %d, %v", len(att), err)
	}
	must(db.RemoveUserFromGroup(ctx, "devs", "alice"))
	if err := db.RemoveUserFromGroup(ctx, "devs", "alice"); !errors.Is(err, ErrNoSuchEntity) {
		t.Errorf("remove twice: %v", err)
	}
	must(db.DetachPolicy(ctx, OwnerUser, "alice", "arn:aws:iam::000000000000:policy/m1"))
	must(db.DeleteInlinePolicy(ctx, OwnerUser, "alice", "p"))
	if d := docs(OwnerUser, "alice"); len(d) != 0 {
		t.Errorf("after detach and delete: %v", d)
	}
}

func TestIdentitySessions(t *testing.T) {
	ctx := context.Background()
	db := openIdentityDB(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	s := STSSession{AccessKeyID: "ASIA1", Secret: "sec", Token: "tok", RoleName: "R", RoleID: "AROA1", RoleARN: "arn:aws:iam::0:role/R",
		SessionName: "s", SourceARN: "arn:aws:iam::0:user/alice", Expires: now.Add(time.Hour), Created: now}
	if err := db.CreateSTSSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	got, err := db.GetSTSSession(ctx, "ASIA1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(s, got); diff != "" {
		t.Errorf("GetSTSSession (-want +got):\n%s", diff)
	}
	if n, err := db.DeleteExpiredSTSSessions(ctx, now); err != nil || n != 0 {
		t.Errorf("prune before expiry = %d, %v", n, err)
	}
	if n, err := db.DeleteExpiredSTSSessions(ctx, now.Add(2*time.Hour)); err != nil || n != 1 {
		t.Errorf("prune after expiry = %d, %v", n, err)
	}
	if _, err := db.GetSTSSession(ctx, "ASIA1"); !errors.Is(err, ErrNoSuchEntity) {
		t.Errorf("pruned session: %v", err)
	}
}

func TestIdentityTags(t *testing.T) {
	ctx := context.Background()
	db := openIdentityDB(t)
	if err := db.TagOwner(ctx, OwnerUser, "alice", []IAMTag{{"team", "a"}, {"env", "dev"}}); err != nil {
		t.Fatal(err)
	}
	if err := db.TagOwner(ctx, OwnerUser, "Alice", []IAMTag{{"Team", "b"}}); err != nil {
		t.Fatal(err)
	}
	got, err := db.OwnerTags(ctx, OwnerUser, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]IAMTag{{"env", "dev"}, {"team", "b"}}, got); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
	if err := db.UntagOwner(ctx, OwnerUser, "alice", []string{"ENV", "missing"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.OwnerTags(ctx, OwnerUser, "alice"); len(got) != 1 {
		t.Errorf("after untag: %v", got)
	}
	if err := db.UntagOwner(ctx, OwnerUser, "alice", nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.OwnerTags(ctx, OwnerUser, "alice"); len(got) != 0 {
		t.Errorf("after untag all: %v", got)
	}
}

func TestIdentityPolicyVersions(t *testing.T) {
	ctx := context.Background()
	db := openIdentityDB(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	arn := "arn:aws:iam::000000000000:policy/p"
	if err := db.CreateIAMPolicy(ctx, IAMPolicy{ARN: arn, Name: "p", ID: "ANPA1", Path: "/", Document: "d1", Created: now, Updated: now}); err != nil {
		t.Fatal(err)
	}
	if v, err := db.CreatePolicyVersion(ctx, arn, "d2", false, now); err != nil || v != 2 {
		t.Fatalf("v2 = %d, %v", v, err)
	}
	if p, _ := db.GetIAMPolicy(ctx, arn); p.Document != "d1" || p.DefaultVersion != 1 {
		t.Errorf("after non-default version: %+v", p)
	}
	if v, err := db.CreatePolicyVersion(ctx, arn, "d3", true, now); err != nil || v != 3 {
		t.Fatalf("v3 = %d, %v", v, err)
	}
	if p, _ := db.GetIAMPolicy(ctx, arn); p.Document != "d3" || p.DefaultVersion != 3 {
		t.Errorf("after default version: %+v", p)
	}
	if err := db.DeletePolicyVersion(ctx, arn, 3); !errors.Is(err, ErrDefaultVersion) {
		t.Errorf("delete default: %v", err)
	}
	if err := db.SetDefaultPolicyVersion(ctx, arn, 2, now); err != nil {
		t.Fatal(err)
	}
	if err := db.SetDefaultPolicyVersion(ctx, arn, 9, now); !errors.Is(err, ErrNoSuchEntity) {
		t.Errorf("set missing default: %v", err)
	}
	if p, _ := db.GetIAMPolicy(ctx, arn); p.Document != "d2" {
		t.Errorf("after set default: %+v", p)
	}
	if err := db.DeletePolicyVersion(ctx, arn, 1); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := db.CreatePolicyVersion(ctx, arn, "x", false, now); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.CreatePolicyVersion(ctx, arn, "x", false, now); !errors.Is(err, ErrLimitExceeded) {
		t.Errorf("sixth version: %v", err)
	}
	vs, err := db.PolicyVersions(ctx, arn)
	if err != nil || len(vs) != 5 || vs[0].Version != 6 || !vs[len(vs)-1].IsDefault {
		t.Errorf("versions = %+v, %v", vs, err)
	}
	aws, err := db.PolicyVersions(ctx, "arn:aws:iam::aws:policy/AdministratorAccess")
	if err != nil || len(aws) != 1 || !aws[0].IsDefault {
		t.Errorf("AWS-managed versions = %+v, %v", aws, err)
	}
}
