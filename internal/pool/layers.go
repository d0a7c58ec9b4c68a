package pool

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Layers without a sandbox: an environment's layers are copied, in order, into its own opt
// directory (later layers replace earlier files), and the runtime's module path names that
// directory's python and nodejs trees the way Lambda names /opt's.

// mergeLayers merges the target's layers into the environment's own opt directory. Without a
// sandbox that directory is what the runtime's module path names; sandboxed, it is bound at
// /opt (unless the target brings its own merged OptDir).
func (e *env) mergeLayers(sandboxed bool) error {
	t := &e.target
	if len(t.Layers) == 0 || (sandboxed && t.OptDir != "") {
		if sandboxed && t.OptDir != "" {
			e.optDir = "/opt"
		}
		return nil
	}
	merged := filepath.Join(e.dir, "opt")
	if err := mergeLayers(t.Layers, merged); err != nil {
		return err
	}
	e.optDir = merged
	if sandboxed {
		t.OptDir, e.optDir = merged, "/opt"
	}
	return nil
}

// mergeLayers copies each layer tree into dst in order; a file of a later layer replaces the
// same file of an earlier one.
func mergeLayers(layers []string, dst string) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return fmt.Errorf("pool: layers: %w", err)
	}
	for _, src := range layers {
		err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(src, path)
			if err != nil || rel == "." {
				return err
			}
			target := filepath.Join(dst, rel)
			info, err := d.Info()
			if err != nil {
				return err
			}
			switch {
			case d.IsDir():
				return os.MkdirAll(target, 0o755)
			case info.Mode()&fs.ModeSymlink != 0:
				link, err := os.Readlink(path)
				if err != nil {
					return err
				}
				_ = os.RemoveAll(target)
				return os.Symlink(link, target)
			case info.Mode().IsRegular():
				_ = os.RemoveAll(target)
				return copyFile(path, target, info.Mode().Perm()|0o200)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("pool: layer %s: %w", src, err)
		}
	}
	return nil
}

// layerPathEnv returns the module path variables for runtime rt when its layers are merged at
// opt: PYTHONPATH (opt/python/lib/pythonX.Y/site-packages, opt/python) for Python, NODE_PATH
// (opt/nodejs/nodeNN/node_modules, opt/nodejs/node_modules) for Node, each before the value
// the environment already has (in m).
func layerPathEnv(rt, opt string, m map[string]string) map[string]string {
	var key string
	var dirs []string
	switch {
	case strings.HasPrefix(rt, "python"):
		key = "PYTHONPATH"
		dirs = []string{filepath.Join(opt, "python", "lib", rt, "site-packages"), filepath.Join(opt, "python")}
	case strings.HasPrefix(rt, "nodejs"):
		key = "NODE_PATH"
		major := strings.TrimSuffix(strings.TrimPrefix(rt, "nodejs"), ".x")
		dirs = []string{filepath.Join(opt, "nodejs", "node"+major, "node_modules"), filepath.Join(opt, "nodejs", "node_modules")}
	default:
		return nil
	}
	if v := m[key]; v != "" {
		dirs = append(dirs, v)
	}
	return map[string]string{key: strings.Join(dirs, ":")}
}
