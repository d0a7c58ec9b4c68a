package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/furl/furl/internal/sigv4"
)

func runLogs(ctx context.Context, args []string, stdio Stdio, getenv func(string) string) error {
	fs := flag.NewFlagSet("logs", flag.ContinueOnError)
	fs.SetOutput(stdio.Err)
	fs.Usage = func() {
		fmt.Fprintln(stdio.Err, "Usage: furl logs NAME [-f] [--since 10m|RFC3339]")
		fs.PrintDefaults()
	}
	var cf clientFlags
	cf.register(fs, getenv)
	follow := fs.Bool("f", false, "follow: keep printing new lines")
	since := fs.String("since", "1h", "how far back to start: a duration (10m) or an RFC 3339 time")
	name, err := oneArg(fs, args, "function NAME")
	if err != nil {
		return err
	}
	_, creds, err := cf.client(getenv)
	if err != nil {
		return err
	}
	q := url.Values{"since": {*since}}
	if *follow {
		q.Set("follow", "1")
	}
	u := strings.TrimSuffix(cf.endpoint, "/") + "/furl/v1/functions/" + url.PathEscape(name) + "/logs?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("logs: %w", err)
	}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, sigv4.EmptyPayloadHash, "lambda", cf.region, time.Now()); err != nil {
		return fmt.Errorf("logs: sign: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("logs: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		var e struct{ Message string } // matches "message" and "Message"
		_ = json.Unmarshal(b, &e)
		return fmt.Errorf("logs: %s: %s", resp.Header.Get("X-Amzn-Errortype"), e.Message)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 2<<20)
	for sc.Scan() {
		var l struct {
			Timestamp int64  `json:"timestamp"`
			Message   string `json:"message"`
		}
		if json.Unmarshal(sc.Bytes(), &l) != nil {
			continue
		}
		fmt.Fprintf(stdio.Out, "%s %s\n", time.UnixMilli(l.Timestamp).UTC().Format("2006-01-02T15:04:05.000Z"), l.Message)
	}
	if err := sc.Err(); err != nil && !errors.Is(err, context.Canceled) && ctx.Err() == nil {
		return fmt.Errorf("logs: %w", err)
	}
	return nil
}
