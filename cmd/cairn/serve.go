package main

import (
	"context"
	"flag"
	"fmt"
	"net"

	"github.com/cairn-rag/cairn/api"
	"github.com/cairn-rag/cairn/internal/db"
	"github.com/cairn-rag/cairn/tenants"
	"github.com/cairn-rag/cairn/threads"
)

func init() {
	commands["serve"] = command{summary: "serve the HTTP API (and in-process ingest workers)", run: runServe}
}

func runServe(ctx context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	if err := parseFlags(env, fs, commands["serve"].summary, args); err != nil {
		return err
	}
	cfg, err := env.config()
	if err != nil {
		return err
	}
	log := env.logger(cfg)
	pool, err := db.Open(ctx, cfg.DatabaseURL, cfg.DBMaxConns)
	if err != nil {
		return err
	}
	defer pool.Close()
	mig, err := db.NewMigrator(pool)
	if err != nil {
		return err
	}
	defer func() { _ = mig.Close() }()
	if err := mig.CheckCurrent(ctx); err != nil {
		log.Warn("database schema is not current; /readyz answers 503 until `cairn migrate up` runs", "error", err)
	}
	svc, err := newIngest(ctx, cfg, pool, log, cfg.Workers)
	if err != nil {
		return err
	}
	stop, err := startWorkers(ctx, svc, cfg.ShutdownTimeout)
	if err != nil {
		return err
	}
	defer stop()
	th := threads.NewStore(pool)
	searcher, asker, err := newAnswers(ctx, cfg, pool, th, log, cfg.AnswerWorkers)
	if err != nil {
		return err
	}
	if err := asker.Start(ctx); err != nil {
		return err
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		_ = asker.Stop(stopCtx)
	}()
	srv := api.New(api.Deps{
		Search:  searcher,
		Ask:     asker,
		Ingest:  svc,
		Config:  cfg,
		Logger:  log,
		Pool:    pool,
		Schema:  mig,
		Tenants: tenants.NewStore(pool),
		Threads: th,
	})
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	return srv.Serve(ctx, ln)
}
