package cli

import (
	"context"
	"encoding/base64"
	"flag"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

func runInvoke(ctx context.Context, args []string, stdio Stdio, getenv func(string) string) error {
	fs := flag.NewFlagSet("invoke", flag.ContinueOnError)
	fs.SetOutput(stdio.Err)
	fs.Usage = func() {
		fmt.Fprintln(stdio.Err, "Usage: furl invoke NAME [--payload JSON] [--qualifier Q] [--log] [--event]")
		fs.PrintDefaults()
	}
	var cf clientFlags
	cf.register(fs, getenv)
	payload := fs.String("payload", "{}", "JSON event")
	qualifier := fs.String("qualifier", "", "version or alias")
	showLog := fs.Bool("log", false, "print the invocation's log tail to stderr")
	event := fs.Bool("event", false, "invoke asynchronously (InvocationType Event)")
	name, err := oneArg(fs, args, "function NAME")
	if err != nil {
		return err
	}
	cl, _, err := cf.client(getenv)
	if err != nil {
		return err
	}
	in := &lambda.InvokeInput{FunctionName: aws.String(name), Payload: []byte(*payload)}
	if *qualifier != "" {
		in.Qualifier = qualifier
	}
	if *showLog {
		in.LogType = types.LogTypeTail
	}
	if *event {
		in.InvocationType = types.InvocationTypeEvent
	}
	out, err := cl.Invoke(ctx, in)
	if err != nil {
		return apiError("invoke", err)
	}
	if *event {
		fmt.Fprintf(stdio.Err, "queued (status %d)\n", out.StatusCode)
		return nil
	}
	if *showLog && out.LogResult != nil {
		if b, err := base64.StdEncoding.DecodeString(*out.LogResult); err == nil {
			stdio.Err.Write(b)
		}
	}
	stdio.Out.Write(out.Payload)
	if len(out.Payload) > 0 && out.Payload[len(out.Payload)-1] != '\n' {
		fmt.Fprintln(stdio.Out)
	}
	if out.FunctionError != nil {
		return fmt.Errorf("function error (%s), executed version %s", *out.FunctionError, aws.ToString(out.ExecutedVersion))
	}
	return nil
}
