// Package jobs owns the job layer of ingestion: the River job that
// indexes uploaded versions (Args, Worker), the Queue that enqueues it in
// the upload's transaction and runs workers, and the Indexer the worker
// calls (extract, chunk, embed in batches with bounded concurrency, then
// one store.Commit). All SQL is the store's; this package adds River.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/cairn-rag/cairn/ingest/store"
)

// Args are the River arguments of an ingest job.
type Args struct {
	TenantID uuid.UUID `json:"tenant_id"`
	JobID    uuid.UUID `json:"job_id"`
	// JobIDs, when set, are several ingest jobs indexed together (bulk
	// loads): one transaction and one COPY for all their chunks.
	JobIDs []uuid.UUID `json:"job_ids,omitempty"`
}

// ids returns the ingest jobs of the River job.
func (a Args) ids() []uuid.UUID {
	if len(a.JobIDs) > 0 {
		return a.JobIDs
	}
	return []uuid.UUID{a.JobID}
}

// Kind implements river.JobArgs.
func (Args) Kind() string { return "cairn_ingest_version" }

// Worker runs ingest jobs with an Indexer.
type Worker struct {
	river.WorkerDefaults[Args]
	store   *store.Store
	indexer *Indexer
	timeout time.Duration
}

// Timeout implements river.Worker.
func (w *Worker) Timeout(*river.Job[Args]) time.Duration { return w.timeout }

// Work implements river.Worker: it indexes the job's versions. A
// version that cannot be processed fails on its own (Indexer.Index);
// other errors fail the whole River job, which River retries, and the
// last attempt marks every version of the job failed.
func (w *Worker) Work(ctx context.Context, job *river.Job[Args]) error {
	err := w.indexer.Index(ctx, job.Args.TenantID, job.Args.ids(), job.Attempt)
	if err == nil {
		return nil
	}
	final := job.Attempt >= job.MaxAttempts
	for _, id := range job.Args.ids() {
		if merr := w.store.RecordFailure(context.WithoutCancel(ctx), job.Args.TenantID, id, err, final); merr != nil {
			err = errors.Join(err, merr)
		}
	}
	if final {
		return river.JobCancel(err)
	}
	return err
}

// Defaults for Config.
const (
	JobTimeoutDefault  = 30 * time.Minute
	MaxAttemptsDefault = 5
	// RescueMargin is how long after JobTimeout a job still marked
	// running (its worker died) is rescued and run again.
	RescueMargin = 10 * time.Second
)

// Config configures a Queue; zero fields take defaults.
type Config struct {
	// Workers is how many jobs run at once in this process; 0 makes an
	// insert-only queue (ingestion left to `cairn worker` processes).
	Workers int
	// JobTimeout bounds one job (JobTimeoutDefault); a job running longer
	// than JobTimeout+RescueMargin (a worker killed mid-job) is rescued
	// and run again.
	JobTimeout time.Duration
	// MaxAttempts is how often River runs a failing job (MaxAttemptsDefault).
	MaxAttempts int
	// Queue is the River queue of ingest jobs (river.QueueDefault when
	// empty); tests use their own so that their workers stay apart.
	Queue string
	// Logger receives River's logs (discarded when nil).
	Logger *slog.Logger
	// Index tunes the Indexer the workers run.
	Index IndexConfig
}

// WithDefaults returns c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.JobTimeout <= 0 {
		c.JobTimeout = JobTimeoutDefault
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = MaxAttemptsDefault
	}
	if c.Queue == "" {
		c.Queue = river.QueueDefault
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	c.Index = c.Index.WithDefaults()
	return c
}

// Queue enqueues ingest jobs and, with Config.Workers > 0, works them
// once started. It is ready to enqueue as soon as New returns.
type Queue struct {
	client  *river.Client[pgx.Tx]
	store   *store.Store
	cfg     Config
	working bool
}

// New returns a Queue over pool whose workers index into st with
// embeddings of ix. It creates the River client, with the ingest worker
// registered when cfg.Workers > 0.
func New(pool *pgxpool.Pool, st *store.Store, ix *Indexer, cfg Config) (*Queue, error) {
	if cfg.Workers < 0 {
		return nil, fmt.Errorf("jobs: Workers must not be negative, got %d", cfg.Workers)
	}
	cfg = cfg.WithDefaults()
	rc := &river.Config{Logger: cfg.Logger, MaxAttempts: cfg.MaxAttempts}
	if cfg.Workers > 0 {
		workers := river.NewWorkers()
		if err := river.AddWorkerSafely(workers, &Worker{store: st, indexer: ix, timeout: cfg.JobTimeout}); err != nil {
			return nil, fmt.Errorf("register ingest worker: %w", err)
		}
		rc.Workers = workers
		rc.Queues = map[string]river.QueueConfig{cfg.Queue: {MaxWorkers: cfg.Workers}}
		rc.JobTimeout = cfg.JobTimeout
		rc.RescueStuckJobsAfter = cfg.JobTimeout + RescueMargin
		rc.FetchCooldown = 20 * time.Millisecond
		rc.FetchPollInterval = 500 * time.Millisecond
	}
	c, err := river.NewClient(riverpgxv5.New(pool), rc)
	if err != nil {
		return nil, fmt.Errorf("river client: %w", err)
	}
	return &Queue{client: c, store: st, cfg: cfg, working: cfg.Workers > 0}, nil
}

// Enqueue inserts, in tx, one River job that indexes the given ingest
// jobs (staged in tx by store.Stage) and links them to it.
func (q *Queue) Enqueue(ctx context.Context, tx pgx.Tx, tenant uuid.UUID, jobs []uuid.UUID) error {
	if len(jobs) == 0 {
		return nil
	}
	args := Args{TenantID: tenant, JobID: jobs[0]}
	if len(jobs) > 1 {
		args.JobIDs = jobs
	}
	rj, err := q.client.InsertTx(ctx, tx, args, &river.InsertOpts{MaxAttempts: q.cfg.MaxAttempts, Queue: q.cfg.Queue})
	if err != nil {
		return fmt.Errorf("enqueue ingest job: %w", err)
	}
	return q.store.LinkRiverJob(ctx, tx, tenant, jobs, rj.Job.ID)
}

// Start starts the workers (a no-op for an insert-only queue); they run
// until Stop or until ctx ends.
func (q *Queue) Start(ctx context.Context) error {
	if !q.working {
		return nil
	}
	if err := q.client.Start(ctx); err != nil {
		return fmt.Errorf("start ingest workers: %w", err)
	}
	return nil
}

// Stop stops fetching jobs and waits for running ones until ctx ends,
// then cancels them (they run again elsewhere or after a restart).
func (q *Queue) Stop(ctx context.Context) error {
	if !q.working {
		return nil
	}
	if err := q.client.Stop(ctx); err != nil {
		if cerr := q.client.StopAndCancel(context.WithoutCancel(ctx)); cerr != nil {
			return errors.Join(err, cerr)
		}
	}
	return nil
}
