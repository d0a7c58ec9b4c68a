package invocationlog

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestReportFormat(t *testing.T) {
	tests := []struct {
		name string
		rep  Report
		want string
	}{
		{"warm", Report{RequestID: "r1", Duration: 201670 * time.Microsecond, MemoryMB: 2048, MaxMemoryMB: 81},
			"REPORT RequestId: r1\tDuration: 201.67 ms\tBilled Duration: 202 ms\tMemory Size: 2048 MB\tMax Memory Used: 81 MB\t"},
		{"cold", Report{RequestID: "r2", Duration: 1500 * time.Microsecond, MemoryMB: 128, MaxMemoryMB: 20, InitDuration: 480250 * time.Microsecond},
			"REPORT RequestId: r2\tDuration: 1.50 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 20 MB\tInit Duration: 480.25 ms\t"},
		{"timeout", Report{RequestID: "r3", Duration: 3 * time.Second, MemoryMB: 128, MaxMemoryMB: 20, Status: "timeout"},
			"REPORT RequestId: r3\tDuration: 3000.00 ms\tBilled Duration: 3000 ms\tMemory Size: 128 MB\tMax Memory Used: 20 MB\tStatus: timeout\t"},
		{"crash", Report{RequestID: "r4", Duration: 10 * time.Microsecond, MemoryMB: 128, MaxMemoryMB: 20, Status: "error", ErrorType: "Runtime.ExitError"},
			"REPORT RequestId: r4\tDuration: 0.01 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 20 MB\tStatus: error\tError Type: Runtime.ExitError\t"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(AppendReport(nil, tc.rep)); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
	if got := string(AppendStart(nil, "id", "$LATEST")); got != "START RequestId: id Version: $LATEST" {
		t.Errorf("start %q", got)
	}
	if got := string(AppendEnd(nil, "id")); got != "END RequestId: id" {
		t.Errorf("end %q", got)
	}
	at := time.Date(2024, 1, 2, 3, 4, 5, 678e6, time.UTC)
	if got := string(AppendTimedOut(nil, at, "id", 3*time.Second)); got != "2024-01-02T03:04:05.678Z id Task timed out after 3.00 seconds" {
		t.Errorf("timed out %q", got)
	}
	if got := string(AppendInitReport(nil, 206720*time.Microsecond, "init", "error", "Runtime.ExitError")); got != "INIT_REPORT Init Duration: 206.72 ms\tPhase: init\tStatus: error\tError Type: Runtime.ExitError" {
		t.Errorf("init report %q", got)
	}
}

func TestStoreRoundTripAndRetention(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, 48*time.Hour, Limits{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	evs := []Event{
		{Time: now.Add(-time.Second), Function: "f", Stream: "2024/01/01/[$LATEST]abc", RequestID: "r1", Message: "START RequestId: r1 Version: $LATEST"},
		{Time: now, Function: "f", Stream: "2024/01/01/[$LATEST]abc", RequestID: "r1", Message: "tab\there \"quoted\" ünïcode \x00"},
		{Time: now, Function: "g", Message: "other function"},
		{Time: now, Function: "../evil", Message: "dropped"},
	}
	s.Append(evs...)
	got, err := s.Since("f", time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := evs[:2]
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
		t.Errorf("since (-want +got):\n%s", diff)
	}
	if got, _ := s.Since("f", now, 0); len(got) != 1 {
		t.Errorf("since now: %d events", len(got))
	}
	if got, _ := s.Since("f", time.Time{}, 1); len(got) != 1 || got[0].RequestID != "r1" {
		t.Errorf("limit: %+v", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "..", "evil")); err == nil {
		t.Error("escaped the store directory")
	}
	// Retention: a file from long ago goes away on open.
	old := filepath.Join(dir, "f", "2000-01-01.log")
	if err := os.WriteFile(old, []byte("1\t\t\t\"x\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(dir, 48*time.Hour, Limits{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(old); os.IsNotExist(err) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Error("expired file kept")
	}
	if got, _ := s2.Since("f", time.Time{}, 0); len(got) != 2 {
		t.Errorf("after reopen: %d events", len(got))
	}
}

func TestFollow(t *testing.T) {
	s, err := Open(t.TempDir(), 0, Limits{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t0 := time.Now()
	s.Append(Event{Time: t0, Function: "f", Message: "before"})
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var got []string
	done := make(chan error)
	go func() {
		done <- s.Follow(ctx, "f", t0.Add(-time.Minute), func(ev Event) error {
			mu.Lock()
			got = append(got, ev.Message)
			mu.Unlock()
			return nil
		})
	}()
	time.Sleep(50 * time.Millisecond)
	s.Append(Event{Time: t0, Function: "f", Message: "same instant"}, Event{Time: time.Now(), Function: "f", Message: "after"})
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= 3 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, "|") != "before|same instant|after" {
		t.Errorf("followed %q", got)
	}
}

func FuzzRecord(f *testing.F) {
	f.Add(int64(1), "stream", "req", "message\twith\ttabs")
	f.Add(int64(-5), "a\tb", "\n", "\x00\xff")
	f.Fuzz(func(t *testing.T, ns int64, stream, req, msg string) {
		ev := Event{Time: time.Unix(0, ns), Function: "f", Stream: stream, RequestID: req, Message: msg}
		line := appendRecord(nil, ev)
		got, ok := parseRecord("f", strings.TrimSuffix(string(line), "\n"))
		if !ok {
			t.Fatalf("unparsable %q", line)
		}
		if got.Message != msg && strings.ToValidUTF8(msg, "\uFFFD") != got.Message {
			t.Fatalf("message %q -> %q", msg, got.Message)
		}
		if !got.Time.Equal(ev.Time) || got.Stream != sanitizeField(stream) || got.RequestID != sanitizeField(req) {
			t.Fatalf("%+v -> %+v", ev, got)
		}
		// Arbitrary stored lines never panic the parser.
		parseRecord("f", msg)
	})
}
