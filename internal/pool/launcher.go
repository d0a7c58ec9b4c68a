package pool

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Launcher turns a function's runtime and handler into the command that starts its runtime
// process inside an environment. taskRoot is the environment's own copy of the code (also the
// process's working directory). argv[0] must be an absolute path or a name found on PATH. env
// holds extra "KEY=value" entries for the runtime (PYTHONPATH, NODE_PATH, AWS_EXECUTION_ENV, ...);
// the pool adds the platform variables of the Runtime API spec §3.1 itself and they win over
// these, except for PATH, LD_LIBRARY_PATH, LAMBDA_RUNTIME_DIR and AWS_EXECUTION_ENV, which a
// launcher may set.
//
// A launcher returns an *EntrypointError when the function cannot be started at all (missing or
// non-executable bootstrap, unknown runtime); the caller gets Runtime.InvalidEntrypoint.
type Launcher interface {
	Command(runtime, handler, taskRoot string) (argv []string, env []string, err error)
}

// EntrypointError says the runtime's entry point is missing or unusable
// (Runtime.InvalidEntrypoint).
type EntrypointError struct {
	Runtime string
	Reason  string
}

func (e *EntrypointError) Error() string {
	return "invalid entrypoint for " + e.Runtime + ": " + e.Reason
}

// LauncherFunc adapts a function to the Launcher interface.
type LauncherFunc func(runtime, handler, taskRoot string) ([]string, []string, error)

// Command implements Launcher.
func (f LauncherFunc) Command(runtime, handler, taskRoot string) ([]string, []string, error) {
	return f(runtime, handler, taskRoot)
}

// DefaultLauncher starts the runtimes whose entry point is in the package itself: provided,
// provided.al2, provided.al2023 (<taskRoot>/bootstrap) and go1.x (<taskRoot>/<handler>, falling
// back to <taskRoot>/bootstrap). Every other runtime (python*, nodejs*) goes to Managed; a nil
// Managed makes them fail with an *EntrypointError.
type DefaultLauncher struct {
	Managed Launcher
}

// Command implements Launcher.
func (d DefaultLauncher) Command(runtime, handler, taskRoot string) ([]string, []string, error) {
	switch {
	case runtime == "provided" || strings.HasPrefix(runtime, "provided."):
		p, err := executable(runtime, filepath.Join(taskRoot, "bootstrap"))
		if err != nil {
			return nil, nil, err
		}
		return []string{p}, nil, nil
	case runtime == "go1.x":
		if handler != "" && !strings.ContainsAny(handler, "/\\") && handler != "." && handler != ".." {
			if p, err := executable(runtime, filepath.Join(taskRoot, handler)); err == nil {
				return []string{p}, nil, nil
			}
		}
		p, err := executable(runtime, filepath.Join(taskRoot, "bootstrap"))
		if err != nil {
			return nil, nil, err
		}
		return []string{p}, nil, nil
	}
	if d.Managed == nil {
		return nil, nil, &EntrypointError{Runtime: runtime, Reason: "unsupported runtime"}
	}
	argv, env, err := d.Managed.Command(runtime, handler, taskRoot)
	if err != nil {
		return nil, nil, fmt.Errorf("launcher: %s: %w", runtime, err)
	}
	return argv, env, nil
}

func executable(runtime, path string) (string, error) {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "", &EntrypointError{Runtime: runtime, Reason: "Couldn't find valid bootstrap(s): [" + path + "]"}
	case err != nil:
		return "", &EntrypointError{Runtime: runtime, Reason: err.Error()}
	case fi.IsDir():
		return "", &EntrypointError{Runtime: runtime, Reason: path + " is a directory"}
	case fi.Mode().Perm()&0o111 == 0:
		return "", &EntrypointError{Runtime: runtime, Reason: "permission denied: " + path + " is not executable"}
	}
	return path, nil
}

// RuntimeDir is the managed launcher's bootstrap directory, if it has one.
func (d DefaultLauncher) RuntimeDir() string {
	if r, ok := d.Managed.(runtimeDirer); ok {
		return r.RuntimeDir()
	}
	return ""
}
