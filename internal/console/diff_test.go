package console

import (
	"strings"
	"testing"
)

func TestDiffLines(t *testing.T) {
	got := diffLines(strings.Split("a\nb\nc", "\n"), strings.Split("a\nx\nc\nd", "\n"))
	var s []string
	for _, l := range got {
		s = append(s, l.Op+":"+l.Text)
	}
	if want := "same:a del:b add:x same:c add:d"; strings.Join(s, " ") != want {
		t.Fatalf("diff = %q, want %q", strings.Join(s, " "), want)
	}
}

func FuzzDiffLines(f *testing.F) {
	f.Add("a\nb", "b\nc")
	f.Fuzz(func(t *testing.T, a, b string) {
		la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
		out := diffLines(la, lb)
		var ra, rb []string
		for _, l := range out {
			if l.Op != "add" {
				ra = append(ra, l.Text)
			}
			if l.Op != "del" {
				rb = append(rb, l.Text)
			}
		}
		if len(la) <= 2000 && strings.Join(ra, "\n") != a || len(lb) <= 2000 && strings.Join(rb, "\n") != b {
			t.Fatalf("diff does not rebuild its inputs")
		}
	})
}
