package identity

import (
	"os"
	"path/filepath"
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

func TestEnsureRootCredentials(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	id, secret, created, err := EnsureRootCredentials(dir)
	if err != nil || !created {
		t.Fatalf("first call: %v, created=%v", err, created)
	}
	if len(id) != 20 || !strings.HasPrefix(id, "AKIA") || len(secret) != 40 {
		t.Errorf("pair = %s / %s", id, secret)
	}
	fi, err := os.Stat(filepath.Join(dir, RootCredentialsFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode = %v, %v", fi.Mode(), err)
	}
	id2, secret2, created2, err := EnsureRootCredentials(dir)
	if err != nil || created2 || id2 != id || secret2 != secret {
		t.Errorf("second call = %s %s %v %v", id2, secret2, created2, err)
	}
	if id3, secret3, err := ReadRootCredentials(dir); err != nil || id3 != id || secret3 != secret {
		t.Errorf("ReadRootCredentials = %s %s %v", id3, secret3, err)
	}
	// A file without a key pair is an error, never overwritten.
	if err := os.WriteFile(filepath.Join(dir, RootCredentialsFile), []byte("[default]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, created, err := EnsureRootCredentials(dir); err == nil || created {
		t.Errorf("EnsureRootCredentials over a broken file: created=%v, %v", created, err)
	}
}
