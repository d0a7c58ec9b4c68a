package codestore

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type entry struct {
	name    string
	body    string
	mode    fs.FileMode
	symlink bool
}

func makeZip(t testing.TB, entries []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		fh := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		mode := e.mode
		if mode == 0 {
			mode = 0o644
		}
		if e.symlink {
			mode = fs.ModeSymlink | 0o777
		}
		if strings.HasSuffix(e.name, "/") {
			mode = fs.ModeDir | 0o755
		}
		fh.SetMode(mode)
		w, err := zw.CreateHeader(fh)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestPutKeepsModesAndIsContentAddressed(t *testing.T) {
	s, err := Open(t.TempDir(), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	z := makeZip(t, []entry{
		{name: "bootstrap", body: "#!/bin/sh\necho hi\n", mode: 0o755},
		{name: "lib/", body: ""},
		{name: "lib/data.txt", body: "data"},
		{name: "link", body: "lib/data.txt", symlink: true},
	})
	ctx := context.Background()
	p, err := s.Put(ctx, z)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Hex) != 64 || p.Size != int64(len(z)) {
		t.Fatalf("package = %+v", p)
	}
	h, err := HexFromBase64(p.Sha256)
	if err != nil || h != p.Hex {
		t.Fatalf("HexFromBase64(%s) = %s, %v; want %s", p.Sha256, h, err, p.Hex)
	}
	dir := s.Dir(p.Hex)
	st, err := os.Stat(filepath.Join(dir, "bootstrap"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm()&0o111 == 0 {
		t.Errorf("bootstrap mode = %v, want executable", st.Mode())
	}
	if st.Mode().Perm()&0o222 != 0 {
		t.Errorf("bootstrap mode = %v, want read-only", st.Mode())
	}
	for _, d := range []string{dir, filepath.Join(dir, "lib")} {
		st, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm()&0o222 != 0 {
			t.Errorf("directory %s mode = %v, want read-only", d, st.Mode())
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "link"))
	if err != nil || string(b) != "data" {
		t.Errorf("link reads %q, %v", b, err)
	}
	p2, err := s.Put(ctx, z)
	if err != nil || p2 != p {
		t.Fatalf("second Put = %+v, %v; want %+v", p2, err, p)
	}
	// Sweep keeps referenced packages and drops the rest.
	if n, err := s.Sweep(func(string) bool { return true }); err != nil || n != 0 {
		t.Fatalf("Sweep(keep all) = %d, %v", n, err)
	}
	if n, err := s.Sweep(func(string) bool { return false }); err != nil || n != 2 {
		t.Fatalf("Sweep(keep none) = %d, %v", n, err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("unpacked dir survived sweep: %v", err)
	}
}

func TestUnpackRecreatesMissingTree(t *testing.T) {
	s, _ := Open(t.TempDir(), Limits{})
	p, err := s.Put(context.Background(), makeZip(t, []entry{{name: "a.py", body: "x=1"}}))
	if err != nil {
		t.Fatal(err)
	}
	makeWritable(s.Dir(p.Hex))
	os.RemoveAll(s.Dir(p.Hex))
	d, err := s.Unpack(context.Background(), p.Hex)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(d, "a.py")); string(b) != "x=1" {
		t.Fatalf("a.py = %q", b)
	}
}

func TestRejects(t *testing.T) {
	big := strings.Repeat("0", 3<<20)
	tests := []struct {
		name    string
		zip     []byte
		limits  Limits
		wantMsg string
	}{
		{"not a zip", []byte("hello"), Limits{}, "Could not unzip uploaded file"},
		{"zip slip", makeZip(t, []entry{{name: "../evil", body: "x"}}), Limits{}, "leaves the package directory"},
		{"nested zip slip", makeZip(t, []entry{{name: "a/../../evil", body: "x"}}), Limits{}, "leaves the package directory"},
		{"absolute", makeZip(t, []entry{{name: "/etc/passwd", body: "x"}}), Limits{}, "absolute path"},
		{"windows drive", makeZip(t, []entry{{name: "C:/x", body: "x"}}), Limits{}, "absolute path"},
		{"backslash", makeZip(t, []entry{{name: `..\evil`, body: "x"}}), Limits{}, "invalid entry name"},
		{"symlink absolute", makeZip(t, []entry{{name: "l", body: "/etc/passwd", symlink: true}}), Limits{}, "points outside"},
		{"symlink up", makeZip(t, []entry{{name: "d/l", body: "../../x", symlink: true}}), Limits{}, "points outside"},
		{"symlink via symlink", makeZip(t, []entry{
			{name: "s1", body: ".", symlink: true},
			{name: "sub/s3", body: "../s1/..", symlink: true},
		}), Limits{}, "points outside"},
		{"duplicate", makeZip(t, []entry{{name: "a", body: "1"}, {name: "a", body: "2"}}), Limits{}, "duplicate"},
		{"too many entries", makeZip(t, []entry{{name: "a"}, {name: "b"}, {name: "c"}}), Limits{MaxEntries: 2}, "more than 2 entries"},
		{"unzipped too big", makeZip(t, []entry{{name: "a", body: big}}), Limits{MaxUnzipped: 1 << 20}, "Unzipped size must be smaller than 1048576 bytes"},
		{"zipped too big", makeZip(t, []entry{{name: "a", body: "x"}}), Limits{MaxZipped: 10}, "Zipped size must be smaller than 10 bytes"},
		{"ratio", makeZip(t, []entry{{name: "a", body: big}}), Limits{MaxRatio: 100}, "compression ratio"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := Open(t.TempDir(), tt.limits)
			_, err := s.Put(context.Background(), tt.zip)
			var ip *InvalidPackageError
			if !errors.As(err, &ip) {
				t.Fatalf("Put error = %v, want *InvalidPackageError", err)
			}
			if !strings.Contains(ip.Msg, tt.wantMsg) {
				t.Fatalf("message %q does not contain %q", ip.Msg, tt.wantMsg)
			}
			// Nothing half-unpacked is left behind.
			ents, _ := os.ReadDir(filepath.Join(s.root, "unpacked"))
			if len(ents) != 0 {
				t.Fatalf("leftovers in unpacked/: %v", ents)
			}
		})
	}
}

// TestLyingSizes builds a zip whose central directory understates an entry's size: the
// extractor must stop at the declared size rather than trust the stream.
func TestLyingSizes(t *testing.T) {
	z := makeZip(t, []entry{{name: "a", body: strings.Repeat("A", 5000)}})
	// Patch the uncompressed size (central directory and local header) to 10.
	patched := bytes.Clone(z)
	patchSize := func(sig []byte, off int) {
		for i := 0; ; {
			j := bytes.Index(patched[i:], sig)
			if j < 0 {
				return
			}
			p := i + j + off
			patched[p], patched[p+1], patched[p+2], patched[p+3] = 10, 0, 0, 0
			i = i + j + 4
		}
	}
	patchSize([]byte("PK\x01\x02"), 24)
	patchSize([]byte("PK\x03\x04"), 22)
	s, _ := Open(t.TempDir(), Limits{})
	_, err := s.Put(context.Background(), patched)
	if err == nil {
		t.Fatal("Put accepted a zip with a lying size")
	}
}

func FuzzExtract(f *testing.F) {
	f.Add(makeZip(f, []entry{{name: "a.py", body: "print(1)"}, {name: "d/", body: ""}, {name: "d/b", body: "x", mode: 0o755}}))
	f.Add(makeZip(f, []entry{{name: "l", body: "../x", symlink: true}}))
	f.Add(makeZip(f, []entry{{name: "../x", body: "x"}}))
	f.Add([]byte("PK\x05\x06" + strings.Repeat("\x00", 18)))
	base := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		root, err := os.MkdirTemp(base, "x")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(root)
		defer makeWritable(root)
		dir := filepath.Join(root, "out")
		err = Extract(context.Background(), data, dir, Limits{MaxUnzipped: 1 << 20, MaxEntries: 100})
		if err != nil {
			return
		}
		// Everything extracted stays under dir, and every link resolves inside it.
		realDir, _ := filepath.EvalSymlinks(dir)
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, werr error) error {
			if werr != nil || p == root {
				return nil
			}
			if !strings.HasPrefix(p, dir) {
				t.Fatalf("wrote outside the target: %s", p)
			}
			if d.Type()&fs.ModeSymlink != 0 {
				if real, err := filepath.EvalSymlinks(p); err == nil && !strings.HasPrefix(real, realDir) {
					t.Fatalf("symlink %s resolves outside: %s", p, real)
				}
			}
			return nil
		})
	})
}
