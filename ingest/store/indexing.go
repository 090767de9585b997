package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/pgvector/pgvector-go"

	"github.com/cairn-rag/cairn/internal/apperr"
	"github.com/cairn-rag/cairn/internal/offsets"
	"github.com/cairn-rag/cairn/textsearch"
	"github.com/cairn-rag/cairn/textsearch/termstats"
)

// The job layer's side of the store: load what a job indexes, record its
// progress, and commit its outcome in one transaction.

// Pending is a version whose ingest job has not finished.
type Pending struct {
	JobID, DocumentID, VersionID uuid.UUID
	VersionNumber                int
	MimeType                     string
	Raw                          []byte
}

// LoadPending returns the versions of the given ingest jobs that have not
// finished, ordered by job id; finished jobs, and jobs whose document was
// deleted, are left out (so a job run twice does nothing the second time).
func (s *Store) LoadPending(ctx context.Context, tenant uuid.UUID, jobIDs []uuid.UUID) ([]Pending, error) {
	rows, err := s.pool.Query(ctx, `SELECT j.id, j.document_id, j.version_id, v.version_number, v.mime_type, v.raw
		FROM ingest_jobs j JOIN document_versions v ON v.tenant_id = j.tenant_id AND v.id = j.version_id
		WHERE j.tenant_id = $1 AND j.id = ANY($2) AND j.state NOT IN ('succeeded', 'failed') ORDER BY j.id`, tenant, jobIDs)
	if err != nil {
		return nil, fmt.Errorf("load jobs: %w", err)
	}
	ps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Pending, error) {
		var p Pending
		err := r.Scan(&p.JobID, &p.DocumentID, &p.VersionID, &p.VersionNumber, &p.MimeType, &p.Raw)
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("load jobs: %w", err)
	}
	return ps, nil
}

// MarkRunning records attempt on the jobs and totals[i] as the chunk
// total of jobs[i], with no chunks done yet.
func (s *Store) MarkRunning(ctx context.Context, tenant uuid.UUID, jobs []uuid.UUID, totals []int32, attempt int) error {
	err := s.progress(ctx, `UPDATE ingest_jobs j SET state = 'running', attempts = $3, chunks_done = 0, chunks_total = t.total, updated_at = now()
		FROM unnest($2::uuid[], $4::int[]) AS t(id, total) WHERE j.tenant_id = $1 AND j.id = t.id`, tenant, jobs, attempt, totals)
	if err != nil {
		return fmt.Errorf("mark running: %w", err)
	}
	return nil
}

// Progress records that done chunks of a job are embedded.
func (s *Store) Progress(ctx context.Context, tenant, job uuid.UUID, done int) error {
	return s.progress(ctx, `UPDATE ingest_jobs SET chunks_done = $3, updated_at = now() WHERE tenant_id = $1 AND id = $2`, tenant, job, done)
}

// progress runs a progress update without waiting for its WAL flush:
// losing one in a crash only shows stale counters until the job re-runs.
func (s *Store) progress(ctx context.Context, sql string, args ...any) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, sql, args...)
		return err
	})
}

// NewChunk is one chunk to write: Content is the version text's code
// points [Start, End); Page is its PDF page, if any.
type NewChunk struct {
	Content    string
	Start, End int
	Page       *int
	Embedding  []float32
}

// Indexed is the outcome of one Pending version: its text and chunks (in
// ordinal order), or the reason it failed for good.
type Indexed struct {
	Pending
	Text   string
	Chunks []NewChunk
	Failed error
}

var chunkColumns = []string{"tenant_id", "id", "document_id", "version_id", "ordinal", "content", "start_offset", "end_offset", "page",
	"search_terms", "model_id", "embedding", "start_utf16"}

// Commit writes the outcome of one job attempt in ONE transaction: the
// chunks of every indexed version (COPY, embeddings of model), each such
// version ready and current (unless a newer one already is) and its job
// succeeded; each failed version and its job failed with the reason.
// Versions deleted or finished meanwhile are skipped. A crash leaves
// nothing half-visible; a re-run rewrites from scratch, never duplicates.
func (s *Store) Commit(ctx context.Context, tenant uuid.UUID, model string, attempt int, results []Indexed) error {
	total := 0
	for _, r := range results {
		total += len(r.Chunks)
	}
	copyRows := make([][]any, 0, total)
	for _, r := range results {
		ix := offsets.NewIndex(r.Text) // start_utf16: Start in UTF-16 units of the text
		for i, c := range r.Chunks {
			copyRows = append(copyRows, []any{tenant, uuid.Must(uuid.NewV7()), r.DocumentID, r.VersionID, i, c.Content, c.Start, c.End, c.Page,
				textsearch.Document(c.Content), model, pgvector.NewVector(c.Embedding), ix.UTF16(c.Start)})
		}
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		vids := make([]uuid.UUID, len(results))
		dids := make([]uuid.UUID, len(results))
		for i, r := range results {
			vids[i] = r.VersionID
			dids[i] = r.DocumentID
		}
		// Lock the documents before their versions: Delete's cascade and
		// Stage take the document row first, so the same order here
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
		var stats termstats.Delta
		if err := stats.RemoveDeleted(ctx, tx, `DELETE FROM chunks WHERE tenant_id = $1 AND version_id = ANY($2) RETURNING search_terms`, tenant, live); err != nil {
			return fmt.Errorf("clear chunks: %w", err)
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"chunks"}, chunkColumns, pgx.CopyFromRows(keep)); err != nil {
			return fmt.Errorf("copy chunks: %w", err)
		}
		for _, r := range keep {
			stats.Add(r[9].(string))
		}
		b := &pgx.Batch{}
		stats.Queue(b, tenant)
		for _, r := range results {
			if !pending[r.VersionID] {
				continue
			}
			if r.Failed != nil {
				msg := failureMessage(r.Failed)
				b.Queue(`UPDATE document_versions SET state = 'failed', error = $3 WHERE tenant_id = $1 AND id = $2`, tenant, r.VersionID, msg)
				b.Queue(`UPDATE ingest_jobs SET state = 'failed', error = $3, attempts = $4, updated_at = now(), finished_at = now() WHERE tenant_id = $1 AND id = $2`,
					tenant, r.JobID, msg, attempt)
				continue
			}
			b.Queue(`UPDATE document_versions SET text = $3, state = 'ready', error = NULL, chunk_count = $4, ready_at = now()
				WHERE tenant_id = $1 AND id = $2`, tenant, r.VersionID, r.Text, len(r.Chunks))
			// Flip the current version unless a newer one already became current.
			b.Queue(`UPDATE documents d SET current_version_id = $3, updated_at = now()
				WHERE d.tenant_id = $1 AND d.id = $2 AND (d.current_version_id IS NULL OR
					(SELECT version_number FROM document_versions WHERE tenant_id = $1 AND id = d.current_version_id) < $4)`,
				tenant, r.DocumentID, r.VersionID, r.VersionNumber)
			b.Queue(`UPDATE ingest_jobs SET state = 'succeeded', chunks_done = chunks_total, error = NULL, updated_at = now(), finished_at = now()
				WHERE tenant_id = $1 AND id = $2`, tenant, r.JobID)
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("finish versions: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return termstats.MaybeCompact(ctx, s.pool, tenant)
}

// RecordFailure records a failed attempt of a job that has not finished;
// final marks the job and its version failed, otherwise the job is queued
// again (River retries it).
func (s *Store) RecordFailure(ctx context.Context, tenant, job uuid.UUID, cause error, final bool) error {
	msg := failureMessage(cause)
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		state := JobQueued
		if final {
			state = JobFailed
		}
		var vid uuid.UUID
		err := tx.QueryRow(ctx, `UPDATE ingest_jobs SET state = $3, error = $4, updated_at = now(),
			finished_at = CASE WHEN $3 = 'failed' THEN now() END
			WHERE tenant_id = $1 AND id = $2 AND state NOT IN ('succeeded', 'failed') RETURNING version_id`,
			tenant, job, state, msg).Scan(&vid)
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

// failureMessage is the stored reason of a failure: "code: message" for
// a domain error (no wrapped cause), the error text otherwise.
func failureMessage(err error) string {
	if e, ok := apperr.As(err); ok {
		return e.Code + ": " + e.Message
	}
	return err.Error()
}
