// Command gofn is the benchmark's aws-lambda-go function: a hello world behind a function URL.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handle(_ context.Context, _ events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
	return events.LambdaFunctionURLResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "text/plain"}, Body: "hello world"}, nil
}

func main() { lambda.Start(handle) }
