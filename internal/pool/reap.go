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

// reap kills environments idle for longer than IdleTimeout and expires staged code copies.
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
			p.sched.expireIdle(now)
		}
	}
}

// watch waits for the runtime process to end and cleans the environment up.
func (p *Pool) watch(e *env) {
	defer p.wg.Done()
	<-e.proc.Exited()
	e.srv.Close()
	p.sched.gone(e.slot)
	if err := os.RemoveAll(e.dir); err != nil {
		p.log.Warn("pool: remove environment dir", "dir", e.dir, "err", err)
	}
}

// stop implements instance: a started environment's runtime is terminated in the background
// and its watcher reports the end; one not started yet has nothing to stop.
func (e *env) stop(reason string) {
	if e.proc == nil {
		return
	}
	go e.terminate(reason)
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
