package cli

import (
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/smithy-go"

	"github.com/furl/furl/internal/config"
	"github.com/furl/furl/internal/identity"
)

// clientFlags are the flags every API-calling subcommand shares.
type clientFlags struct {
	endpoint string
	region   string
	dataDir  string
}

func (c *clientFlags) register(fs *flag.FlagSet, getenv func(string) string) {
	def := config.Default()
	ep := getenv("FURL_ENDPOINT")
	if ep == "" {
		ep = "http://" + def.Addr
	}
	region := getenv("FURL_REGION")
	if region == "" {
		region = def.Region
	}
	dataDir := getenv("FURL_DATA_DIR")
	if dataDir == "" {
		dataDir = def.DataDir
	}
	fs.StringVar(&c.endpoint, "endpoint", ep, "furl API endpoint (env FURL_ENDPOINT)")
	fs.StringVar(&c.region, "region", region, "region furl presents itself as (env FURL_REGION)")
	fs.StringVar(&c.dataDir, "data-dir", dataDir, "furl data directory, for the generated root credentials (env FURL_DATA_DIR)")
}

// credentials returns FURL_ROOT_* or the pair the server generated in the data directory.
func (c *clientFlags) credentials(getenv func(string) string) (id, secret string, err error) {
	id, secret = getenv("FURL_ROOT_ACCESS_KEY_ID"), getenv("FURL_ROOT_SECRET_ACCESS_KEY")
	if id != "" && secret != "" {
		return id, secret, nil
	}
	id, secret, err = identity.ReadRootCredentials(c.dataDir)
	if err != nil {
		return "", "", fmt.Errorf("no credentials: set FURL_ROOT_ACCESS_KEY_ID and FURL_ROOT_SECRET_ACCESS_KEY, or point --data-dir at the server's data directory (%w)", err)
	}
	return id, secret, nil
}

func (c *clientFlags) client(getenv func(string) string) (*lambda.Client, aws.Credentials, error) {
	id, secret, err := c.credentials(getenv)
	if err != nil {
		return nil, aws.Credentials{}, err
	}
	creds := aws.Credentials{AccessKeyID: id, SecretAccessKey: secret, Source: "furl"}
	cl := lambda.New(lambda.Options{
		Region:       c.region,
		Credentials:  credentials.NewStaticCredentialsProvider(id, secret, ""),
		BaseEndpoint: aws.String(strings.TrimSuffix(c.endpoint, "/")),
	})
	return cl, creds, nil
}

// parseArgs parses flags that may come before or after positional arguments.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// oneArg parses args like parseArgs and returns the one positional argument, named what in
// the usage error when there is not exactly one.
func oneArg(fs *flag.FlagSet, args []string, what string) (string, error) {
	pos, err := parseArgs(fs, args)
	if err != nil {
		return "", err
	}
	if len(pos) != 1 {
		fs.Usage()
		return "", fmt.Errorf("%w: want exactly one %s", errUsage, what)
	}
	return pos[0], nil
}

// apiError renders an API error the way the AWS CLI does: "Code: message".
func apiError(op string, err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return fmt.Errorf("%s: %s: %s", op, ae.ErrorCode(), ae.ErrorMessage())
	}
	return fmt.Errorf("%s: %w", op, err)
}

func isCode(err error, code string) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == code
}
