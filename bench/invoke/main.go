// Command invoke benchmarks furl's execution engine: warm invoke latency (p50/p99) and
// throughput at concurrency 1 and 8 for a Go (aws-lambda-go) and a Python function, and the
// cold-start time to first response for Go, Python and Node.js, all through furl's pool with
// real processes. With -rie (or FURL_BENCH_RIE) pointing at a built AWS Runtime Interface
// Emulator it adds the emulator's numbers for the same Go function, measured through its
// /2015-03-31/functions/function/invocations endpoint.
//
// Run it with bench/run.sh.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/furl/furl/internal/bootstraps"
	"github.com/furl/furl/internal/pool"
	"github.com/furl/furl/internal/procs"
	"github.com/furl/furl/internal/sandbox"
)

const pythonHandler = `import json

def lambda_handler(event, context):
    return {"message": "hello world"}
`

const nodeHandler = `exports.handler = async (event, context) => ({ message: "hello world" });
`

type options struct {
	warm     time.Duration // per warm cell
	maxWarm  int           // invokes per warm cell at most
	coldRuns int
	rie      string
	nodeWarm bool
	verbose  bool
	affinity bool
	sandbox  bool
	adaptive bool
	goSrc    string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/invoke:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("invoke", flag.ContinueOnError)
	fl.SetOutput(stderr)
	var o options
	fl.DurationVar(&o.warm, "warm", 3*time.Second, "duration of each warm measurement")
	fl.IntVar(&o.maxWarm, "n", 20000, "at most this many invokes per warm measurement")
	fl.IntVar(&o.coldRuns, "cold", 10, "cold starts measured per runtime")
	fl.StringVar(&o.rie, "rie", os.Getenv("FURL_BENCH_RIE"), "path of a built aws-lambda-rie binary (adds its column)")
	fl.BoolVar(&o.nodeWarm, "node-warm", true, "also measure Node.js warm latency")
	fl.BoolVar(&o.adaptive, "adaptive-procs", true, "adapt GOMAXPROCS to the load, as furl serve does by default")
	fl.BoolVar(&o.affinity, "cpu-affinity", true, "limit environments to CPUs by memory size, as furl serve does by default")
	fl.BoolVar(&o.sandbox, "sandbox", true, "also measure sandboxed environments (needs bwrap), side by side with --sandbox=off")
	fl.BoolVar(&o.verbose, "v", false, "log the pool's debug output")
	fl.StringVar(&o.goSrc, "gofn", "./bench/invoke/gofn", "package of the Go function")
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}

	work, err := os.MkdirTemp("", "furl-bench-")
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	defer os.RemoveAll(work)

	// The functions.
	goDir := filepath.Join(work, "fn-go")
	build := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-ldflags", "-s -w",
		"-o", filepath.Join(goDir, "bootstrap"), o.goSrc)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stderr = stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("bench: build go function: %w", err)
	}
	pyDir := filepath.Join(work, "fn-python")
	nodeDir := filepath.Join(work, "fn-node")
	for dir, files := range map[string]map[string]string{
		pyDir:   {"lambda_function.py": pythonHandler},
		nodeDir: {"index.js": nodeHandler},
	} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		for name, content := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
				return fmt.Errorf("bench: %w", err)
			}
		}
	}

	set, err := bootstraps.New(filepath.Join(work, "bootstraps"))
	if err != nil {
		return err
	}
	set.Resolve(ctx)
	level := slog.LevelWarn
	if o.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	p := pool.New(pool.Config{WorkDir: filepath.Join(work, "envs"), Path: os.Getenv("PATH"), IdleTimeout: time.Hour, CPUAffinity: o.affinity},
		log, pool.DefaultLauncher{Managed: set}, nil)
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = p.Close(cctx)
	}()

	if o.adaptive {
		actx, stopAdapt := context.WithCancel(ctx)
		defer stopAdapt()
		go procs.Adapt(actx, 0, p.PeakInflight)
	}
	targets := map[string]*pool.Target{
		"go":     target("bench-go", "provided.al2023", "bootstrap", goDir),
		"python": target("bench-python", "python3.12", "lambda_function.lambda_handler", pyDir),
		"node":   target("bench-node", "nodejs20.x", "index.handler", nodeDir),
	}

	// furl serve stages a copy of each package when it is deployed (pool.Stage); a deploy takes
	// longer than the copy, so give it the same head start here.
	for _, t := range targets {
		p.Stage(t.CodeDir)
	}
	time.Sleep(100 * time.Millisecond)

	cols := []string{"furl go", "furl python", "furl node"}
	table := map[string]map[string]string{} // row -> column -> value
	set1 := func(row, col, v string) {
		if table[row] == nil {
			table[row] = map[string]string{}
		}
		table[row][col] = v
	}

	// The same functions in sandboxed environments (a second pool), measured interleaved with
	// the unsandboxed ones so both see the same machine.
	var sp *pool.Pool
	if o.sandbox {
		sb, err := sandbox.New(ctx, sandbox.Options{}, log)
		if err != nil {
			return fmt.Errorf("bench: %w (run with -sandbox=false to skip the sandbox columns)", err)
		}
		sp = pool.New(pool.Config{WorkDir: filepath.Join(work, "envs-sandbox"), Path: "/usr/local/bin:/usr/bin:/bin", IdleTimeout: time.Hour, CPUAffinity: o.affinity, Sandbox: sb},
			log, pool.DefaultLauncher{Managed: set}, nil)
		defer func() {
			cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = sp.Close(cctx)
		}()
		cols = append(cols, "sandbox go", "sandbox python", "sandbox node")
	}

	// Cold starts first, while the machine is quiet.
	for _, rt := range []string{"go", "python", "node"} {
		pools := []struct {
			p   *pool.Pool
			col string
		}{{p, "furl " + rt}}
		if sp != nil {
			pools = append(pools, struct {
				p   *pool.Pool
				col string
			}{sp, "sandbox " + rt})
		}
		for _, pc := range pools {
			c, err := coldStarts(ctx, pc.p, targets[rt], o.coldRuns)
			if err != nil {
				return fmt.Errorf("bench: cold %s: %w", pc.col, err)
			}
			set1("cold start to first response, median (ms)", pc.col, ms(c.median))
			set1("cold start to first response, min (ms)", pc.col, ms(c.min))
			set1("init duration reported, median (ms)", pc.col, ms(c.initMedian))
			fmt.Fprintf(stderr, "cold %-14s median %s ms (min %s, %d runs)\n", pc.col, ms(c.median), ms(c.min), o.coldRuns)
		}
	}

	warmRuntimes := []string{"go", "python"}
	if o.nodeWarm {
		warmRuntimes = append(warmRuntimes, "node")
	}
	for _, rt := range warmRuntimes {
		for _, conc := range []int{1, 8} {
			w, err := warmPool(ctx, p, targets[rt], conc, o)
			if err != nil {
				return fmt.Errorf("bench: warm %s c=%d: %w", rt, conc, err)
			}
			addWarm(set1, "furl "+rt, conc, w)
			fmt.Fprintf(stderr, "warm %-6s c=%d p50 %s ms p99 %s ms %s inv/s (%d invokes)\n", rt, conc, ms(w.p50), ms(w.p99), rate(w.throughput), w.n)
			if sp != nil {
				w, err := warmPool(ctx, sp, targets[rt], conc, o)
				if err != nil {
					return fmt.Errorf("bench: warm sandbox %s c=%d: %w", rt, conc, err)
				}
				addWarm(set1, "sandbox "+rt, conc, w)
				fmt.Fprintf(stderr, "warm sandbox %-6s c=%d p50 %s ms p99 %s ms %s inv/s (%d invokes)\n", rt, conc, ms(w.p50), ms(w.p99), rate(w.throughput), w.n)
			}
		}
	}

	if o.rie != "" {
		cols = append(cols, "rie go")
		r, err := rieBench(ctx, o, filepath.Join(goDir, "bootstrap"))
		if err != nil {
			return fmt.Errorf("bench: rie: %w", err)
		}
		addWarm(set1, "rie go", 1, r.warm)
		set1("warm p50, c=8 (ms)", "rie go", "n/a¹")
		set1("cold start to first response, median (ms)", "rie go", ms(r.cold))
		set1("cold start to first response, min (ms)", "rie go", ms(r.cold))
		fmt.Fprintf(stderr, "rie go c=1 p50 %s ms p99 %s ms; first invoke %s ms\n", ms(r.warm.p50), ms(r.warm.p99), ms(r.cold))
	}

	rows := []string{
		"warm p50, c=1 (ms)", "warm p99, c=1 (ms)", "throughput, c=1 (inv/s)",
		"warm p50, c=8 (ms)", "warm p99, c=8 (ms)", "throughput, c=8 (inv/s)",
		"cold start to first response, median (ms)", "cold start to first response, min (ms)",
		"init duration reported, median (ms)",
	}
	fmt.Fprintf(stdout, "furl invoke benchmark — %s, %d CPUs, go %s\n\n", time.Now().UTC().Format(time.RFC3339), runtime.NumCPU(), runtime.Version())
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "\t%s\t\n", strings.Join(cols, "\t"))
	for _, row := range rows {
		vals := make([]string, len(cols))
		for i, c := range cols {
			vals[i] = table[row][c]
			if vals[i] == "" {
				vals[i] = "-"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t\n", row, strings.Join(vals, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	fmt.Fprintln(stdout, "furl: in-process pool.Invoke → Runtime API → real function process (Go: aws-lambda-go; Python, Node: furl's bootstraps).")
	if sp != nil {
		fmt.Fprintln(stdout, "sandbox: the same functions with --sandbox=on (bubblewrap namespaces, code bound read-only instead of copied, Runtime API admission by socket owner).")
	}
	fmt.Fprintln(stdout, "Cold start: Invoke with a new configuration (new ConfigKey) until the first response: process start, init, invoke (the package copy was staged at deploy, as furl serve does).")
	if o.rie != "" {
		fmt.Fprintln(stdout, "rie: HTTP POST to the emulator's /2015-03-31/functions/function/invocations (keep-alive client), same Go binary;")
		fmt.Fprintln(stdout, "     cold = its first invoke after start (it initialises lazily). ¹ the RIE serves one invoke at a time (it crashes on concurrent invokes).")
	}
	return nil
}

func target(name, rt, handler, dir string) *pool.Target {
	return &pool.Target{
		FunctionName: name,
		FunctionARN:  "arn:aws:lambda:us-east-1:000000000000:function:" + name,
		Version:      "$LATEST",
		Runtime:      rt,
		Handler:      handler,
		CodeDir:      dir,
		MemoryMB:     1024,
		Timeout:      30 * time.Second,
		ConfigKey:    "v0",
		Region:       "us-east-1",
	}
}

type coldResult struct{ median, min, initMedian time.Duration }

func coldStarts(ctx context.Context, p *pool.Pool, base *pool.Target, runs int) (coldResult, error) {
	var times, inits []time.Duration
	for i := 0; i < runs; i++ {
		t := *base
		t.ConfigKey = fmt.Sprintf("cold-%d-%d", time.Now().UnixNano(), i)
		start := time.Now()
		res, err := p.Invoke(ctx, &t, &pool.Request{Payload: []byte(`{}`)})
		d := time.Since(start)
		if err != nil {
			return coldResult{}, err
		}
		if res.FunctionError != "" {
			return coldResult{}, fmt.Errorf("function error %s: %s", res.ErrorType, res.Payload)
		}
		if !res.ColdStart {
			return coldResult{}, errors.New("invoke with new code was not a cold start")
		}
		times = append(times, d)
		inits = append(inits, res.InitDuration)
		// Let the drained environment go before the next sample.
		time.Sleep(50 * time.Millisecond)
	}
	sortDur(times)
	sortDur(inits)
	return coldResult{median: times[len(times)/2], min: times[0], initMedian: inits[len(inits)/2]}, nil
}

type warmResult struct {
	p50, p99   time.Duration
	throughput float64
	n          int
}

// measure runs do from conc workers for about d (at most max calls) after a warm-up.
func measure(ctx context.Context, conc int, d time.Duration, max int, do func() error) (warmResult, error) {
	var (
		mu    sync.Mutex
		lat   = make([]time.Duration, 0, max)
		first error
		wg    sync.WaitGroup
		count int
	)
	// Warm-up: conc concurrent calls, repeated, so there are conc warm environments.
	for round := 0; round < 3; round++ {
		errs := make(chan error, conc)
		for i := 0; i < conc; i++ {
			go func() { errs <- do() }()
		}
		for i := 0; i < conc; i++ {
			if err := <-errs; err != nil {
				return warmResult{}, err
			}
		}
	}
	deadline := time.Now().Add(d)
	start := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && time.Now().Before(deadline) {
				mu.Lock()
				if count >= max || first != nil {
					mu.Unlock()
					return
				}
				count++
				mu.Unlock()
				t0 := time.Now()
				err := do()
				el := time.Since(t0)
				mu.Lock()
				if err != nil && first == nil {
					first = err
				}
				lat = append(lat, el)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	total := time.Since(start)
	if first != nil {
		return warmResult{}, first
	}
	if err := ctx.Err(); err != nil {
		return warmResult{}, err
	}
	sortDur(lat)
	return warmResult{
		p50:        percentile(lat, 50),
		p99:        percentile(lat, 99),
		throughput: float64(len(lat)) / total.Seconds(),
		n:          len(lat),
	}, nil
}

func warmPool(ctx context.Context, p *pool.Pool, t *pool.Target, conc int, o options) (warmResult, error) {
	payload := []byte(`{"rawPath":"/","body":"hello"}`)
	return measure(ctx, conc, o.warm, o.maxWarm, func() error {
		res, err := p.Invoke(ctx, t, &pool.Request{Payload: payload})
		if err != nil {
			return err
		}
		if res.FunctionError != "" || !bytes.Contains(res.Payload, []byte("hello world")) {
			return fmt.Errorf("unexpected result %q %s", res.FunctionError, res.Payload)
		}
		return nil
	})
}

type rieResult struct {
	warm warmResult
	cold time.Duration
}

// rieBench runs the Runtime Interface Emulator with the Go function and measures it through
// its invocations endpoint: the first invoke (it initialises lazily), then warm invokes at
// concurrency 1 (it cannot serve concurrent invokes).
func rieBench(ctx context.Context, o options, bootstrap string) (rieResult, error) {
	invokeAddr, err := freePort()
	if err != nil {
		return rieResult{}, err
	}
	apiAddr, err := freePort()
	if err != nil {
		return rieResult{}, err
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(cctx, o.rie,
		"--runtime-interface-emulator-address", invokeAddr,
		"--runtime-api-address", apiAddr,
		bootstrap)
	cmd.Dir = filepath.Dir(bootstrap)
	cmd.Env = append(os.Environ(), "AWS_LAMBDA_FUNCTION_TIMEOUT=30", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=1024", "LOG_LEVEL=error")
	cmd.Stdout = io.Discard
	cmd.Stderr = io.Discard
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	if err := cmd.Start(); err != nil {
		return rieResult{}, err
	}
	defer func() {
		cancel()
		_ = cmd.Wait()
	}()
	url := "http://" + invokeAddr + "/2015-03-31/functions/function/invocations"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}, Timeout: 30 * time.Second}
	// Wait until the emulator listens; this does not start the function.
	for i := 0; ; i++ {
		c, err := net.DialTimeout("tcp", invokeAddr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		if i > 100 {
			return rieResult{}, fmt.Errorf("emulator did not listen on %s", invokeAddr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	payload := []byte(`{"rawPath":"/","body":"hello"}`)
	do := func() error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(payload))
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte("hello world")) {
			return fmt.Errorf("emulator answered %d %s", resp.StatusCode, body)
		}
		return nil
	}
	start := time.Now()
	if err := do(); err != nil {
		return rieResult{}, err
	}
	cold := time.Since(start)
	w, err := measure(ctx, 1, o.warm, o.maxWarm, do)
	if err != nil {
		return rieResult{}, err
	}
	return rieResult{warm: w, cold: cold}, nil
}

func addWarm(set func(row, col, v string), col string, conc int, w warmResult) {
	c := strconv.Itoa(conc)
	set("warm p50, c="+c+" (ms)", col, ms(w.p50))
	set("warm p99, c="+c+" (ms)", col, ms(w.p99))
	set("throughput, c="+c+" (inv/s)", col, rate(w.throughput))
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	return addr, l.Close()
}

func sortDur(d []time.Duration) { sort.Slice(d, func(i, j int) bool { return d[i] < d[j] }) }

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(float64(len(sorted))*p/100)) - 1
	if i < 0 {
		i = 0
	}
	return sorted[i]
}

func ms(d time.Duration) string {
	v := float64(d) / float64(time.Millisecond)
	switch {
	case v < 1:
		return strconv.FormatFloat(v, 'f', 3, 64)
	case v < 100:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}

func rate(r float64) string { return strconv.FormatFloat(r, 'f', 0, 64) }
