package bootstraps

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/furl/furl/internal/pool"
	"github.com/furl/furl/internal/testbuild"
)

// goTarget copies the built hostile Go function into a package of its own (with extra files).
func goTarget(t *testing.T, bin, name string, files map[string]string) *pool.Target {
	t.Helper()
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if files == nil {
		files = map[string]string{}
	}
	tg := poolTarget(t, name, "provided.al2023", "bootstrap", files)
	if err := os.WriteFile(filepath.Join(tg.CodeDir, "bootstrap"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	worldReadable(t, tg.CodeDir)
	return tg
}

// TestSandboxHostileGo: the hostile-function suite for a Go function (aws-lambda-go,
// provided.al2023) — every attempt fails, limits end only its own environment, and another
// function keeps serving; and a Go bootstrap reads a file next to it.
func TestSandboxHostileGo(t *testing.T) {
	set := newTestSet(t)
	secret := t.TempDir()
	if err := os.WriteFile(filepath.Join(secret, "secret.txt"), []byte("root credentials"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := newSandboxPool(t, set, secret)
	worldReadable(t, set.Dir())
	dir, remove, err := testbuild.Bootstrap("github.com/furl/furl/internal/bootstraps/testdata/hostilego")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(remove)
	bin := filepath.Join(dir, "bootstrap")

	other := goTarget(t, bin, "other", nil)
	otherOK := func(when string) {
		t.Helper()
		start := time.Now()
		if res := poolInvoke(t, p, other, &pool.Request{Payload: []byte(`{"op":"noop"}`)}); string(res.Payload) != `"ok"` {
			t.Fatalf("other %s: %s %s", when, res.FunctionError, res.Payload)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("other %s took %v", when, d)
		}
	}
	otherOK("at first")
	api := poolInvoke(t, p, poolTarget(t, "api", "python3.12", "app.handler", map[string]string{"app.py": otherPy}), &pool.Request{Payload: []byte(`{"api": true}`)})
	otherAPI := strings.Trim(string(api.Payload), `"`)

	t.Run("attacks", func(t *testing.T) {
		evil := goTarget(t, bin, "evil", nil)
		ev, _ := json.Marshal(map[string]any{"op": "attack", "secret": secret, "other": other.CodeDir, "other_api": otherAPI, "furl_pid": os.Getpid()})
		res := poolInvoke(t, p, evil, &pool.Request{Payload: ev})
		var out map[string]any
		if res.FunctionError != "" || json.Unmarshal(res.Payload, &out) != nil {
			t.Fatalf("evil: %s %s\n%s", res.FunctionError, res.Payload, res.Log)
		}
		t.Logf("%s", res.Payload)
		if out["uid"].(float64) == 0 {
			t.Error("function runs as root")
		}
		if out["cwd"] != "/var/task" || out["task_root"] != "/var/task" {
			t.Errorf("cwd %v, LAMBDA_TASK_ROOT %v", out["cwd"], out["task_root"])
		}
		for _, k := range []string{"read_secret", "list_secret", "read_other_code", "read_root_home", "read_shadow", "write_task",
			"write_etc", "write_root", "kill_furl", "mount", "ptrace_init", "setuid0", "setuid_binary", "steal_runtime_api"} {
			if v, _ := out[k].(string); !strings.HasPrefix(v, "denied") {
				t.Errorf("%s: %v", k, out[k])
			}
		}
		if v, _ := out["write_tmp"].(string); !strings.HasPrefix(v, "ok") {
			t.Errorf("write_tmp: %v", out["write_tmp"])
		}
		otherOK("after the attacks")
	})
	t.Run("bootstrap reads a file next to it", func(t *testing.T) {
		tg := goTarget(t, bin, "files", map[string]string{"data.txt": "beside the bootstrap"})
		res := poolInvoke(t, p, tg, &pool.Request{Payload: []byte(`{"op":"files"}`)})
		want := `{"exe":"/var/task/bootstrap","next":"beside the bootstrap","root":"beside the bootstrap"}`
		if res.FunctionError != "" || string(res.Payload) != want {
			t.Errorf("got %s %s, want %s", res.FunctionError, res.Payload, want)
		}
	})
	t.Run("tmp filler", func(t *testing.T) {
		tg := goTarget(t, bin, "tmpfill", nil)
		tg.MemoryMB, tg.EphemeralStorageMB = 1024, 520
		res := poolInvoke(t, p, tg, &pool.Request{Payload: []byte(`{"op":"tmpfill"}`)})
		var out struct {
			MB     int
			Enospc bool
		}
		_ = json.Unmarshal(res.Payload, &out)
		if out.MB > 520 || !out.Enospc {
			t.Errorf("/tmp not capped at 520 MB with ENOSPC: %s %s", res.FunctionError, res.Payload)
		}
		otherOK("after the /tmp filler")
	})
	t.Run("fork bomb", func(t *testing.T) {
		tg := goTarget(t, bin, "forkbomb", nil)
		// Starting and reaping ~1000 processes takes a while on a loaded 2-core machine.
		tg.Timeout, tg.MemoryMB = 90*time.Second, 1769
		res := poolInvoke(t, p, tg, &pool.Request{Payload: []byte(`{"op":"forkbomb"}`)})
		var out struct{ Started int }
		_ = json.Unmarshal(res.Payload, &out)
		t.Logf("fork bomb: %s", res.Payload)
		if res.FunctionError != "" || out.Started >= 1024 || out.Started == 0 {
			t.Errorf("fork bomb not capped below 1024: %s %s", res.FunctionError, res.Payload)
		}
		otherOK("after the fork bomb")
	})
	t.Run("memory bomb", func(t *testing.T) {
		tg := goTarget(t, bin, "membomb", nil)
		// Near its limit a memory cgroup reclaims the function's own pages before the OOM
		// kill, which takes a while on a loaded machine.
		tg.MemoryMB, tg.Timeout = 128, 25*time.Second
		res := poolInvoke(t, p, tg, &pool.Request{Payload: []byte(`{"op":"membomb"}`)})
		if res.ErrorType != "Runtime.OutOfMemory" {
			t.Errorf("memory bomb: %s %s %s", res.FunctionError, res.ErrorType, res.Payload)
		}
		otherOK("after the memory bomb")
	})
}
