package pool

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A staged copy is taken by the next environment (renamed, not copied), a fresh one is made
// on demand, old ones expire, and nothing is staged after Close.
func TestStagedCode(t *testing.T) {
	code := t.TempDir()
	if err := os.MkdirAll(filepath.Join(code, "lib"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{"bootstrap": "#!/bin/sh\n", "lib/a.txt": "a"} {
		if err := os.WriteFile(filepath.Join(code, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	work := t.TempDir()
	p := New(Config{WorkDir: work, IdleTimeout: time.Hour}, slog.New(slog.DiscardHandler), DefaultLauncher{}, nil)
	defer p.Close(context.Background())

	waitStaged := func(want bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
			p.staged.mu.Lock()
			_, ok := p.staged.ready[code]
			p.staged.mu.Unlock()
			if ok == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("staged = %v, want %v", ok, want)
			}
		}
	}
	check := func(dst string) {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dst, "lib", "a.txt"))
		if err != nil || string(b) != "a" {
			t.Fatalf("copy at %s: %q %v", dst, b, err)
		}
		if fi, err := os.Stat(filepath.Join(dst, "bootstrap")); err != nil || fi.Mode().Perm()&0o100 == 0 {
			t.Fatalf("bootstrap: %v %v", fi, err)
		}
	}

	p.Stage(code)
	waitStaged(true)
	p.Stage(code) // one is ready: no second copy
	dst := filepath.Join(t.TempDir(), "task")
	staged, err := p.placeCode(code, dst)
	if err != nil || !staged {
		t.Fatalf("placeCode: staged=%v err=%v", staged, err)
	}
	check(dst)
	dst2 := filepath.Join(t.TempDir(), "task")
	if staged, err := p.placeCode(code, dst2); err != nil || staged {
		t.Fatalf("placeCode without a staged copy: staged=%v err=%v", staged, err)
	}
	check(dst2)

	p.Stage(code)
	waitStaged(true)
	p.staged.mu.Lock()
	dir := p.staged.ready[code].dir
	p.staged.mu.Unlock()
	p.expireStaged(time.Now().Add(2*time.Hour), time.Hour)
	waitStaged(false)
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("expired copy still there: %v", err)
	}

	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.Stage(code)
	time.Sleep(20 * time.Millisecond)
	waitStaged(false)
	if ents, _ := os.ReadDir(work); len(ents) != 0 {
		t.Fatalf("work dir after Close: %v", ents)
	}
}
