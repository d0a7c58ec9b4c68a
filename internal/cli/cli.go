// Package cli implements furl's subcommands: flags, output and exit codes only. The work is
// done by the packages they call.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"

	"github.com/furl/furl/internal/config"
	"github.com/furl/furl/internal/server"
)

// Stdio is the command's standard streams.
type Stdio struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

type command struct {
	summary string
	run     func(ctx context.Context, args []string, io Stdio, getenv func(string) string) error
}

func commands() map[string]command {
	return map[string]command{
		"serve":   {"run the furl server", runServe},
		"deploy":  {"package a directory and create or update a function (and its URL)", runDeploy},
		"invoke":  {"invoke a function and print its result", runInvoke},
		"logs":    {"print (or follow with -f) a function's logs", runLogs},
		"ls":      {"list functions and their URLs", runLs},
		"console": {"print a one-time sign-in link to the web console (and open it)", runConsole},
		"ca":      {"print furl's local CA (for --tls-addr) and how to trust it", runCA},
		"policy":  {"put, get or delete a function's whole resource policy (any conditions)", runPolicy},
		"url":     {"url allow NAME --cidr C: limit a function URL to an IP allow-list", runURL},
	}
}

// errUsage marks an error caused by bad arguments: exit code 2.
var errUsage = errors.New("usage")

// Run runs the subcommand in args and returns the process exit code.
func Run(ctx context.Context, args []string, stdio Stdio, getenv func(string) string) int {
	cmds := commands()
	if len(args) == 0 {
		usage(stdio.Err, cmds)
		return 2
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		// Asked for: the usage is the answer, on standard output.
		usage(stdio.Out, cmds)
		return 0
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stdio.Err, "furl: unknown command %q\n\n", args[0])
		usage(stdio.Err, cmds)
		return 2
	}
	if err := c.run(ctx, args[1:], stdio, getenv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stdio.Err, "furl %s: %v\n", args[0], err)
		if errors.Is(err, errUsage) {
			return 2
		}
		return 1
	}
	return 0
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "furl: self-hosted AWS Lambda Function URLs\n\nUsage: furl <command> [flags]\n\nCommands:")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'furl <command> -h' for a command's flags.")
}

func runServe(ctx context.Context, args []string, stdio Stdio, getenv func(string) string) error {
	cfg := config.Default()
	cfg.ApplyEnv(getenv)
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stdio.Err)
	cfg.RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	log := slog.New(slog.NewTextHandler(stdio.Err, &slog.HandlerOptions{Level: parseLevel(cfg.LogLevel)}))
	// Listen first: a busy port fails before furl creates credentials or a database.
	ln, err := server.Listen(cfg.Addr)
	if err != nil {
		return err
	}
	srv, err := server.New(ctx, cfg, log)
	if err != nil {
		ln.Close()
		return err
	}
	return srv.Serve(ctx, ln)
}

func parseLevel(s string) slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(s))); err != nil {
		return slog.LevelInfo
	}
	return l
}
