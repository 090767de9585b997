-- +goose Up
-- Documents, their immutable versions and the chunks of each version.
-- Owned by the ingest package; read by threads (citation enrichment) and
-- retrieval (search).
--
-- Visibility rule: a chunk is searchable iff its version is its document's
-- current_version_id. Ingest writes all chunks of a version first and then
-- flips current_version_id in one transaction, so a version becomes
-- searchable atomically and older versions stay readable for citations.
CREATE TABLE documents (
    tenant_id          uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                 uuid NOT NULL,
    path_part_id       uuid NOT NULL,
    name               text NOT NULL,
    current_version_id uuid,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, path_part_id) REFERENCES path_parts (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX documents_path_part ON documents (tenant_id, path_part_id);

CREATE TABLE document_versions (
    tenant_id      uuid NOT NULL,
    id             uuid NOT NULL,
    document_id    uuid NOT NULL,
    path_part_id   uuid NOT NULL,
    version_number int NOT NULL CHECK (version_number >= 1),
    checksum       text NOT NULL,
    mime_type      text NOT NULL,
    size_bytes     bigint NOT NULL,
    text           text NOT NULL DEFAULT '',
    -- raw holds the uploaded bytes (00006: kept after indexing).
    raw            bytea,
    state          text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'ready', 'failed')),
    error          text,
    chunk_count    int NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now(),
    ready_at       timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, document_id) REFERENCES documents (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX document_versions_number ON document_versions (tenant_id, document_id, version_number);

-- path_part_id of a chunk: chunks are leaves of the tree under their
-- version; their path part id is the chunk id and their materialized path
-- is the version's path plus the zero-padded ordinal (no row per chunk in
-- path_parts, which would double the cost of every bulk load).
CREATE TABLE chunks (
    tenant_id    uuid NOT NULL,
    id           uuid NOT NULL,
    document_id  uuid NOT NULL,
    version_id   uuid NOT NULL,
    ordinal      int NOT NULL,
    content      text NOT NULL,
    start_offset int NOT NULL,
    end_offset   int NOT NULL,
    page         int,
    search_terms text NOT NULL DEFAULT '',
    tsv          tsvector GENERATED ALWAYS AS (to_tsvector('simple', search_terms)) STORED,
    model_id     text NOT NULL,
    embedding    vector NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, version_id) REFERENCES document_versions (tenant_id, id) ON DELETE CASCADE,
    CHECK (start_offset >= 0 AND end_offset >= start_offset)
);
CREATE INDEX chunks_version ON chunks (tenant_id, version_id, ordinal);
CREATE INDEX chunks_tsv ON chunks USING gin (tenant_id, tsv);
-- One HNSW index per embedding model (pgvector's expression-index pattern
-- for several dimensions). The offline model's is here; a configured
-- OpenAI-compatible model's is created at start-up (ingest.EnsureModelIndex).
CREATE INDEX chunks_hnsw_cairn_hash_384_v1 ON chunks USING hnsw ((embedding::vector(384)) vector_cosine_ops)
    WHERE model_id = 'cairn-hash-384-v1';

-- Ingest jobs: one per uploaded version, run by River (river_job_id).
-- state is Cairn's own view (queued, running, succeeded, failed); the API
-- combines it with River's state for retries and rescues.
CREATE TABLE ingest_jobs (
    tenant_id    uuid NOT NULL,
    id           uuid NOT NULL,
    document_id  uuid NOT NULL,
    version_id   uuid NOT NULL,
    river_job_id bigint,
    state        text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'succeeded', 'failed')),
    chunks_done  int NOT NULL DEFAULT 0,
    chunks_total int NOT NULL DEFAULT 0,
    attempts     int NOT NULL DEFAULT 0,
    error        text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, version_id) REFERENCES document_versions (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX ingest_jobs_version ON ingest_jobs (tenant_id, version_id);

-- +goose Down
DROP TABLE ingest_jobs;
DROP TABLE chunks;
DROP TABLE document_versions;
DROP TABLE documents;
