package functions

import (
	"context"
	"errors"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/furl/furl/internal/codestore"
	"github.com/furl/furl/internal/lambda"
	"github.com/furl/furl/internal/store"
)

func newTestService(t *testing.T) *Service {
	t.Helper()
	dir := t.TempDir()
	db, err := store.Open(context.Background(), filepath.Join(dir, "furl.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cs, err := codestore.Open(filepath.Join(dir, "code"), codestore.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return New(db, cs, Options{Region: "us-east-1", AccountID: "000000000000", URLPort: "9000"}, nil)
}

func TestParseRef(t *testing.T) {
	s := newTestService(t)
	tests := []struct {
		raw, qualifier string
		want           Ref
		wantKind       Kind
	}{
		{"f", "", Ref{Name: "f"}, 0},
		{"f", "live", Ref{Name: "f", Qualifier: "live"}, 0},
		{"f:live", "", Ref{Name: "f", Qualifier: "live"}, 0},
		{"f:live", "live", Ref{Name: "f", Qualifier: "live"}, 0},
		{"f:$LATEST", "", Ref{Name: "f", Qualifier: "$LATEST"}, 0},
		{"000000000000:function:f", "", Ref{Name: "f"}, 0},
		{"arn:aws:lambda:us-east-1:000000000000:function:f:3", "", Ref{Name: "f", Qualifier: "3"}, 0},
		{"arn:aws:lambda:eu-west-1:000000000000:function:f", "", Ref{}, KindNotFound},
		{"arn:aws:lambda:us-east-1:111111111111:function:f", "", Ref{}, KindNotFound},
		{"f:a", "b", Ref{}, KindInvalidParameter},
		{"bad name", "", Ref{}, KindValidation},
		{"", "", Ref{}, KindValidation},
		{strings.Repeat("a", 65), "", Ref{}, KindValidation},
		{"f", "bad qualifier", Ref{}, KindValidation},
	}
	for _, tt := range tests {
		t.Run(tt.raw+"|"+tt.qualifier, func(t *testing.T) {
			got, err := s.ParseRef(tt.raw, tt.qualifier)
			if tt.wantKind != 0 {
				if KindOf(err) != tt.wantKind {
					t.Fatalf("err = %v, want %s", err, tt.wantKind)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseRef = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func FuzzParseRef(f *testing.F) {
	s := New(nil, nil, Options{Region: "us-east-1", AccountID: "000000000000"}, nil)
	for _, seed := range []string{"f", "f:1", "arn:aws:lambda:us-east-1:000000000000:function:f:live", "123456789012:function:x", ":", "arn:"} {
		f.Add(seed, "")
		f.Add(seed, "live")
	}
	f.Fuzz(func(t *testing.T, raw, q string) {
		ref, err := s.ParseRef(raw, q)
		if err != nil {
			if KindOf(err) == 0 {
				t.Fatalf("server error for input: %v", err)
			}
			return
		}
		if !bareNameRE.MatchString(ref.Name) {
			t.Fatalf("accepted name %q", ref.Name)
		}
	})
}

func TestNewURLID(t *testing.T) {
	re := regexp.MustCompile(`^[a-z2-7]{26}0[a-z2-7]{5}$`)
	seen := map[string]bool{}
	for range 1000 {
		id := NewURLID()
		if !re.MatchString(id) || seen[id] {
			t.Fatalf("bad or repeated id %q", id)
		}
		seen[id] = true
	}
	s := newTestService(t)
	if got := s.FunctionURL("abc"); got != "http://127.0.0.1:9000/lambda-url/abc/" {
		t.Fatalf("FunctionURL = %s", got)
	}
}

func TestBuildStatement(t *testing.T) {
	yes := true
	tests := []struct {
		name string
		in   PermissionInput
		want string
	}{
		{"public url", PermissionInput{StatementId: "FunctionURLAllowPublicAccess", Action: "lambda:InvokeFunctionUrl", Principal: "*", FunctionUrlAuthType: "NONE"},
			`{"Sid":"FunctionURLAllowPublicAccess","Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunctionUrl","Resource":"R","Condition":{"StringEquals":{"lambda:FunctionUrlAuthType":"NONE"}}}`},
		{"invoke via url", PermissionInput{StatementId: "s", Action: "lambda:InvokeFunction", Principal: "*", InvokedViaFunctionUrl: &yes},
			`{"Sid":"s","Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunction","Resource":"R","Condition":{"Bool":{"lambda:InvokedViaFunctionUrl":"true"}}}`},
		{"account", PermissionInput{StatementId: "s", Action: "lambda:*", Principal: "111122223333"},
			`{"Sid":"s","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"lambda:*","Resource":"R"}`},
		{"service with source", PermissionInput{StatementId: "s", Action: "lambda:InvokeFunction", Principal: "s3.amazonaws.com", SourceArn: "arn:aws:s3:::b", SourceAccount: "111122223333"},
			`{"Sid":"s","Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"lambda:InvokeFunction","Resource":"R","Condition":{"StringEquals":{"AWS:SourceAccount":"111122223333"},"ArnLike":{"AWS:SourceArn":"arn:aws:s3:::b"}}}`},
		{"role", PermissionInput{StatementId: "s", Action: "lambda:InvokeFunctionUrl", Principal: "arn:aws:iam::111122223333:role/R", FunctionUrlAuthType: "AWS_IAM"},
			`{"Sid":"s","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/R"},"Action":"lambda:InvokeFunctionUrl","Resource":"R","Condition":{"StringEquals":{"lambda:FunctionUrlAuthType":"AWS_IAM"}}}`},
		{"url auth type on InvokeFunction", PermissionInput{StatementId: "s", Action: "lambda:InvokeFunction", Principal: "*", FunctionUrlAuthType: "NONE"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := BuildStatement(&tt.in, "R")
			if tt.want == "" {
				if err == nil {
					t.Fatalf("BuildStatement accepted %+v", tt.in)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Fatalf("BuildStatement =\n%s\nwant\n%s (%v)", got, tt.want, err)
			}
		})
	}
}

func TestResolveURLCacheInvalidation(t *testing.T) {
	s := newTestService(t)
	ctx := context.Background()
	if tg, err := s.ResolveURL(ctx, "unknown"); tg != nil || err != nil {
		t.Fatalf("unknown id: %v %v", tg, err)
	}
	zip := mustZip(t)
	timeout := 3
	if _, err := s.CreateFunction(ctx, &CreateInput{FunctionName: "f", Runtime: "python3.12", Handler: "app.handler",
		Role: "arn:aws:iam::000000000000:role/r", Timeout: &timeout, Code: CodeInput{ZipFile: zip}}); err != nil {
		t.Fatal(err)
	}
	auth := "NONE"
	u, err := s.CreateURL(ctx, Ref{Name: "f"}, &URLInput{AuthType: &auth})
	if err != nil {
		t.Fatal(err)
	}
	tg, err := s.ResolveURL(ctx, u.URLID)
	if err != nil || tg == nil || tg.Policy != nil || tg.Target.Timeout.Seconds() != 3 {
		t.Fatalf("ResolveURL = %+v, %v", tg, err)
	}
	if _, err := s.UpdateFunctionConfiguration(ctx, Ref{Name: "f"}, &UpdateConfigInput{Timeout: func() *int { n := 7; return &n }()}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddPermission(ctx, Ref{Name: "f"}, &PermissionInput{StatementId: "s", Action: "lambda:InvokeFunctionUrl", Principal: "*"}); err != nil {
		t.Fatal(err)
	}
	tg, err = s.ResolveURL(ctx, strings.ToUpper(u.URLID))
	if err != nil || tg == nil || tg.Policy == nil || tg.Target.Timeout.Seconds() != 7 {
		t.Fatalf("after writes ResolveURL = %+v, %v", tg, err)
	}
	if deleted, err := s.DeleteFunction(ctx, Ref{Name: "f"}); err != nil || len(deleted) != 1 || deleted[0] != "$LATEST" {
		t.Fatalf("DeleteFunction = %q, %v; want [$LATEST]", deleted, err)
	}
	if tg, err := s.ResolveURL(ctx, u.URLID); tg != nil || err != nil {
		t.Fatalf("after delete: %v %v", tg, err)
	}
}

func TestURLRateLimitTags(t *testing.T) {
	s := newTestService(t)
	ctx := context.Background()
	if _, err := s.CreateFunction(ctx, &CreateInput{FunctionName: "f", Runtime: "python3.12", Handler: "app.handler",
		Role: "arn:aws:iam::000000000000:role/r", Code: CodeInput{ZipFile: mustZip(t)}}); err != nil {
		t.Fatal(err)
	}
	auth := "NONE"
	u, err := s.CreateURL(ctx, Ref{Name: "f"}, &URLInput{AuthType: &auth})
	if err != nil {
		t.Fatal(err)
	}
	arn := s.ARN("f", "")
	limits := func() (float64, int) {
		t.Helper()
		tg, err := s.ResolveURL(ctx, u.URLID)
		if err != nil || tg == nil {
			t.Fatalf("ResolveURL = %v, %v", tg, err)
		}
		return tg.Config.RateLimit, tg.Config.Burst
	}
	if r, b := limits(); r != 0 || b != 0 {
		t.Fatalf("untagged limits = %v, %v; want off", r, b)
	}
	for _, tt := range []struct {
		name  string
		tags  map[string]string
		rate  float64
		burst int
	}{
		{"rate only: burst defaults to the rate", map[string]string{TagURLRateLimit: "2.5"}, 2.5, 3},
		{"rate and burst", map[string]string{TagURLRateLimit: "10", TagURLBurst: "50"}, 10, 50},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.UntagResource(ctx, arn, []string{TagURLRateLimit, TagURLBurst}); err != nil {
				t.Fatal(err)
			}
			if err := s.TagResource(ctx, arn, tt.tags); err != nil {
				t.Fatal(err)
			}
			if r, b := limits(); r != tt.rate || b != tt.burst {
				t.Fatalf("limits = %v, %v; want %v, %v", r, b, tt.rate, tt.burst)
			}
		})
	}
	for _, bad := range []map[string]string{{TagURLRateLimit: "fast"}, {TagURLRateLimit: "-1"}, {TagURLBurst: "0"}, {TagURLBurst: "1.5"}} {
		err := s.TagResource(ctx, arn, bad)
		if KindOf(err) != KindInvalidParameter {
			t.Errorf("TagResource(%v) = %v; want InvalidParameterValueException", bad, err)
		}
	}
}

// Deploying a package tells the execution engine where it is unpacked, so it can stage a copy
// before the first invoke; that is the directory the function's targets run from.
func TestDeployStagesCode(t *testing.T) {
	s := newTestService(t)
	var staged []string
	s.opt.Stage = func(dir string) { staged = append(staged, dir) }
	ctx := context.Background()
	if _, err := s.CreateFunction(ctx, &CreateInput{FunctionName: "f", Runtime: "python3.12", Handler: "app.handler",
		Role: "arn:aws:iam::000000000000:role/r", Code: CodeInput{ZipFile: mustZip(t)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateFunctionCode(ctx, Ref{Name: "f"}, &UpdateCodeInput{ZipFile: mustZip(t)}); err != nil {
		t.Fatal(err)
	}
	inv, err := s.Resolve(ctx, Ref{Name: "f"})
	if err != nil {
		t.Fatal(err)
	}
	if len(staged) != 2 || staged[0] != inv.Target.CodeDir || staged[1] != inv.Target.CodeDir {
		t.Fatalf("staged %q, target runs from %q", staged, inv.Target.CodeDir)
	}
}

// ListFunctions with FunctionVersion=ALL pages in the store: a marker naming a version deleted
// since resumes after where it was, instead of starting over.
func TestListAllVersionsPages(t *testing.T) {
	s := newTestService(t)
	ctx := context.Background()
	for _, name := range []string{"a", "b"} {
		if _, err := s.CreateFunction(ctx, &CreateInput{FunctionName: name, Runtime: "python3.12", Handler: "app.handler",
			Role: "arn:aws:iam::000000000000:role/r", Code: CodeInput{ZipFile: mustZip(t)}, Publish: true}); err != nil {
			t.Fatal(err)
		}
	}
	names := func(list []*lambda.FunctionConfig) (out []string) {
		for _, c := range list {
			out = append(out, c.Name+":"+c.Version)
		}
		return out
	}
	page1, next, err := s.ListFunctions(ctx, "", 2, true)
	if err != nil || next != "a:1" || !slices.Equal(names(page1), []string{"a:$LATEST", "a:1"}) {
		t.Fatalf("page 1 = %v, next %q, %v", names(page1), next, err)
	}
	if _, err := s.DeleteFunction(ctx, Ref{Name: "a", Qualifier: "1"}); err != nil {
		t.Fatal(err)
	}
	page2, next, err := s.ListFunctions(ctx, next, 2, true)
	if err != nil || next != "" || !slices.Equal(names(page2), []string{"b:$LATEST", "b:1"}) {
		t.Fatalf("page 2 = %v, next %q, %v", names(page2), next, err)
	}
}

// UpdateFunctionCode's DryRun checks the package against the code store's configured limits,
// as a real update would.
func TestDryRunUsesConfiguredLimits(t *testing.T) {
	dir := t.TempDir()
	db, err := store.Open(context.Background(), filepath.Join(dir, "furl.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cs, err := codestore.Open(filepath.Join(dir, "code"), codestore.Limits{MaxUnzipped: 1000})
	if err != nil {
		t.Fatal(err)
	}
	s := New(db, cs, Options{Region: "us-east-1", AccountID: "000000000000"}, nil)
	ctx := context.Background()
	if _, err := s.CreateFunction(ctx, &CreateInput{FunctionName: "f", Runtime: "python3.12", Handler: "app.handler",
		Role: "arn:aws:iam::000000000000:role/r", Code: CodeInput{ZipFile: mustZip(t)}}); err != nil {
		t.Fatal(err)
	}
	big := zipOf(t, map[string]string{"app.py": strings.Repeat("#", 2000)})
	for _, dry := range []bool{false, true} {
		_, err := s.UpdateFunctionCode(ctx, Ref{Name: "f"}, &UpdateCodeInput{ZipFile: big, DryRun: dry})
		if KindOf(err) != KindInvalidParameter {
			t.Errorf("DryRun=%v: err = %v, want InvalidParameterValueException", dry, err)
		}
	}
}

// #15.5: the URL of a deleted alias resolves to ErrURLTargetGone (the gateway answers AWS's
// Forbidden body), not to "no such URL"; a URL whose function is deleted is unknown.
func TestResolveURLOfDeletedAlias(t *testing.T) {
	s := newTestService(t)
	ctx := context.Background()
	if _, err := s.CreateFunction(ctx, &CreateInput{FunctionName: "f", Runtime: "python3.12", Handler: "app.handler",
		Role: "arn:aws:iam::000000000000:role/r", Code: CodeInput{ZipFile: mustZip(t)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PublishVersion(ctx, Ref{Name: "f"}, "", "", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateAlias(ctx, Ref{Name: "f"}, &AliasInput{Name: "live", FunctionVersion: func() *string { v := "1"; return &v }()}); err != nil {
		t.Fatal(err)
	}
	auth := "NONE"
	u, err := s.CreateURL(ctx, Ref{Name: "f", Qualifier: "live"}, &URLInput{AuthType: &auth})
	if err != nil {
		t.Fatal(err)
	}
	if tg, err := s.ResolveURL(ctx, u.URLID); err != nil || tg == nil {
		t.Fatalf("before: %v %v", tg, err)
	}
	if err := s.DeleteAlias(ctx, "f", "live"); err != nil {
		t.Fatal(err)
	}
	if tg, err := s.ResolveURL(ctx, u.URLID); tg != nil || !errors.Is(err, ErrURLTargetGone) {
		t.Fatalf("after DeleteAlias: %v %v, want ErrURLTargetGone", tg, err)
	}
	if _, err := s.DeleteFunction(ctx, Ref{Name: "f"}); err != nil {
		t.Fatal(err)
	}
	if tg, err := s.ResolveURL(ctx, u.URLID); tg != nil || err != nil {
		t.Fatalf("after DeleteFunction: %v %v, want unknown", tg, err)
	}
}

// TestFunctionURLShapes: path-style without a URL domain (every client resolves it),
// Host-style with one; both end with "/" as AWS's FunctionUrl does.
func TestFunctionURLShapes(t *testing.T) {
	for _, tc := range []struct {
		opt  Options
		port string
		want string
	}{
		{Options{Region: "us-east-1"}, "9000", "http://127.0.0.1:9000/lambda-url/abc/"},
		{Options{Region: "us-east-1", URLHost: "[::1]"}, "9000", "http://[::1]:9000/lambda-url/abc/"},
		{Options{Region: "us-east-1"}, "", "http://127.0.0.1/lambda-url/abc/"},
		{Options{Region: "eu-west-1", URLDomain: "furl.example.com"}, "8080", "http://abc.lambda-url.eu-west-1.furl.example.com:8080/"},
		{Options{Region: "us-east-1", URLDomain: "localhost", URLScheme: "https"}, "", "https://abc.lambda-url.us-east-1.localhost/"},
	} {
		s := New(nil, nil, tc.opt, nil)
		s.SetURLPort(tc.port)
		if got := s.FunctionURL("abc"); got != tc.want {
			t.Errorf("%+v port %q: FunctionURL = %q, want %q", tc.opt, tc.port, got, tc.want)
		}
	}
}

// TestRoleAssumable: CreateFunction and UpdateFunctionConfiguration refuse an execution role
// Lambda cannot assume with AWS's error, and pass on a failure to check.
func TestRoleAssumable(t *testing.T) {
	s := newTestService(t)
	ctx := context.Background()
	good, bad, broken := "arn:aws:iam::000000000000:role/good", "arn:aws:iam::000000000000:role/bad", "arn:aws:iam::000000000000:role/broken"
	s.opt.RoleAssumable = func(_ context.Context, role string) (bool, error) {
		if role == broken {
			return false, errors.New("store down")
		}
		return role == good, nil
	}
	create := func(name, role string) error {
		_, err := s.CreateFunction(ctx, &CreateInput{FunctionName: name, Runtime: "python3.12", Handler: "app.handler",
			Role: role, Code: CodeInput{ZipFile: mustZip(t)}})
		return err
	}
	wantRefused := func(t *testing.T, err error) {
		t.Helper()
		var fe *Error
		if !errors.As(err, &fe) || fe.Kind != KindInvalidParameter || fe.Message != "The role defined for the function cannot be assumed by Lambda." {
			t.Fatalf("err = %v, want an invalid parameter refusal", err)
		}
	}
	t.Run("create refused", func(t *testing.T) { wantRefused(t, create("f1", bad)) })
	t.Run("create allowed", func(t *testing.T) {
		if err := create("f2", good); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("check fails", func(t *testing.T) {
		err := create("f3", broken)
		if err == nil || KindOf(err) != 0 {
			t.Fatalf("err = %v, want an internal error", err)
		}
	})
	t.Run("update refused", func(t *testing.T) {
		_, err := s.UpdateFunctionConfiguration(ctx, Ref{Name: "f2"}, &UpdateConfigInput{Role: &bad})
		wantRefused(t, err)
		fi, err := s.GetFunction(ctx, Ref{Name: "f2"})
		if err != nil || fi.Config.Role != good {
			t.Fatalf("role after refused update: %v %v", fi, err)
		}
	})
}
