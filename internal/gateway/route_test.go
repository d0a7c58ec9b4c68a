package gateway

import (
	"strings"
	"testing"

	"github.com/furl/furl/internal/lambda"
)

func TestParseHost(t *testing.T) {
	tests := []struct {
		host, id, region string
		ok               bool
	}{
		{"abc.lambda-url.us-east-1.on.aws", "abc", "us-east-1", true},
		{"ABC.LAMBDA-URL.US-EAST-1.ON.AWS", "abc", "us-east-1", true},
		{"abc.lambda-url.us-east-1.localhost:9000", "abc", "us-east-1", true},
		{"abc.lambda-url.eu-west-1.example.com.", "abc", "eu-west-1", true},
		{"abc.lambda-url.us-east-1", "", "", false},
		{"abc.lambda-url.", "", "", false},
		{"lambda-url.us-east-1.on.aws", "", "", false},
		{".lambda-url.us-east-1.on.aws", "", "", false},
		{"abc.cell-1-lambda-url.us-east-1.on.aws", "", "", false},
		{"127.0.0.1:9000", "", "", false},
		{"[::1]:9000", "", "", false},
		{"", "", "", false},
	}
	for _, tt := range tests {
		id, region, ok := ParseHost(tt.host)
		if id != tt.id || region != tt.region || ok != tt.ok {
			t.Errorf("ParseHost(%q) = %q, %q, %v; want %q, %q, %v", tt.host, id, region, ok, tt.id, tt.region, tt.ok)
		}
	}
}

func TestParsePath(t *testing.T) {
	tests := []struct {
		path, id, prefix string
		ok               bool
	}{
		{"/lambda-url/abc", "abc", "/lambda-url/abc", true},
		{"/lambda-url/abc/", "abc", "/lambda-url/abc", true},
		{"/lambda-url/ABC/x%2Fy?q", "abc", "/lambda-url/ABC", true},
		{"/lambda-url/", "", "", false},
		{"/lambda-url//x", "", "", false},
		{"/other/abc", "", "", false},
	}
	for _, tt := range tests {
		id, prefix, ok := ParsePath(tt.path)
		if id != tt.id || prefix != tt.prefix || ok != tt.ok {
			t.Errorf("ParsePath(%q) = %q, %q, %v", tt.path, id, prefix, ok)
		}
	}
}

func TestOriginAllowed(t *testing.T) {
	c := &lambda.CORS{AllowOrigins: []string{"https://app.example.com", "https://*.test.dev", "http://localhost:*"}}
	for origin, want := range map[string]bool{
		"https://app.example.com":  true,
		"HTTPS://APP.EXAMPLE.COM":  true,
		"https://x.test.dev":       true,
		"https://test.dev":         false,
		"http://localhost:3000":    true,
		"https://app.example.com.": false,
		"":                         false,
		"null":                     false,
	} {
		if got := originAllowed(c, origin); got != want {
			t.Errorf("originAllowed(%q) = %v", origin, got)
		}
	}
	if !originAllowed(&lambda.CORS{AllowOrigins: []string{"*"}}, "https://any.where") {
		t.Error("* must allow any origin")
	}
}

func FuzzParseHost(f *testing.F) {
	for _, s := range []string{"abc.lambda-url.us-east-1.on.aws", "a.LAMBDA-URL.x.y:1", "[::1]:80", "a.lambda-url..", "..", "::.lAmBdA-url.0.0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		id, region, ok := ParseHost(host)
		if ok && (!validLabel(id, false) || !validLabel(region, true)) {
			t.Fatalf("ParseHost(%q) = %q %q", host, id, region)
		}
		if id, prefix, ok := ParsePath(host); ok && (id == "" || !strings.HasPrefix(host, prefix)) {
			t.Fatalf("ParsePath(%q) = %q %q", host, id, prefix)
		}
	})
}

func FuzzWildcard(f *testing.F) {
	f.Add("https://*.x.com", "https://a.x.com")
	f.Add("**", "")
	f.Add("0", "0")
	f.Add("a*a", "a")
	f.Fuzz(func(t *testing.T, pattern, s string) {
		got := wildcardMatch(pattern, s)
		if !strings.Contains(pattern, "*") && got != (pattern == s) {
			t.Fatalf("wildcardMatch(%q, %q) = %v without a wildcard", pattern, s, got)
		}
		if pattern == "*" && !got {
			t.Fatalf("* must match %q", s)
		}
	})
}
