package cli

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeBusyPort: a second furl on a taken port exits 1 with one line, before it creates
// credentials or a database.
func TestServeBusyPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := filepath.Join(t.TempDir(), "data")
	var out, errOut bytes.Buffer
	getenv := func(string) string { return "" }
	code := Run(context.Background(), []string{"serve", "--addr", ln.Addr().String(), "--data-dir", dir}, Stdio{Out: &out, Err: &errOut}, getenv)
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr:\n%s", code, errOut.String())
	}
	if lines := strings.Split(strings.TrimSpace(errOut.String()), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "in use") {
		t.Errorf("stderr = %q, want one line saying the address is in use", errOut.String())
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("data dir created before the listener: %v", err)
	}
}

// TestServeBadDataDir: a data dir that cannot be used ends in one clear line and exit 1.
func TestServeBadDataDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := Run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", file}, Stdio{Out: &out, Err: &errOut}, func(string) string { return "" })
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr:\n%s", code, errOut.String())
	}
	if lines := strings.Split(strings.TrimSpace(errOut.String()), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "data dir") {
		t.Errorf("stderr = %q, want one line about the data dir", errOut.String())
	}
}
