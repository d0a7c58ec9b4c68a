package cli

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

func runLs(ctx context.Context, args []string, stdio Stdio, getenv func(string) string) error {
	fs := flag.NewFlagSet("ls", flag.ContinueOnError)
	fs.SetOutput(stdio.Err)
	var cf clientFlags
	cf.register(fs, getenv)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return fmt.Errorf("%w: ls takes no arguments", errUsage)
	}
	cl, _, err := cf.client(getenv)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdio.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tRUNTIME\tMEMORY\tTIMEOUT\tLAST MODIFIED\tURL")
	p := lambda.NewListFunctionsPaginator(cl, &lambda.ListFunctionsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return apiError("list functions", err)
		}
		for _, f := range page.Functions {
			urls := "-"
			if u, err := cl.ListFunctionUrlConfigs(ctx, &lambda.ListFunctionUrlConfigsInput{FunctionName: f.FunctionName}); err == nil && len(u.FunctionUrlConfigs) > 0 {
				urls = ""
				for i, c := range u.FunctionUrlConfigs {
					if i > 0 {
						urls += " "
					}
					urls += aws.ToString(c.FunctionUrl) + " (" + string(c.AuthType) + ")"
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%d MB\t%d s\t%s\t%s\n", aws.ToString(f.FunctionName), f.Runtime, aws.ToInt32(f.MemorySize),
				aws.ToInt32(f.Timeout), aws.ToString(f.LastModified), urls)
		}
	}
	return tw.Flush()
}
