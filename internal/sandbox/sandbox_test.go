package sandbox

import (
	"slices"
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
