package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"runtime"
	"strings"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/furl/furl/internal/console"
	"github.com/furl/furl/internal/sigv4"
)

// runConsole asks the server for a one-time sign-in link (a SigV4-signed call made with the
// root's or the user's credentials, so the link signs in as that principal), opens a browser
// when one is at hand, and prints the link as the last line.
func runConsole(ctx context.Context, args []string, stdio Stdio, getenv func(string) string) error {
	fs := flag.NewFlagSet("console", flag.ContinueOnError)
	fs.SetOutput(stdio.Err)
	fs.Usage = func() {
		fmt.Fprintln(stdio.Err, "Usage: furl console [--no-browser] [--endpoint URL] [--data-dir DIR]")
		fs.PrintDefaults()
	}
	var cf clientFlags
	cf.register(fs, getenv)
	noBrowser := fs.Bool("no-browser", false, "only print the link; do not open a browser")
	if pos, err := parseArgs(fs, args); err != nil {
		return err
	} else if len(pos) != 0 {
		fs.Usage()
		return fmt.Errorf("%w: unexpected argument %q", errUsage, pos[0])
	}
	_, creds, err := cf.client(getenv)
	if err != nil {
		return err
	}
	if id, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"); getenv("FURL_ROOT_ACCESS_KEY_ID") == "" && id != "" && secret != "" {
		creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken = id, secret, getenv("AWS_SESSION_TOKEN")
	}
	u := strings.TrimSuffix(cf.endpoint, "/") + console.LinkAPIPath
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
	if err != nil {
		return fmt.Errorf("console: %w", err)
	}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, sigv4.EmptyPayloadHash, "lambda", cf.region, time.Now()); err != nil {
		return fmt.Errorf("console: sign: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("console: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		var e struct{ Message string }
		_ = json.Unmarshal(b, &e)
		return fmt.Errorf("console: %s: %s", resp.Header.Get("X-Amzn-Errortype"), e.Message)
	}
	var link console.LinkResponse
	if err := json.Unmarshal(b, &link); err != nil || link.URL == "" {
		return fmt.Errorf("console: unexpected answer from %s", u)
	}
	fmt.Fprintf(stdio.Out, "furl console: signed in as the owner of access key %s; the link works once, until %s.\n",
		creds.AccessKeyID, link.Expires.Local().Format("15:04:05"))
	if !*noBrowser && openBrowser(link.URL, getenv) {
		fmt.Fprintln(stdio.Out, "Opened in your browser. If it did not open, use:")
	}
	fmt.Fprintln(stdio.Out, link.URL)
	return nil
}

// openBrowser starts the desktop's browser on u when there is a desktop; it does not wait.
func openBrowser(u string, getenv func(string) string) bool {
	var name string
	var args []string
	switch runtime.GOOS {
	case "darwin":
		name = "open"
	case "windows":
		name, args = "rundll32", []string{"url.dll,FileProtocolHandler"}
	default:
		if getenv("DISPLAY") == "" && getenv("WAYLAND_DISPLAY") == "" {
			return false
		}
		name = "xdg-open"
		if b := getenv("BROWSER"); b != "" {
			name = b
		}
	}
	path, err := exec.LookPath(name)
	if err != nil {
		return false
	}
	cmd := exec.Command(path, append(args, u)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, nil
	if cmd.Start() != nil {
		return false
	}
	go func() { _ = cmd.Wait() }() // reap it; it outlives nothing (the browser detaches)
	return true
}
