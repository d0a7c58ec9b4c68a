// Command streamfn is the benchmark's streaming function: it writes ?mb= MiB (default 100) in
// 64 KiB chunks through a RESPONSE_STREAM function URL.
package main

import (
	"context"
	"io"
	"strconv"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handle(_ context.Context, ev events.LambdaFunctionURLRequest) (*events.LambdaFunctionURLStreamingResponse, error) {
	mb, err := strconv.Atoi(ev.QueryStringParameters["mb"])
	if err != nil || mb <= 0 {
		mb = 100
	}
	pr, pw := io.Pipe()
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
