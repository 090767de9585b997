// Command cairn is Cairn's one binary: the HTTP API (serve), ingest
// workers (worker), schema migrations (migrate), tenants and keys
// (tenant), and the client commands (ingest, search, ask).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/cairn-rag/cairn/internal/config"
	"github.com/cairn-rag/cairn/internal/logging"
)

// command is one subcommand of the binary.
type command struct {
	summary string
	run     func(ctx context.Context, env *environment, args []string) error
}

// commands maps each subcommand name to its implementation; each file of
// this package registers its own in init.
var commands = map[string]command{}

// environment is what every subcommand gets: streams and the environment.
type environment struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	// outErr is the first failed write to stdout (printf, println).
	outErr error
}

// printf writes to standard output. The first failed write is kept and
// fails the command (run reports it), so output lost to a full disk or a
// closed pipe, such as an API key shown once, never looks like success.
func (e *environment) printf(format string, args ...any) {
	if e.outErr == nil {
		if _, err := fmt.Fprintf(e.stdout, format, args...); err != nil {
			e.outErr = fmt.Errorf("write output: %w", err)
		}
	}
}

// println writes args and a newline to standard output, like printf.
func (e *environment) println(args ...any) {
	if e.outErr == nil {
		if _, err := fmt.Fprintln(e.stdout, args...); err != nil {
			e.outErr = fmt.Errorf("write output: %w", err)
		}
	}
}

// notef writes a diagnostic to standard error. A failure to write there
// has nowhere left to be reported, so it is dropped.
func (e *environment) notef(format string, args ...any) {
	_, _ = fmt.Fprintf(e.stderr, format, args...)
}

// config loads and validates the configuration.
func (e *environment) config() (config.Config, error) {
	return config.Load(e.getenv)
}

// logger returns the JSON logger at the configured level.
func (e *environment) logger(cfg config.Config) *slog.Logger {
	return logging.New(e.stderr, cfg.LogLevel)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env := &environment{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	os.Exit(run(ctx, env, os.Args[1:]))
}

func run(ctx context.Context, env *environment, args []string) int {
	if len(args) == 0 {
		usage(env.stderr)
		return 2
	}
	if args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(env.stdout)
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		env.notef("cairn: unknown command %q\n\n", args[0])
		usage(env.stderr)
		return 2
	}
	err := cmd.run(ctx, env, args[1:])
	if errors.Is(err, errHelp) {
		return 0
	}
	if err == nil {
		err = env.outErr
	}
	if err != nil {
		env.notef("cairn %s: %v\n", args[0], err)
		var ue usageError
		if errors.As(err, &ue) {
			return 2
		}
		return 1
	}
	return 0
}

// usageError marks a command-line mistake (exit status 2).
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

// usage writes the command list to w (standard error or output, where a
// failed write has nowhere to be reported).
func usage(w io.Writer) {
	var b strings.Builder
	b.WriteString("usage: cairn COMMAND [ARGS]\n\ncommands:\n")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "  %-10s %s\n", n, commands[n].summary)
	}
	_, _ = io.WriteString(w, b.String())
}
