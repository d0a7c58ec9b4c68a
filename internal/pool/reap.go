package pool

// Reaping: environments idle past Config.IdleTimeout are stopped, ended runtimes are cleaned
// up, and directories left by an earlier process are removed.

import (
	"os"
	"path/filepath"
	"strings"
	"time"
)

// removeStale deletes environment directories left by an earlier process that did not shut
// down cleanly (only names that look like environment ids).
func (p *Pool) removeStale() {
	ents, err := os.ReadDir(p.cfg.WorkDir)
	if err != nil {
		return
	}
	for _, de := range ents {
		if n := de.Name(); len(n) == 32 && strings.Trim(n, "0123456789abcdef") == "" {
			_ = os.RemoveAll(filepath.Join(p.cfg.WorkDir, n))
		}
	}
}

// reap kills environments idle for longer than IdleTimeout.
func (p *Pool) reap() {
	defer close(p.reapDone)
	every := p.cfg.IdleTimeout / 4
	every = max(every, 50*time.Millisecond)
	every = min(every, 30*time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case now := <-t.C:
			p.expireStaged(now, p.cfg.IdleTimeout)
			p.mu.Lock()
			for _, fs := range p.fns {
				for _, e := range append([]*env(nil), fs.idle...) {
					if now.Sub(e.lastUsed) > p.cfg.IdleTimeout {
						p.killLocked(e, "spindown")
					}
				}
			}
			p.mu.Unlock()
		}
	}
}

// watch waits for the runtime process to end and cleans the environment up.
func (p *Pool) watch(e *env) {
	defer p.wg.Done()
	<-e.proc.Exited()
	e.srv.Close()
	p.mu.Lock()
	e.dead = true
	removeIdle(e)
	delete(e.fs.envs, e)
	p.envCount--
	p.mu.Unlock()
	if err := os.RemoveAll(e.dir); err != nil {
		p.log.Warn("pool: remove environment dir", "dir", e.dir, "err", err)
	}
}

// terminate stops the runtime: SIGKILL at once without extensions; with extensions, SHUTDOWN to
// them, SIGTERM to the group and SIGKILL after 500 ms.
func (e *env) terminate(reason string) {
	e.srv.Shutdown(reason)
	if e.srv.HasExtensions() {
		e.proc.Terminate(500 * time.Millisecond)
	} else {
		e.proc.Kill()
	}
}
