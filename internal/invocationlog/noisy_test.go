package invocationlog

import (
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A write that stalls (a slow or full disk; here a FIFO nobody reads) must not stall Append for
// other functions: the invoke path never waits on the disk.
func TestAppendNotBlockedByStalledWrite(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, 0, Limits{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	day := time.Now().UTC().Format(time.DateOnly)
	if err := os.MkdirAll(filepath.Join(dir, "slow"), 0o700); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "slow", day+".log")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("mkfifo:", err)
	}
	defer func() {
		// Unblock the writer: read the FIFO until the store is closed.
		go func() {
			f, err := os.Open(fifo)
			if err == nil {
				io.Copy(io.Discard, f)
				f.Close()
			}
		}()
		s.Close()
	}()
	s.Append(Event{Time: time.Now(), Function: "slow", Message: "stuck"})
	go s.Flush() // stalls opening the FIFO
	time.Sleep(300 * time.Millisecond)
	done := make(chan struct{})
	go func() {
		s.Append(Event{Time: time.Now(), Function: "other", Message: "hello"})
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Append blocked behind a stalled log write")
	}
}

// What was flushed is no longer referenced: a 50 MB print does not stay in memory.
func TestFlushReleasesBuffers(t *testing.T) {
	s, err := Open(t.TempDir(), 0, Limits{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	line := strings.Repeat("x", 1023)
	for i := 0; i < 50<<10; i++ {
		s.Append(Event{Time: time.Now(), Function: "noisy", Message: line[:len(line)-i%7] + string(rune('a'+i%26))})
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 8<<20 {
		t.Errorf("heap grew %d MB after 50 MB of logs were flushed", grown>>20)
	}
}
