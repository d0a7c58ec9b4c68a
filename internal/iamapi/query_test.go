package iamapi

import (
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/furl/furl/internal/awserr"
	"github.com/furl/furl/internal/sigv4"
)

func TestParseParams(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
		query       string
		want        params
		wantErr     bool
	}{
		{name: "form body", contentType: "application/x-www-form-urlencoded; charset=utf-8",
			body: "Action=CreateUser&Version=2010-05-08&UserName=alice",
			want: params{"Action": {"CreateUser"}, "Version": {"2010-05-08"}, "UserName": {"alice"}}},
		{name: "query only (GET)", query: "Action=ListUsers&Version=2010-05-08",
			want: params{"Action": {"ListUsers"}, "Version": {"2010-05-08"}}},
		{name: "body wins over query", contentType: "application/x-www-form-urlencoded",
			body: "Action=GetUser", query: "Action=ListUsers&X=1",
			want: params{"Action": {"GetUser"}, "X": {"1"}}},
		{name: "escapes and plus", contentType: "application/x-www-form-urlencoded",
			body: "PolicyDocument=%7B%22a%22%3A+1%7D&Path=%2Fdev%2F&Empty=&Bare",
			want: params{"PolicyDocument": {`{"a": 1}`}, "Path": {"/dev/"}, "Empty": {""}, "Bare": {""}}},
		{name: "no content type is form", body: "Action=GetCallerIdentity",
			want: params{"Action": {"GetCallerIdentity"}}},
		{name: "json body ignored", contentType: "application/json", body: `{"Action":"x"}`, want: params{}},
		{name: "empty pieces skipped", contentType: "application/x-www-form-urlencoded", body: "&&A=1&&",
			want: params{"A": {"1"}}},
		{name: "bad escape", contentType: "application/x-www-form-urlencoded", body: "A=%zz", wantErr: true},
		{name: "too many", contentType: "application/x-www-form-urlencoded", body: strings.Repeat("a=1&", maxParams+1), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseParams(tt.contentType, []byte(tt.body), tt.query)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("params (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzParseParams checks the form parser never panics and agrees with net/url on what it
// accepts.
func FuzzParseParams(f *testing.F) {
	f.Add("Action=CreateUser&Version=2010-05-08&UserName=alice", "")
	f.Add("PolicyDocument=%7B%22a%22%3A+1%7D", "Action=X")
	f.Add("a=%zz&b", "&&=&")
	f.Fuzz(func(t *testing.T, body, query string) {
		got, err := parseParams("application/x-www-form-urlencoded", []byte(body), query)
		if err != nil {
			return
		}
		want, uerr := url.ParseQuery(body)
		if uerr != nil || strings.Contains(body, ";") {
			return
		}
		for k, v := range want {
			if !cmp.Equal(v, got[k]) {
				t.Fatalf("key %q: got %q, net/url %q", k, got[k], v)
			}
		}
	})
}

func TestRenderResponse(t *testing.T) {
	res := el("", el("User", tx("UserName", "a<b&c"), tx("Path", "/")), members("Tags", nil), tbool("IsTruncated", false))
	b := renderResponse(nsIAM, "CreateUser", res, "rid-1")
	var doc struct {
		XMLName xml.Name
		Result  struct {
			User struct {
				UserName string
				Path     string
			}
			IsTruncated bool
		} `xml:"CreateUserResult"`
		RequestID string `xml:"ResponseMetadata>RequestId"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if doc.XMLName.Local != "CreateUserResponse" || doc.XMLName.Space != nsIAM {
		t.Errorf("root = %v", doc.XMLName)
	}
	if doc.Result.User.UserName != "a<b&c" || doc.Result.User.Path != "/" || doc.RequestID != "rid-1" {
		t.Errorf("parsed %+v from\n%s", doc, b)
	}
	if nores := string(renderResponse(nsSTS, "DeleteUser", nil, "r")); strings.Contains(nores, "Result") {
		t.Errorf("nil result rendered a Result element: %s", nores)
	}
}

func TestRenderError(t *testing.T) {
	for _, tt := range []struct {
		err      *awserr.Error
		wantType string
	}{
		{awserr.New(http.StatusNotFound, "NoSuchEntity", "The user with name x cannot be found."), "Sender"},
		{awserr.New(http.StatusInternalServerError, "ServiceFailure", "boom"), "Receiver"},
	} {
		b := renderError(nsIAM, tt.err, "rid")
		var doc struct {
			XMLName xml.Name `xml:"ErrorResponse"`
			Error   struct{ Type, Code, Message string }
			ReqID   string `xml:"RequestId"`
		}
		if err := xml.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%v\n%s", err, b)
		}
		if doc.Error.Type != tt.wantType || doc.Error.Code != tt.err.Code || doc.Error.Message != tt.err.Message || doc.ReqID != "rid" {
			t.Errorf("parsed %+v from\n%s", doc, b)
		}
	}
}

func TestPolicyEscape(t *testing.T) {
	for _, doc := range []string{
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`,
		"{\n  \"a\": \"b c+d/é%\"\n}",
		"",
	} {
		esc := policyEscape(doc)
		if strings.ContainsAny(esc, " +{}\"\n") {
			t.Errorf("policyEscape(%q) = %q: unescaped characters", doc, esc)
		}
		back, err := url.PathUnescape(esc)
		if err != nil || back != doc {
			t.Errorf("unescape(policyEscape(%q)) = %q, %v", doc, back, err)
		}
	}
}

func FuzzPolicyEscape(f *testing.F) {
	f.Add(`{"Statement":[]}`)
	f.Fuzz(func(t *testing.T, doc string) {
		back, err := url.PathUnescape(policyEscape(doc))
		if err != nil || back != doc {
			t.Fatalf("round trip of %q = %q, %v", doc, back, err)
		}
	})
}

func TestPaginate(t *testing.T) {
	items := []int{1, 2, 3, 4, 5}
	var got []int
	marker := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("no end")
		}
		p, next, err := paginate(items, marker, 2)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p...)
		if next == "" {
			break
		}
		marker = next
	}
	if diff := cmp.Diff(items, got); diff != "" {
		t.Errorf("pages (-want +got):\n%s", diff)
	}
	if _, _, err := paginate(items, "x", 2); err == nil {
		t.Error("bad marker accepted")
	}
}

func TestQueryAPIRaw(t *testing.T) {
	e := newEnv(t)
	sign := func(r *http.Request, service string, body string) {
		t.Helper()
		if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: rootID, SecretAccessKey: rootSecret},
			r, sigv4.HashPayload([]byte(body)), service, "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name       string
		method     string
		query      string
		body       string
		service    string // "" = unsigned
		wantStatus int
		wantNS     string
		wantInBody string
	}{
		{"unsigned STS", "POST", "", "Action=GetCallerIdentity&Version=2011-06-15", "", 403, nsSTS, "<Code>MissingAuthenticationToken</Code>"},
		{"unsigned IAM", "POST", "", "Action=ListUsers&Version=2010-05-08", "", 403, nsIAM, "<Code>MissingAuthenticationToken</Code>"},
		{"GET with query", "GET", "Action=ListUsers&Version=2010-05-08", "", "iam", 200, nsIAM, "<ListUsersResult><Users></Users><IsTruncated>false</IsTruncated></ListUsersResult>"},
		{"POST GetCallerIdentity", "POST", "", "Action=GetCallerIdentity&Version=2011-06-15", "sts", 200, nsSTS, "<Arn>arn:aws:iam::" + testAccount + ":root</Arn>"},
		{"unknown action", "POST", "", "Action=Frobnicate&Version=2010-05-08", "iam", 400, nsIAM, "<Code>InvalidAction</Code>"},
		{"IAM action on STS", "POST", "", "Action=ListUsers&Version=2011-06-15", "sts", 400, nsSTS, "<Code>InvalidAction</Code>"},
		{"missing action", "POST", "", "Version=2010-05-08", "iam", 400, nsIAM, "<Code>MissingAction</Code>"},
		{"missing parameter", "POST", "", "Action=CreateUser&Version=2010-05-08", "iam", 400, nsIAM, "Value null at &#39;userName&#39;"},
		{"bad name", "POST", "", "Action=CreateUser&Version=2010-05-08&UserName=a%2Fb", "iam", 400, nsIAM, "<Code>ValidationError</Code>"},
		{"lambda scope", "POST", "", "Action=ListUsers&Version=2010-05-08", "lambda", 403, nsIAM, "<Code>SignatureDoesNotMatch</Code>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := e.url + "/"
			if tt.query != "" {
				u += "?" + tt.query
			}
			r, err := http.NewRequest(tt.method, u, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.body != "" {
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
			}
			if tt.service != "" {
				sign(r, tt.service, tt.body)
			}
			resp, err := http.DefaultClient.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus || !strings.Contains(string(b), `xmlns="`+tt.wantNS+`"`) || !strings.Contains(string(b), tt.wantInBody) {
				t.Errorf("status %d, body:\n%s\nwant %d, ns %s, containing %s", resp.StatusCode, b, tt.wantStatus, tt.wantNS, tt.wantInBody)
			}
			if resp.Header.Get("X-Amzn-Requestid") == "" || resp.Header.Get("Content-Type") != "text/xml" {
				t.Errorf("headers %v", resp.Header)
			}
		})
	}
}

// FuzzCheckPolicyDocument feeds arbitrary documents to the IAM API's policy validation: it
// must answer nil, MalformedPolicyDocument, or ValidationError (a document empty, over the
// model's length or outside its character set, as AWS's model constrains the member), never
// panic.
func FuzzCheckPolicyDocument(f *testing.F) {
	f.Add(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`, false)
	f.Add(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"sts:AssumeRole"}}`, true)
	f.Add(`{"Statement":"x"}`, false)
	f.Fuzz(func(t *testing.T, doc string, trust bool) {
		err := checkPolicyDocument(doc, trust)
		if code := awserr.As(err).Code; err != nil && code != "MalformedPolicyDocument" && code != "ValidationError" {
			t.Fatalf("checkPolicyDocument(%q) = %v", doc, err)
		}
	})
}

func TestCheckPolicyDocument(t *testing.T) {
	tests := []struct {
		doc     string
		trust   bool
		wantMsg string // "" = valid
	}{
		{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`, false, ""},
		{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","NotResource":"arn:aws:iam::*:user/x"}}`, false, ""},
		{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*"}]}`, false, "Policy statement must contain resources."},
		{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}`, false, "Policy document should not specify a principal."},
		{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`, true, ""},
		{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}`, true, "Missing required field Principal"},
		{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"sts:AssumeRole","Resource":"*"}]}`, true, "Has prohibited field Resource"},
		{`{"Statement":[{"Effect":"Maybe","Action":"*","Resource":"*"}]}`, false, "Invalid effect"},
		{`not json`, false, "Syntax errors"},
	}
	for _, tt := range tests {
		err := checkPolicyDocument(tt.doc, tt.trust)
		switch {
		case tt.wantMsg == "" && err != nil:
			t.Errorf("%s: %v", tt.doc, err)
		case tt.wantMsg != "" && (err == nil || awserr.As(err).Code != "MalformedPolicyDocument" || !strings.Contains(err.Error(), tt.wantMsg)):
			t.Errorf("%s: got %v, want MalformedPolicyDocument containing %q", tt.doc, err, tt.wantMsg)
		}
	}
}
