package main

import (
	"context"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cairn-rag/cairn/answer"
	"github.com/cairn-rag/cairn/ask"
	"github.com/cairn-rag/cairn/ingest/jobs"
	"github.com/cairn-rag/cairn/internal/config"
	"github.com/cairn-rag/cairn/internal/riverkinds"
	"github.com/cairn-rag/cairn/retrieval"
	"github.com/cairn-rag/cairn/threads"
)

// newAnswers builds the searcher and the answer service over th, with
// workers background-answer workers once started: the
// OpenAI-compatible answerer when an endpoint is configured, the offline
// extractive one otherwise.
func newAnswers(ctx context.Context, cfg config.Config, pool *pgxpool.Pool, th *threads.Store, log *slog.Logger, workers int) (*retrieval.Searcher, *ask.Service, error) {
	e, err := newEmbedder(ctx, cfg, pool)
	if err != nil {
		return nil, nil, err
	}
	s, err := retrieval.New(pool, e, retrieval.Config{
		Fusion: cfg.Fusion, RRFK: cfg.RRFK, VectorWeight: cfg.VectorWeight, TextWeight: cfg.TextWeight,
		EfSearch: cfg.EfSearch, TextCandidates: cfg.TextCandidates,
	})
	if err != nil {
		return nil, nil, err
	}
	var a answer.Answerer = answer.Extractive{}
	if cfg.UsesOpenAI() {
		a = answer.NewOpenAI(answer.OpenAIConfig{BaseURL: cfg.OpenAIBaseURL, APIKey: cfg.OpenAIAPIKey, Model: cfg.ChatModel,
			Models: cfg.ChatModels, Timeout: cfg.ModelTimeout})
	}
	p := &answer.Pipeline{Searcher: s, Answerer: a}
	timeout := cfg.AnswerTimeout
	if timeout <= 0 {
		timeout = ask.GenerationTimeout(cfg.ModelTimeout)
	}
	a2, err := ask.New(pool, th, p, ask.Config{GenerationTimeout: timeout, Workers: workers, Logger: log,
		Foreign: []riverkinds.Register{riverkinds.Foreign[jobs.Args]}})
	if err != nil {
		return nil, nil, err
	}
	return s, a2, nil
}
