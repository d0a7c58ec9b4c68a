package cli

import (
	"archive/zip"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/furl/furl/internal/identity"
)

type envFlag map[string]string

func (e envFlag) String() string { return fmt.Sprint(map[string]string(e)) }
func (e envFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("want KEY=VALUE, got %q", v)
	}
	e[k] = val
	return nil
}

func runDeploy(ctx context.Context, args []string, stdio Stdio, getenv func(string) string) error {
	fs := flag.NewFlagSet("deploy", flag.ContinueOnError)
	fs.SetOutput(stdio.Err)
	fs.Usage = func() {
		fmt.Fprintln(stdio.Err, "Usage: furl deploy DIR --name NAME --runtime RUNTIME --handler HANDLER [--url none|iam] [flags]")
		fs.PrintDefaults()
	}
	var cf clientFlags
	cf.register(fs, getenv)
	name := fs.String("name", "", "function name (required)")
	runtime := fs.String("runtime", "", "runtime, e.g. python3.12, nodejs20.x, provided.al2023 (required on create)")
	handler := fs.String("handler", "", "handler, e.g. app.handler (required on create, except provided runtimes)")
	urlAuth := fs.String("url", "", "create a function URL: none (public) or iam (SigV4)")
	role := fs.String("role", "", "execution role ARN (default: "+identity.DefaultLambdaRole+", created when missing)")
	memory := fs.Int("memory", 0, "memory size in MB (default 128 on create)")
	timeout := fs.Int("timeout", 0, "timeout in seconds (default 3 on create)")
	env := envFlag{}
	fs.Var(env, "env", "environment variable KEY=VALUE (repeatable)")
	rateLimit := fs.String("rate-limit", "", "function URL rate limit in requests/s (0 = off); kept as the furl:url-rate-limit tag")
	burst := fs.String("burst", "", "function URL burst size in requests; kept as the furl:url-burst tag")
	dir, err := oneArg(fs, args, "DIR")
	if err != nil {
		return err
	}
	if *name == "" {
		return fmt.Errorf("%w: --name is required", errUsage)
	}
	auth := ""
	switch strings.ToLower(*urlAuth) {
	case "":
	case "none":
		auth = string(types.FunctionUrlAuthTypeNone)
	case "iam", "aws_iam":
		auth = string(types.FunctionUrlAuthTypeAwsIam)
	default:
		return fmt.Errorf("%w: --url must be none or iam", errUsage)
	}
	zipBytes, files, err := zipDir(dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdio.Err, "packaged %s: %d files, %d bytes\n", dir, files, len(zipBytes))
	cl, _, err := cf.client(getenv)
	if err != nil {
		return err
	}
	_, err = cl.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: name})
	switch {
	case isCode(err, "ResourceNotFoundException"):
		if *runtime == "" {
			return fmt.Errorf("%w: --runtime is required to create %s", errUsage, *name)
		}
		if *role == "" {
			arn, err := ensureDefaultRole(ctx, &cf, getenv, stdio)
			if err != nil {
				return err
			}
			role = &arn
		}
		in := &lambda.CreateFunctionInput{
			FunctionName: name, Runtime: types.Runtime(*runtime), Role: role, Code: &types.FunctionCode{ZipFile: zipBytes},
		}
		if *handler != "" {
			in.Handler = handler
		}
		if *memory > 0 {
			in.MemorySize = aws.Int32(int32(*memory))
		}
		if *timeout > 0 {
			in.Timeout = aws.Int32(int32(*timeout))
		}
		if len(env) > 0 {
			in.Environment = &types.Environment{Variables: env}
		}
		out, err := cl.CreateFunction(ctx, in)
		if err != nil {
			return apiError("create function", err)
		}
		fmt.Fprintf(stdio.Err, "created %s (%s, CodeSha256 %s)\n", *name, *runtime, aws.ToString(out.CodeSha256))
		if err := lambda.NewFunctionActiveV2Waiter(cl, func(o *lambda.FunctionActiveV2WaiterOptions) {
			o.MinDelay, o.MaxDelay = 200*time.Millisecond, time.Second
		}).Wait(ctx, &lambda.GetFunctionInput{FunctionName: name}, 2*time.Minute); err != nil {
			return apiError("wait for function active", err)
		}
	case err != nil:
		return apiError("get function", err)
	default:
		out, err := cl.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: name, ZipFile: zipBytes})
		if err != nil {
			return apiError("update function code", err)
		}
		fmt.Fprintf(stdio.Err, "updated code of %s (CodeSha256 %s)\n", *name, aws.ToString(out.CodeSha256))
		if err := waitUpdated(ctx, cl, *name); err != nil {
			return err
		}
		in := &lambda.UpdateFunctionConfigurationInput{FunctionName: name}
		changed := false
		if *runtime != "" {
			in.Runtime, changed = types.Runtime(*runtime), true
		}
		if *handler != "" {
			in.Handler, changed = handler, true
		}
		if *memory > 0 {
			in.MemorySize, changed = aws.Int32(int32(*memory)), true
		}
		if *timeout > 0 {
			in.Timeout, changed = aws.Int32(int32(*timeout)), true
		}
		if len(env) > 0 {
			in.Environment, changed = &types.Environment{Variables: env}, true
		}
		if changed {
			if _, err := cl.UpdateFunctionConfiguration(ctx, in); err != nil {
				return apiError("update function configuration", err)
			}
			if err := waitUpdated(ctx, cl, *name); err != nil {
				return err
			}
			fmt.Fprintf(stdio.Err, "updated configuration of %s\n", *name)
		}
	}
	if err := tagLimits(ctx, cl, *name, *rateLimit, *burst, stdio); err != nil {
		return err
	}
	if auth == "" {
		fmt.Fprintf(stdio.Err, "%s is active\n", *name)
		return nil
	}
	u, err := ensureURL(ctx, cl, *name, auth, stdio)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdio.Out, u)
	return nil
}

// tagLimits stores the URL rate limit and burst as the function's furl:url-* tags.
func tagLimits(ctx context.Context, cl *lambda.Client, name, rate, burst string, stdio Stdio) error {
	tags := map[string]string{}
	if rate != "" {
		tags["furl:url-rate-limit"] = rate
	}
	if burst != "" {
		tags["furl:url-burst"] = burst
	}
	if len(tags) == 0 {
		return nil
	}
	fn, err := cl.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)})
	if err != nil {
		return apiError("get function", err)
	}
	if _, err := cl.TagResource(ctx, &lambda.TagResourceInput{Resource: fn.Configuration.FunctionArn, Tags: tags}); err != nil {
		return apiError("set URL limits", err)
	}
	fmt.Fprintf(stdio.Err, "URL limits of %s: rate %s/s, burst %s\n", name, orDefault(rate, "unchanged"), orDefault(burst, "default"))
	return nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func waitUpdated(ctx context.Context, cl *lambda.Client, name string) error {
	if err := lambda.NewFunctionUpdatedV2Waiter(cl, func(o *lambda.FunctionUpdatedV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = 200*time.Millisecond, time.Second
	}).Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)}, 2*time.Minute); err != nil {
		return apiError("wait for function update", err)
	}
	return nil
}

// ensureURL creates or updates the function's URL config and, for NONE, the two public
// statements the console adds; it returns the URL.
func ensureURL(ctx context.Context, cl *lambda.Client, name, auth string, stdio Stdio) (string, error) {
	var url string
	got, err := cl.GetFunctionUrlConfig(ctx, &lambda.GetFunctionUrlConfigInput{FunctionName: aws.String(name)})
	switch {
	case isCode(err, "ResourceNotFoundException"):
		out, err := cl.CreateFunctionUrlConfig(ctx, &lambda.CreateFunctionUrlConfigInput{FunctionName: aws.String(name), AuthType: types.FunctionUrlAuthType(auth)})
		if err != nil {
			return "", apiError("create function url", err)
		}
		url = aws.ToString(out.FunctionUrl)
		fmt.Fprintf(stdio.Err, "created function URL (auth %s)\n", auth)
	case err != nil:
		return "", apiError("get function url", err)
	default:
		url = aws.ToString(got.FunctionUrl)
		if string(got.AuthType) != auth {
			if _, err := cl.UpdateFunctionUrlConfig(ctx, &lambda.UpdateFunctionUrlConfigInput{FunctionName: aws.String(name), AuthType: types.FunctionUrlAuthType(auth)}); err != nil {
				return "", apiError("update function url", err)
			}
			fmt.Fprintf(stdio.Err, "changed function URL auth to %s\n", auth)
		}
	}
	if auth == string(types.FunctionUrlAuthTypeNone) {
		stmts := []*lambda.AddPermissionInput{
			{FunctionName: aws.String(name), StatementId: aws.String("FunctionURLAllowPublicAccess"), Action: aws.String("lambda:InvokeFunctionUrl"),
				Principal: aws.String("*"), FunctionUrlAuthType: types.FunctionUrlAuthTypeNone},
			{FunctionName: aws.String(name), StatementId: aws.String("FunctionURLAllowInvokeAction"), Action: aws.String("lambda:InvokeFunction"),
				Principal: aws.String("*"), InvokedViaFunctionUrl: aws.Bool(true)},
		}
		for _, in := range stmts {
			if _, err := cl.AddPermission(ctx, in); err != nil && !isCode(err, "ResourceConflictException") {
				return "", apiError("add permission "+aws.ToString(in.StatementId), err)
			}
		}
	}
	return url, nil
}

// zipDir packs dir into a zip, keeping file modes (executable bootstraps) and symlinks.
func zipDir(dir string) ([]byte, int, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, 0, fmt.Errorf("package %s: %w", dir, err)
	}
	if !st.IsDir() {
		return nil, 0, fmt.Errorf("package %s: not a directory", dir)
	}
	var paths []string
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		paths = append(paths, p)
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("package %s: %w", dir, err)
	}
	sort.Strings(paths)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	files := 0
	for _, p := range paths {
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		info, err := os.Lstat(p)
		if err != nil {
			return nil, 0, fmt.Errorf("package %s: %w", p, err)
		}
		fh, err := zip.FileInfoHeader(info)
		if err != nil {
			return nil, 0, fmt.Errorf("package %s: %w", p, err)
		}
		fh.Name = rel
		fh.Modified = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC) // reproducible CodeSha256
		switch {
		case info.IsDir():
			fh.Name += "/"
			fh.Method = zip.Store
			if _, err := zw.CreateHeader(fh); err != nil {
				return nil, 0, err
			}
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return nil, 0, fmt.Errorf("package %s: %w", p, err)
			}
			w, err := zw.CreateHeader(fh)
			if err != nil {
				return nil, 0, err
			}
			if _, err := io.WriteString(w, target); err != nil {
				return nil, 0, err
			}
		case info.Mode().IsRegular():
			fh.Method = zip.Deflate
			w, err := zw.CreateHeader(fh)
			if err != nil {
				return nil, 0, err
			}
			f, err := os.Open(p)
			if err != nil {
				return nil, 0, fmt.Errorf("package %s: %w", p, err)
			}
			_, err = io.Copy(w, f)
			f.Close()
			if err != nil {
				return nil, 0, fmt.Errorf("package %s: %w", p, err)
			}
			files++
		}
	}
	if err := zw.Close(); err != nil {
		return nil, 0, fmt.Errorf("package %s: %w", dir, err)
	}
	return buf.Bytes(), files, nil
}

// ensureDefaultRole returns the ARN of the default execution role, creating it (trusting
// lambda.amazonaws.com, allowed only to write logs) when it does not exist. furl serve creates
// it on first start; this brings it back if it was deleted.
func ensureDefaultRole(ctx context.Context, cf *clientFlags, getenv func(string) string, stdio Stdio) (string, error) {
	id, secret, err := cf.credentials(getenv)
	if err != nil {
		return "", err
	}
	cl := iam.New(iam.Options{
		Region:       cf.region,
		Credentials:  credentials.NewStaticCredentialsProvider(id, secret, ""),
		BaseEndpoint: aws.String(strings.TrimSuffix(cf.endpoint, "/")),
	})
	name := identity.DefaultLambdaRole
	got, err := cl.GetRole(ctx, &iam.GetRoleInput{RoleName: &name})
	if err == nil {
		return aws.ToString(got.Role.Arn), nil
	}
	if !isCode(err, "NoSuchEntity") {
		return "", apiError("get default role", err)
	}
	out, err := cl.CreateRole(ctx, &iam.CreateRoleInput{RoleName: &name, AssumeRolePolicyDocument: aws.String(identity.LambdaTrustPolicy),
		Description: aws.String("furl's default execution role: trusted by Lambda, allowed only to write logs")})
	if err != nil {
		return "", apiError("create default role", err)
	}
	if _, err := cl.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: &name, PolicyName: aws.String("furl-basic-execution"),
		PolicyDocument: aws.String(identity.DefaultLambdaRolePolicy)}); err != nil {
		return "", apiError("put default role policy", err)
	}
	fmt.Fprintf(stdio.Err, "created execution role %s\n", aws.ToString(out.Role.Arn))
	return aws.ToString(out.Role.Arn), nil
}
