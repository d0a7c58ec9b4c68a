package server

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/furl/furl/internal/config"
)

func testConfig(t *testing.T) config.Config {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.RootAccessKeyID, cfg.RootSecretAccessKey = "AKIAFURLTESTROOT0000", "furl-test-secret"
	return cfg
}

// TestNewFailsWithoutPanic: every startup failure is an error, never a nil-pointer panic in
// New's own cleanup.
func TestNewFailsWithoutPanic(t *testing.T) {
	t.Run("data dir is a file", func(t *testing.T) {
		cfg := testConfig(t)
		cfg.DataDir = filepath.Join(cfg.DataDir, "file")
		if err := os.WriteFile(cfg.DataDir, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := New(context.Background(), cfg, slog.New(slog.DiscardHandler))
		if err == nil || s != nil {
			t.Fatalf("New = %v, %v; want an error", s, err)
		}
	})
	t.Run("interrupted", func(t *testing.T) {
		cfg := testConfig(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		s, err := New(ctx, cfg, slog.New(slog.DiscardHandler))
		if err == nil || s != nil {
			t.Fatalf("New = %v, %v; want an error", s, err)
		}
		if !strings.Contains(err.Error(), "interrupted during startup") {
			t.Errorf("error %q does not say startup was interrupted", err)
		}
	})
}

// TestDataDirLock: a second server on the same data dir fails at once with a clear error, and
// the first keeps its lock until it closes.
func TestDataDirLock(t *testing.T) {
	cfg := testConfig(t)
	ctx, cancel := context.WithCancel(context.Background())
	first, err := New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	envs := filepath.Join(cfg.DataDir, "envs")
	_ = os.MkdirAll(envs, 0o700)
	marker := filepath.Join(envs, "keep")
	if err := os.WriteFile(marker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	second, err := New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if !errors.Is(err, ErrDataDirBusy) || second != nil {
		t.Fatalf("second New = %v, %v; want ErrDataDirBusy", second, err)
	}
	if !strings.Contains(err.Error(), "pid") || !strings.Contains(err.Error(), cfg.DataDir) {
		t.Errorf("error %q does not name the holder and the dir", err)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("the second server touched the first's environments: %v", err)
	}
	// Released on shutdown: a third starts once the first is gone.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- first.Serve(ctx, ln) }()
	cancel()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Serve did not return")
	}
	third, err := New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("after the first closed: %v", err)
	}
	_ = third.close(context.Background())
}

// TestFileModes: the data dir is 0700 and the files holding secrets and logs are 0600.
func TestFileModes(t *testing.T) {
	cfg := testConfig(t)
	cfg.DataDir = filepath.Join(cfg.DataDir, "data")
	cfg.RootAccessKeyID, cfg.RootSecretAccessKey = "", "" // generate the root credentials file
	s, err := New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.close(context.Background())
	check := func(path string, want fs.FileMode) {
		t.Helper()
		fi, err := os.Stat(path)
		if err != nil {
			t.Error(err)
			return
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %04o, want %04o", path, got, want)
		}
	}
	check(cfg.DataDir, 0o700)
	for _, f := range []string{"furl.db", "furl.db-wal", "furl.db-shm", "root-credentials", "furl.lock"} {
		check(filepath.Join(cfg.DataDir, f), 0o600)
	}
	check(filepath.Join(cfg.DataDir, "logs"), 0o700)
}
