package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cairn-rag/cairn/internal/db"
	"github.com/cairn-rag/cairn/tenants"
)

func init() {
	commands["tenant"] = command{summary: "tenant create NAME | key TENANT_ID | revoke KEY_ID | list | bootstrap --key-file F", run: runTenant}
}

func runTenant(ctx context.Context, env *environment, args []string) error {
	if len(args) == 0 {
		return usageError{"want create, key, revoke, list or bootstrap"}
	}
	action, rest := args[0], args[1:]
	fs := flag.NewFlagSet("tenant "+action, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	keyFile := fs.String("key-file", "", "bootstrap: file holding the default tenant's API key")
	if err := parseFlags(env, fs, commands["tenant"].summary, rest); err != nil {
		return err
	}
	if action == "create" && fs.NArg() != 1 {
		return usageError{"usage: cairn tenant create NAME"}
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
	store := tenants.NewStore(pool)
	switch action {
	case "create":
		t, k, err := store.Create(ctx, fs.Arg(0))
		if err != nil {
			return err
		}
		env.printf("tenant_id: %s\napi_key:   %s\n(the key is shown once; store it now)\n", t.ID, k.Secret)
	case "key":
		id, err := uuid.Parse(fs.Arg(0))
		if err != nil {
			return usageError{"usage: cairn tenant key TENANT_ID"}
		}
		k, err := store.CreateKey(ctx, id)
		if err != nil {
			return err
		}
		env.printf("key_id:  %s\napi_key: %s\n", k.ID, k.Secret)
	case "revoke":
		id, err := uuid.Parse(fs.Arg(0))
		if err != nil {
			return usageError{"usage: cairn tenant revoke KEY_ID"}
		}
		if err := store.Revoke(ctx, id); err != nil {
			return err
		}
		env.printf("revoked key %s\n", id)
	case "list":
		ts, err := store.List(ctx)
		if err != nil {
			return err
		}
		for _, t := range ts {
			env.printf("%s  %s\n", t.ID, t.Name)
		}
	case "bootstrap":
		if *keyFile == "" {
			return usageError{"usage: cairn tenant bootstrap --key-file FILE"}
		}
		return bootstrap(ctx, env, pool, store, *keyFile)
	default:
		return usageError{fmt.Sprintf("unknown tenant action %q", action)}
	}
	return nil
}

// bootstrap makes sure keyFile holds a working key, creating the "default"
// tenant the first time (local set-up of `make run`).
func bootstrap(ctx context.Context, env *environment, _ *pgxpool.Pool, store *tenants.Store, keyFile string) error {
	if b, err := os.ReadFile(keyFile); err == nil {
		if _, err := store.Authenticate(ctx, strings.TrimSpace(string(b))); err == nil {
			env.notef("tenant: default key in %s is valid\n", keyFile)
			return nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("read key file: %w", err)
	}
	t, k, err := store.Create(ctx, "default")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(keyFile), 0o700); err != nil {
		return fmt.Errorf("key file dir: %w", err)
	}
	if err := os.WriteFile(keyFile, []byte(k.Secret+"\n"), 0o600); err != nil {
		return fmt.Errorf("write key file: %w", err)
	}
	env.notef("tenant: created default tenant %s; its API key is in %s\n", t.ID, keyFile)
	return nil
}
