package invocationlog

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func dirSize(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n += fi.Size()
		}
		return nil
	})
	return n
}

// The logs on disk stay under the per-function and total caps, the oldest lines going first.
func TestSizeCaps(t *testing.T) {
	dir := t.TempDir()
	lim := Limits{PerFunction: 256 << 10, Total: 400 << 10}
	s, err := Open(dir, 0, lim, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	line := strings.Repeat("x", 1000)
	t0 := time.Now()
	write := func(fn string, n int) {
		for i := 0; i < n; i++ {
			s.Append(Event{Time: t0.Add(time.Duration(i) * time.Microsecond), Function: fn, RequestID: "r", Message: fmt.Sprintf("%s %06d", line, i)})
			if i%100 == 99 {
				if err := s.Flush(); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := s.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	write("a", 1000) // ~1 MB
	slack := int64(64 << 10)
	if got := dirSize(t, filepath.Join(dir, "a")); got > lim.PerFunction+slack {
		t.Fatalf("function a holds %d bytes on disk, cap %d", got, lim.PerFunction)
	}
	evs, err := s.Since("a", time.Time{}, 0)
	if err != nil || len(evs) == 0 {
		t.Fatalf("since: %v, %d events", err, len(evs))
	}
	if first, last := evs[0].Message, evs[len(evs)-1].Message; strings.HasSuffix(first, " 000000") || !strings.HasSuffix(last, " 000999") {
		t.Errorf("kept %q .. %q: want the newest kept, the oldest dropped", first[len(first)-6:], last[len(last)-6:])
	}
	time.Sleep(20 * time.Millisecond) // b's files are newer than a's
	write("b", 250)
	if got := dirSize(t, dir); got > lim.Total+slack {
		t.Fatalf("store holds %d bytes on disk, cap %d", got, lim.Total)
	}
	if evs, _ := s.Since("b", time.Time{}, 0); len(evs) != 250 {
		t.Errorf("b kept %d of its 250 lines; a's older lines should have gone first", len(evs))
	}
	// A reopened store measures what is there and keeps enforcing.
	s.Close()
	s, err = Open(dir, 0, Limits{PerFunction: 64 << 10}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := dirSize(t, filepath.Join(dir, "a")); got > 64<<10+slack {
		t.Errorf("after reopening with a smaller cap a holds %d bytes", got)
	}
}

// With the disk full the store drops lines, says so once, and writes again once there is room.
func TestDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs")
	}
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("mount tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", mnt).Run() })
	var logBuf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logBuf, nil))
	s, err := Open(filepath.Join(mnt, "logs"), 0, Limits{}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Append(Event{Time: time.Now(), Function: "f", Message: "before"})
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	// Fill the disk.
	filler := filepath.Join(mnt, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	f.Close()
	line := strings.Repeat("y", 4000)
	for i := 0; i < 20; i++ {
		done := make(chan struct{})
		go func() {
			s.Append(Event{Time: time.Now(), Function: "f", Message: line})
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			t.Fatal("Append blocked on a full disk")
		}
		if err := s.Flush(); err != nil {
			t.Errorf("flush on a full disk returned %v; furl should note it once and go on", err)
		}
	}
	if n := strings.Count(logBuf.String(), "level=WARN"); n != 1 {
		t.Errorf("%d warnings for one disk-full episode, want 1:\n%s", n, logBuf.String())
	}
	// Free a little: small writes fit again, bigger ones do not; still one episode.
	if err := os.Truncate(filler, mustSize(t, filler)-16<<10); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		s.Append(Event{Time: time.Now(), Function: "f", Message: "s"})
		s.Flush()
		s.Append(Event{Time: time.Now(), Function: "f", Message: line}, Event{Time: time.Now(), Function: "f", Message: line})
		s.Flush()
	}
	if n := strings.Count(logBuf.String(), "level=WARN"); n != 1 {
		t.Errorf("%d warnings for one disk-full episode on a nearly full disk, want 1:\n%s", n, logBuf.String())
	}
	if strings.Contains(logBuf.String(), "writing logs again") {
		t.Errorf("episode ended while writes still fail:\n%s", logBuf.String())
	}
	os.Remove(filler)
	s.wmu.Lock()
	s.lastFail = time.Now().Add(-time.Minute) // as if the disk had been fine for a while
	s.wmu.Unlock()
	s.Append(Event{Time: time.Now(), Function: "f", Message: "after"})
	evs, err := s.Since("f", time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, ev := range evs {
		if len(ev.Message) < 10 && ev.Message != "s" {
			msgs = append(msgs, ev.Message)
		}
	}
	if strings.Join(msgs, ",") != "before,after" {
		t.Errorf("stored %v (and %d lines in all), want before,after with no torn lines", msgs, len(evs))
	}
	if !strings.Contains(logBuf.String(), "writing logs again") {
		t.Errorf("no note that writing works again:\n%s", logBuf.String())
	}
}

func mustSize(t *testing.T, name string) int64 {
	t.Helper()
	fi, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// FuzzSegName: parseSeg accepts exactly the names segName makes, and never panics.
func FuzzSegName(f *testing.F) {
	for _, s := range []string{"2026-12-04.log", "2026-12-04.000001.log", "2026-12-04.0.log", "2026-12-04..log", "x.log", "2026-12-04.-1.log", "2026-12-04.1e3.log"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		day, seq, ok := parseSeg(name)
		if !ok {
			return
		}
		if seq < 0 {
			t.Fatalf("%q: seq %d", name, seq)
		}
		if again, seq2, ok2 := parseSeg(segName(day, seq)); !ok2 || again != day || seq2 != seq {
			t.Fatalf("%q -> %q %d does not round-trip", name, day, seq)
		}
	})
}
