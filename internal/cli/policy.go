package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/furl/furl/internal/config"
	"github.com/furl/furl/internal/sigv4"
)

// allowListSid is the statement `furl url allow` manages.
const allowListSid = "FurlUrlAllowList"

// runPolicy is `furl policy put NAME FILE` / `get NAME` / `delete NAME`: a function's whole
// resource policy through furl's /furl/v1/functions/{name}/policy API.
func runPolicy(ctx context.Context, args []string, stdio Stdio, getenv func(string) string) error {
	usage := "Usage: furl policy put NAME FILE|- [--qualifier Q] [--revision-id R]\n       furl policy get NAME [--qualifier Q]\n       furl policy delete NAME [--qualifier Q]"
	if len(args) == 0 || (args[0] != "put" && args[0] != "get" && args[0] != "delete") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintln(stdio.Out, usage)
			return nil
		}
		fmt.Fprintln(stdio.Err, usage)
		return fmt.Errorf("%w: want put, get or delete", errUsage)
	}
	verb := args[0]
	fs := flag.NewFlagSet("policy "+verb, flag.ContinueOnError)
	fs.SetOutput(stdio.Err)
	fs.Usage = func() {
		fmt.Fprintln(stdio.Err, usage)
		fs.PrintDefaults()
	}
	var cf clientFlags
	cf.register(fs, getenv)
	qualifier := fs.String("qualifier", "", "version or alias whose policy this is (default: the unqualified function)")
	revision := fs.String("revision-id", "", "only replace the policy if its RevisionId is still this (put)")
	pos, err := parseArgs(fs, args[1:])
	if err != nil {
		return err
	}
	want := 1
	if verb == "put" {
		want = 2
	}
	if len(pos) != want {
		fs.Usage()
		return fmt.Errorf("%w: want %d arguments", errUsage, want)
	}
	api, err := newPolicyAPI(&cf, getenv)
	if err != nil {
		return err
	}
	name := pos[0]
	switch verb {
	case "get":
		doc, _, err := api.get(ctx, name, *qualifier)
		if err != nil {
			return err
		}
		return printPolicy(stdio.Out, doc)
	case "delete":
		return api.delete(ctx, name, *qualifier)
	}
	var doc []byte
	if pos[1] == "-" {
		doc, err = io.ReadAll(io.LimitReader(stdio.In, 1<<20))
	} else {
		doc, err = os.ReadFile(pos[1])
	}
	if err != nil {
		return fmt.Errorf("policy put: %w", err)
	}
	stored, err := api.put(ctx, name, *qualifier, *revision, doc)
	if err != nil {
		return err
	}
	return printPolicy(stdio.Out, stored)
}

// runURLAllow is `furl url allow NAME --cidr C[,C...]`: only callers from these networks may
// call the function URL. It keeps one Deny statement (Sid FurlUrlAllowList) for every caller
// whose aws:SourceIp is outside the list, beside the function's other statements; --clear
// removes it.
func runURLAllow(ctx context.Context, args []string, stdio Stdio, getenv func(string) string) error {
	fs := flag.NewFlagSet("url allow", flag.ContinueOnError)
	fs.SetOutput(stdio.Err)
	fs.Usage = func() {
		fmt.Fprintln(stdio.Err, "Usage: furl url allow NAME --cidr 203.0.113.0/24[,...] [--cidr ...] [--qualifier Q] | --clear")
		fs.PrintDefaults()
	}
	var cf clientFlags
	cf.register(fs, getenv)
	qualifier := fs.String("qualifier", "", "alias whose URL this is (default: the unqualified function)")
	clear := fs.Bool("clear", false, "remove the allow-list: any address may call again (as the rest of the policy says)")
	var cidrs []string
	fs.Func("cidr", "network (or address) allowed to call the URL; repeat or separate with commas", func(v string) error {
		nets, err := config.ParseCIDRs(v)
		if err != nil {
			return err
		}
		for _, n := range nets {
			cidrs = append(cidrs, n.String())
		}
		return nil
	})
	name, err := oneArg(fs, args, "function NAME")
	if err != nil {
		return err
	}
	if *clear == (len(cidrs) > 0) {
		fs.Usage()
		return fmt.Errorf("%w: give --cidr or --clear", errUsage)
	}
	api, err := newPolicyAPI(&cf, getenv)
	if err != nil {
		return err
	}
	cur, rev, err := api.get(ctx, name, *qualifier)
	if err != nil && !isNoPolicy(err) {
		return err
	}
	doc := struct {
		Version   string            `json:"Version"`
		ID        string            `json:"Id,omitempty"`
		Statement []json.RawMessage `json:"Statement"`
	}{Version: "2012-10-17"}
	if cur != nil {
		if err := json.Unmarshal(cur, &doc); err != nil {
			return fmt.Errorf("url allow: the current policy: %w", err)
		}
	}
	kept := doc.Statement[:0]
	for _, st := range doc.Statement {
		var s struct{ Sid string }
		_ = json.Unmarshal(st, &s)
		if s.Sid != allowListSid {
			kept = append(kept, st)
		}
	}
	doc.Statement = kept
	if !*clear {
		deny, _ := json.Marshal(map[string]any{
			"Sid": allowListSid, "Effect": "Deny", "Principal": "*", "Action": "lambda:InvokeFunctionUrl",
			"Condition": map[string]any{"NotIpAddress": map[string]any{"aws:SourceIp": cidrs}},
		})
		doc.Statement = append(doc.Statement, deny)
	}
	if len(doc.Statement) == 0 {
		if cur == nil {
			return nil
		}
		if err := api.delete(ctx, name, *qualifier); err != nil {
			return err
		}
		fmt.Fprintln(stdio.Err, "furl url allow: the allow-list was the whole policy; the function has no policy now")
		return nil
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("url allow: %w", err)
	}
	stored, err := api.put(ctx, name, *qualifier, rev, b)
	if err != nil {
		return err
	}
	if !allowsURL(stored) {
		fmt.Fprintln(stdio.Err, "furl url allow: note: no statement allows lambda:InvokeFunctionUrl yet; for a public URL add one, e.g.\n"+
			"  aws lambda add-permission --function-name "+name+" --statement-id FunctionURLAllowPublicAccess --action lambda:InvokeFunctionUrl --principal '*' --function-url-auth-type NONE")
	}
	return printPolicy(stdio.Out, stored)
}

// allowsURL reports whether a policy document has an Allow statement naming
// lambda:InvokeFunctionUrl (or a wildcard that covers it).
func allowsURL(doc []byte) bool {
	var d struct {
		Statement []struct {
			Effect string
			Action json.RawMessage
		}
	}
	if json.Unmarshal(doc, &d) != nil {
		return false
	}
	for _, st := range d.Statement {
		if st.Effect != "Allow" {
			continue
		}
		a := string(st.Action)
		if strings.Contains(a, "lambda:InvokeFunctionUrl") || strings.Contains(a, `"lambda:*"`) || strings.Contains(a, `"*"`) {
			return true
		}
	}
	return false
}

// printPolicy writes a policy document indented.
func printPolicy(w io.Writer, doc []byte) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, doc, "", "  "); err != nil {
		_, err = fmt.Fprintf(w, "%s\n", doc)
		return err
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}

// policyAPI calls /furl/v1/functions/{name}/policy with SigV4 (service lambda).
type policyAPI struct {
	endpoint string
	region   string
	creds    aws.Credentials
}

// newPolicyAPI signs with the root's credentials (FURL_ROOT_* or the data dir's), or with
// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN) when FURL_ROOT_* are unset.
func newPolicyAPI(cf *clientFlags, getenv func(string) string) (*policyAPI, error) {
	var creds aws.Credentials
	if id, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"); getenv("FURL_ROOT_ACCESS_KEY_ID") == "" && id != "" && secret != "" {
		creds = aws.Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: getenv("AWS_SESSION_TOKEN")}
	} else {
		_, c, err := cf.client(getenv)
		if err != nil {
			return nil, err
		}
		creds = c
	}
	return &policyAPI{endpoint: strings.TrimSuffix(cf.endpoint, "/"), region: cf.region, creds: creds}, nil
}

// apiErr is an AWS error answer.
type apiErr struct {
	op, code, msg string
	status        int
}

func (e *apiErr) Error() string { return e.op + ": " + e.code + ": " + e.msg }

func isNoPolicy(err error) bool {
	var ae *apiErr
	return errors.As(err, &ae) && ae.code == "ResourceNotFoundException" && ae.status == http.StatusNotFound && strings.Contains(ae.msg, "resource you requested does not exist")
}

func (a *policyAPI) get(ctx context.Context, name, qualifier string) (doc []byte, revision string, err error) {
	b, err := a.do(ctx, "policy get", http.MethodGet, name, url.Values{"Qualifier": {qualifier}}, nil)
	if err != nil {
		return nil, "", err
	}
	var out struct{ Policy, RevisionId string }
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, "", fmt.Errorf("policy get: %w", err)
	}
	return []byte(out.Policy), out.RevisionId, nil
}

func (a *policyAPI) put(ctx context.Context, name, qualifier, revision string, doc []byte) ([]byte, error) {
	b, err := a.do(ctx, "policy put", http.MethodPut, name, url.Values{"Qualifier": {qualifier}, "RevisionId": {revision}}, doc)
	if err != nil {
		return nil, err
	}
	var out struct{ Policy string }
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("policy put: %w", err)
	}
	return []byte(out.Policy), nil
}

func (a *policyAPI) delete(ctx context.Context, name, qualifier string) error {
	_, err := a.do(ctx, "policy delete", http.MethodDelete, name, url.Values{"Qualifier": {qualifier}}, nil)
	return err
}

func (a *policyAPI) do(ctx context.Context, op, method, name string, q url.Values, body []byte) ([]byte, error) {
	for k, v := range q {
		if len(v) == 0 || v[0] == "" {
			delete(q, k)
		}
	}
	u := a.endpoint + "/furl/v1/functions/" + url.PathEscape(name) + "/policy"
	if len(q) > 0 {
		u += "?" + q.Encode() // sorted, as SigV4's canonical query wants
	}
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if err := v4.NewSigner().SignHTTP(ctx, a.creds, req, sigv4.HashPayload(body), "lambda", a.region, time.Now()); err != nil {
		return nil, fmt.Errorf("%s: sign: %w", op, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if resp.StatusCode >= 300 {
		var e struct{ Message string } // matches "message" and "Message"
		_ = json.Unmarshal(b, &e)
		return nil, &apiErr{op: op, code: resp.Header.Get("X-Amzn-Errortype"), msg: e.Message, status: resp.StatusCode}
	}
	return b, nil
}

// runURL dispatches `furl url <subcommand>`.
func runURL(ctx context.Context, args []string, stdio Stdio, getenv func(string) string) error {
	if len(args) > 0 && args[0] == "allow" {
		return runURLAllow(ctx, args[1:], stdio, getenv)
	}
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
		fmt.Fprintln(stdio.Out, "Usage: furl url allow NAME --cidr 203.0.113.0/24[,...] [--qualifier Q] | --clear")
		return nil
	}
	fmt.Fprintln(stdio.Err, "Usage: furl url allow NAME --cidr 203.0.113.0/24[,...] [--qualifier Q] | --clear")
	return fmt.Errorf("%w: want allow", errUsage)
}
