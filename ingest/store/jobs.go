package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// jobSelect reads an ingest job with its River job's state: until the
// ingest job records an end, River's state is the truth about queued and
// running (a job River gave up on is failed).
const jobSelect = `SELECT j.id, j.document_id, j.version_id, j.state, j.chunks_done, j.chunks_total, j.attempts, j.error,
	j.created_at, j.updated_at, j.finished_at, rj.state::text, rj.attempt, rj.errors[array_length(rj.errors, 1)]->>'error'
	FROM ingest_jobs j LEFT JOIN river_job rj ON rj.id = j.river_job_id `

func scanJob(row pgx.Row) (Job, error) {
	var j Job
	var rstate, rerr *string
	var rattempt *int
	if err := row.Scan(&j.ID, &j.DocumentID, &j.VersionID, &j.State, &j.ChunksDone, &j.ChunksTotal, &j.Attempts, &j.Error,
		&j.CreatedAt, &j.UpdatedAt, &j.FinishedAt, &rstate, &rattempt, &rerr); err != nil {
		return Job{}, err
	}
	if rattempt != nil && *rattempt > j.Attempts {
		j.Attempts = *rattempt
	}
	if j.Done() || rstate == nil {
		return j, nil
	}
	switch *rstate {
	case "running":
		j.State = JobRunning
	case "available", "scheduled", "retryable", "pending":
		j.State = JobQueued
	case "discarded", "cancelled":
		j.State = JobFailed
	case "completed":
		j.State = JobSucceeded
	}
	if j.Error == nil && rerr != nil {
		j.Error = rerr
	}
	return j, nil
}

// GetJob returns an ingest job of the tenant; CodeJobNotFound if none.
func (s *Store) GetJob(ctx context.Context, tenant, id uuid.UUID) (Job, error) {
	return s.job(ctx, id, `WHERE j.tenant_id = $1 AND j.id = $2`, tenant, id)
}

// JobOfVersion returns the latest ingest job of a version;
// CodeJobNotFound if it has none.
func (s *Store) JobOfVersion(ctx context.Context, tenant, version uuid.UUID) (Job, error) {
	return s.job(ctx, version, `WHERE j.tenant_id = $1 AND j.version_id = $2 ORDER BY j.created_at DESC LIMIT 1`, tenant, version)
}

// job returns the job that where (a clause over jobSelect) selects; none
// is CodeJobNotFound naming id.
func (s *Store) job(ctx context.Context, id uuid.UUID, where string, args ...any) (Job, error) {
	j, err := scanJob(s.pool.QueryRow(ctx, jobSelect+where, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return Job{}, notFound(CodeJobNotFound, "job", id)
	}
	if err != nil {
		return Job{}, fmt.Errorf("get job: %w", err)
	}
	return j, nil
}

// Jobs returns the tenant's ingest jobs among ids in one query, in no
// particular order; ids that do not exist (their document was deleted)
// are left out.
func (s *Store) Jobs(ctx context.Context, tenant uuid.UUID, ids []uuid.UUID) ([]Job, error) {
	rows, err := s.pool.Query(ctx, jobSelect+`WHERE j.tenant_id = $1 AND j.id = ANY($2)`, tenant, ids)
	if err != nil {
		return nil, fmt.Errorf("get jobs: %w", err)
	}
	jobs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Job, error) { return scanJob(r) })
	if err != nil {
		return nil, fmt.Errorf("get jobs: %w", err)
	}
	return jobs, nil
}

// WaitJob polls the job until it is done or ctx ends (then it returns
// the job as last read and ctx's error).
func (s *Store) WaitJob(ctx context.Context, tenant, id uuid.UUID) (Job, error) {
	delay := 10 * time.Millisecond
	for {
		j, err := s.GetJob(ctx, tenant, id)
		if err != nil || j.Done() {
			return j, err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return j, ctx.Err()
		case <-t.C:
		}
		delay = min(delay*2, 250*time.Millisecond)
	}
}
