package iamapi

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/furl/furl/internal/iam"
	"github.com/furl/furl/internal/identity"
	"github.com/furl/furl/internal/store"
)

var update = flag.Bool("update", false, "rewrite testdata/*.xml golden files")

// zeroReader makes ids and secrets deterministic.
type zeroReader struct{ b byte }

func (z *zeroReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = z.b
		z.b++
	}
	return len(p), nil
}

// TestGoldenXML pins the exact XML of the main IAM and STS answers (ids, secrets and times
// made deterministic). Run with -update to rewrite testdata after an intended change.
func TestGoldenXML(t *testing.T) {
	ctx := context.Background()
	s, rootP, alice := deterministicService(t)
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + testAccount + `:user/alice"},"Action":"sts:AssumeRole"}]}`
	steps := []struct {
		name, ns, action string
		p                *iam.Principal
		op               opFunc
		params           params
	}{
		{"CreateUser", nsIAM, "CreateUser", rootP, s.createUser, params{"UserName": {"alice"}, "Tags.member.1.Key": {"team"}, "Tags.member.1.Value": {"red"}}},
		{"CreateAccessKey", nsIAM, "CreateAccessKey", rootP, s.createAccessKey, params{"UserName": {"alice"}}},
		{"PutUserPolicy", nsIAM, "PutUserPolicy", rootP, s.putOwnerPolicy(ownerUser), params{"UserName": {"alice"}, "PolicyName": {"p"},
			"PolicyDocument": {`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}`}}},
		{"GetUserPolicy", nsIAM, "GetUserPolicy", rootP, s.getOwnerPolicy(ownerUser), params{"UserName": {"alice"}, "PolicyName": {"p"}}},
		{"ListUsers", nsIAM, "ListUsers", rootP, s.listUsers, params{}},
		{"CreateRole", nsIAM, "CreateRole", rootP, s.createRole, params{"RoleName": {"R"}, "AssumeRolePolicyDocument": {trust}}},
		{"AssumeRole", nsSTS, "AssumeRole", alice, s.assumeRole, params{"RoleArn": {"arn:aws:iam::" + testAccount + ":role/R"}, "RoleSessionName": {"web"}}},
		{"GetCallerIdentity", nsSTS, "GetCallerIdentity", alice, s.getCallerIdentity, params{}},
		{"NoSuchEntity", nsIAM, "GetUser", rootP, s.getUser, params{"UserName": {"nobody"}}},
		{"AccessDenied", nsIAM, "CreateUser", alice, s.createUser, params{"UserName": {"bob"}}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			res, err := st.op(&call{ctx: ctx, p: st.p, params: st.params, requestID: "00000000-0000-4000-8000-000000000000"})
			var got []byte
			if err != nil {
				got = renderError(st.ns, wireError(err), "00000000-0000-4000-8000-000000000000")
			} else {
				got = renderResponse(st.ns, st.action, res, "00000000-0000-4000-8000-000000000000")
			}
			checkGolden(t, filepath.Join("testdata", st.name+".xml"), got)
		})
	}
}

// deterministicService is an API with a fixed clock and zero randomness (ids, secrets and
// times repeat exactly), with the root principal and a policy-less user alice.
func deterministicService(t *testing.T) (s *API, root, alice *iam.Principal) {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "furl.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	at := time.Date(2026, 11, 24, 21, 41, 28, 0, time.UTC)
	now := func() time.Time { return at }
	id, err := identity.New(identity.Options{Store: db, AccountID: testAccount, RootAccessKeyID: rootID, RootSecretAccessKey: rootSecret,
		Now: now, Rand: &zeroReader{}})
	if err != nil {
		t.Fatal(err)
	}
	s, err = New(Options{Identity: id, Store: db, Now: now, Rand: &zeroReader{}})
	if err != nil {
		t.Fatal(err)
	}
	root = &iam.Principal{Type: identity.TypeAccount, AccountID: testAccount, ARN: s.id.RootARN(), PrincipalARN: s.id.RootARN(), UserID: testAccount, AccessKeyID: rootID}
	alice = &iam.Principal{Type: identity.TypeUser, AccountID: testAccount, ARN: "arn:aws:iam::" + testAccount + ":user/alice",
		PrincipalARN: "arn:aws:iam::" + testAccount + ":user/alice", UserID: "AIDAAAAAAAAAAAAAAAAAA", Username: "alice", AccessKeyID: "AKIA"}
	return s, root, alice
}

// checkGolden compares got with the file at path (or rewrites it with -update), naming the first
// line that differs.
func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if bytes.Equal(got, want) {
		return
	}
	gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < len(gl) && i < len(wl); i++ {
		if gl[i] != wl[i] {
			t.Errorf("%s differs at line %d:\ngot:  %s\nwant: %s", path, i+1, gl[i], wl[i])
			return
		}
	}
	t.Errorf("%s differs in length: got %d lines, want %d", path, len(gl), len(wl))
}
