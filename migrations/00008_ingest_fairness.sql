-- +goose Up
-- Fair ingest scheduling (owned by ingest/store): an upload counts its
-- tenant's queued ingest jobs to choose its River priority; this partial
-- index keeps that count to the queued rows of one tenant.
CREATE INDEX ingest_jobs_queued ON ingest_jobs (tenant_id) WHERE state = 'queued';

-- +goose Down
DROP INDEX ingest_jobs_queued;
