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
	"github.com/cairn-rag/cairn/internal/riverkinds"
)

// Args are the River arguments of an ingest job.
type Args struct {
	TenantID uuid.UUID `json:"tenant_id"`
	JobID    uuid.UUID `json:"job_id"`
	// JobIDs, when set, are several ingest jobs indexed together (bulk
	// loads): one transaction and one COPY for all their chunks.
	JobIDs []uuid.UUID `json:"job_ids,omitempty"`
	// Bytes is the total size of the job's uploads; it sets the job's
	// timeout (Config.timeoutFor). Zero (jobs enqueued before it
	// existed) takes Config.JobTimeout.
	Bytes int64 `json:"bytes,omitempty"`
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
	cfg     Config
}

// Timeout implements river.Worker: the job's time limit grows with its
// size (Config.timeoutFor). River's rescuer uses the same limit, so a
// small job of a worker that died runs again within a minute.
func (w *Worker) Timeout(job *river.Job[Args]) time.Duration { return w.cfg.timeoutFor(job.Args.Bytes) }

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
	// JobTimeoutDefault is the most time any one job gets.
	JobTimeoutDefault = 30 * time.Minute
	// MinJobTimeoutDefault and JobTimeoutPerMiBDefault give a job
	// MinJobTimeout plus JobTimeoutPerMiB for each MiB of its uploads: a
	// 150 KB text gets 19.5 s, a 3 MiB PDF 1m45s, a 64 MiB one the 30 min
	// cap. They assume the slowest embedder indexes a MiB of text in well
	// under 30 s.
	MinJobTimeoutDefault    = 15 * time.Second
	JobTimeoutPerMiBDefault = 30 * time.Second
	MaxAttemptsDefault      = 5
	// FairShareDefault is how many queued ingest jobs a tenant may have
	// before its new ones queue behind other tenants' (Config.priority).
	FairShareDefault = 16
	// RescueMargin is how long after its timeout a job still marked
	// running (its worker died) becomes eligible for River's rescuer,
	// which looks every 30 s; the rescued job is retried after River's
	// first backoff (about 1 s).
	RescueMargin = 5 * time.Second
)

// Config configures a Queue; zero fields take defaults.
type Config struct {
	// Workers is how many jobs run at once in this process; 0 makes an
	// insert-only queue (ingestion left to `cairn worker` processes).
	Workers int
	// JobTimeout is the most time one job gets (JobTimeoutDefault).
	JobTimeout time.Duration
	// MinJobTimeout is the time limit of an empty job
	// (MinJobTimeoutDefault); a job gets JobTimeoutPerMiB more for each
	// MiB of its uploads (JobTimeoutPerMiBDefault), up to JobTimeout. A
	// job running longer than its limit plus RescueMargin (a worker
	// killed mid-job) is rescued by River and run again.
	MinJobTimeout    time.Duration
	JobTimeoutPerMiB time.Duration
	// MaxAttempts is how often River runs a failing job (MaxAttemptsDefault).
	MaxAttempts int
	// Queue is the River queue of ingest jobs (river.QueueDefault when
	// empty); tests use their own so that their workers stay apart.
	Queue string
	// FairShare is how many queued jobs a tenant may have before its new
	// jobs lose priority (FairShareDefault); see Config.priority.
	FairShare int
	// Foreign are the job kinds other River clients of the database work
	// (riverkinds.Foreign), so this client's maintenance rescues them.
	Foreign []riverkinds.Register
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
	if c.MinJobTimeout <= 0 {
		c.MinJobTimeout = MinJobTimeoutDefault
	}
	c.MinJobTimeout = min(c.MinJobTimeout, c.JobTimeout)
	if c.JobTimeoutPerMiB <= 0 {
		c.JobTimeoutPerMiB = JobTimeoutPerMiBDefault
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = MaxAttemptsDefault
	}
	if c.Queue == "" {
		c.Queue = river.QueueDefault
	}
	if c.FairShare <= 0 {
		c.FairShare = FairShareDefault
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	c.Index = c.Index.WithDefaults()
	return c
}

// priority is the River priority of a new job of a tenant that already
// has backlog jobs queued: 1 (first) under FairShare, then one step lower
// for each further factor of 8: 2 under 8×FairShare, 3 under
// 64×FairShare, else 4. River works higher priorities first (then oldest
// first), so one tenant's backlog of thousands queues behind every other
// tenant's next FairShare jobs instead of ahead of them, while a tenant
// alone still has every worker. Jobs already queued keep their priority.
func (c Config) priority(backlog int) int {
	p := 1
	for limit := c.FairShare; backlog >= limit && p < 4; limit *= 8 {
		p++
	}
	return p
}

// timeoutFor is the time limit of a job over bytes of uploads:
// MinJobTimeout plus JobTimeoutPerMiB per MiB, at most JobTimeout; zero
// bytes (unknown) is JobTimeout.
func (c Config) timeoutFor(bytes int64) time.Duration {
	if bytes <= 0 {
		return c.JobTimeout
	}
	perByte := float64(c.JobTimeoutPerMiB) / (1 << 20)
	extra := float64(bytes) * perByte
	if extra >= float64(c.JobTimeout) {
		return c.JobTimeout
	}
	return min(c.MinJobTimeout+time.Duration(extra), c.JobTimeout)
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
		if err := river.AddWorkerSafely(workers, &Worker{store: st, indexer: ix, cfg: cfg}); err != nil {
			return nil, fmt.Errorf("register ingest worker: %w", err)
		}
		for _, reg := range cfg.Foreign {
			if err := reg(workers); err != nil {
				return nil, fmt.Errorf("register a foreign job kind: %w", err)
			}
		}
		rc.Workers = workers
		rc.Queues = map[string]river.QueueConfig{cfg.Queue: {MaxWorkers: cfg.Workers}}
		// The rescuer looks at jobs running longer than the shortest
		// limit plus the margin, and leaves those whose own limit
		// (Worker.Timeout) has not passed.
		rc.JobTimeout = cfg.MinJobTimeout
		rc.RescueStuckJobsAfter = cfg.MinJobTimeout + RescueMargin
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
// jobs (staged in tx by store.Stage) and links them to it; bytes is the
// total size of their uploads (it sets the job's time limit).
func (q *Queue) Enqueue(ctx context.Context, tx pgx.Tx, tenant uuid.UUID, jobs []uuid.UUID, bytes int64) error {
	if len(jobs) == 0 {
		return nil
	}
	args := Args{TenantID: tenant, JobID: jobs[0], Bytes: max(bytes, 1)}
	if len(jobs) > 1 {
		args.JobIDs = jobs
	}
	// The count includes the jobs being enqueued (staged in tx).
	queued, err := q.store.QueuedJobs(ctx, tx, tenant, q.cfg.FairShare<<6+len(jobs))
	if err != nil {
		return err
	}
	backlog := max(queued-len(jobs), 0)
	rj, err := q.client.InsertTx(ctx, tx, args, &river.InsertOpts{MaxAttempts: q.cfg.MaxAttempts, Queue: q.cfg.Queue,
		Priority: q.cfg.priority(backlog)})
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
