package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pgvector/pgvector-go"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"golang.org/x/sync/errgroup"

	"github.com/cairn-rag/cairn/internal/apperr"
	"github.com/cairn-rag/cairn/textsearch"
)

// JobArgs are the River arguments of an ingest job.
type JobArgs struct {
	TenantID uuid.UUID `json:"tenant_id"`
	JobID    uuid.UUID `json:"job_id"`
	// JobIDs, when set, are several ingest jobs indexed together (bulk
	// loads): one transaction and one COPY for all their chunks.
	JobIDs []uuid.UUID `json:"job_ids,omitempty"`
}

// ids returns the ingest jobs of the River job.
func (a JobArgs) ids() []uuid.UUID {
	if len(a.JobIDs) > 0 {
		return a.JobIDs
	}
	return []uuid.UUID{a.JobID}
}

// Kind implements river.JobArgs.
func (JobArgs) Kind() string { return "cairn_ingest_version" }

// Worker runs ingest jobs.
type Worker struct {
	river.WorkerDefaults[JobArgs]
	svc     *Service
	timeout time.Duration
}

// Timeout implements river.Worker.
func (w *Worker) Timeout(*river.Job[JobArgs]) time.Duration { return w.timeout }

// RiverConfig configures the River client of NewRiverClient.
type RiverConfig struct {
	// Workers is how many jobs run at once in this process; 0 makes an
	// insert-only client (ingestion left to `cairn worker` processes).
	Workers int
	// JobTimeout bounds one job; a job running longer than JobTimeout+10s
	// (a worker killed mid-job) is rescued and run again.
	JobTimeout time.Duration
	// Logger receives River's logs.
	Logger *slog.Logger
	// Queue is the River queue of ingest jobs (river.QueueDefault when
	// empty); tests use their own so that their workers stay apart.
	Queue string
}

// NewRiverClient creates the River client the service enqueues with and,
// when cfg.Workers > 0, works ingest jobs. Start it with Start(ctx).
func (s *Service) NewRiverClient(cfg RiverConfig) (*river.Client[pgx.Tx], error) {
	if cfg.JobTimeout <= 0 {
		cfg.JobTimeout = 30 * time.Minute
	}
	if cfg.Queue == "" {
		cfg.Queue = river.QueueDefault
	}
	s.queue = cfg.Queue
	rc := &river.Config{Logger: cfg.Logger, MaxAttempts: s.opts.MaxAttempts}
	if rc.Logger == nil {
		rc.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Workers > 0 {
		workers := river.NewWorkers()
		if err := river.AddWorkerSafely(workers, &Worker{svc: s, timeout: cfg.JobTimeout}); err != nil {
			return nil, fmt.Errorf("register ingest worker: %w", err)
		}
		rc.Workers = workers
		rc.Queues = map[string]river.QueueConfig{cfg.Queue: {MaxWorkers: cfg.Workers}}
		rc.JobTimeout = cfg.JobTimeout
		rc.RescueStuckJobsAfter = cfg.JobTimeout + 10*time.Second
		rc.FetchCooldown = 20 * time.Millisecond
		rc.FetchPollInterval = 500 * time.Millisecond
	}
	c, err := river.NewClient(riverpgxv5.New(s.pool), rc)
	if err != nil {
		return nil, fmt.Errorf("river client: %w", err)
	}
	s.river = c
	return c, nil
}

// Work implements river.Worker: it indexes the job's versions. A
// version that cannot be processed (does not parse, too long) fails on
// its own; other errors fail the whole River job, which River retries.
func (w *Worker) Work(ctx context.Context, job *river.Job[JobArgs]) error {
	err := w.svc.runJobs(ctx, job.Args.TenantID, job.Args.ids(), job.Attempt)
	if err == nil {
		return nil
	}
	final := job.Attempt >= job.MaxAttempts
	for _, id := range job.Args.ids() {
		if merr := w.svc.markJob(context.WithoutCancel(ctx), job.Args.TenantID, id, err, final); merr != nil {
			err = errors.Join(err, merr)
		}
	}
	if final {
		return river.JobCancel(err)
	}
	return err
}

// permanent reports whether err is a property of the file, not worth a retry.
func permanent(err error) bool {
	k := apperr.KindOf(err)
	return k == apperr.Unprocessable || k == apperr.Unsupported || k == apperr.TooLarge
}

// work is one version being indexed.
type work struct {
	jobID, docID, versionID uuid.UUID
	versionNumber           int
	ext                     Extracted
	spans                   []Span
	failed                  error
}

// runJobs indexes the versions of the given ingest jobs. It is
// idempotent: jobs that already finished, or whose document was
// deleted, are skipped; everything is written in one transaction.
func (s *Service) runJobs(ctx context.Context, tenant uuid.UUID, jobIDs []uuid.UUID, attempt int) error {
	rows, err := s.pool.Query(ctx, `SELECT j.id, j.document_id, j.version_id, j.state, v.mime_type, v.version_number, v.raw
		FROM ingest_jobs j JOIN document_versions v ON v.tenant_id = j.tenant_id AND v.id = j.version_id
		WHERE j.tenant_id = $1 AND j.id = ANY($2) ORDER BY j.id`, tenant, jobIDs)
	if err != nil {
		return fmt.Errorf("load jobs: %w", err)
	}
	var ws []*work
	var raws [][]byte
	var mimes []string
	for rows.Next() {
		w := &work{}
		var state, mime string
		var raw []byte
		if err := rows.Scan(&w.jobID, &w.docID, &w.versionID, &state, &mime, &w.versionNumber, &raw); err != nil {
			rows.Close()
			return fmt.Errorf("load jobs: %w", err)
		}
		if state == JobSucceeded || state == JobFailed {
			continue
		}
		ws, raws, mimes = append(ws, w), append(raws, raw), append(mimes, mime)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load jobs: %w", err)
	}
	if len(ws) == 0 {
		return nil
	}
	total := 0
	ids, totals := make([]uuid.UUID, len(ws)), make([]int32, len(ws))
	for i, w := range ws {
		w.ext, w.failed = Extract(mimes[i], raws[i])
		if w.failed == nil {
			if n := utf8.RuneCountInString(w.ext.Text); n > s.opts.MaxTextChars {
				w.failed = apperr.New(apperr.TooLarge, "text_too_long", "the extracted text has %d characters, over the limit of %d", n, s.opts.MaxTextChars)
			}
		}
		if w.failed != nil && !permanent(w.failed) {
			return w.failed
		}
		if w.failed == nil {
			w.spans = SplitExtracted(w.ext, s.opts.Chunk)
		}
		ids[i], totals[i] = w.jobID, int32(len(w.spans))
		total += len(w.spans)
	}
	if err := s.progress(ctx, `UPDATE ingest_jobs j SET state = 'running', attempts = $3, chunks_done = 0, chunks_total = t.total, updated_at = now()
		FROM unnest($2::uuid[], $4::int[]) AS t(id, total) WHERE j.tenant_id = $1 AND j.id = t.id`, tenant, ids, attempt, totals); err != nil {
		return fmt.Errorf("mark running: %w", err)
	}
	all := make([]Span, 0, total)
	for _, w := range ws {
		all = append(all, w.spans...)
	}
	var progressJob *uuid.UUID
	if len(ws) == 1 {
		progressJob = &ws[0].jobID
	}
	vecs, err := s.embedAll(ctx, tenant, progressJob, all)
	if err != nil {
		return err
	}
	model := s.embedder.Model()
	copyRows := make([][]any, 0, total)
	k := 0
	for _, w := range ws {
		for i, sp := range w.spans {
			var page *int
			if len(w.ext.PageStarts) > 0 {
				p := w.ext.PageAt(sp.Start)
				page = &p
			}
			copyRows = append(copyRows, []any{tenant, uuid.Must(uuid.NewV7()), w.docID, w.versionID, i, sp.Content, sp.Start, sp.End, page,
				textsearch.Document(sp.Content), model, pgvector.NewVector(vecs[k])})
			k++
		}
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		vids := make([]uuid.UUID, len(ws))
		dids := make([]uuid.UUID, len(ws))
		for i, w := range ws {
			vids[i] = w.versionID
			dids[i] = w.docID
		}
		// Lock the documents before their versions: Delete's cascade and
		// Upload take the document row first, so the same order here
		// keeps a concurrent delete from deadlocking with this commit.
		if _, err := tx.Exec(ctx, `SELECT 1 FROM documents WHERE tenant_id = $1 AND id = ANY($2) ORDER BY id FOR UPDATE`, tenant, dids); err != nil {
			return fmt.Errorf("lock documents: %w", err)
		}
		rows, err := tx.Query(ctx, `SELECT id FROM document_versions WHERE tenant_id = $1 AND id = ANY($2) AND state = 'pending' ORDER BY id FOR UPDATE`, tenant, vids)
		if err != nil {
			return fmt.Errorf("lock versions: %w", err)
		}
		live, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		if err != nil {
			return fmt.Errorf("lock versions: %w", err)
		}
		pending := map[uuid.UUID]bool{}
		for _, id := range live {
			pending[id] = true
		}
		// Versions deleted or finished meanwhile drop out.
		keep := copyRows[:0:0]
		for _, r := range copyRows {
			if pending[r[3].(uuid.UUID)] {
				keep = append(keep, r)
			}
		}
		// Defensive: a version's chunks are only ever written in this
		// transaction, so nothing should be here; never duplicate.
		if _, err := tx.Exec(ctx, `DELETE FROM chunks WHERE tenant_id = $1 AND version_id = ANY($2)`, tenant, live); err != nil {
			return fmt.Errorf("clear chunks: %w", err)
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"chunks"}, chunkColumns, pgx.CopyFromRows(keep)); err != nil {
			return fmt.Errorf("copy chunks: %w", err)
		}
		b := &pgx.Batch{}
		for _, w := range ws {
			if !pending[w.versionID] {
				continue
			}
			if w.failed != nil {
				msg := w.failed.Error()
				if e, ok := apperr.As(w.failed); ok {
					msg = e.Code + ": " + e.Message
				}
				b.Queue(`UPDATE document_versions SET state = 'failed', error = $3 WHERE tenant_id = $1 AND id = $2`, tenant, w.versionID, msg)
				b.Queue(`UPDATE ingest_jobs SET state = 'failed', error = $3, attempts = $4, updated_at = now(), finished_at = now() WHERE tenant_id = $1 AND id = $2`,
					tenant, w.jobID, msg, attempt)
				continue
			}
			b.Queue(`UPDATE document_versions SET text = $3, raw = NULL, state = 'ready', error = NULL, chunk_count = $4, ready_at = now()
				WHERE tenant_id = $1 AND id = $2`, tenant, w.versionID, w.ext.Text, len(w.spans))
			// Flip the current version unless a newer one already became current.
			b.Queue(`UPDATE documents d SET current_version_id = $3, updated_at = now()
				WHERE d.tenant_id = $1 AND d.id = $2 AND (d.current_version_id IS NULL OR
					(SELECT version_number FROM document_versions WHERE tenant_id = $1 AND id = d.current_version_id) < $4)`,
				tenant, w.docID, w.versionID, w.versionNumber)
			b.Queue(`UPDATE ingest_jobs SET state = 'succeeded', chunks_done = chunks_total, error = NULL, updated_at = now(), finished_at = now()
				WHERE tenant_id = $1 AND id = $2`, tenant, w.jobID)
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("finish versions: %w", err)
		}
		return nil
	})
}

var chunkColumns = []string{"tenant_id", "id", "document_id", "version_id", "ordinal", "content", "start_offset", "end_offset", "page",
	"search_terms", "model_id", "embedding"}

// embedAll embeds the spans in batches, at most EmbedConcurrency calls at
// once, recording progress on the job (when one job is given).
func (s *Service) embedAll(ctx context.Context, tenant uuid.UUID, jobID *uuid.UUID, spans []Span) ([][]float32, error) {
	vecs := make([][]float32, len(spans))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.opts.EmbedConcurrency)
	var mu sync.Mutex
	done, last := 0, time.Now()
	for lo := 0; lo < len(spans); lo += s.opts.EmbedBatch {
		hi := min(lo+s.opts.EmbedBatch, len(spans))
		g.Go(func() error {
			texts := make([]string, hi-lo)
			for i := range texts {
				texts[i] = spans[lo+i].Content
			}
			vs, err := s.embedder.Embed(gctx, texts)
			if err != nil {
				return fmt.Errorf("embed chunks %d-%d: %w", lo, hi, err)
			}
			if len(vs) != len(texts) {
				return fmt.Errorf("embedder returned %d vectors for %d texts", len(vs), len(texts))
			}
			copy(vecs[lo:hi], vs)
			mu.Lock()
			done += hi - lo
			report := time.Since(last) > 250*time.Millisecond
			if report {
				last = time.Now()
			}
			n := done
			mu.Unlock()
			if report && jobID != nil {
				_ = s.progress(gctx, `UPDATE ingest_jobs SET chunks_done = $3, updated_at = now() WHERE tenant_id = $1 AND id = $2`, tenant, *jobID, n)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return vecs, nil
}

// markJob records a failed attempt; final marks the job and version failed.
func (s *Service) markJob(ctx context.Context, tenant, jobID uuid.UUID, cause error, final bool) error {
	msg := cause.Error()
	if e, ok := apperr.As(cause); ok {
		msg = e.Code + ": " + e.Message
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		state := "queued"
		if final {
			state = "failed"
		}
		var vid uuid.UUID
		err := tx.QueryRow(ctx, `UPDATE ingest_jobs SET state = $3, error = $4, updated_at = now(),
			finished_at = CASE WHEN $3 = 'failed' THEN now() END
			WHERE tenant_id = $1 AND id = $2 AND state NOT IN ('succeeded', 'failed') RETURNING version_id`,
			tenant, jobID, state, msg).Scan(&vid)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("record job error: %w", err)
		}
		if final {
			if _, err := tx.Exec(ctx, `UPDATE document_versions SET state = 'failed', error = $3 WHERE tenant_id = $1 AND id = $2 AND state <> 'ready'`,
				tenant, vid, msg); err != nil {
				return fmt.Errorf("mark version failed: %w", err)
			}
		}
		return nil
	})
}

// ModelIndexName is the name of the HNSW index of one embedding model.
func ModelIndexName(model string) string {
	b := []byte("chunks_hnsw_")
	for _, r := range model {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b = append(b, byte(r))
		case r >= 'A' && r <= 'Z':
			b = append(b, byte(r+'a'-'A'))
		default:
			b = append(b, '_')
		}
	}
	if len(b) > 63 {
		b = b[:63]
	}
	return string(b)
}

// EnsureModelIndex creates the partial HNSW expression index of a model
// unless it exists (the offline model's comes with the migrations; a
// bulk load with DeferModelIndex drops and rebuilds it). It must not run
// inside a transaction (CREATE INDEX CONCURRENTLY).
func EnsureModelIndex(ctx context.Context, db interface {
	Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
}, model string, dim int) error {
	q := fmt.Sprintf(`CREATE INDEX CONCURRENTLY IF NOT EXISTS %s ON chunks USING hnsw ((embedding::vector(%d)) vector_cosine_ops) WHERE model_id = %s`,
		pgx.Identifier{ModelIndexName(model)}.Sanitize(), dim, quoteLiteral(model))
	if _, err := db.Exec(ctx, q); err != nil {
		return fmt.Errorf("create HNSW index for model %s: %w", model, err)
	}
	return nil
}

func quoteLiteral(s string) string {
	out := []byte{'\''}
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' {
			out = append(out, '\'')
		}
		out = append(out, s[i])
	}
	return string(append(out, '\''))
}

// progress runs a progress update without waiting for its WAL flush:
// losing one in a crash only shows stale counters until the job re-runs.
func (s *Service) progress(ctx context.Context, sql string, args ...any) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, sql, args...)
		return err
	})
}

// DeferModelIndex drops the HNSW index of model for a bulk load and
// returns the function that builds it again (CONCURRENTLY, so writes go
// on meanwhile). Building the graph once after the load is several times
// cheaper than maintaining it row by row. While the index is missing,
// vector search stays correct (an exact scan) but slower; a process that
// dies before rebuilding leaves that state until the next `cairn serve`,
// `cairn worker` or `cairn ingest` start, which runs EnsureModelIndex.
func DeferModelIndex(ctx context.Context, db interface {
	Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
}, model string, dim int) (rebuild func(context.Context) error, err error) {
	if _, err := db.Exec(ctx, `DROP INDEX IF EXISTS `+pgx.Identifier{ModelIndexName(model)}.Sanitize()); err != nil {
		return nil, fmt.Errorf("drop HNSW index for model %s: %w", model, err)
	}
	return func(ctx context.Context) error { return EnsureModelIndex(ctx, db, model, dim) }, nil
}
