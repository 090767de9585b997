// Package asktest builds a started ask.Service for tests.
package asktest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cairn-rag/cairn/answer"
	"github.com/cairn-rag/cairn/ask"
	"github.com/cairn-rag/cairn/retrieval"
	"github.com/cairn-rag/cairn/threads"
)

// Service returns an ask.Service over pool answering with a from s's
// sources, started (listening, with cfg.Workers background workers) and
// stopped when the test ends. Without cfg.Queue it works a queue of its
// own (Queue), so that another test's workers, with another answerer,
// never take its jobs.
func Service(t testing.TB, pool *pgxpool.Pool, s *retrieval.Searcher, a answer.Answerer, cfg ask.Config) *ask.Service {
	t.Helper()
	if cfg.Queue == "" {
		cfg.Queue = Queue()
	}
	svc, err := ask.New(pool, threads.NewStore(pool), &answer.Pipeline{Searcher: s, Answerer: a}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := svc.Stop(ctx); err != nil {
			t.Errorf("stop ask service: %v", err)
		}
	})
	return svc
}

// Queue returns a new River queue name for one test's answer jobs (share
// it between services that stand for replicas of one deployment).
func Queue() string {
	return "answers_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:20]
}
