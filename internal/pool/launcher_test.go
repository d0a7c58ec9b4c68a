package pool_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/furl/furl/internal/pool"
)

func TestDefaultLauncher(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, mode os.FileMode) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("bootstrap", 0o755)
	write("main", 0o755)
	write("noexec", 0o644)
	managed := pool.LauncherFunc(func(runtime, handler, taskRoot string) ([]string, []string, error) {
		if runtime == "python3.12" {
			return []string{"python3", "-m", "x", handler}, []string{"PYTHONPATH=" + taskRoot}, nil
		}
		return nil, nil, &pool.EntrypointError{Runtime: runtime, Reason: "nope"}
	})
	l := pool.DefaultLauncher{Managed: managed}
	tests := []struct {
		runtime, handler string
		want             string
		entrypointErr    bool
	}{
		{"provided.al2023", "anything", filepath.Join(dir, "bootstrap"), false},
		{"provided", "", filepath.Join(dir, "bootstrap"), false},
		{"go1.x", "main", filepath.Join(dir, "main"), false},
		{"go1.x", "missing", filepath.Join(dir, "bootstrap"), false},
		{"go1.x", "../etc/passwd", filepath.Join(dir, "bootstrap"), false},
		{"python3.12", "app.handler", "python3", false},
		{"nodejs20.x", "index.handler", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.runtime+"/"+tc.handler, func(t *testing.T) {
			argv, _, err := l.Command(tc.runtime, tc.handler, dir)
			var ee *pool.EntrypointError
			if tc.entrypointErr {
				if !errors.As(err, &ee) {
					t.Fatalf("got %v, want an EntrypointError", err)
				}
				return
			}
			if err != nil || argv[0] != tc.want {
				t.Fatalf("got %v %v, want %s", argv, err, tc.want)
			}
		})
	}
	empty := t.TempDir()
	os.WriteFile(filepath.Join(empty, "bootstrap"), []byte("x"), 0o644)
	var ee *pool.EntrypointError
	if _, _, err := l.Command("provided.al2", "", empty); !errors.As(err, &ee) {
		t.Errorf("non-executable bootstrap: %v", err)
	}
	if _, _, err := (pool.DefaultLauncher{}).Command("python3.12", "a.b", dir); !errors.As(err, &ee) {
		t.Errorf("no managed launcher: %v", err)
	}
	if _, _, err := l.Command("provided.al2", "", t.TempDir()); !errors.As(err, &ee) {
		t.Errorf("missing bootstrap: %v", err)
	}
}
