// Package ingesttest gives tests an ingest.Service with running
// in-process workers on a River queue of their own, so that tests in one
// database never work each other's jobs.
package ingesttest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/embed"
	"github.com/cairn-rag/cairn/ingest"
)

// Service returns a service with the offline embedder and workers
// running workers, stopped when t ends.
func Service(t testing.TB, pool *pgxpool.Pool, o ingest.Options, workers int) *ingest.Service {
	t.Helper()
	svc := ingest.New(pool, embed.NewHashing(), o)
	queue := "test_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:20]
	rc, err := svc.NewRiverClient(ingest.RiverConfig{Workers: workers, JobTimeout: time.Minute, Queue: queue})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	require.NoError(t, rc.Start(ctx))
	t.Cleanup(func() {
		stop, c2 := context.WithTimeout(context.Background(), 10*time.Second)
		defer c2()
		_ = rc.Stop(stop)
		cancel()
	})
	return svc
}
