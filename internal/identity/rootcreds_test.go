package identity

import (
	"strings"
	"testing"
)

func TestParseCredentialsFile(t *testing.T) {
	tests := []struct {
		in         string
		id, secret string
		wantErr    bool
	}{
		{"[default]\naws_access_key_id = AKIA1\naws_secret_access_key = s/e+c=\n", "AKIA1", "s/e+c=", false},
		{"# comment = x\naws_secret_access_key=abc\naws_access_key_id=AKIA2", "AKIA2", "abc", false},
		{"[default]\naws_access_key_id = AKIA1\n", "", "", true},
		{"", "", "", true},
	}
	for _, tt := range tests {
		id, secret, err := parseCredentialsFile([]byte(tt.in))
		if (err != nil) != tt.wantErr || id != tt.id || secret != tt.secret {
			t.Errorf("parseCredentialsFile(%q) = %q, %q, %v", tt.in, id, secret, err)
		}
	}
}

func FuzzParseCredentialsFile(f *testing.F) {
	f.Add("[default]\naws_access_key_id = AKIA1\naws_secret_access_key = s\n")
	f.Add("aws_access_key_id=\n=\n#")
	f.Fuzz(func(t *testing.T, in string) {
		id, secret, err := parseCredentialsFile([]byte(in))
		if err == nil && (id == "" || secret == "" || strings.ContainsAny(id+secret, "\n")) {
			t.Fatalf("accepted %q as %q / %q", in, id, secret)
		}
	})
}
