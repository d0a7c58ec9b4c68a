package sandbox

import (
	"context"
	"slices"
	"strings"
	"testing"
)

func TestTraversable(t *testing.T) {
	got := traversable("/root/.pyenv/versions/3.11.7")
	want := []string{"--perms", "0711", "--dir", "/root", "--perms", "0711", "--dir", "/root/.pyenv",
		"--perms", "0711", "--dir", "/root/.pyenv/versions"}
	if !slices.Equal(got, want) {
		t.Errorf("traversable = %q, want %q", got, want)
	}
	if got := traversable("/opt"); len(got) != 0 {
		t.Errorf("traversable(/opt) = %q", got)
	}
}

func TestCPUShares(t *testing.T) {
	for _, c := range []struct {
		mb     int64
		shares int
		weight int64
	}{
		{128, 1024, 100}, {1769, 1024, 100}, {3538, 2048, 200}, {10240, 5927, 578},
	} {
		if got := cpuShares(c.mb); got != c.shares {
			t.Errorf("cpuShares(%d) = %d, want %d", c.mb, got, c.shares)
		}
		if got := cpuWeight(c.shares); got != c.weight {
			t.Errorf("cpuWeight(%d) = %d, want %d", c.shares, got, c.weight)
		}
	}
	if cpuWeight(262144) != 10000 {
		t.Errorf("cpuWeight(262144) = %d", cpuWeight(262144))
	}
}

// Without bubblewrap furl gets an error that says what to install and names --sandbox=off; it
// never gets a Sandbox that would run functions unsandboxed.
func TestNewRefusesWithoutBwrap(t *testing.T) {
	sb, err := New(context.Background(), Options{Bwrap: "/nonexistent/furl-test/bwrap"}, nil)
	if err == nil || sb != nil {
		t.Fatalf("New = %v, %v; want an error", sb, err)
	}
	for _, want := range []string{"bubblewrap", "apt-get install bubblewrap", "--sandbox=off"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}
