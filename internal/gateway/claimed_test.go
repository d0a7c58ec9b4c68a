package gateway

import "testing"

func TestClaimedAuthorization(t *testing.T) {
	for in, want := range map[string]string{
		"AWS4-HMAC-SHA256 Credential=AKIA/20261204/us-east-1/lambda/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcdef": "AWS4-HMAC-SHA256 Credential=AKIA/20261204/us-east-1/lambda/aws4_request, SignedHeaders=host;x-amz-date, Signature=REDACTED",
		"AWS4-HMAC-SHA256 Signature=abc, Credential=x": "AWS4-HMAC-SHA256 Signature=REDACTED, Credential=x",
		"":             "",
		"Bearer token": "REDACTED",
	} {
		if got := claimedAuthorization(in); got != want {
			t.Errorf("claimedAuthorization(%q) = %q, want %q", in, got, want)
		}
	}
}
