// Command testfn is a function-URL handler built with aws-lambda-go for the gateway's tests; the
// request path picks its behaviour.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var ev events.LambdaFunctionURLRequest
	_ = json.Unmarshal(raw, &ev)
	q := ev.QueryStringParameters
	n, _ := strconv.Atoi(q["n"])
	ms, _ := strconv.Atoi(q["ms"])
	switch ev.RawPath {
	case "/hello":
		return map[string]string{"message": "hello world"}, nil
	case "/status":
		return map[string]any{"statusCode": 418, "headers": map[string]any{"x-Custom": "v", "content-type": "text/plain"},
			"cookies": []string{"a=1; Path=/", "b=2"}, "body": "teapot"}, nil
	case "/cors":
		return map[string]any{"statusCode": 200, "headers": map[string]string{"Access-Control-Allow-Origin": "*"}, "body": "ok"}, nil
	case "/string":
		return "hello", nil
	case "/error":
		return nil, errors.New("boom")
	case "/malformed":
		return map[string]any{"statusCode": "abc"}, nil
	case "/sleep":
		time.Sleep(time.Duration(ms) * time.Millisecond)
		return "slept", nil
	case "/stream", "/streamfail", "/bigstream":
		pr, pw := io.Pipe()
		go func() {
			if ev.RawPath == "/bigstream" {
				chunk := []byte(strings.Repeat("x", 1<<20))
				for i := 0; i < n; i++ {
					if _, err := pw.Write(chunk); err != nil {
						return
					}
				}
				pw.Close()
				return
			}
			for i := 0; i < n; i++ {
				if _, err := fmt.Fprintf(pw, "chunk%d;", i); err != nil {
					return
				}
				time.Sleep(time.Duration(ms) * time.Millisecond)
			}
			if ev.RawPath == "/streamfail" {
				pw.CloseWithError(errors.New("reader broke"))
				return
			}
			pw.Close()
		}()
		return &events.LambdaFunctionURLStreamingResponse{
			StatusCode: 201, Headers: map[string]string{"Content-Type": "text/plain", "x-a": "b"}, Cookies: []string{"s=1"}, Body: pr,
		}, nil
	}
	return raw, nil // the event itself, as the (compacted) JSON body
}

func main() {
	lambda.Start(handle)
}
