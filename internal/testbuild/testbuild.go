// Package testbuild builds the Go functions that tests run as real processes.
package testbuild

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Bootstrap builds the Go package pkg (an aws-lambda-go function) as <dir>/bootstrap in a new
// temporary directory, ready to be a provided runtime's code. remove deletes the directory.
func Bootstrap(pkg string) (dir string, remove func(), err error) {
	tmp, err := os.MkdirTemp("", "furl-testfn-")
	if err != nil {
		return "", nil, err
	}
	remove = func() { os.RemoveAll(tmp) }
	dir = filepath.Join(tmp, "fn")
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "bootstrap"), pkg)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		remove()
		return "", nil, fmt.Errorf("build %s: %w", pkg, err)
	}
	return dir, remove, nil
}

// Main is a TestMain body: it builds pkg into *dir, runs the tests and removes the build.
func Main(run func() int, pkg string, dir *string) int {
	d, remove, err := Bootstrap(pkg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer remove()
	*dir = d
	return run()
}
