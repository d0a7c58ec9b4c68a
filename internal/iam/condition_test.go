package iam

import (
	"strings"
	"testing"
)

// condCase evaluates one Condition block in an Allow statement against a context.
type condCase struct {
	name string
	cond string // the Condition element's JSON
	ctx  map[string][]string
	want bool
}

func runCond(t *testing.T, cases []condCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":` + tc.cond + `}}`
			p := mustParse(t, doc)
			d := Evaluate(&Request{Principal: alice(), Action: "lambda:GetFunction", Resource: fnARN, Context: tc.ctx}, []*Policy{p}, nil)
			if d.Allowed != tc.want {
				t.Fatalf("condition %s with %v: allowed=%v, want %v (%s)", tc.cond, tc.ctx, d.Allowed, tc.want, d.Reason)
			}
		})
	}
}

func kv(k string, v ...string) map[string][]string { return map[string][]string{k: v} }

func TestConditionString(t *testing.T) {
	runCond(t, []condCase{
		{"StringEquals match", `{"StringEquals":{"aws:RequestedRegion":"us-east-1"}}`, kv("aws:RequestedRegion", "us-east-1"), true},
		{"StringEquals case-sensitive value", `{"StringEquals":{"aws:RequestedRegion":"US-EAST-1"}}`, kv("aws:RequestedRegion", "us-east-1"), false},
		{"StringEquals key case-insensitive", `{"StringEquals":{"AWS:REQUESTEDREGION":"us-east-1"}}`, kv("aws:requestedregion", "us-east-1"), true},
		{"StringEquals any of values", `{"StringEquals":{"aws:RequestedRegion":["eu-west-1","us-east-1"]}}`, kv("aws:RequestedRegion", "us-east-1"), true},
		{"StringEquals missing key", `{"StringEquals":{"aws:RequestedRegion":"us-east-1"}}`, nil, false},
		{"StringEquals no glob", `{"StringEquals":{"aws:RequestedRegion":"us-*"}}`, kv("aws:RequestedRegion", "us-east-1"), false},
		{"StringNotEquals other", `{"StringNotEquals":{"aws:RequestedRegion":"eu-west-1"}}`, kv("aws:RequestedRegion", "us-east-1"), true},
		{"StringNotEquals same", `{"StringNotEquals":{"aws:RequestedRegion":["eu-west-1","us-east-1"]}}`, kv("aws:RequestedRegion", "us-east-1"), false},
		{"StringNotEquals missing key is true", `{"StringNotEquals":{"aws:RequestedRegion":"eu-west-1"}}`, nil, true},
		{"StringEqualsIgnoreCase", `{"StringEqualsIgnoreCase":{"aws:username":"ALICE"}}`, nil, true},
		{"StringNotEqualsIgnoreCase", `{"StringNotEqualsIgnoreCase":{"aws:username":"ALICE"}}`, nil, false},
		{"StringLike star", `{"StringLike":{"aws:PrincipalArn":"arn:aws:iam::*:user/a*"}}`, nil, true},
		{"StringLike question", `{"StringLike":{"aws:username":"al?ce"}}`, nil, true},
		{"StringLike no match", `{"StringLike":{"aws:username":"b*"}}`, nil, false},
		{"StringNotLike", `{"StringNotLike":{"aws:username":"b*"}}`, nil, true},
		{"StringNotLike matching", `{"StringNotLike":{"aws:username":"a*"}}`, nil, false},
		{"StringEquals number value", `{"StringEquals":{"s3:max-keys":10}}`, kv("s3:max-keys", "10"), true},
		{"policy variable in value", `{"StringEquals":{"aws:PrincipalTag/team":"${aws:username}"}}`, kv("aws:PrincipalTag/team", "alice"), true},
		{"policy variable missing", `{"StringEquals":{"aws:PrincipalTag/team":"${aws:SourceVpc}"}}`, kv("aws:PrincipalTag/team", "alice"), false},
		{"escaped star literal", `{"StringLike":{"x:k":"a${*}b"}}`, kv("x:k", "aXb"), false},
		{"escaped star matches itself", `{"StringLike":{"x:k":"a${*}b"}}`, kv("x:k", "a*b"), true},
		{"IfExists missing", `{"StringEqualsIfExists":{"aws:RequestedRegion":"us-east-1"}}`, nil, true},
		{"IfExists present mismatch", `{"StringEqualsIfExists":{"aws:RequestedRegion":"us-east-1"}}`, kv("aws:RequestedRegion", "eu-west-1"), false},
		{"IfExists present match", `{"StringLikeIfExists":{"aws:RequestedRegion":"us-*"}}`, kv("aws:RequestedRegion", "us-west-2"), true},
		{"NotIfExists missing", `{"StringNotEqualsIfExists":{"aws:RequestedRegion":"us-east-1"}}`, nil, true},
		{"two operators ANDed", `{"StringEquals":{"aws:username":"alice"},"StringLike":{"aws:RequestedRegion":"eu-*"}}`, kv("aws:RequestedRegion", "us-east-1"), false},
		{"two keys ANDed", `{"StringEquals":{"aws:username":"alice","aws:PrincipalAccount":"111122223333"}}`, nil, true},
		{"two keys one fails", `{"StringEquals":{"aws:username":"alice","aws:PrincipalAccount":"999"}}`, nil, false},
		{"principal type key", `{"StringEquals":{"aws:PrincipalType":"User"}}`, nil, true},
		{"userid key", `{"StringEquals":{"aws:userid":"AIDAALICE"}}`, nil, true},
	})
}

func TestConditionSetQualifiers(t *testing.T) {
	tags := func(v ...string) map[string][]string { return kv("aws:TagKeys", v...) }
	runCond(t, []condCase{
		{"ForAllValues all in set", `{"ForAllValues:StringEquals":{"aws:TagKeys":["a","b","c"]}}`, tags("a", "b"), true},
		{"ForAllValues one outside", `{"ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]}}`, tags("a", "x"), false},
		{"ForAllValues empty set is true", `{"ForAllValues:StringEquals":{"aws:TagKeys":["a"]}}`, tags(), true},
		{"ForAllValues missing key is true", `{"ForAllValues:StringEquals":{"aws:TagKeys":["a"]}}`, nil, true},
		{"ForAnyValue one inside", `{"ForAnyValue:StringEquals":{"aws:TagKeys":["a"]}}`, tags("x", "a"), true},
		{"ForAnyValue none inside", `{"ForAnyValue:StringEquals":{"aws:TagKeys":["a"]}}`, tags("x", "y"), false},
		{"ForAnyValue missing key is false", `{"ForAnyValue:StringEquals":{"aws:TagKeys":["a"]}}`, nil, false},
		{"ForAnyValue missing key IfExists", `{"ForAnyValue:StringEqualsIfExists":{"aws:TagKeys":["a"]}}`, nil, true},
		{"ForAnyValue StringLike", `{"ForAnyValue:StringLike":{"aws:TagKeys":["env*"]}}`, tags("x", "environment"), true},
		{"ForAllValues StringNotEquals", `{"ForAllValues:StringNotEquals":{"aws:TagKeys":["secret"]}}`, tags("a", "b"), true},
		{"ForAllValues StringNotEquals hit", `{"ForAllValues:StringNotEquals":{"aws:TagKeys":["secret"]}}`, tags("a", "secret"), false},
		{"ForAnyValue StringNotEquals", `{"ForAnyValue:StringNotEquals":{"aws:TagKeys":["secret"]}}`, tags("secret", "b"), true},
		{"multi-valued without qualifier any", `{"StringEquals":{"aws:TagKeys":"b"}}`, tags("a", "b"), true},
		{"multi-valued negated without qualifier", `{"StringNotEquals":{"aws:TagKeys":"b"}}`, tags("a", "b"), false},
	})
}

func TestConditionArn(t *testing.T) {
	src := func(v string) map[string][]string { return kv("aws:SourceArn", v) }
	runCond(t, []condCase{
		{"ArnLike per part", `{"ArnLike":{"aws:SourceArn":"arn:aws:s3:::bucket-*"}}`, src("arn:aws:s3:::bucket-1"), true},
		{"ArnLike wrong service", `{"ArnLike":{"aws:SourceArn":"arn:aws:s3:::bucket-*"}}`, src("arn:aws:sqs:::bucket-1"), false},
		{"ArnLike region star does not span", `{"ArnLike":{"aws:SourceArn":"arn:aws:lambda:*:function:f"}}`, src("arn:aws:lambda:us-east-1:1:function:f"), false},
		{"ArnLike last part spans colon", `{"ArnLike":{"aws:SourceArn":"arn:aws:lambda:*:*:function:*"}}`, src("arn:aws:lambda:us-east-1:1:function:f:live"), true},
		{"ArnEquals behaves like ArnLike", `{"ArnEquals":{"aws:SourceArn":"arn:aws:execute-api:us-east-1:1:api/*"}}`, src("arn:aws:execute-api:us-east-1:1:api/stage/GET/x"), true},
		{"ArnEquals exact", `{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:user/alice"}}`, nil, true},
		{"ArnNotEquals", `{"ArnNotEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:user/bob"}}`, nil, true},
		{"ArnNotLike matching", `{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:user/*"}}`, nil, false},
		{"ArnNotLike missing key", `{"ArnNotLike":{"aws:SourceArn":"arn:aws:iam::*:user/*"}}`, nil, true},
		{"ArnLike missing key", `{"ArnLike":{"aws:SourceArn":"arn:*"}}`, nil, false},
		{"ArnLike not an ARN", `{"ArnLike":{"aws:SourceArn":"arn:aws:s3:::b"}}`, src("bucket"), false},
		{"ArnLikeIfExists missing", `{"ArnLikeIfExists":{"aws:SourceArn":"arn:aws:s3:::b"}}`, nil, true},
	})
}

func TestConditionNumericDateBool(t *testing.T) {
	n := func(v string) map[string][]string { return kv("aws:MultiFactorAuthAge", v) }
	now := func(v string) map[string][]string { return kv("aws:CurrentTime", v) }
	runCond(t, []condCase{
		{"NumericEquals", `{"NumericEquals":{"aws:MultiFactorAuthAge":"10"}}`, n("10"), true},
		{"NumericEquals float", `{"NumericEquals":{"aws:MultiFactorAuthAge":10}}`, n("10.0"), true},
		{"NumericNotEquals", `{"NumericNotEquals":{"aws:MultiFactorAuthAge":"10"}}`, n("11"), true},
		{"NumericNotEquals equal", `{"NumericNotEquals":{"aws:MultiFactorAuthAge":"10"}}`, n("10"), false},
		{"NumericNotEquals missing", `{"NumericNotEquals":{"aws:MultiFactorAuthAge":"10"}}`, nil, true},
		{"NumericLessThan", `{"NumericLessThan":{"aws:MultiFactorAuthAge":"3600"}}`, n("100"), true},
		{"NumericLessThan equal", `{"NumericLessThan":{"aws:MultiFactorAuthAge":"3600"}}`, n("3600"), false},
		{"NumericLessThanEquals", `{"NumericLessThanEquals":{"aws:MultiFactorAuthAge":"3600"}}`, n("3600"), true},
		{"NumericGreaterThan", `{"NumericGreaterThan":{"aws:MultiFactorAuthAge":"5"}}`, n("6"), true},
		{"NumericGreaterThan less", `{"NumericGreaterThan":{"aws:MultiFactorAuthAge":"5"}}`, n("4"), false},
		{"NumericGreaterThanEquals", `{"NumericGreaterThanEquals":{"aws:MultiFactorAuthAge":"5"}}`, n("5"), true},
		{"Numeric missing", `{"NumericLessThan":{"aws:MultiFactorAuthAge":"5"}}`, nil, false},
		{"Numeric garbage value", `{"NumericLessThan":{"aws:MultiFactorAuthAge":"5"}}`, n("abc"), false},
		{"NumericLessThanIfExists missing", `{"NumericLessThanIfExists":{"aws:MultiFactorAuthAge":"5"}}`, nil, true},
		{"DateLessThan ISO", `{"DateLessThan":{"aws:CurrentTime":"2027-01-01T00:00:00Z"}}`, now("2026-11-26T05:00:00Z"), true},
		{"DateLessThan past", `{"DateLessThan":{"aws:CurrentTime":"2026-01-01T00:00:00Z"}}`, now("2026-11-26T05:00:00Z"), false},
		{"DateGreaterThan epoch", `{"DateGreaterThan":{"aws:EpochTime":"1700000000"}}`, kv("aws:EpochTime", "1795556469"), true},
		{"DateGreaterThan epoch vs ISO", `{"DateGreaterThan":{"aws:CurrentTime":1700000000}}`, now("2026-11-26T05:00:00Z"), true},
		{"DateEquals", `{"DateEquals":{"aws:CurrentTime":"2026-11-26T05:00:00Z"}}`, now("2026-11-26T05:00:00+00:00"), true},
		{"DateNotEquals", `{"DateNotEquals":{"aws:CurrentTime":"2026-11-26T05:00:00Z"}}`, now("2026-11-26T05:00:01Z"), true},
		{"DateLessThanEquals", `{"DateLessThanEquals":{"aws:CurrentTime":"2026-11-26"}}`, now("2026-11-26T00:00:00Z"), true},
		{"DateGreaterThanEquals", `{"DateGreaterThanEquals":{"aws:CurrentTime":"2026-11-26T05:00Z"}}`, now("2026-11-26T05:00:00Z"), true},
		{"Date missing", `{"DateGreaterThan":{"aws:CurrentTime":"2026-11-26T05:00Z"}}`, nil, false},
		{"Bool true", `{"Bool":{"aws:SecureTransport":"true"}}`, kv("aws:SecureTransport", "true"), true},
		{"Bool JSON true", `{"Bool":{"aws:SecureTransport":true}}`, kv("aws:SecureTransport", "TRUE"), true},
		{"Bool false mismatch", `{"Bool":{"aws:SecureTransport":"true"}}`, kv("aws:SecureTransport", "false"), false},
		{"Bool missing", `{"Bool":{"aws:SecureTransport":"false"}}`, nil, false},
		{"BoolIfExists missing", `{"BoolIfExists":{"aws:SecureTransport":"true"}}`, nil, true},
		{"BinaryEquals", `{"BinaryEquals":{"x:bin":"QmluYXJ5VmFsdWU="}}`, kv("x:bin", "QmluYXJ5VmFsdWU="), true},
		{"BinaryEquals mismatch", `{"BinaryEquals":{"x:bin":"QmluYXJ5VmFsdWU="}}`, kv("x:bin", "AAAA"), false},
		{"Null true absent", `{"Null":{"aws:SourceIp":"true"}}`, nil, true},
		{"Null true present", `{"Null":{"aws:SourceIp":"true"}}`, kv("aws:SourceIp", "1.2.3.4"), false},
		{"Null false present", `{"Null":{"aws:SourceIp":"false"}}`, kv("aws:SourceIp", "1.2.3.4"), true},
		{"Null false absent", `{"Null":{"aws:SourceIp":false}}`, nil, false},
		{"Null derived key", `{"Null":{"aws:username":"false"}}`, nil, true},
		{"IpAddress v4", `{"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}}`, kv("aws:SourceIp", "192.0.2.44"), true},
		{"IpAddress v6", `{"IpAddress":{"aws:SourceIp":"2001:DB8::/32"}}`, kv("aws:SourceIp", "2001:db8::1"), true},
		{"IpAddress v4 vs v6 policy", `{"IpAddress":{"aws:SourceIp":"2001:db8::/32"}}`, kv("aws:SourceIp", "192.0.2.1"), false},
		{"NotIpAddress", `{"NotIpAddress":{"aws:SourceIp":"192.0.2.0/24"}}`, kv("aws:SourceIp", "10.0.0.1"), true},
		{"NotIpAddress inside", `{"NotIpAddress":{"aws:SourceIp":"192.0.2.0/24"}}`, kv("aws:SourceIp", "192.0.2.1"), false},
		{"NotIpAddressIfExists missing", `{"NotIpAddressIfExists":{"aws:SourceIp":"192.0.2.0/24"}}`, nil, true},
		{"IpAddressIfExists missing", `{"IpAddressIfExists":{"aws:SourceIp":"192.0.2.0/24"}}`, nil, true},
		{"IpAddress missing", `{"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}}`, nil, false},
		{"function url keys", `{"StringEquals":{"lambda:FunctionUrlAuthType":"AWS_IAM"},"Bool":{"lambda:InvokedViaFunctionUrl":"true"}}`,
			map[string][]string{"Lambda:FunctionUrlAuthType": {"AWS_IAM"}, "lambda:invokedviafunctionurl": {"true"}}, true},
	})
}

func TestParsePolicyErrors(t *testing.T) {
	cases := []struct{ name, doc, want string }{
		{"not json", `{`, "Syntax errors in policy"},
		{"not object", `[]`, "must be a JSON object"},
		{"trailing", `{"Statement":[]} x`, "trailing data"},
		{"bad version", `{"Version":"2020-01-01","Statement":[]}`, "Version"},
		{"unknown top field", `{"Statment":[]}`, "Unknown field Statment"},
		{"missing statement", `{"Version":"2012-10-17"}`, "Missing required field Statement"},
		{"statement not object", `{"Statement":["x"]}`, "Statement[0]: a statement must be an object"},
		{"missing effect", `{"Statement":{"Action":"*","Resource":"*"}}`, "Statement[0]: Missing required field Effect"},
		{"lowercase effect", `{"Statement":{"Effect":"allow","Action":"*","Resource":"*"}}`, "Statement[0].Effect: Invalid effect: allow"},
		{"missing action", `{"Statement":{"Effect":"Allow","Resource":"*"}}`, "Missing required field Action"},
		{"action and notaction", `{"Statement":{"Effect":"Allow","Action":"*","NotAction":"*"}}`, "both Action and NotAction"},
		{"action without vendor", `{"Statement":{"Effect":"Allow","Action":"GetFunction"}}`, "prefaced by a vendor"},
		{"empty action list", `{"Statement":{"Effect":"Allow","Action":[]}}`, "must contain actions"},
		{"action number", `{"Statement":{"Effect":"Allow","Action":[1]}}`, "Statement[0].Action: expected a string"},
		{"resource and notresource", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","NotResource":"*"}}`, "both Resource and NotResource"},
		{"principal and notprincipal", `{"Statement":{"Effect":"Allow","Action":"*","Principal":"*","NotPrincipal":"*"}}`, "both Principal and NotPrincipal"},
		{"bad principal string", `{"Statement":{"Effect":"Allow","Action":"*","Principal":"alice"}}`, "Invalid principal"},
		{"bad principal type", `{"Statement":{"Effect":"Allow","Action":"*","Principal":{"User":"x"}}}`, "unknown principal type"},
		{"wildcard principal arn", `{"Statement":{"Effect":"Allow","Action":"*","Principal":{"AWS":"arn:aws:iam::1:user/*"}}}`, "wildcards are not allowed"},
		{"bad account", `{"Statement":{"Effect":"Allow","Action":"*","Principal":{"AWS":"12345"}}}`, "Invalid principal"},
		{"unknown statement field", `{"Statement":{"Effect":"Allow","Action":"*","Resources":"*"}}`, "Statement[0]: Unknown field Resources"},
		{"duplicate sid", `{"Statement":[{"Sid":"a","Effect":"Allow","Action":"*"},{"Sid":"a","Effect":"Allow","Action":"*"}]}`, "must be unique"},
		{"unknown operator", `{"Statement":{"Effect":"Allow","Action":"*","Condition":{"StringEqualz":{"a:b":"c"}}}}`, "Statement[0].Condition.StringEqualz: Invalid Condition type : StringEqualz"},
		{"bad set qualifier", `{"Statement":{"Effect":"Allow","Action":"*","Condition":{"ForSomeValues:StringEquals":{"a:b":"c"}}}}`, "Invalid Condition type"},
		{"condition not object", `{"Statement":{"Effect":"Allow","Action":"*","Condition":"x"}}`, "Condition must be an object"},
		{"condition key without vendor", `{"Statement":{"Effect":"Allow","Action":"*","Condition":{"StringEquals":{"SourceIp":"c"}}}}`, "condition key"},
		{"bad number", `{"Statement":{"Effect":"Allow","Action":"*","Condition":{"NumericLessThan":{"a:b":"ten"}}}}`, "invalid number"},
		{"bad date", `{"Statement":{"Effect":"Allow","Action":"*","Condition":{"DateLessThan":{"a:b":"tomorrow"}}}}`, "invalid date"},
		{"bad cidr", `{"Statement":{"Effect":"Allow","Action":"*","Condition":{"IpAddress":{"aws:SourceIp":"300.1.1.1/8"}}}}`, "invalid IP"},
		{"bad bool", `{"Statement":{"Effect":"Allow","Action":"*","Condition":{"Bool":{"a:b":"yes"}}}}`, "invalid boolean"},
		{"null condition value", `{"Statement":{"Effect":"Allow","Action":"*","Condition":{"StringEquals":{"a:b":null}}}}`, "condition value"},
		{"empty condition values", `{"Statement":{"Effect":"Allow","Action":"*","Condition":{"StringEquals":{"a:b":[]}}}}`, "at least one value"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePolicy([]byte(tc.doc))
			if err == nil {
				t.Fatalf("no error for %s", tc.doc)
			}
			if _, ok := err.(*PolicyError); !ok {
				t.Fatalf("error %T is not *PolicyError", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func TestParsePolicyShapes(t *testing.T) {
	p := mustParse(t, `{"Version":"2012-10-17","Id":"default","Statement":{"Sid":"s","Effect":"Deny",
		"NotPrincipal":{"AWS":["111122223333","arn:aws:iam::444455556666:user/bob"],"Service":"s3.amazonaws.com"},
		"NotAction":"lambda:Get*","NotResource":["arn:aws:lambda:*:*:function:a","arn:aws:lambda:*:*:function:b"],
		"Condition":{"ForAnyValue:StringLikeIfExists":{"aws:TagKeys":["a*",1,true]}}}}`)
	if p.ID != "default" || len(p.Statements) != 1 {
		t.Fatalf("policy %+v", p)
	}
	s := p.Statements[0]
	if s.Sid != "s" || s.Effect != Deny || s.NotPrincipal == nil || s.Principal != nil {
		t.Fatalf("statement %+v", s)
	}
	if got := s.NotPrincipal.AWS; len(got) != 2 || got[0] != "arn:aws:iam::111122223333:root" {
		t.Errorf("NotPrincipal.AWS %v", got)
	}
	if len(s.NotActions) != 1 || len(s.NotResources) != 2 || len(s.Conditions) != 1 {
		t.Errorf("statement %+v", s)
	}
	c := s.Conditions[0]
	if c.set != setAny || !c.ifExists || c.op != opStringLike || len(c.Values) != 3 || c.Values[1] != "1" || c.Values[2] != "true" {
		t.Errorf("condition %+v", c)
	}
	if !p.HasPrincipal() {
		t.Error("HasPrincipal false")
	}
	if string(p.Raw()) == "" {
		t.Error("Raw empty")
	}
	if mustParse(t, `{"Statement":[]}`).HasPrincipal() {
		t.Error("empty policy has a principal")
	}
	// Statement labels.
	q := mustParse(t, stmts(`{"Effect":"Allow","Action":"*"}`, `{"Sid":"x","Effect":"Allow","Action":"*"}`))
	if q.Statements[0].Label() != "Statement[0]" || q.Statements[1].Label() != "x" {
		t.Errorf("labels %q %q", q.Statements[0].Label(), q.Statements[1].Label())
	}
}
