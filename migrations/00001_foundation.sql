-- +goose Up
CREATE EXTENSION IF NOT EXISTS vector;
CREATE EXTENSION IF NOT EXISTS btree_gin;

-- Tenants and API keys are small lookup tables; under Citus they become
-- reference tables (replicated to every node), which is why api_keys is
-- looked up by key hash without a tenant in front.
CREATE TABLE tenants (
    id         uuid PRIMARY KEY,
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    id         uuid PRIMARY KEY,
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    key_hash   bytea NOT NULL,
    prefix     text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
CREATE UNIQUE INDEX api_keys_key_hash ON api_keys (key_hash);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, created_at);

-- One tree per tenant: folders, threads, messages, attachments, documents,
-- versions. "path" is the materialized path ("/a/b/c"); subtree queries use
-- the text_pattern_ops index with a prefix LIKE.
CREATE TABLE path_parts (
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id         uuid NOT NULL,
    parent_id  uuid,
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 255 AND position('/' in name) = 0 AND name NOT IN ('.', '..')),
    kind       text NOT NULL CHECK (kind IN ('folder', 'thread', 'message', 'attachment', 'document', 'version', 'chunk')),
    path       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, parent_id) REFERENCES path_parts (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX path_parts_parent_name ON path_parts (tenant_id, parent_id, name) NULLS NOT DISTINCT;
CREATE UNIQUE INDEX path_parts_path ON path_parts (tenant_id, path text_pattern_ops);

-- +goose Down
DROP TABLE path_parts;
DROP TABLE api_keys;
DROP TABLE tenants;
DROP EXTENSION IF EXISTS btree_gin;
