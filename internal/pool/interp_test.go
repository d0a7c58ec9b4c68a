package pool

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// A python3 found on a PATH under /tmp (which the sandbox replaces with its own tmpfs) that is a
// symlink into another tree runs through its resolved path, and that tree is bound.
func TestInterpreterBindsResolvesSymlinkUnderTmp(t *testing.T) {
	root, err := os.MkdirTemp("/tmp", "furl-interp-")
	if err != nil {
		t.Skip(err)
	}
	defer os.RemoveAll(root)
	real := filepath.Join(root, "opt", "py", "bin", "python3")
	if err := os.MkdirAll(filepath.Dir(real), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(real, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(root, "bin", "python3")
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	argv0, ro := interpreterBinds(link)
	if argv0 != real {
		t.Errorf("argv0 = %q, want %q", argv0, real)
	}
	if len(ro) != 0 { // both trees are under /tmp: binding them would be hidden by the tmpfs
		t.Errorf("binds = %q, want none under /tmp", ro)
	}

	for _, tc := range []struct {
		argv0 string
		want  []string
	}{
		{"/var/runtime/python/bootstrap", nil},
		{"/usr/bin/true", nil},
		{"/opt/pyenv/versions/3.12/bin/python3", []string{"/opt/pyenv/versions/3.12"}},
	} {
		got, ro := interpreterBinds(tc.argv0)
		if got != tc.argv0 || !slices.Equal(ro, tc.want) {
			t.Errorf("interpreterBinds(%q) = %q, %q; want the same path, %q", tc.argv0, got, ro, tc.want)
		}
	}
}
