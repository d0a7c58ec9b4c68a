package bootstraps

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/furl/furl/internal/pool"
)

func TestNewWritesScripts(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "runtimes")
	s, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{PythonScript, NodeScript} {
		want, _ := scripts.ReadFile(name)
		got, err := os.ReadFile(filepath.Join(s.Dir(), name))
		if err != nil || string(got) != string(want) {
			t.Errorf("%s not written: %v", name, err)
		}
	}
	// A second New over a modified file restores it; an unchanged one is left alone.
	p := filepath.Join(dir, PythonScript)
	if err := os.WriteFile(p, []byte("tampered"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := New(dir); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); string(got) == "tampered" {
		t.Error("script not rewritten")
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "python"))
	if len(entries) != 2 { // bootstrap.py and furl_lambda_runtime
		t.Errorf("leftover files: %v", entries)
	}
}

func TestCommand(t *testing.T) {
	t.Parallel()
	s, err := NewWithOptions(t.TempDir(), Options{Python: "/bin/sh", Node: "/bin/sh"}) // any existing non-script executable
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		runtime  string
		wantArgv []string // after argv[0]
		wantEnv  []string
		wantErr  bool
	}{
		{"python3.8", []string{"-S", filepath.Join(s.Dir(), PythonScript), "app.handler"}, []string{"AWS_EXECUTION_ENV=AWS_Lambda_python3.8"}, false},
		{"python3.13", []string{"-S", filepath.Join(s.Dir(), PythonScript), "app.handler"}, []string{"AWS_EXECUTION_ENV=AWS_Lambda_python3.13"}, false},
		{"nodejs18.x", []string{filepath.Join(s.Dir(), NodeScript), "app.handler"}, []string{"AWS_EXECUTION_ENV=AWS_Lambda_nodejs18.x", "NODE_PATH=/task"}, false},
		{"nodejs22.x", []string{filepath.Join(s.Dir(), NodeScript), "app.handler"}, []string{"AWS_EXECUTION_ENV=AWS_Lambda_nodejs22.x"}, false},
		{"python2.7", nil, nil, true},
		{"nodejs16.x", nil, nil, true},
		{"provided.al2023", nil, nil, true},
		{"", nil, nil, true},
	} {
		t.Run(tc.runtime, func(t *testing.T) {
			argv, env, err := s.Command(tc.runtime, "app.handler", "/task")
			if tc.wantErr {
				var ee *pool.EntrypointError
				if !errors.As(err, &ee) || ee.Runtime != tc.runtime {
					t.Fatalf("err = %v, want *pool.EntrypointError", err)
				}
				if Supports(tc.runtime) {
					t.Errorf("Supports(%q) = true", tc.runtime)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !Supports(tc.runtime) {
				t.Errorf("Supports(%q) = false", tc.runtime)
			}
			if argv[0] != "/bin/sh" || !slices.Equal(argv[1:], tc.wantArgv) {
				t.Errorf("argv = %q", argv)
			}
			for _, e := range tc.wantEnv {
				if !slices.Contains(env, e) {
					t.Errorf("env %q lacks %q", env, e)
				}
			}
		})
	}
}

func TestMissingInterpreter(t *testing.T) {
	t.Parallel()
	s, err := NewWithOptions(t.TempDir(), Options{Python: "/nonexistent/python3", Node: "/nonexistent/node"})
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range []string{"python3.12", "nodejs20.x"} {
		_, _, err := s.Command(rt, "app.handler", "/task")
		var ee *pool.EntrypointError
		if !errors.As(err, &ee) || !strings.Contains(ee.Reason, "interpreter") {
			t.Errorf("%s: err = %v", rt, err)
		}
	}
}

func TestRuntimes(t *testing.T) {
	t.Parallel()
	got := Runtimes()
	for _, rt := range []string{"python3.8", "python3.9", "python3.10", "python3.11", "python3.12", "python3.13", "python3.14", "nodejs18.x", "nodejs20.x", "nodejs22.x", "nodejs24.x"} {
		if !slices.Contains(got, rt) {
			t.Errorf("Runtimes() lacks %s", rt)
		}
	}
}

// TestInterpreterLookupRetried: a failed interpreter lookup is not remembered; once the
// interpreter appears, the next Command finds it.
func TestInterpreterLookupRetried(t *testing.T) {
	t.Parallel()
	bin := t.TempDir()
	py, node := filepath.Join(bin, "python3"), filepath.Join(bin, "node")
	s, err := NewWithOptions(t.TempDir(), Options{Python: py, Node: node})
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range []string{"python3.12", "nodejs20.x"} {
		if _, _, err := s.Command(rt, "app.handler", "/task"); err == nil {
			t.Fatalf("%s: no error before the interpreter exists", rt)
		}
	}
	sh, err := os.ReadFile("/bin/sh") // an executable that is not a "#!" script
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{py, node} {
		if err := os.WriteFile(p, sh, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for rt, want := range map[string]string{"python3.12": py, "nodejs20.x": node} {
		argv, _, err := s.Command(rt, "app.handler", "/task")
		if err != nil || argv[0] != want {
			t.Errorf("%s: argv %q err %v, want %s", rt, argv, err, want)
		}
	}
}
