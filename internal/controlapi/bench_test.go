package controlapi_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// BenchmarkControlPlane measures signed round trips through the real handler, store and pool
// on loopback with aws-sdk-go-v2.
func BenchmarkControlPlane(b *testing.B) {
	e := newEnvB(b)
	ctx := context.Background()
	b.Run("GetFunction", func(b *testing.B) {
		for b.Loop() {
			if _, err := e.client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("bench")}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("InvokeWarm", func(b *testing.B) {
		for b.Loop() {
			if _, err := e.client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("bench"), Payload: []byte(`{}`)}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("UpdateFunctionCode", func(b *testing.B) {
		i := 0
		for b.Loop() {
			i++
			if _, err := e.client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("bench"), ZipFile: zipOf(b, pyApp(fmt.Sprint(i)))}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
