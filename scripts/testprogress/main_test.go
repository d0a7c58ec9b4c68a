package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRealGoTestStream runs go test -json on a small package with passing, failing, skipped and
// nested tests and checks what a person sees: one line per top-level test, the failure's
// output, and go test's own closing line last.
func TestRealGoTestStream(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go test")
	}
	dir := t.TempDir()
	files := map[string]string{
		"go.mod": "module example.com/demo\n\ngo 1.22\n",
		"demo_test.go": `package demo

import "testing"

func TestPasses(t *testing.T) { t.Log("quiet") }
func TestFails(t *testing.T) {
	t.Run("inner", func(t *testing.T) { t.Error("boom in inner") })
}
func TestSkips(t *testing.T) { t.Skip("no tool here") }
`,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", "test", "-json", "-count=1", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off")
	stream, err := cmd.Output()
	if err == nil {
		t.Fatal("go test passed, want a failure")
	}
	var out bytes.Buffer
	p := newPrinter(&out, time.Now)
	if err := p.copy(bytes.NewReader(stream)); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{"PASS TestPasses (", "FAIL TestFails (", "boom in inner", "SKIP TestSkips (0.0s): demo_test.go:9: no tool here"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "quiet") {
		t.Errorf("a passing test's log is shown:\n%s", got)
	}
	lines := strings.Split(strings.TrimSpace(got), "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "FAIL\texample.com/demo\t") {
		t.Errorf("last line %q, want go test's closing line", last)
	}
}

func TestHeartbeatAndPlainLines(t *testing.T) {
	now := time.Unix(1000, 0)
	var out bytes.Buffer
	p := newPrinter(&out, func() time.Time { return now })
	p.line([]byte(`{"Action":"run","Package":"x","Test":"TestSlow"}`))
	p.line([]byte(`not json at all`))
	now = now.Add(45 * time.Second)
	p.heartbeat(30 * time.Second)
	p.heartbeat(30 * time.Second) // just printed: quiet again
	want := "not json at all\n     still running: TestSlow (45s)\n"
	if out.String() != want {
		t.Fatalf("got %q, want %q", out.String(), want)
	}
}
