// Package ingesttest gives tests an ingest.Service with running
// in-process workers on a River queue of their own, so that tests in one
// database never work each other's jobs, and helpers to upload and wait.
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
	"github.com/cairn-rag/cairn/internal/testdb"
)

// Service returns a service with the offline embedder and workers
// running workers on a queue of its own, stopped when t ends.
func Service(t testing.TB, pool *pgxpool.Pool, o ingest.Options, workers int) *ingest.Service {
	t.Helper()
	o.Queue = "test_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:20]
	return ServiceOnQueue(t, pool, o, workers)
}

// ServiceOnQueue is Service on the queue o.Queue.
func ServiceOnQueue(t testing.TB, pool *pgxpool.Pool, o ingest.Options, workers int) *ingest.Service {
	t.Helper()
	o.Workers = workers
	if o.JobTimeout == 0 {
		o.JobTimeout = time.Minute
	}
	svc, err := ingest.New(pool, embed.NewHashing(), o)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	require.NoError(t, svc.Start(ctx))
	t.Cleanup(func() {
		stop, c2 := context.WithTimeout(context.Background(), 10*time.Second)
		defer c2()
		_ = svc.Stop(stop)
		cancel()
	})
	return svc
}

// Setup returns a test database's pool, a fresh tenant and a service with
// options o and two running workers.
func Setup(t testing.TB, o ingest.Options) (*pgxpool.Pool, uuid.UUID, *ingest.Service) {
	t.Helper()
	pool := testdb.Pool(t)
	tenant, _ := testdb.Tenant(t, pool)
	return pool, tenant, Service(t, pool, o, 2)
}

// UploadWait uploads in and waits for its job (the zero Job when the
// upload was unchanged and has none).
func UploadWait(t testing.TB, svc *ingest.Service, tenant uuid.UUID, in ingest.UploadInput) (ingest.UploadResult, ingest.Job) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := svc.Upload(ctx, tenant, in)
	require.NoError(t, err)
	if res.Job == nil {
		return res, ingest.Job{}
	}
	job, err := svc.WaitJob(ctx, tenant, res.Job.ID)
	require.NoError(t, err)
	return res, job
}
