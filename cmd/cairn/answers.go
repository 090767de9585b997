package main

import (
	"context"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cairn-rag/cairn/answer"
	"github.com/cairn-rag/cairn/ask"
	"github.com/cairn-rag/cairn/internal/config"
	"github.com/cairn-rag/cairn/retrieval"
	"github.com/cairn-rag/cairn/threads"
)

// newAnswers builds the searcher and the answer service over th: the
// OpenAI-compatible answerer when an endpoint is configured, the offline
// extractive one otherwise.
func newAnswers(ctx context.Context, cfg config.Config, pool *pgxpool.Pool, th *threads.Store, log *slog.Logger) (*retrieval.Searcher, *ask.Service, error) {
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
		a = answer.NewOpenAI(answer.OpenAIConfig{BaseURL: cfg.OpenAIBaseURL, APIKey: cfg.OpenAIAPIKey, Model: cfg.ChatModel, Timeout: cfg.ModelTimeout})
	}
	p := &answer.Pipeline{Searcher: s, Answerer: a}
	return s, ask.New(pool, th, p, ask.Config{GenerationTimeout: ask.GenerationTimeout(cfg.ModelTimeout), Logger: log}), nil
}
