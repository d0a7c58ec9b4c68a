// Command url benchmarks furl's function-URL data plane side by side with a raw net/http
// server: wrk against (1) a Go hello-world net/http server, (2) a function URL in front of an
// aws-lambda-go function, (3) a function URL in front of a Python function, (4) the same Go
// function deployed with `furl deploy --url none` to a real `furl serve` process, at each
// connection count; then time-to-first-byte and throughput of a large stream through a
// RESPONSE_STREAM URL.
//
// Targets 2, 3 and the stream compose the real data plane (gateway + pool + bootstraps +
// metrics + invocation logs, as furl serve does) in this process with an in-memory URL table;
// target 4 is the whole product (routing, URL resolution from SQLite, the logs on disk). Run
// it through bench/url/run.sh.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/furl/furl/internal/bootstraps"
	"github.com/furl/furl/internal/functions"
	"github.com/furl/furl/internal/gateway"
	"github.com/furl/furl/internal/identity"
	"github.com/furl/furl/internal/invocationlog"
	"github.com/furl/furl/internal/lambda"
	"github.com/furl/furl/internal/metrics"
	"github.com/furl/furl/internal/pool"
	"github.com/furl/furl/internal/procs"
	"github.com/furl/furl/internal/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

const (
	region  = "us-east-1"
	account = "000000000000"
)

type resolver struct {
	mu   sync.Mutex
	urls map[string]*functions.URLTarget
}

func (r *resolver) ResolveURL(_ context.Context, id string) (*functions.URLTarget, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.urls[id], nil
}

func (r *resolver) add(id, name, runtime, handler, dir, mode string) {
	arn := lambda.FunctionARN(region, account, name, "")
	policy := `{"Version":"2012-10-17","Statement":[{"Sid":"FunctionURLAllowPublicAccess","Effect":"Allow","Principal":"*",` +
		`"Action":"lambda:InvokeFunctionUrl","Resource":"` + arn + `","Condition":{"StringEquals":{"lambda:FunctionUrlAuthType":"NONE"}}}]}`
	r.mu.Lock()
	defer r.mu.Unlock()
	r.urls[id] = &functions.URLTarget{
		Config: lambda.URLConfig{URLID: id, FunctionName: name, AuthType: lambda.AuthNone, InvokeMode: mode},
		Target: &pool.Target{FunctionName: name, FunctionARN: arn, Version: lambda.LatestVersion, Runtime: runtime,
			Handler: handler, CodeDir: dir, MemoryMB: 128, Timeout: 60 * time.Second, ConfigKey: "bench", Region: region},
		ResourceARN: arn, InvokedARN: arn, Policy: []byte(policy), AccountID: account,
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	duration := fs.Duration("duration", 5*time.Second, "wrk run length per measurement")
	warmup := fs.Duration("warmup", 2*time.Second, "unmeasured wrk run before each measurement")
	connsFlag := fs.String("conns", "1,64", "connection counts")
	streamMB := fs.Int("stream-mb", 100, "size of the streamed response in MiB (0 skips)")
	only := fs.String("only", "", "comma-separated subset of targets: raw,go,python,serve-go")
	memPoll := fs.Duration("mem-poll", 0, "pool memory watchdog period (0 = the pool's default)")
	csw := fs.Duration("cold-start-wait", 0, "pool's wait for a busy environment before a cold start (0 = furl's default)")
	adaptive := fs.Bool("adaptive-procs", true, "adapt GOMAXPROCS to the load, as furl serve does by default")
	affinity := fs.Bool("cpu-affinity", true, "limit environments to CPUs by memory size, as furl serve does by default")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the measured runs to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if _, err := exec.LookPath("wrk"); err != nil {
		return errors.New("wrk not found (scripts/deps.sh installs it)")
	}
	tmp, err := os.MkdirTemp("", "furl-bench-url-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	// Functions.
	goDir, streamDir, pyDir := filepath.Join(tmp, "gofn"), filepath.Join(tmp, "streamfn"), filepath.Join(tmp, "pyfn")
	for pkg, dir := range map[string]string{"./bench/url/gofn": goDir, "./bench/url/streamfn": streamDir} {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(dir, "bootstrap"), pkg)
		cmd.Stderr = os.Stderr
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("build %s: %w", pkg, err)
		}
	}
	if err := os.MkdirAll(pyDir, 0o755); err != nil {
		return err
	}
	py := "def handler(event, context):\n    return {\"statusCode\": 200, \"headers\": {\"Content-Type\": \"text/plain\"}, \"body\": \"hello world\"}\n"
	if err := os.WriteFile(filepath.Join(pyDir, "lambda_function.py"), []byte(py), 0o644); err != nil {
		return err
	}

	// The data plane, as furl serve composes it.
	log := slog.New(slog.DiscardHandler)
	boots, err := bootstraps.New(filepath.Join(tmp, "runtimes"))
	if err != nil {
		return err
	}
	logs, err := invocationlog.Open(filepath.Join(tmp, "logs"), time.Hour, invocationlog.Limits{}, log)
	if err != nil {
		return err
	}
	defer logs.Close()
	p := pool.New(pool.Config{WorkDir: filepath.Join(tmp, "envs"), Path: os.Getenv("PATH"), IdleTimeout: 10 * time.Minute, MemoryPollInterval: *memPoll, CPUAffinity: *affinity, ColdStartWait: *csw},
		log, pool.DefaultLauncher{Managed: boots}, logs)
	defer func() {
		c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = p.Close(c)
	}()
	var inflight procs.Counter
	if *adaptive {
		actx, stopAdapt := context.WithCancel(ctx)
		defer stopAdapt()
		go procs.Adapt(actx, 0, func() int { return max(inflight.Peak(), p.PeakInflight()) })
	}
	res := &resolver{urls: map[string]*functions.URLTarget{}}
	res.add("gofn", "hello-go", "provided.al2023", "bootstrap", goDir, lambda.InvokeBuffered)
	res.add("pyfn", "hello-python", "python3.12", "lambda_function.handler", pyDir, lambda.InvokeBuffered)
	res.add("streamfn", "stream-go", "provided.al2023", "bootstrap", streamDir, lambda.InvokeStream)
	met := metrics.New(p)
	// The identity service authorizes every URL request (a NONE URL's resource policy too).
	db, err := store.Open(ctx, filepath.Join(tmp, "furl.db"))
	if err != nil {
		return err
	}
	defer db.Close()
	ids, err := identity.New(identity.Options{Store: db, AccountID: account, Region: region, Log: log,
		RootAccessKeyID: "AKIAFURLBENCHROOT001", RootSecretAccessKey: "furl-bench-root-secret-key-00000000000000"})
	if err != nil {
		return err
	}
	gw := gateway.New(res, p, gateway.Options{Log: log, Region: region, Metrics: met, Auth: ids, StreamMaxBytes: 1 << 40})

	furlURL, stopFurl, err := serve(inflight.Wrap(gw))
	if err != nil {
		return err
	}
	defer stopFurl()
	rawURL, stopRaw, err := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "hello world")
	}))
	if err != nil {
		return err
	}
	defer stopRaw()

	targets := []struct{ name, url string }{
		{"raw", rawURL + "/"},
		{"go", furlURL + "/lambda-url/gofn/"},
		{"python", furlURL + "/lambda-url/pyfn/"},
		{"serve-go", ""}, // set below: the same Go function deployed to a real furl serve
	}
	if *only == "" || strings.Contains(","+*only+",", ",serve-go,") {
		u, stop, err := serveAndDeploy(ctx, tmp, goDir, *affinity, *adaptive)
		if err != nil {
			return fmt.Errorf("serve-go: %w", err)
		}
		defer stop()
		targets[3].url = u
	}
	if *only != "" {
		keep := targets[:0]
		for _, t := range targets {
			if strings.Contains(","+*only+",", ","+t.name+",") {
				keep = append(keep, t)
			}
		}
		targets = keep
	}
	for _, t := range targets { // sanity check
		body, err := get(ctx, t.url)
		if err != nil || body != "hello world" {
			return fmt.Errorf("%s: %q %v", t.name, body, err)
		}
	}

	var conns []int
	for _, c := range strings.Split(*connsFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n < 1 {
			return fmt.Errorf("bad -conns %q", *connsFlag)
		}
		conns = append(conns, n)
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	fmt.Fprintf(out, "wrk %v per run (after %v warm-up), loopback, %d CPUs\n\n", *duration, *warmup, runtime.NumCPU())
	fmt.Fprintf(out, "%-8s %6s %12s %10s %10s %9s %10s %8s\n", "target", "conns", "req/s", "p50", "p99", "non-2xx", "vs raw", "p50 +")
	for _, c := range conns {
		var raw *wrkResult
		for _, t := range targets {
			if *warmup > 0 {
				if _, err := runWrk(ctx, t.url, c, *warmup); err != nil {
					return err
				}
			}
			r, err := runWrk(ctx, t.url, c, *duration)
			if err != nil {
				return err
			}
			ratio, over := "", ""
			if t.name == "raw" {
				raw = r
			} else if raw != nil {
				ratio = fmt.Sprintf("%.1f%%", 100*r.rps/raw.rps)
				over = fmtDur(r.p50 - raw.p50)
			}
			fmt.Fprintf(out, "%-8s %6d %12.0f %10s %10s %9d %10s %8s\n", t.name, c, r.rps, fmtDur(r.p50), fmtDur(r.p99), r.non2xx, ratio, over)
		}
	}
	st := p.Stats()
	fmt.Fprintf(out, "\npool: %d environments;", st.Environments)
	for name, f := range st.Functions {
		fmt.Fprintf(out, " %s: %d envs, %d cold starts, %d invocations, %d errors;", name, f.Environments, f.ColdStarts, f.Invocations, f.Errors)
	}
	fmt.Fprintln(out)
	if *streamMB > 0 {
		if _, _, _, err := stream(ctx, furlURL+"/lambda-url/streamfn/?mb=1"); err != nil { // cold start
			return err
		}
		ttfb, total, n, err := stream(ctx, furlURL+"/lambda-url/streamfn/?mb="+strconv.Itoa(*streamMB))
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "\nRESPONSE_STREAM %d MiB (warm): time to first byte %s, total %s, %.0f MiB/s (%d bytes)\n",
			*streamMB, fmtDur(ttfb), fmtDur(total), float64(n)/(1<<20)/total.Seconds(), n)
	}
	return nil
}

func serve(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { _ = srv.Close() }, nil
}

func get(ctx context.Context, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func stream(ctx context.Context, url string) (ttfb, total time.Duration, n int64, err error) {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return 0, 0, 0, err
	}
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return 0, 0, 0, fmt.Errorf("stream: status %d", resp.StatusCode)
	}
	buf := make([]byte, 256<<10)
	for {
		m, rerr := resp.Body.Read(buf)
		if m > 0 && n == 0 {
			ttfb = time.Since(start)
		}
		n += int64(m)
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return 0, 0, n, fmt.Errorf("stream: %w", rerr)
		}
	}
	return ttfb, time.Since(start), n, nil
}

type wrkResult struct {
	rps      float64
	p50, p99 time.Duration
	non2xx   int
}

var (
	reRPS    = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	reP      = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s)\s*$`)
	reNon2xx = regexp.MustCompile(`Non-2xx or 3xx responses:\s+(\d+)`)
	reErrors = regexp.MustCompile(`Socket errors:.*`)
)

func runWrk(ctx context.Context, url string, conns int, d time.Duration) (*wrkResult, error) {
	threads := 2
	if conns < threads {
		threads = conns
	}
	secs := int(d.Round(time.Second) / time.Second)
	if secs < 1 {
		secs = 1
	}
	cmd := exec.CommandContext(ctx, "wrk", "-t", strconv.Itoa(threads), "-c", strconv.Itoa(conns),
		"-d", strconv.Itoa(secs)+"s", "--timeout", "30s", "--latency", url)
	b, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("wrk: %w\n%s", err, b)
	}
	s := string(b)
	r := &wrkResult{}
	m := reRPS.FindStringSubmatch(s)
	if m == nil {
		return nil, fmt.Errorf("wrk output not understood:\n%s", s)
	}
	r.rps, _ = strconv.ParseFloat(m[1], 64)
	for _, pm := range reP.FindAllStringSubmatch(s, -1) {
		v, _ := strconv.ParseFloat(pm[2], 64)
		unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[pm[3]]
		dd := time.Duration(v * float64(unit))
		if pm[1] == "50" {
			r.p50 = dd
		} else {
			r.p99 = dd
		}
	}
	if m := reNon2xx.FindStringSubmatch(s); m != nil {
		r.non2xx, _ = strconv.Atoi(m[1])
	}
	if e := reErrors.FindString(s); e != "" {
		fmt.Fprintf(os.Stderr, "wrk %s c=%d: %s\n", url, conns, e)
	}
	return r, nil
}

func fmtDur(d time.Duration) string {
	switch {
	case d < 0:
		return "-" + fmtDur(-d)
	case d < time.Millisecond:
		return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
	case d < time.Second:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

// serveAndDeploy builds furl, starts `furl serve` on a free loopback port with its own data
// directory, deploys the function in dir with `furl deploy --url none` (the AWS API path a
// user takes) and returns the path-style URL and a stop function.
func serveAndDeploy(ctx context.Context, tmp, dir string, affinity, adaptive bool) (string, func(), error) {
	bin := filepath.Join(tmp, "furl")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/furl")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		return "", nil, fmt.Errorf("build furl: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	data := filepath.Join(tmp, "serve")
	var out strings.Builder
	srv := exec.Command(bin, "serve", "--addr", addr, "--data-dir", data, "--log-level", "warn",
		"--cpu-affinity="+strconv.FormatBool(affinity), "--adaptive-procs="+strconv.FormatBool(adaptive))
	srv.Stdout, srv.Stderr = &out, &out
	if err := srv.Start(); err != nil {
		return "", nil, err
	}
	stop := func() {
		_ = srv.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = srv.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = srv.Process.Kill()
			<-done
		}
	}
	endpoint := "http://" + addr
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, err := get(ctx, endpoint+"/2015-03-31/functions"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, fmt.Errorf("furl serve did not start:\n%s", out.String())
		}
	}
	deploy := exec.CommandContext(ctx, bin, "deploy", dir, "--name", "hello-go-serve", "--runtime", "provided.al2023",
		"--url", "none", "--endpoint", endpoint, "--data-dir", data)
	var derr strings.Builder
	deploy.Stderr = &derr
	b, err := deploy.Output()
	if err != nil {
		stop()
		return "", nil, fmt.Errorf("furl deploy: %w\n%s", err, derr.String())
	}
	m := regexp.MustCompile(`/lambda-url/([a-z0-9]+)/|//([a-z0-9]+)\.lambda-url\.`).FindSubmatch(b)
	if m == nil {
		stop()
		return "", nil, fmt.Errorf("furl deploy printed no function URL: %q", b)
	}
	return endpoint + "/lambda-url/" + string(m[1]) + string(m[2]) + "/", stop, nil
}
