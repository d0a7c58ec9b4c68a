// Command testfn is a Lambda function built with aws-lambda-go for the pool's tests: its
// behaviour is chosen by the event's "op".
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type event struct {
	Op     string `json:"op"`
	N      int    `json:"n"`
	Sleep  int    `json:"sleepMs"`
	Msg    string `json:"msg"`
	Chunks []string
}

var counter int

func handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var ev event
	_ = json.Unmarshal(raw, &ev)
	lc, _ := lambdacontext.FromContext(ctx)
	switch ev.Op {
	case "echo":
		return raw, nil
	case "count":
		counter++
		return map[string]any{"count": counter, "pid": os.Getpid()}, nil
	case "print":
		fmt.Println("hello from", lc.AwsRequestID)
		fmt.Fprintln(os.Stderr, "to stderr", ev.Msg)
		return "printed", nil
	case "spam":
		// N lines of 1 KB each to stdout.
		line := strings.Repeat("s", 1023) + "\n"
		w := bufio.NewWriterSize(os.Stdout, 64<<10)
		for i := 0; i < ev.N; i++ {
			w.WriteString(line)
		}
		w.Flush()
		return "spammed", nil
	case "sleep":
		time.Sleep(time.Duration(ev.Sleep) * time.Millisecond)
		return "slept", nil
	case "exit":
		os.Exit(3)
	case "error":
		return nil, errors.New("custom failure: " + ev.Msg)
	case "panic":
		panic("boom")
	case "big":
		return strings.Repeat("x", ev.N), nil
	case "alloc":
		var keep [][]byte
		for i := 0; i < ev.N; i++ {
			b := make([]byte, 1<<20)
			for j := range b {
				b[j] = byte(j)
			}
			keep = append(keep, b)
		}
		time.Sleep(time.Duration(ev.Sleep) * time.Millisecond)
		return len(keep), nil
	case "context":
		dl, _ := ctx.Deadline()
		return map[string]any{
			"requestId": lc.AwsRequestID, "arn": lc.InvokedFunctionArn, "deadlineInMs": time.Until(dl).Milliseconds(),
			"env": map[string]string{
				"AWS_LAMBDA_FUNCTION_NAME":        os.Getenv("AWS_LAMBDA_FUNCTION_NAME"),
				"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": os.Getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"),
				"LAMBDA_TASK_ROOT":                os.Getenv("LAMBDA_TASK_ROOT"),
				"TMPDIR":                          os.Getenv("TMPDIR"),
				"_HANDLER":                        os.Getenv("_HANDLER"),
				"TZ":                              os.Getenv("TZ"),
				"CUSTOM":                          os.Getenv("CUSTOM"),
				"_LAMBDA_SERVER_PORT":             os.Getenv("_LAMBDA_SERVER_PORT"),
				"_X_AMZN_TRACE_ID":                os.Getenv("_X_AMZN_TRACE_ID"),
				"AWS_ACCESS_KEY_ID":               os.Getenv("AWS_ACCESS_KEY_ID"),
				"AWS_SECRET_ACCESS_KEY":           os.Getenv("AWS_SECRET_ACCESS_KEY"),
				"AWS_SESSION_TOKEN":               os.Getenv("AWS_SESSION_TOKEN"),
				"AWS_ENDPOINT_URL":                os.Getenv("AWS_ENDPOINT_URL"),
			},
			"cwd":           must(os.Getwd()),
			"clientContext": lc.ClientContext.Custom,
			"cognito":       lc.Identity.CognitoIdentityID,
		}, nil
	case "stream", "streamfail":
		pr, pw := io.Pipe()
		go func() {
			for i := 0; i < ev.N; i++ {
				fmt.Fprintf(pw, "chunk%d;", i)
				time.Sleep(time.Duration(ev.Sleep) * time.Millisecond)
			}
			if ev.Op == "streamfail" {
				pw.CloseWithError(errors.New("reader broke"))
				return
			}
			pw.Close()
		}()
		return &events.LambdaFunctionURLStreamingResponse{
			StatusCode: 201, Headers: map[string]string{"x-a": "b"}, Body: pr,
		}, nil
	}
	return raw, nil
}

func must(s string, _ error) string { return s }

func main() {
	if os.Getenv("INIT_PANIC") != "" {
		panic("init failed")
	}
	if ms, err := strconv.Atoi(os.Getenv("INIT_SLEEP_MS")); err == nil {
		time.Sleep(time.Duration(ms) * time.Millisecond)
	}
	lambda.StartWithOptions(handle, lambda.WithEnableSIGTERM(func() { fmt.Println("SIGTERM received") }))
}
