package server

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// lockFile is the file in the data dir a running furl holds an exclusive flock on.
const lockFile = "furl.lock"

// ErrDataDirBusy is returned by New when another furl holds the data dir.
var ErrDataDirBusy = errors.New("data dir is in use by another furl")

// lockDataDir takes the data dir's lock, so that two furls never share one data dir (the second
// would delete the first's environments). The lock is released when the returned file is closed
// or the process ends, however it ends.
func lockDataDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock data dir: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder := ""
		if b, rerr := os.ReadFile(path); rerr == nil {
			if pid := strings.TrimSpace(string(b)); pid != "" {
				holder = " (pid " + pid + ")"
			}
		}
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w%s: %s", ErrDataDirBusy, holder, dir)
		}
		return nil, fmt.Errorf("lock data dir %s: %w", dir, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}

// prepareDataDir creates dir (0700) when missing, and warns about a data dir or files in it
// that other local users can read: the database holds every IAM secret.
func prepareDataDir(dir string, log *slog.Logger) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("data dir %s: not a directory", dir)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		log.Warn("data dir is readable by other users; run chmod 700 on it", "dir", dir, "mode", fmt.Sprintf("%04o", perm))
	}
	return nil
}

// privateFiles are the data dir's files that hold secrets or function data.
var privateFiles = []string{"furl.db", "furl.db-wal", "furl.db-shm", "root-credentials"}

// warnWideFiles warns about secret-holding files in dir that others may read.
func warnWideFiles(dir string, log *slog.Logger) {
	for _, name := range privateFiles {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			continue
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			log.Warn("file in the data dir is readable by other users; run chmod 600 on it", "file", filepath.Join(dir, name), "mode", fmt.Sprintf("%04o", perm))
		}
	}
}

// createPrivate creates path empty with mode 0600 when it does not exist, so that a library that
// then opens it (SQLite, which gives its WAL and SHM files the database's mode) keeps it private.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.Close()
}
