package functions

import (
	"testing"

	"github.com/furl/furl/internal/iam"
)

// FuzzNormalizePolicy: every document the resource-policy parser accepts is stored in a shape
// that parses again, with a Sid and a resource on every statement; nothing panics.
func FuzzNormalizePolicy(f *testing.F) {
	for _, seed := range []string{
		`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunctionUrl","Condition":{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}}}`,
		`{"Statement":[{"Sid":"Statement1","Effect":"Deny","Principal":{"AWS":"*"},"NotAction":"lambda:Get*"},{"Effect":"Allow","Principal":"*","Action":"*","NotResource":"x"}]}`,
		`{"Version":"2008-10-17","Id":"mine","Statement":[{"Effect":"Allow","NotPrincipal":{"AWS":"123456789012"},"Action":["lambda:*"],"Resource":"*"}]}`,
	} {
		f.Add([]byte(seed))
	}
	const arn = "arn:aws:lambda:us-east-1:000000000000:function:f"
	f.Fuzz(func(t *testing.T, doc []byte) {
		if _, err := iam.ParseResourcePolicy(doc); err != nil {
			return
		}
		out, err := normalizePolicy(doc, arn)
		if err != nil {
			t.Fatalf("normalizePolicy(%s): %v", doc, err)
		}
		p, err := iam.ParseResourcePolicy(out)
		if err != nil {
			t.Fatalf("stored document does not parse: %v\n%s", err, out)
		}
		for _, st := range p.Statements {
			if st.Sid == "" || st.Resources == nil && st.NotResources == nil {
				t.Fatalf("statement without Sid or resource: %s", out)
			}
		}
	})
}
