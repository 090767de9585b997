package main

import (
	"context"
	"flag"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cairn-rag/cairn/ask"
	"github.com/cairn-rag/cairn/embed"
	"github.com/cairn-rag/cairn/ingest"
	"github.com/cairn-rag/cairn/ingest/chunk"
	"github.com/cairn-rag/cairn/ingest/store"
	"github.com/cairn-rag/cairn/internal/config"
	"github.com/cairn-rag/cairn/internal/db"
	"github.com/cairn-rag/cairn/internal/riverkinds"
)

func init() {
	commands["worker"] = command{summary: "run ingest workers only (scale out over machines sharing the database)", run: runWorker}
}

// newEmbedder returns the configured embedder: the OpenAI-compatible one
// when CAIRN_EMBED_MODEL is set, else the offline hashing embedder; the
// model's HNSW index is created when missing.
func newEmbedder(ctx context.Context, cfg config.Config, pool *pgxpool.Pool) (embed.Embedder, error) {
	if cfg.EmbedModel == "" {
		// Normally a no-op: the migration creates it, but a bulk load
		// with --defer-index that died leaves it to be rebuilt here.
		if err := store.EnsureModelIndex(ctx, pool, embed.HashModelID, embed.HashDim); err != nil {
			return nil, err
		}
		return embed.NewHashing(), nil
	}
	e, err := embed.NewOpenAI(embed.OpenAIConfig{BaseURL: cfg.OpenAIBaseURL, APIKey: cfg.OpenAIAPIKey, Model: cfg.EmbedModel,
		Dim: cfg.EmbedDim, Timeout: cfg.ModelTimeout})
	if err != nil {
		return nil, err
	}
	if err := store.EnsureModelIndex(ctx, pool, cfg.EmbedModel, cfg.EmbedDim); err != nil {
		return nil, err
	}
	return e, nil
}

// newIngest builds the ingest service with workers in-process workers
// (0: it only enqueues).
func newIngest(ctx context.Context, cfg config.Config, pool *pgxpool.Pool, log *slog.Logger, workers int) (*ingest.Service, error) {
	e, err := newEmbedder(ctx, cfg, pool)
	if err != nil {
		return nil, err
	}
	return ingest.New(pool, e, ingest.Options{
		Chunk:           chunk.Options{Target: cfg.ChunkSize, Overlap: cfg.ChunkOverlap},
		MaxBytes:        cfg.MaxUploadBytes,
		MaxTextChars:    cfg.MaxTextChars,
		MaxPages:        cfg.ExtractMaxPages,
		MaxContentBytes: cfg.ExtractMaxBytes,
		FairShare:       cfg.IngestFairShare,
		Workers:         workers,
		// Background answers run in `cairn serve`; this client's
		// maintenance must rescue, not discard, them.
		Foreign:          []riverkinds.Register{riverkinds.Foreign[ask.JobArgs]},
		JobTimeout:       cfg.IngestJobTimeout,
		MinJobTimeout:    cfg.IngestJobTimeoutMin,
		JobTimeoutPerMiB: cfg.IngestJobTimeoutPerMiB,
		Logger:           log,
	})
}

// startWorkers starts svc's workers and returns the function that stops
// them: running jobs get timeout to finish, then are cancelled.
func startWorkers(ctx context.Context, svc *ingest.Service, timeout time.Duration) (stop func(), err error) {
	if err := svc.Start(ctx); err != nil {
		return nil, err
	}
	return func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		_ = svc.Stop(stopCtx)
	}, nil
}

func runWorker(ctx context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	n := fs.Int("workers", 0, "concurrent jobs (default CAIRN_WORKERS, at least 1)")
	if err := parseFlags(env, fs, commands["worker"].summary, args); err != nil {
		return err
	}
	cfg, err := env.config()
	if err != nil {
		return err
	}
	workers := *n
	if workers <= 0 {
		workers = max(cfg.Workers, 1)
	}
	log := env.logger(cfg)
	pool, err := db.Open(ctx, cfg.DatabaseURL, cfg.DBMaxConns)
	if err != nil {
		return err
	}
	defer pool.Close()
	svc, err := newIngest(ctx, cfg, pool, log, workers)
	if err != nil {
		return err
	}
	stop, err := startWorkers(ctx, svc, cfg.ShutdownTimeout)
	if err != nil {
		return err
	}
	log.Info("ingest workers running", slog.Int("workers", workers))
	<-ctx.Done()
	log.Info("stopping workers: finishing running jobs", slog.Duration("timeout", cfg.ShutdownTimeout))
	stop()
	return nil
}
