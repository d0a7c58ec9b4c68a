// Package codestore keeps function packages: content-addressed zips under the data directory
// (named by the hex SHA-256 of the zip) and, once per hash, a read-only unpacked tree the pool
// copies environments from. Unpacking is defensive: zip-slip, absolute paths, symlinks leaving
// the tree, zip bombs and AWS's size limits are refused with a clear error.
package codestore

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
)

// AWS limits for zip packages.
const (
	MaxZippedBytes   = 50 << 20  // 52,428,800: direct upload limit
	MaxUnzippedBytes = 250 << 20 // 262,144,000: unzipped deployment package
	// MaxEntries and MaxRatio are furl's zip-bomb guards.
	MaxEntries = 100_000
	MaxRatio   = 1000
)

// InvalidPackageError describes why a package was refused; its message is fit for an
// InvalidParameterValueException.
type InvalidPackageError struct{ Msg string }

func (e *InvalidPackageError) Error() string { return e.Msg }

func invalid(format string, args ...any) error {
	return &InvalidPackageError{Msg: fmt.Sprintf(format, args...)}
}

// Package identifies a stored zip.
type Package struct {
	Hex    string // lowercase hex SHA-256, the storage key
	Sha256 string // base64 SHA-256, AWS's CodeSha256
	Size   int64
	// Unzipped is the total size of its files.
	Unzipped int64
}

// Limits bound what Put accepts; zero fields take the AWS defaults.
type Limits struct {
	MaxZipped, MaxUnzipped int64
	MaxEntries             int
	MaxRatio               int64
}

func (l Limits) withDefaults() Limits {
	if l.MaxZipped == 0 {
		l.MaxZipped = MaxZippedBytes
	}
	if l.MaxUnzipped == 0 {
		l.MaxUnzipped = MaxUnzippedBytes
	}
	if l.MaxEntries == 0 {
		l.MaxEntries = MaxEntries
	}
	if l.MaxRatio == 0 {
		l.MaxRatio = MaxRatio
	}
	return l
}

// Store is a directory of packages.
type Store struct {
	root   string
	limits Limits
	mu     sync.Mutex // serialises unpacking per store (one unpack at a time per hash is enough)
}

// Open prepares the store under dir (created if missing).
func Open(dir string, limits Limits) (*Store, error) {
	for _, d := range []string{dir, filepath.Join(dir, "zips"), filepath.Join(dir, "unpacked")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("codestore: open: %w", err)
		}
	}
	return &Store{root: dir, limits: limits.withDefaults()}, nil
}

// HexFromBase64 converts an AWS CodeSha256 to the storage key.
func HexFromBase64(b64 string) (string, error) {
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(b) != sha256.Size {
		return "", fmt.Errorf("codestore: bad CodeSha256 %q", b64)
	}
	return hex.EncodeToString(b), nil
}

func (s *Store) zipPath(h string) string { return filepath.Join(s.root, "zips", h+".zip") }

// Dir returns the unpacked tree of a package (which exists after Put or Unpack).
func (s *Store) Dir(h string) string { return filepath.Join(s.root, "unpacked", h) }

// Put validates data as a deployment package, stores it durably (written, fsynced, renamed,
// directory fsynced) and unpacks it. Only after Put returns may a database row point at it.
func (s *Store) Put(ctx context.Context, data []byte) (Package, error) {
	unzipped, err := Check(data, s.limits)
	if err != nil {
		return Package{}, err
	}
	sum := sha256.Sum256(data)
	p := Package{Hex: hex.EncodeToString(sum[:]), Sha256: base64.StdEncoding.EncodeToString(sum[:]), Size: int64(len(data)), Unzipped: unzipped}
	if err := ctx.Err(); err != nil {
		return Package{}, fmt.Errorf("codestore: put: %w", err)
	}
	dst := s.zipPath(p.Hex)
	if _, err := os.Stat(dst); err != nil {
		if err := writeDurable(dst, data); err != nil {
			return Package{}, fmt.Errorf("codestore: put: %w", err)
		}
	}
	if _, err := s.Unpack(ctx, p.Hex); err != nil {
		return Package{}, err
	}
	return p, nil
}

func writeDurable(dst string, data []byte) error {
	tmp := dst + ".tmp-" + randHex()
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(dst))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func randHex() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Check validates data as Put would, with the store's limits, without writing anything; it
// returns the total unzipped size.
func (s *Store) Check(data []byte) (int64, error) { return Check(data, s.limits) }

// UnzippedSize returns the total size of a stored package's files.
func (s *Store) UnzippedSize(h string) (int64, error) {
	data, err := s.Read(h)
	if err != nil {
		return 0, err
	}
	return Check(data, s.limits)
}

// Read returns the stored zip.
func (s *Store) Read(h string) ([]byte, error) {
	b, err := os.ReadFile(s.zipPath(h))
	if err != nil {
		return nil, fmt.Errorf("codestore: read %s: %w", h, err)
	}
	return b, nil
}

// Unpack makes sure the package's tree exists and returns its directory.
func (s *Store) Unpack(ctx context.Context, h string) (string, error) {
	dir := s.Dir(h)
	if _, err := os.Stat(dir); err == nil {
		return dir, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := os.Stat(dir); err == nil {
		return dir, nil
	}
	data, err := s.Read(h)
	if err != nil {
		return "", err
	}
	tmp := dir + ".tmp-" + randHex()
	if err := Extract(ctx, data, tmp, s.limits); err != nil {
		makeWritable(tmp)
		os.RemoveAll(tmp)
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		makeWritable(tmp)
		os.RemoveAll(tmp)
		return "", fmt.Errorf("codestore: unpack %s: %w", h, err)
	}
	return dir, nil
}

// Sweep removes temporary leftovers of interrupted writes and every package whose hash keep
// does not report as referenced. Call it at start, before serving.
func (s *Store) Sweep(keep func(hexHash string) bool) (removed int, err error) {
	for _, sub := range []string{"zips", "unpacked"} {
		ents, rerr := os.ReadDir(filepath.Join(s.root, sub))
		if rerr != nil {
			return removed, fmt.Errorf("codestore: sweep: %w", rerr)
		}
		for _, e := range ents {
			name := e.Name()
			h := strings.TrimSuffix(name, ".zip")
			if !strings.Contains(name, ".tmp-") && keep(h) {
				continue
			}
			p := filepath.Join(s.root, sub, name)
			makeWritable(p)
			if rerr := os.RemoveAll(p); rerr != nil {
				err = errors.Join(err, rerr)
				continue
			}
			removed++
		}
	}
	return removed, err
}

func makeWritable(root string) {
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o700)
		}
		return nil
	})
}

// Check validates a zip without writing anything and returns its total unzipped size.
func Check(data []byte, l Limits) (int64, error) {
	l = l.withDefaults()
	if int64(len(data)) > l.MaxZipped {
		return 0, invalid("Zipped size must be smaller than %d bytes", l.MaxZipped)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return 0, invalid("Could not unzip uploaded file. Please check your file, then try to upload again.")
	}
	if len(zr.File) > l.MaxEntries {
		return 0, invalid("Could not unzip uploaded file: more than %d entries.", l.MaxEntries)
	}
	var total int64
	seen := map[string]bool{}
	for _, f := range zr.File {
		name, err := cleanName(f.Name)
		if err != nil {
			return 0, err
		}
		if name == "" {
			continue
		}
		if seen[name] && !f.Mode().IsDir() {
			return 0, invalid("Could not unzip uploaded file: duplicate entry %q.", f.Name)
		}
		seen[name] = true
		if f.UncompressedSize64 > uint64(l.MaxUnzipped) {
			return 0, invalid("Unzipped size must be smaller than %d bytes", l.MaxUnzipped)
		}
		total += int64(f.UncompressedSize64)
		if total > l.MaxUnzipped {
			return 0, invalid("Unzipped size must be smaller than %d bytes", l.MaxUnzipped)
		}
		if f.UncompressedSize64 > 1<<20 && f.CompressedSize64 > 0 && f.UncompressedSize64/f.CompressedSize64 > uint64(l.MaxRatio) {
			return 0, invalid("Could not unzip uploaded file: entry %q has a compression ratio over %d:1.", f.Name, l.MaxRatio)
		}
		if f.Mode()&fs.ModeSymlink != 0 {
			if f.UncompressedSize64 > 4096 {
				return 0, invalid("Could not unzip uploaded file: symlink %q is too long.", f.Name)
			}
		} else if f.Mode()&^(fs.ModeDir|fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) != 0 {
			return 0, invalid("Could not unzip uploaded file: entry %q is not a regular file, directory or symlink.", f.Name)
		}
	}
	return total, nil
}

// cleanName turns a zip entry name into a clean relative slash path, refusing anything that
// could leave the tree.
func cleanName(n string) (string, error) {
	if strings.ContainsRune(n, 0) || strings.Contains(n, `\`) {
		return "", invalid("Could not unzip uploaded file: invalid entry name %q.", n)
	}
	if strings.HasPrefix(n, "/") || (len(n) >= 2 && n[1] == ':') {
		return "", invalid("Could not unzip uploaded file: entry %q has an absolute path.", n)
	}
	for _, seg := range strings.Split(n, "/") {
		if seg == ".." {
			return "", invalid("Could not unzip uploaded file: entry %q leaves the package directory.", n)
		}
	}
	c := path.Clean(n)
	if c == "." {
		return "", nil
	}
	return c, nil
}

type pendingLink struct {
	name, target string
}

// Extract unpacks data into dir (which must not exist), keeping file modes but making files
// and directories read-only. Symlinks are created last and must resolve inside dir.
func Extract(ctx context.Context, data []byte, dir string, l Limits) error {
	l = l.withDefaults()
	if _, err := Check(data, l); err != nil {
		return err
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return invalid("Could not unzip uploaded file. Please check your file, then try to upload again.")
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		return fmt.Errorf("codestore: extract: %w", err)
	}
	var links []pendingLink
	var written int64
	for _, f := range zr.File {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("codestore: extract: %w", err)
		}
		name, _ := cleanName(f.Name)
		if name == "" {
			continue
		}
		dst := filepath.Join(dir, filepath.FromSlash(name))
		mode := f.Mode()
		switch {
		case mode.IsDir():
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return invalid("Could not unzip uploaded file: %q: %v.", f.Name, err)
			}
		case mode&fs.ModeSymlink != 0:
			t, err := readEntry(f, 4096)
			if err != nil {
				return err
			}
			links = append(links, pendingLink{name: name, target: string(t)})
		default:
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return invalid("Could not unzip uploaded file: %q: %v.", f.Name, err)
			}
			n, err := writeEntry(f, dst, l.MaxUnzipped-written)
			written += n
			if err != nil {
				return err
			}
		}
	}
	for _, ln := range links {
		if err := makeLink(dir, ln); err != nil {
			return err
		}
	}
	// Links may change how earlier links resolve: check them all again once all exist.
	for _, ln := range links {
		if err := checkLink(dir, ln.name); err != nil {
			return err
		}
	}
	// Directories read-only last (deepest first so parents stay writable while we work).
	var dirs []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		_ = os.Chmod(dirs[i], 0o555)
	}
	return nil
}

func readEntry(f *zip.File, max int64) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, invalid("Could not unzip uploaded file: %q: %v.", f.Name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, max+1))
	if err != nil {
		return nil, invalid("Could not unzip uploaded file: %q: %v.", f.Name, err)
	}
	if int64(len(b)) > max {
		return nil, invalid("Could not unzip uploaded file: %q is too large.", f.Name)
	}
	return b, nil
}

// writeEntry copies one file, refusing to write more than its declared size or budget bytes.
func writeEntry(f *zip.File, dst string, budget int64) (int64, error) {
	rc, err := f.Open()
	if err != nil {
		return 0, invalid("Could not unzip uploaded file: %q: %v.", f.Name, err)
	}
	defer rc.Close()
	perm := f.Mode().Perm()
	if perm == 0 {
		perm = 0o644
	}
	perm = (perm | 0o444) &^ 0o222
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, invalid("Could not unzip uploaded file: %q: %v.", f.Name, err)
	}
	limit := int64(f.UncompressedSize64)
	if budget < limit {
		limit = budget
	}
	n, err := io.Copy(out, io.LimitReader(rc, limit+1))
	cerr := out.Close()
	if err != nil {
		return n, invalid("Could not unzip uploaded file: %q: %v.", f.Name, err)
	}
	if n > limit {
		if limit < int64(f.UncompressedSize64) {
			return n, invalid("Unzipped size must be smaller than %d bytes", MaxUnzippedBytes)
		}
		return n, invalid("Could not unzip uploaded file: %q is larger than its declared size.", f.Name)
	}
	if cerr != nil {
		return n, fmt.Errorf("codestore: extract: %w", cerr)
	}
	if err := os.Chmod(dst, perm); err != nil {
		return n, fmt.Errorf("codestore: extract: %w", err)
	}
	return n, nil
}

func makeLink(root string, ln pendingLink) error {
	t := ln.target
	if t == "" || strings.ContainsRune(t, 0) || filepath.IsAbs(t) || strings.HasPrefix(t, "/") {
		return invalid("Could not unzip uploaded file: symlink %q points outside the package.", ln.name)
	}
	lexical := path.Join(path.Dir(ln.name), t)
	if lexical == ".." || strings.HasPrefix(lexical, "../") {
		return invalid("Could not unzip uploaded file: symlink %q points outside the package.", ln.name)
	}
	dst := filepath.Join(root, filepath.FromSlash(ln.name))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return invalid("Could not unzip uploaded file: %q: %v.", ln.name, err)
	}
	if err := os.Symlink(t, dst); err != nil {
		return invalid("Could not unzip uploaded file: %q: %v.", ln.name, err)
	}
	return checkLink(root, ln.name)
}

// checkLink verifies that the link, resolved physically through any other links, stays inside
// root (a dangling link is harmless in a read-only tree).
func checkLink(root, name string) error {
	dst := filepath.Join(root, filepath.FromSlash(name))
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return fmt.Errorf("codestore: extract: %w", err)
	}
	if real, err := filepath.EvalSymlinks(dst); err == nil {
		rel, err := filepath.Rel(realRoot, real)
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return invalid("Could not unzip uploaded file: symlink %q points outside the package.", name)
		}
	}
	return nil
}
