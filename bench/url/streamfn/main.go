// Command streamfn is a streaming function (aws-lambda-go) used by the benchmark and the e2e
// suite. By default it writes ?mb= MiB (default 100) in 64 KiB chunks; with ?delayms=D it
// writes five lines "part i\n" D milliseconds apart, with status 206 and a cookie.
package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handle(_ context.Context, ev events.LambdaFunctionURLRequest) (*events.LambdaFunctionURLStreamingResponse, error) {
	pr, pw := io.Pipe()
	if d, err := strconv.Atoi(ev.QueryStringParameters["delayms"]); err == nil {
		go func() {
			for i := 0; i < 5; i++ {
				if _, err := fmt.Fprintf(pw, "part %d\n", i); err != nil {
					return
				}
				time.Sleep(time.Duration(d) * time.Millisecond)
			}
			pw.Close()
		}()
		return &events.LambdaFunctionURLStreamingResponse{StatusCode: 206,
			Headers: map[string]string{"Content-Type": "text/plain"}, Cookies: []string{"s=1"}, Body: pr}, nil
	}
	mb, err := strconv.Atoi(ev.QueryStringParameters["mb"])
	if err != nil || mb <= 0 {
		mb = 100
	}
	go func() {
		chunk := make([]byte, 64<<10)
		for i := range chunk {
			chunk[i] = 'a' + byte(i%26)
		}
		for n := 0; n < mb*16; n++ {
			if _, err := pw.Write(chunk); err != nil {
				return
			}
		}
		pw.Close()
	}()
	return &events.LambdaFunctionURLStreamingResponse{StatusCode: 200,
		Headers: map[string]string{"Content-Type": "application/octet-stream"}, Body: pr}, nil
}

func main() { lambda.Start(handle) }
