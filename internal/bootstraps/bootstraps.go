// Package bootstraps holds furl's own bootstraps for the managed runtimes — a Python one
// (python3.8 … python3.14, on the machine's python3) and a Node.js one (nodejs18.x, 20.x, 22.x,
// 24.x, on the machine's node) — and turns a runtime and handler into the command that starts a
// runtime process. Both bootstraps speak the Lambda Runtime API and behave like AWS's runtime
// interface clients (awslambdaric, aws-lambda-ric): context objects, handler resolution, error
// bodies, log formats and, for Node, response streaming.
//
// The scripts are embedded in the binary and written out to a directory by New. A *Set
// implements pool.Launcher for python* and nodejs* runtimes.
package bootstraps

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/furl/furl/internal/pool"
)

//go:embed python/bootstrap.py python/furl_lambda_runtime/__init__.py python/furl_lambda_runtime/bootstrap.py
//go:embed node/bootstrap.cjs
var scripts embed.FS

// Paths of the scripts, relative to the Set's directory.
const (
	PythonScript = "python/bootstrap.py"
	NodeScript   = "node/bootstrap.cjs"
)

// pythonRuntimes and nodeRuntimes are the managed runtime names furl accepts.
var (
	pythonRuntimes = []string{"python3.8", "python3.9", "python3.10", "python3.11", "python3.12", "python3.13", "python3.14"}
	nodeRuntimes   = []string{"nodejs18.x", "nodejs20.x", "nodejs22.x", "nodejs24.x"}
)

// Runtimes returns the managed runtime names this package starts, Python first.
func Runtimes() []string {
	return append(append([]string(nil), pythonRuntimes...), nodeRuntimes...)
}

// Supports reports whether runtime is a managed runtime this package starts.
func Supports(runtime string) bool {
	return isPython(runtime) || isNode(runtime)
}

func isPython(runtime string) bool { return slices.Contains(pythonRuntimes, runtime) }
func isNode(runtime string) bool   { return slices.Contains(nodeRuntimes, runtime) }

// Options chooses the interpreters. Empty fields mean "python3" and "node" found on PATH.
type Options struct {
	// Python is the python3 interpreter. A wrapper script such as a pyenv shim is resolved once
	// to the real executable (sys.executable), which saves its start-up time on every cold start.
	Python string
	// Node is the node executable.
	Node string
}

// Set is a directory holding the written-out bootstraps, plus the interpreters that run them.
// It is safe for concurrent use.
type Set struct {
	dir  string
	opts Options

	mu     sync.Mutex
	python interpreter
	node   interpreter
}

// interpreter is a looked-up interpreter path; a failed lookup is retried next time.
type interpreter struct {
	path string
	err  error
	done bool
}

// New writes the embedded bootstraps into dir (created if needed) and returns the Set that
// starts them with the interpreters found on PATH.
func New(dir string) (*Set, error) {
	return NewWithOptions(dir, Options{})
}

// NewWithOptions is New with explicit interpreters.
func NewWithOptions(dir string, opts Options) (*Set, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("bootstraps: %w", err)
	}
	err = fs.WalkDir(scripts, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := scripts.ReadFile(name)
		if err != nil {
			return fmt.Errorf("read embedded %s: %w", name, err)
		}
		return writeFile(filepath.Join(abs, filepath.FromSlash(name)), data)
	})
	if err != nil {
		return nil, fmt.Errorf("bootstraps: %w", err)
	}
	return &Set{dir: abs, opts: opts}, nil
}

// writeFile writes data atomically (temp file + rename) unless the file already holds it.
func writeFile(path string, data []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	_, werr := f.Write(data)
	cerr := f.Close()
	if err := errors.Join(werr, cerr, os.Chmod(f.Name(), 0o644)); err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Dir returns the directory the bootstraps were written to.
func (s *Set) Dir() string { return s.dir }

// Resolve finds the interpreters now rather than on the first cold start. Missing interpreters
// are not an error here; Command reports them for the runtimes that need them.
func (s *Set) Resolve(ctx context.Context) {
	s.pythonPath(ctx)
	s.nodePath()
}

// Command implements pool.Launcher: the argv and extra environment that start runtime's
// bootstrap for handler in taskRoot (the process's working directory). Unknown runtimes and
// missing interpreters give a *pool.EntrypointError.
func (s *Set) Command(runtime, handler, taskRoot string) ([]string, []string, error) {
	switch {
	case isPython(runtime):
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		py, err := s.pythonPath(ctx)
		if err != nil {
			return nil, nil, &pool.EntrypointError{Runtime: runtime, Reason: err.Error()}
		}
		// -S: no site module (site-packages are added by the bootstrap without running .pth
		// import lines, which can cost more than the rest of the start-up).
		argv := []string{py, "-S", filepath.Join(s.dir, filepath.FromSlash(PythonScript)), handler}
		env := []string{
			"AWS_EXECUTION_ENV=AWS_Lambda_" + runtime,
			"LAMBDA_RUNTIME_DIR=" + filepath.Join(s.dir, "python"),
		}
		return argv, env, nil
	case isNode(runtime):
		node, err := s.nodePath()
		if err != nil {
			return nil, nil, &pool.EntrypointError{Runtime: runtime, Reason: err.Error()}
		}
		argv := []string{node, filepath.Join(s.dir, filepath.FromSlash(NodeScript)), handler}
		env := []string{
			"AWS_EXECUTION_ENV=AWS_Lambda_" + runtime,
			"LAMBDA_RUNTIME_DIR=" + filepath.Join(s.dir, "node"),
			"NODE_PATH=" + taskRoot,
		}
		return argv, env, nil
	}
	return nil, nil, &pool.EntrypointError{Runtime: runtime, Reason: "unsupported runtime"}
}

// Available reports whether runtime can start on this machine: nil when it is one of this
// package's runtimes and its interpreter is found, else an error naming what is missing.
func (s *Set) Available(ctx context.Context, runtime string) error {
	switch {
	case isPython(runtime):
		_, err := s.pythonPath(ctx)
		return err
	case isNode(runtime):
		_, err := s.nodePath()
		return err
	}
	return fmt.Errorf("%s is not a runtime furl's bootstraps start", runtime)
}

// Interpreter describes the interpreter behind a family of runtimes, for the start-up log.
type Interpreter struct {
	Runtimes []string // e.g. python3.8 … python3.14
	Path     string   // the executable ("" when missing)
	Version  string   // what it says its version is ("" when unknown)
	Err      error    // why it cannot be used
}

// Interpreters finds (if not yet found) and describes the Python and Node.js interpreters.
func (s *Set) Interpreters(ctx context.Context) []Interpreter {
	py := Interpreter{Runtimes: slices.Clone(pythonRuntimes)}
	py.Path, py.Err = s.pythonPath(ctx)
	if py.Err == nil {
		py.Version = version(ctx, py.Path, "-S", "-c", "import platform; print(platform.python_version())")
	}
	node := Interpreter{Runtimes: slices.Clone(nodeRuntimes)}
	node.Path, node.Err = s.nodePath()
	if node.Err == nil {
		node.Version = strings.TrimPrefix(version(ctx, node.Path, "--version"), "v")
	}
	return []Interpreter{py, node}
}

// version runs path with args and returns the first line it prints ("" on failure).
func version(ctx context.Context, path string, args ...string) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, args...).Output()
	if err != nil {
		return ""
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}

func (s *Set) pythonPath(ctx context.Context) (string, error) {
	return s.lookup(&s.python, func() (string, error) { return resolvePython(ctx, s.opts.Python) })
}

func (s *Set) nodePath() (string, error) {
	return s.lookup(&s.node, func() (string, error) { return resolveNode(s.opts.Node) })
}

// lookup returns in's path, running find while no lookup has succeeded yet.
func (s *Set) lookup(in *interpreter, find func() (string, error)) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !in.done {
		in.path, in.err = find()
		in.done = in.err == nil
	}
	return in.path, in.err
}

// resolveNode finds the node executable.
func resolveNode(name string) (string, error) {
	if name == "" {
		name = "node"
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("node interpreter: %w", err)
	}
	return absPath(p), nil
}

// resolvePython finds python3 and, when it is a wrapper script (pyenv shim), the interpreter
// it runs, so that cold starts do not pay for the wrapper.
func resolvePython(ctx context.Context, name string) (string, error) {
	if name == "" {
		name = "python3"
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("python interpreter: %w", err)
	}
	p = absPath(p)
	if !isScript(p) {
		return p, nil
	}
	out, err := exec.CommandContext(ctx, p, "-S", "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		return "", fmt.Errorf("python interpreter: resolve %s: %w", p, err)
	}
	real := strings.TrimSpace(string(out))
	if real == "" || !filepath.IsAbs(real) {
		return p, nil
	}
	return real, nil
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// isScript reports whether the file starts with "#!".
func isScript(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var b [2]byte
	n, _ := f.Read(b[:])
	return n == 2 && b[0] == '#' && b[1] == '!'
}

// RuntimeDir is the directory holding the bootstraps, bound at /var/runtime in a sandbox.
func (s *Set) RuntimeDir() string { return s.dir }
