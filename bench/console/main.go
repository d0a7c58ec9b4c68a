// Command console measures what the web console's live request inspector costs a function URL
// under full load: wrk against a URL of a real `furl serve` (an aws-lambda-go hello world),
// alternately with nobody watching and with a signed-in console subscribed to the live request
// stream (server-sent events, every request delivered to it), printed side by side. Target: a
// watching console costs at most 10% of the URL's throughput. Run it through
// bench/console/run.sh.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/furl/furl/internal/series"
)

const (
	rootID     = "AKIAFURLBENCHCONSOLE"
	rootSecret = "furl-bench-console-secret"
	emptySHA   = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
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

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	duration := fs.Duration("duration", 5*time.Second, "wrk run length per measurement")
	conns := fs.Int("conns", 64, "wrk connections")
	rounds := fs.Int("rounds", 2, "alternations of unwatched / watched runs")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if _, err := exec.LookPath("wrk"); err != nil {
		return errors.New("wrk not found (scripts/deps.sh installs it)")
	}
	tmp, err := os.MkdirTemp("", "furl-bench-console-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin, fnDir := filepath.Join(tmp, "furl"), filepath.Join(tmp, "gofn")
	for pkg, o := range map[string]string{"./cmd/furl": bin, "./bench/url/gofn": filepath.Join(fnDir, "bootstrap")} {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", o, pkg)
		cmd.Stderr, cmd.Env = os.Stderr, append(os.Environ(), "CGO_ENABLED=0")
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("build %s: %w", pkg, err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := ln.Addr().String()
	ln.Close()
	endpoint := "http://" + addr
	data := filepath.Join(tmp, "data")
	env := append(os.Environ(), "FURL_ROOT_ACCESS_KEY_ID="+rootID, "FURL_ROOT_SECRET_ACCESS_KEY="+rootSecret)
	var srvOut strings.Builder
	srv := exec.Command(bin, "serve", "--addr", addr, "--data-dir", data, "--log-level", "warn")
	srv.Env, srv.Stdout, srv.Stderr = env, &srvOut, &srvOut
	if err := srv.Start(); err != nil {
		return err
	}
	defer func() {
		_ = srv.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = srv.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = srv.Process.Kill()
			<-done
		}
	}()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(endpoint + "/furl/console/signin"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("furl serve did not start:\n%s", srvOut.String())
		}
	}
	deploy := exec.CommandContext(ctx, bin, "deploy", fnDir, "--name", "hello", "--runtime", "provided.al2023",
		"--url", "none", "--endpoint", endpoint, "--data-dir", data)
	deploy.Env = env
	b, err := deploy.CombinedOutput()
	if err != nil {
		return fmt.Errorf("furl deploy: %w\n%s", err, b)
	}
	m := regexp.MustCompile(`//([a-z0-9]+)\.lambda-url\.`).FindSubmatch(b)
	if m == nil {
		return fmt.Errorf("furl deploy printed no function URL: %q", b)
	}
	url := endpoint + "/lambda-url/" + string(m[1]) + "/"

	fmt.Fprintf(out, "console inspector cost: wrk -c %d, %s per run, a Go hello world behind a URL of furl serve\n", *conns, *duration)
	if _, err := runWrk(ctx, url, *conns, 2*time.Second); err != nil { // warm-up
		return err
	}
	var plain, watched []*wrkResult
	var seen []int64
	for i := 0; i < *rounds; i++ {
		r, err := runWrk(ctx, url, *conns, *duration)
		if err != nil {
			return err
		}
		plain = append(plain, r)
		n, r2, err := withWatcher(ctx, endpoint, func() (*wrkResult, error) { return runWrk(ctx, url, *conns, *duration) })
		if err != nil {
			return err
		}
		watched = append(watched, r2)
		seen = append(seen, n)
	}
	fmt.Fprintf(out, "%-34s %12s %10s %10s %14s\n", "", "req/s", "p50", "p99", "events seen")
	var sumP, sumW float64
	for i := range plain {
		fmt.Fprintf(out, "%-34s %12.0f %10s %10s %14s\n", fmt.Sprintf("round %d: nobody watching", i+1), plain[i].rps, fmtDur(plain[i].p50), fmtDur(plain[i].p99), "-")
		fmt.Fprintf(out, "%-34s %12.0f %10s %10s %14d\n", fmt.Sprintf("round %d: console watching (SSE)", i+1), watched[i].rps, fmtDur(watched[i].p50), fmtDur(watched[i].p99), seen[i])
		sumP += plain[i].rps
		sumW += watched[i].rps
	}
	cost := (1 - sumW/sumP) * 100
	verdict := "ok"
	if cost > 10 {
		verdict = "OVER TARGET"
	}
	fmt.Fprintf(out, "throughput cost of a watching console: %.1f%% (target <= 10%%: %s)\n", cost, verdict)
	// The charts' series is on every request's path, watched or not.
	tr := series.New(nil, nil)
	br := testing.Benchmark(func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			tr.URLRequest("hello", "u", 200, time.Millisecond)
		}
	})
	fmt.Fprintf(out, "console charts (series) on the request path: %d ns per request, watched or not\n", br.NsPerOp())
	return nil
}

// withWatcher signs a console in with a one-time link, subscribes it to the live request
// stream, runs f, and answers how many request events the console received meanwhile.
func withWatcher(ctx context.Context, endpoint string, f func() (*wrkResult, error)) (int64, *wrkResult, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+"/furl/v1/console/links", nil)
	if err := v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: rootID, SecretAccessKey: rootSecret}, req, emptySHA, "lambda", "us-east-1", time.Now()); err != nil {
		return 0, nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	lm := regexp.MustCompile(`"Url":"([^"]+)"`).FindSubmatch(body)
	if lm == nil {
		return 0, nil, fmt.Errorf("link API: %d %s", resp.StatusCode, body)
	}
	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Jar: jar}
	r, err := cl.Get(string(lm[1]))
	if err != nil {
		return 0, nil, err
	}
	r.Body.Close()
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sreq, _ := http.NewRequestWithContext(sctx, http.MethodGet, endpoint+"/furl/console/requests/stream", nil)
	sresp, err := cl.Do(sreq)
	if err != nil {
		return 0, nil, err
	}
	if sresp.StatusCode != http.StatusOK {
		sresp.Body.Close()
		return 0, nil, fmt.Errorf("stream: %s", sresp.Status)
	}
	var n atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer sresp.Body.Close()
		sc := bufio.NewScanner(sresp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if sc.Text() == "event: request" {
				n.Add(1)
			}
		}
	}()
	res, err := f()
	time.Sleep(200 * time.Millisecond) // the last events in flight
	cancel()
	<-done
	return n.Load(), res, err
}

type wrkResult struct {
	rps      float64
	p50, p99 time.Duration
}

var (
	reRPS = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	reP   = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s)\s*$`)
)

func runWrk(ctx context.Context, url string, conns int, d time.Duration) (*wrkResult, error) {
	threads := min(2, conns)
	secs := max(1, int(d.Round(time.Second)/time.Second))
	b, err := exec.CommandContext(ctx, "wrk", "-t", strconv.Itoa(threads), "-c", strconv.Itoa(conns),
		"-d", strconv.Itoa(secs)+"s", "--timeout", "30s", "--latency", url).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("wrk: %w\n%s", err, b)
	}
	s := string(b)
	m := reRPS.FindStringSubmatch(s)
	if m == nil {
		return nil, fmt.Errorf("wrk output not understood:\n%s", s)
	}
	r := &wrkResult{}
	r.rps, _ = strconv.ParseFloat(m[1], 64)
	for _, pm := range reP.FindAllStringSubmatch(s, -1) {
		v, _ := strconv.ParseFloat(pm[2], 64)
		unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[pm[3]]
		if pm[1] == "50" {
			r.p50 = time.Duration(v * float64(unit))
		} else {
			r.p99 = time.Duration(v * float64(unit))
		}
	}
	return r, nil
}

func fmtDur(d time.Duration) string {
	if d < time.Millisecond {
		return fmt.Sprintf("%dµs", d.Microseconds())
	}
	return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
}
