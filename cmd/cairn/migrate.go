package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/cairn-rag/cairn/internal/db"
)

func init() {
	commands["migrate"] = command{summary: "migrate up | down [--to N] | status", run: runMigrate}
}

func runMigrate(ctx context.Context, env *environment, args []string) (err error) {
	if len(args) == 0 {
		return usageError{"want up, down or status"}
	}
	fs := flag.NewFlagSet("migrate "+args[0], flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	to := fs.Int64("to", -1, "down: roll back to this version (0 removes every Cairn table)")
	if err := parseFlags(env, fs, commands["migrate"].summary, args[1:]); err != nil {
		return err
	}
	url := env.getenv("DATABASE_URL")
	if url == "" {
		return fmt.Errorf("config: DATABASE_URL is required")
	}
	pool, err := db.Open(ctx, url, 4)
	if err != nil {
		return err
	}
	defer pool.Close()
	m, err := db.NewMigrator(pool)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, m.Close()) }()
	switch args[0] {
	case "up":
		applied, err := m.Up(ctx)
		if err != nil {
			return err
		}
		if len(applied) == 0 {
			env.println("migrate: schema is current")
		}
		for _, v := range applied {
			env.printf("migrate: applied %05d\n", v)
		}
	case "down":
		if *to >= 0 {
			undone, err := m.DownTo(ctx, *to)
			if err != nil {
				return err
			}
			for _, v := range undone {
				env.printf("migrate: rolled back %05d\n", v)
			}
			return nil
		}
		v, err := m.Down(ctx)
		if err != nil {
			return err
		}
		env.printf("migrate: rolled back %05d\n", v)
	case "status":
		st, err := m.Status(ctx)
		if err != nil {
			return err
		}
		for _, s := range st {
			state := "pending"
			if s.Applied {
				state = "applied " + s.AppliedAt.UTC().Format("2006-01-02T15:04:05Z")
			}
			env.printf("%05d  %-40s %s\n", s.Version, s.Name, state)
		}
	default:
		return usageError{fmt.Sprintf("unknown migrate action %q: want up, down or status", args[0])}
	}
	return nil
}
