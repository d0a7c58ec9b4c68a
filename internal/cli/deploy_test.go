package cli

import (
	"archive/zip"
	"bytes"
	"errors"
	"flag"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/furl/furl/internal/identity"
)

func TestZipDirKeepsModesAndLinks(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "bootstrap"), []byte("#!/bin/sh\n"), 0o755)
	os.MkdirAll(filepath.Join(dir, "lib"), 0o755)
	os.WriteFile(filepath.Join(dir, "lib", "a.py"), []byte("x = 1\n"), 0o644)
	os.Symlink("lib/a.py", filepath.Join(dir, "link.py"))
	os.MkdirAll(filepath.Join(dir, ".git"), 0o755)
	os.WriteFile(filepath.Join(dir, ".git", "HEAD"), []byte("ref"), 0o644)
	b, files, err := zipDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if files != 2 {
		t.Fatalf("files = %d, want 2", files)
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]fs.FileMode{}
	for _, f := range zr.File {
		got[f.Name] = f.Mode()
		if f.Name == "link.py" {
			rc, _ := f.Open()
			target, _ := io.ReadAll(rc)
			rc.Close()
			if string(target) != "lib/a.py" {
				t.Errorf("link target %q", target)
			}
		}
	}
	want := map[string]fs.FileMode{
		"bootstrap": 0o755, "lib/": fs.ModeDir | 0o755, "lib/a.py": 0o644, "link.py": fs.ModeSymlink | 0o777,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("entries (-want +got):\n%s", diff)
	}
	// Reproducible: the same tree gives the same bytes (and so the same CodeSha256).
	b2, _, _ := zipDir(dir)
	if !bytes.Equal(b, b2) {
		t.Fatal("zipDir is not reproducible")
	}
	if _, _, err := zipDir(filepath.Join(dir, "bootstrap")); err == nil {
		t.Fatal("zipDir accepted a file")
	}
}

func TestParseArgs(t *testing.T) {
	tests := []struct {
		args     []string
		wantPos  []string
		wantName string
		wantErr  error
	}{
		{[]string{"dir", "--name", "n"}, []string{"dir"}, "n", nil},
		{[]string{"--name", "n", "dir"}, []string{"dir"}, "n", nil},
		{[]string{"a", "--name=n", "b"}, []string{"a", "b"}, "n", nil},
		{[]string{"--bogus"}, nil, "", errUsage},
	}
	for _, tt := range tests {
		fs := flag.NewFlagSet("x", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		name := fs.String("name", "", "")
		pos, err := parseArgs(fs, tt.args)
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("%v: err = %v", tt.args, err)
			}
			continue
		}
		if err != nil || !cmp.Equal(pos, tt.wantPos) || *name != tt.wantName {
			t.Errorf("%v: pos %v name %q err %v", tt.args, pos, *name, err)
		}
	}
}

func TestCredentialsFromDataDir(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, identity.RootCredentialsFile), []byte("# generated\n[default]\naws_access_key_id = AKIAX\naws_secret_access_key = s3cret\n"), 0o600)
	cf := clientFlags{dataDir: dir}
	id, secret, err := cf.credentials(func(string) string { return "" })
	if err != nil || id != "AKIAX" || secret != "s3cret" {
		t.Fatalf("credentials = %q %q %v", id, secret, err)
	}
	env := map[string]string{"FURL_ROOT_ACCESS_KEY_ID": "AKIAENV", "FURL_ROOT_SECRET_ACCESS_KEY": "envsecret"}
	id, _, _ = cf.credentials(func(k string) string { return env[k] })
	if id != "AKIAENV" {
		t.Fatalf("env credentials not preferred: %s", id)
	}
	if _, _, err := (&clientFlags{dataDir: t.TempDir()}).credentials(func(string) string { return "" }); err == nil {
		t.Fatal("no error without credentials")
	}
}

func TestOneArg(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		want    string
		wantErr bool
	}{
		{[]string{"fn"}, "fn", false},
		{[]string{"--name", "n", "fn"}, "fn", false},
		{nil, "", true},
		{[]string{"a", "b"}, "", true},
	} {
		fs := flag.NewFlagSet("x", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		fs.String("name", "", "")
		usage := false
		fs.Usage = func() { usage = true }
		got, err := oneArg(fs, tc.args, "NAME")
		if tc.wantErr {
			if !errors.Is(err, errUsage) || !usage {
				t.Errorf("%v: err = %v, usage printed %v", tc.args, err, usage)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%v: %q %v, want %q", tc.args, got, err, tc.want)
		}
	}
}
