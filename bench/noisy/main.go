// Command noisy measures what one noisy function costs the others: a Python function prints
// 50 MB to stdout in one invocation while another function is invoked back to back. It prints
// furl's RSS before and after, and the quiet function's latency during the print, side by side
// with the per-invocation log cap on (the default, 1 MiB) and off. The pool and the invocation
// log store run in this process, as in furl serve.
//
//	go run ./bench/noisy [-mb 50]
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/furl/furl/internal/bootstraps"
	"github.com/furl/furl/internal/invocationlog"
	"github.com/furl/furl/internal/pool"
)

const noisyHandler = `import sys
def handler(event, context):
    line = "x" * 1023 + "\n"
    w = sys.stdout.write
    for _ in range(int(event.get("kb", 1024))):
        w(line)
    sys.stdout.flush()
    return "done"
`

const quietHandler = `def handler(event, context):
    return {"ok": True}
`

func main() {
	mb := flag.Int("mb", 50, "MB the noisy function prints in one invocation")
	flag.Parse()
	if err := run(*mb); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

type result struct {
	rssBefore, rssAfter int64
	p50, p99, max       time.Duration
	n                   int
	printed             time.Duration
	stored              int64
}

func run(mb int) error {
	work, err := os.MkdirTemp("", "furl-bench-noisy-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	for name, src := range map[string]string{"noisy": noisyHandler, "quiet": quietHandler} {
		d := filepath.Join(work, "fn-"+name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(d, "lambda_function.py"), []byte(src), 0o644); err != nil {
			return err
		}
	}
	set, err := bootstraps.New(filepath.Join(work, "bootstraps"))
	if err != nil {
		return err
	}
	set.Resolve(context.Background())
	modes := []struct {
		name string
		cap  int64
	}{{"cap 1 MiB (default)", 0}, {"no cap", -1}}
	var res []result
	for i, m := range modes {
		r, err := measure(work, fmt.Sprint(i), set, m.cap, mb)
		if err != nil {
			return err
		}
		res = append(res, r)
	}
	fmt.Printf("one invocation printing %d MB; another function invoked back to back meanwhile\n\n", mb)
	fmt.Printf("%-28s", "")
	for _, m := range modes {
		fmt.Printf("%22s", m.name)
	}
	fmt.Println()
	row := func(name string, f func(r result) string) {
		fmt.Printf("%-28s", name)
		for _, r := range res {
			fmt.Printf("%22s", f(r))
		}
		fmt.Println()
	}
	row("RSS before (MB)", func(r result) string { return fmt.Sprint(r.rssBefore >> 20) })
	row("RSS 2 s after (MB)", func(r result) string { return fmt.Sprint(r.rssAfter >> 20) })
	row("noisy invoke (ms)", func(r result) string { return fmt.Sprint(r.printed.Milliseconds()) })
	row("noisy logs stored (MB)", func(r result) string { return fmt.Sprintf("%.1f", float64(r.stored)/(1<<20)) })
	row("quiet invokes meanwhile", func(r result) string { return fmt.Sprint(r.n) })
	row("quiet p50 (ms)", func(r result) string { return fmt.Sprintf("%.1f", float64(r.p50.Microseconds())/1000) })
	row("quiet p99 (ms)", func(r result) string { return fmt.Sprintf("%.1f", float64(r.p99.Microseconds())/1000) })
	row("quiet max (ms)", func(r result) string { return fmt.Sprintf("%.1f", float64(r.max.Microseconds())/1000) })
	return nil
}

func target(name, dir string) *pool.Target {
	return &pool.Target{
		FunctionName: name, FunctionARN: "arn:aws:lambda:us-east-1:000000000000:function:" + name,
		Version: "$LATEST", Runtime: "python3.12", Handler: "lambda_function.handler", CodeDir: dir,
		MemoryMB: 512, Timeout: 120 * time.Second, ConfigKey: "v1", Region: "us-east-1",
	}
}

func measure(work, tag string, set *bootstraps.Set, logCap int64, mb int) (result, error) {
	var r result
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	logDir := filepath.Join(work, "logs"+tag)
	logs, err := invocationlog.Open(logDir, time.Hour, invocationlog.Limits{}, log)
	if err != nil {
		return r, err
	}
	defer logs.Close()
	p := pool.New(pool.Config{WorkDir: filepath.Join(work, "envs"+tag), Path: os.Getenv("PATH"), IdleTimeout: time.Hour, MaxLogBytesPerInvoke: logCap},
		log, pool.DefaultLauncher{Managed: set}, logs)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = p.Close(ctx)
	}()
	ctx := context.Background()
	noisy, quiet := target("noisy", filepath.Join(work, "fn-noisy")), target("quiet", filepath.Join(work, "fn-quiet"))
	for _, t := range []*pool.Target{noisy, quiet} {
		if _, err := p.Invoke(ctx, t, &pool.Request{Payload: []byte(`{"kb":1}`)}); err != nil {
			return r, err
		}
	}
	runtime.GC()
	r.rssBefore = rss()
	var lat []time.Duration
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			t0 := time.Now()
			if _, err := p.Invoke(ctx, quiet, &pool.Request{Payload: []byte(`{}`)}); err == nil {
				lat = append(lat, time.Since(t0))
			}
		}
	}()
	t0 := time.Now()
	_, err = p.Invoke(ctx, noisy, &pool.Request{Payload: []byte(`{"kb":` + strconv.Itoa(mb<<10) + `}`)})
	r.printed = time.Since(t0)
	time.Sleep(500 * time.Millisecond) // the flush that follows
	close(stop)
	wg.Wait()
	if err != nil {
		return r, err
	}
	time.Sleep(1500 * time.Millisecond)
	r.rssAfter = rss()
	_ = logs.Flush()
	filepath.Walk(filepath.Join(logDir, "noisy"), func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			r.stored += fi.Size()
		}
		return nil
	})
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	r.n = len(lat)
	if len(lat) > 0 {
		r.p50, r.p99, r.max = lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1]
	}
	return r, nil
}

// rss is this process's resident set size.
func rss() int64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
