// Command gofn is the benchmark's Go function, built with aws-lambda-go: it answers every event
// with {"message":"hello world"}, like the article's first example.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/lambda"
)

type response struct {
	Message string `json:"message"`
}

func handle(_ context.Context, _ json.RawMessage) (response, error) {
	return response{Message: "hello world"}, nil
}

func main() {
	lambda.Start(handle)
}
