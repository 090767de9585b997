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
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(env.stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(env.stderr, "cairn: unknown command %q\n\n", args[0])
		usage(env.stderr)
		return 2
	}
	if err := cmd.run(ctx, env, args[1:]); err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(env.stderr, "cairn %s: %v\n", args[0], err)
			return 2
		}
		fmt.Fprintf(env.stderr, "cairn %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// usageError marks a command-line mistake (exit status 2).
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: cairn COMMAND [ARGS]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
}
