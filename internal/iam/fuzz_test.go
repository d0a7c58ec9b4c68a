package iam

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

func FuzzParsePolicy(f *testing.F) {
	f.Add([]byte(stmts(publicURL, allowAllLambda)))
	f.Add([]byte(`{"Version":"2012-10-17","Statement":{"Effect":"Deny","NotPrincipal":{"AWS":"111122223333"},"NotAction":"lambda:Get*","NotResource":"arn:aws:lambda:*:*:function:${aws:username}-*","Condition":{"ForAllValues:StringLikeIfExists":{"aws:TagKeys":["a*",1,true]},"IpAddress":{"aws:SourceIp":["10.0.0.0/8","::1"]},"DateLessThan":{"aws:CurrentTime":"2027-01-01T00:00:00Z"},"NumericLessThan":{"x:n":"3"},"Null":{"aws:username":"true"}}}}`))
	f.Add([]byte(`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"${a"}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		p, err := ParsePolicy(doc)
		if err != nil {
			if p != nil {
				t.Fatal("policy and error")
			}
			return
		}
		if !bytes.Equal(p.Raw(), doc) {
			t.Fatal("Raw differs from the parsed document")
		}
		for _, s := range p.Statements {
			_ = s.Label()
		}
		ctx := map[string][]string{"aws:SourceIp": {"10.1.2.3"}, "aws:CurrentTime": {"2026-11-26T05:00:00Z"}, "aws:TagKeys": {"a", "b"}}
		for _, pr := range []*Principal{nil, alice(), bob(), {Type: TypeService, ARN: "s3.amazonaws.com"}} {
			req := &Request{Principal: pr, Action: "lambda:InvokeFunctionUrl", Resource: fnLive, Context: ctx}
			if d := Evaluate(req, []*Policy{p}, p); d.Allowed && d.ExplicitDeny {
				t.Fatal("allowed and explicitly denied")
			}
		}
	})
}

func FuzzEvaluate(f *testing.F) {
	f.Add("lambda:InvokeFunctionUrl", fnARN, "10.0.0.1", "alice", "arn:aws:lambda:*:*:function:${aws:username}*", "a*b?c")
	f.Add("LAMBDA:*", "arn:aws:lambda:us-east-1:1:function:f:x", "::ffff:1.2.3.4", "", "*", "${*}")
	f.Add("", "", "", "", "", "")
	f.Fuzz(func(t *testing.T, action, resource, ip, user, resPattern, like string) {
		doc := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":%q,"Resource":%q,"Condition":{"StringLike":{"x:k":%q},"IpAddressIfExists":{"aws:SourceIp":"10.0.0.0/8"}}},{"Effect":"Deny","Principal":"*","NotAction":%q,"NotResource":%q,"Condition":{"ArnLike":{"aws:PrincipalArn":%q}}}]}`,
			strings.ToValidUTF8(action, "")+":x", resPattern, like, "a:"+like, resPattern, resPattern)
		p, err := ParsePolicy([]byte(doc))
		if err != nil {
			return
		}
		pr := alice()
		pr.Username = user
		for _, who := range []*Principal{nil, pr} {
			req := &Request{Principal: who, Action: action, Resource: resource,
				Context: map[string][]string{"aws:SourceIp": {ip}, "x:k": {like, user}}}
			d := Evaluate(req, []*Policy{p}, p)
			if d.Allowed && d.ExplicitDeny {
				t.Fatal("allowed and explicitly denied")
			}
			_ = d.AccessDeniedMessage(req)
		}
	})
}

func TestGlobMatch(t *testing.T) {
	cases := []struct {
		pat, s string
		want   bool
	}{
		{"*", "", true},
		{"a*", "a", true},
		{"a*c", "abbbc", true},
		{"a*c", "abbbd", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"a?c", "aéc", true},
		{"*a*b*c*", "xxaxxbxxcxx", true},
		{"*a*b*c*", "xxaxxcxxbxx", false},
		{"ab*ab*ab", "abababab", true},
		{"", "", true},
		{"", "a", false},
		{strings.Repeat("*a", 30) + "b", strings.Repeat("a", 200), false},
	}
	for _, tc := range cases {
		p := compilePattern(tc.pat, false)
		if got := p.match(tc.s, nil); got != tc.want {
			t.Errorf("%q ~ %q = %v, want %v", tc.pat, tc.s, got, tc.want)
		}
	}
}

// policy20 is a 20-statement resource + identity policy with conditions, the shape the
// benchmark evaluates.
func policy20() string {
	var ss []string
	for i := 0; i < 19; i++ {
		ss = append(ss, fmt.Sprintf(`{"Sid":"S%d","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/u%d"},"Action":["lambda:Get*","lambda:List*","lambda:InvokeFunction%d"],"Resource":"arn:aws:lambda:us-east-1:111122223333:function:fn-%d*","Condition":{"StringEquals":{"lambda:FunctionUrlAuthType":"AWS_IAM"},"IpAddress":{"aws:SourceIp":["10.%d.0.0/16","2001:db8:%d::/48"]},"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}}`, i, i, i, i, i, i))
	}
	ss = append(ss, `{"Sid":"Match","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"lambda:InvokeFunctionUrl","Resource":"arn:aws:lambda:us-east-1:111122223333:function:f*","Condition":{"StringEquals":{"lambda:FunctionUrlAuthType":"AWS_IAM"},"IpAddress":{"aws:SourceIp":["192.0.2.0/24","2001:db8::/32"]},"Bool":{"aws:SecureTransport":"false"}}}`)
	return stmts(ss...)
}

func TestPolicy20(t *testing.T) {
	p := mustParse(t, policy20())
	req := bench20Request()
	d := Evaluate(req, nil, p)
	if !d.Allowed || d.Statement != "Match" {
		t.Fatalf("%+v", d)
	}
}

func bench20Request() *Request {
	return &Request{Principal: alice(), Action: "lambda:InvokeFunctionUrl", Resource: fnLive, ResourceAccount: acct,
		Context: map[string][]string{
			"aws:SourceIp":               {"192.0.2.10"},
			"aws:CurrentTime":            {"2026-11-26T05:00:00Z"},
			"aws:EpochTime":              {"1795669200"},
			"aws:SecureTransport":        {"false"},
			"aws:RequestedRegion":        {"us-east-1"},
			"lambda:FunctionUrlAuthType": {"AWS_IAM"},
		}}
}

// BenchmarkEvaluate20: a 20-statement policy with conditions on every statement, used both as
// the identity policy (conditions fail on 19, the last allows) and the resource policy.
func BenchmarkEvaluate20(b *testing.B) {
	p, err := ParsePolicy([]byte(policy20()))
	if err != nil {
		b.Fatal(err)
	}
	// identity variant: same statements without Principal
	idDoc := strings.ReplaceAll(policy20(), `"Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},`, "")
	id, err := ParsePolicy([]byte(idDoc))
	if err != nil {
		b.Fatal(err)
	}
	req := bench20Request()
	ids := []*Policy{id}
	b.ReportAllocs()
	for b.Loop() {
		if d := Evaluate(req, ids, p); !d.Allowed {
			b.Fatal(d.Reason)
		}
	}
}
