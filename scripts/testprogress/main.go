// Command testprogress turns `go test -json` into progress a person can follow during a long
// suite: one line per top-level test as it ends (result, name, time), the output of failed
// tests, a "still running" line when nothing has ended for a while, and everything go test
// prints for a package (build errors, "ok pkg 12.3s", "FAIL pkg") exactly as go test prints
// it, so the closing line stays go test's own.
//
//	go test -json ./test/e2e/... | go run ./scripts/testprogress
//
// It exits 0; the caller takes go test's exit status (set -o pipefail).
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

func main() {
	p := newPrinter(os.Stdout, time.Now)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				p.heartbeat(30 * time.Second)
			}
		}
	}()
	err := p.copy(os.Stdin)
	close(stop)
	<-done
	if err != nil {
		fmt.Fprintln(os.Stderr, "testprogress:", err)
	}
}

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action  string
	Package string
	Test    string
	Elapsed float64
	Output  string
}

// printer keeps the state of the stream: the output of each running test and when it started.
type printer struct {
	mu      sync.Mutex
	w       io.Writer
	now     func() time.Time
	last    time.Time            // when something was last printed
	running map[string]time.Time // "pkg test" -> start
	out     map[string][]string  // "pkg test" (and its subtests' lines) -> output
}

func newPrinter(w io.Writer, now func() time.Time) *printer {
	return &printer{w: w, now: now, last: now(), running: map[string]time.Time{}, out: map[string][]string{}}
}

// copy reads events until EOF. A line that is not JSON is printed as it is.
func (p *printer) copy(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		p.line(sc.Bytes())
	}
	return sc.Err()
}

func (p *printer) line(b []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var ev event
	if len(b) == 0 || b[0] != '{' || json.Unmarshal(b, &ev) != nil || ev.Action == "" {
		p.print(string(b) + "\n")
		return
	}
	if ev.Test == "" {
		// Package-level: build output, "PASS", "ok  pkg 1.2s", "FAIL pkg", panics, timeouts.
		switch ev.Action {
		case "output", "build-output":
			p.print(ev.Output)
		case "fail":
			// The package died with tests still running (a timeout, a crash): show what they
			// printed, which go test -json gave to them rather than to the package.
			for key := range p.running {
				if strings.HasPrefix(key, ev.Package+" ") {
					p.print(strings.Join(p.out[key], ""))
					delete(p.running, key)
					delete(p.out, key)
				}
			}
		}
		return
	}
	top, _, sub := strings.Cut(ev.Test, "/")
	key := ev.Package + " " + top
	switch ev.Action {
	case "run":
		if !sub {
			p.running[key] = p.now()
		}
	case "output":
		p.out[key] = append(p.out[key], ev.Output)
	case "pass", "fail", "skip":
		if sub {
			return
		}
		delete(p.running, key)
		lines := p.out[key]
		delete(p.out, key)
		word := map[string]string{"pass": "PASS", "fail": "FAIL", "skip": "SKIP"}[ev.Action]
		p.print(fmt.Sprintf("%-4s %s (%.1fs)%s\n", word, ev.Test, ev.Elapsed, skipReason(ev.Action, lines)))
		if ev.Action == "fail" {
			p.print(strings.Join(lines, ""))
		}
	}
}

// skipReason is the t.Skip message of a skipped test, for its line.
func skipReason(action string, lines []string) string {
	if action != "skip" {
		return ""
	}
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l != "" && !strings.HasPrefix(l, "---") && !strings.HasPrefix(l, "===") {
			return ": " + l
		}
	}
	return ""
}

func (p *printer) print(s string) {
	if s == "" {
		return
	}
	io.WriteString(p.w, s)
	p.last = p.now()
}

// heartbeat names the tests still running when nothing was printed for quiet.
func (p *printer) heartbeat(quiet time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if len(p.running) == 0 || now.Sub(p.last) < quiet {
		return
	}
	var names []string
	for key, start := range p.running {
		_, name, _ := strings.Cut(key, " ")
		names = append(names, fmt.Sprintf("%s (%.0fs)", name, now.Sub(start).Seconds()))
	}
	slices.Sort(names)
	p.print("     still running: " + strings.Join(names, ", ") + "\n")
}
