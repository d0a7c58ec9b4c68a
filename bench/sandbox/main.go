// Command sandbox measures what the execution-environment sandbox costs, side by side with
// --sandbox=off in one run, on a loaded machine: every figure is taken in interleaved A/B pairs
// and reported as min and median with the load average beside it.
//
// It prints three tables:
//
//   - launch: what each piece of the sandbox's launch path costs on its own (a plain exec, the
//     setpriv exec, bwrap with furl's own command line, and Go's clone with the same namespaces
//     and a per-environment uid) — where the cold-start time goes;
//   - cold start: Go (aws-lambda-go) and Python functions through furl's pool, off vs on;
//   - warm: p50 and p99 of one invoke at concurrency 1, off vs on, in alternating rounds.
//
// Run it as root (furl's per-environment uids and setpriv) and as an ordinary user (a user
// namespace): go run ./bench/sandbox [-cold 15] [-rounds 5] [-warm 1s]
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
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/furl/furl/internal/bootstraps"
	"github.com/furl/furl/internal/pool"
	"github.com/furl/furl/internal/sandbox"
)

const pythonHandler = `def lambda_handler(event, context):
    return {"message": "hello world"}
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/sandbox:", err)
		os.Exit(1)
	}
}

type options struct {
	cold, rounds, launches int
	warm                   time.Duration
	goSrc                  string
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("sandbox", flag.ContinueOnError)
	fl.SetOutput(stderr)
	var o options
	fl.IntVar(&o.cold, "cold", 15, "cold starts per runtime and mode")
	fl.IntVar(&o.rounds, "rounds", 5, "warm rounds per runtime and mode (alternating)")
	fl.IntVar(&o.launches, "launches", 30, "launches per variant in the launch table")
	fl.DurationVar(&o.warm, "warm", time.Second, "duration of one warm round")
	fl.StringVar(&o.goSrc, "gofn", "./bench/invoke/gofn", "package of the Go function")
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	work, err := os.MkdirTemp("", "furl-bench-sandbox-")
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	defer os.RemoveAll(work)
	_ = os.Chmod(work, 0o755) // the environments' uid reads the code

	goDir := filepath.Join(work, "fn-go")
	build := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-ldflags", "-s -w",
		"-o", filepath.Join(goDir, "bootstrap"), o.goSrc)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stderr = stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("bench: build go function: %w", err)
	}
	pyDir := filepath.Join(work, "fn-python")
	if err := os.MkdirAll(pyDir, 0o755); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if err := os.WriteFile(filepath.Join(pyDir, "lambda_function.py"), []byte(pythonHandler), 0o644); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	set, err := bootstraps.New(filepath.Join(work, "bootstraps"))
	if err != nil {
		return err
	}
	set.Resolve(ctx)
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	sb, err := sandbox.New(ctx, sandbox.Options{}, log)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	mk := func(name string, s *sandbox.Sandbox) *pool.Pool {
		return pool.New(pool.Config{WorkDir: filepath.Join(work, name), Path: os.Getenv("PATH"), IdleTimeout: time.Hour,
			CPUAffinity: true, Sandbox: s}, log, pool.DefaultLauncher{Managed: set}, nil)
	}
	pools := [2]*pool.Pool{mk("envs-off", nil), mk("envs-on", sb)}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, p := range pools {
			_ = p.Close(cctx)
		}
	}()
	targets := []*pool.Target{
		target("bench-go", "provided.al2023", "bootstrap", goDir),
		target("bench-python", "python3.12", "lambda_function.lambda_handler", pyDir),
	}
	for _, t := range targets {
		pools[0].Stage(t.CodeDir)
	}
	time.Sleep(100 * time.Millisecond)

	mode := "root: per-environment uid, bwrap + setpriv"
	if !sb.Root() {
		mode = "ordinary user: bwrap with a user namespace"
	}
	fmt.Fprintf(stdout, "furl sandbox benchmark — %s, %s\nload before: %s\n\n", time.Now().UTC().Format(time.RFC3339), mode, loadavg())

	// Launch breakdown.
	lt, err := launches(ctx, sb, work, o.launches)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "launch of /usr/bin/true (%d each, interleaved)\tmin (ms)\tmedian (ms)\tmedian − plain (ms)\t\n", o.launches)
	base := median(lt[0].d)
	for _, l := range lt {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", l.name, ms(minOf(l.d)), ms(median(l.d)), ms(median(l.d)-base))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(stdout)

	// Cold starts, off and on alternating (the order flips every run).
	type pair struct{ off, on []time.Duration }
	cold := make([]pair, len(targets))
	for i := 0; i < o.cold; i++ {
		for ti, t := range targets {
			for k := 0; k < 2; k++ {
				m := (i + k) % 2
				d, err := coldStart(ctx, pools[m], t, i)
				if err != nil {
					return fmt.Errorf("bench: cold %s (sandbox %v): %w", t.FunctionName, m == 1, err)
				}
				if m == 0 {
					cold[ti].off = append(cold[ti].off, d)
				} else {
					cold[ti].on = append(cold[ti].on, d)
				}
			}
		}
	}
	// Warm rounds: p50 and p99 of each round, off and on alternating.
	type wpair struct{ off50, on50, off99, on99 []time.Duration }
	warm := make([]wpair, len(targets))
	for r := 0; r < o.rounds; r++ {
		for ti, t := range targets {
			for k := 0; k < 2; k++ {
				m := (r + k) % 2
				p50, p99, err := warmRound(ctx, pools[m], t, o.warm)
				if err != nil {
					return fmt.Errorf("bench: warm %s (sandbox %v): %w", t.FunctionName, m == 1, err)
				}
				if m == 0 {
					warm[ti].off50, warm[ti].off99 = append(warm[ti].off50, p50), append(warm[ti].off99, p99)
				} else {
					warm[ti].on50, warm[ti].on99 = append(warm[ti].on50, p50), append(warm[ti].on99, p99)
				}
			}
		}
	}

	tw = tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "\toff min\ton min\toff median\ton median\ton − off (median)\ton / off (median)\t\n")
	row := func(name string, off, on []time.Duration) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%.2f×\t\n", name, ms(minOf(off)), ms(minOf(on)), ms(median(off)), ms(median(on)),
			ms(median(on)-median(off)), float64(median(on))/float64(median(off)))
	}
	for ti, t := range targets {
		rt := strings.TrimPrefix(t.FunctionName, "bench-")
		row(rt+" cold start (ms)", cold[ti].off, cold[ti].on)
	}
	for ti, t := range targets {
		rt := strings.TrimPrefix(t.FunctionName, "bench-")
		row(rt+" warm p50, c=1 (ms, per round)", warm[ti].off50, warm[ti].on50)
		row(rt+" warm p99, c=1 (ms, per round)", warm[ti].off99, warm[ti].on99)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nload after: %s\n", loadavg())
	fmt.Fprintf(stdout, "cold: %d runs per runtime and mode, off/on alternating; warm: %d rounds of %s per runtime and mode, alternating.\n", o.cold, o.rounds, o.warm)
	fmt.Fprintln(stdout, "Cold start: Invoke with a new configuration until the first response (process start, init, invoke), in-process pool.Invoke.")
	return nil
}

type launch struct {
	name string
	d    []time.Duration
}

// launches times one exec of /usr/bin/true through each piece of the sandbox's launch path.
func launches(ctx context.Context, sb *sandbox.Sandbox, work string, n int) ([]launch, error) {
	task := filepath.Join(work, "launch-task")
	if err := os.MkdirAll(task, 0o755); err != nil {
		return nil, err
	}
	truePath := "/usr/bin/true"
	env, err := sb.Prepare(sandbox.Spec{TaskDir: task})
	if err != nil {
		return nil, err
	}
	var full []string // without --info-fd and --block-fd, which need furl's side of the pipes
	argv := env.Argv([]string{truePath})
	env.Release()
	for i := 0; i < len(argv); i++ {
		if argv[i] == "--info-fd" || argv[i] == "--block-fd" {
			i++
			continue
		}
		full = append(full, argv[i])
	}
	type variant struct {
		name string
		argv []string
		attr *syscall.SysProcAttr
	}
	vs := []variant{{name: "plain exec", argv: []string{truePath}}}
	var bwrapOnly []string
	for i, a := range full {
		if a == "--" {
			bwrapOnly = append(append([]string{}, full[:i+1]...), truePath)
			if sb.Root() {
				vs = append(vs, variant{name: "setpriv exec", argv: full[i+1:]})
			}
			break
		}
	}
	vs = append(vs, variant{name: "bwrap (furl's mounts), no setpriv", argv: bwrapOnly},
		variant{name: "bwrap + setpriv (furl's launch path)", argv: full})
	ns := uintptr(syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS)
	if sb.Root() {
		vs = append(vs, variant{name: "Go clone: mnt+pid+ipc+uts ns, own uid (no mounts)", argv: []string{truePath},
			attr: &syscall.SysProcAttr{Cloneflags: ns, Credential: &syscall.Credential{Uid: 2_100_000_000, Gid: 2_100_000_000}, Setsid: true, Pdeathsig: syscall.SIGKILL}})
	} else {
		vs = append(vs, variant{name: "Go clone: user+mnt+pid+ipc+uts ns, uid 993 (no mounts)", argv: []string{truePath},
			attr: &syscall.SysProcAttr{Cloneflags: ns | syscall.CLONE_NEWUSER, Setsid: true, Pdeathsig: syscall.SIGKILL,
				UidMappings: []syscall.SysProcIDMap{{ContainerID: 993, HostID: os.Getuid(), Size: 1}},
				GidMappings: []syscall.SysProcIDMap{{ContainerID: 993, HostID: os.Getgid(), Size: 1}}}})
	}
	out := make([]launch, len(vs))
	for i := range vs {
		out[i].name = vs[i].name
	}
	for r := 0; r < n; r++ {
		for i, v := range vs {
			cmd := exec.CommandContext(ctx, v.argv[0], v.argv[1:]...)
			cmd.SysProcAttr = v.attr
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			start := time.Now()
			if err := cmd.Run(); err != nil {
				return nil, fmt.Errorf("bench: launch %s: %w: %s", v.name, err, stderr.String())
			}
			out[i].d = append(out[i].d, time.Since(start))
		}
	}
	return out, nil
}

func target(name, rt, handler, dir string) *pool.Target {
	return &pool.Target{
		FunctionName: name, FunctionARN: "arn:aws:lambda:us-east-1:000000000000:function:" + name,
		Version: "$LATEST", Runtime: rt, Handler: handler, CodeDir: dir, MemoryMB: 1024,
		Timeout: 30 * time.Second, ConfigKey: "v0", Region: "us-east-1",
	}
}

func coldStart(ctx context.Context, p *pool.Pool, base *pool.Target, i int) (time.Duration, error) {
	t := *base
	t.ConfigKey = fmt.Sprintf("cold-%d-%d", time.Now().UnixNano(), i)
	start := time.Now()
	res, err := p.Invoke(ctx, &t, &pool.Request{Payload: []byte(`{}`)})
	d := time.Since(start)
	if err != nil {
		return 0, err
	}
	if res.FunctionError != "" {
		return 0, fmt.Errorf("function error %s: %s", res.ErrorType, res.Payload)
	}
	if !res.ColdStart {
		return 0, errors.New("invoke with a new configuration was not a cold start")
	}
	time.Sleep(30 * time.Millisecond) // let the drained environment go
	return d, nil
}

func warmRound(ctx context.Context, p *pool.Pool, t *pool.Target, d time.Duration) (p50, p99 time.Duration, err error) {
	payload := []byte(`{"rawPath":"/","body":"hello"}`)
	do := func() error {
		res, err := p.Invoke(ctx, t, &pool.Request{Payload: payload})
		if err != nil {
			return err
		}
		if res.FunctionError != "" || !bytes.Contains(res.Payload, []byte("hello world")) {
			return fmt.Errorf("unexpected result %q %s", res.FunctionError, res.Payload)
		}
		return nil
	}
	for i := 0; i < 20; i++ { // warm up
		if err := do(); err != nil {
			return 0, 0, err
		}
	}
	var lat []time.Duration
	end := time.Now().Add(d)
	for time.Now().Before(end) && len(lat) < 50000 {
		t0 := time.Now()
		if err := do(); err != nil {
			return 0, 0, err
		}
		lat = append(lat, time.Since(t0))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return percentile(lat, 50), percentile(lat, 99), ctx.Err()
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return "load average " + strings.Join(f[:3], ", ")
}

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

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func minOf(d []time.Duration) time.Duration {
	m := d[0]
	for _, v := range d[1:] {
		m = min(m, v)
	}
	return m
}

func ms(d time.Duration) string {
	v := float64(d) / float64(time.Millisecond)
	switch {
	case math.Abs(v) < 1:
		return strconv.FormatFloat(v, 'f', 3, 64)
	case math.Abs(v) < 100:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}
