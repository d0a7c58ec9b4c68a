package server

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/furl/furl/internal/bootstraps"
	"github.com/furl/furl/internal/functions"
	"github.com/furl/furl/internal/pool"
)

// TestEveryAcceptedRuntimeLaunches: every runtime CreateFunction accepts either starts (the
// launcher gives a command) or is refused by runtimeAvailable — never accepted and then failed
// with Runtime.InvalidEntrypoint "unsupported runtime" (python3.14 and nodejs24.x once were).
func TestEveryAcceptedRuntimeLaunches(t *testing.T) {
	boots, err := bootstraps.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	task := t.TempDir()
	if err := os.WriteFile(filepath.Join(task, "bootstrap"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	launch := pool.DefaultLauncher{Managed: boots}
	avail := runtimeAvailable(boots)
	for _, rt := range functions.SupportedRuntimes() {
		_, _, err := launch.Command(rt, "app.handler", task)
		var ee *pool.EntrypointError
		if errors.As(err, &ee) && strings.Contains(ee.Reason, "unsupported runtime") {
			t.Errorf("%s: accepted by CreateFunction but the launcher does not know it", rt)
		}
		if aerr := avail(context.Background(), rt); (aerr == nil) != (err == nil) {
			t.Errorf("%s: runtimeAvailable = %v but launcher = %v", rt, aerr, err)
		}
	}
}
