-- +goose Up
-- Threads and messages (owned by the threads package).
CREATE TABLE threads (
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id            uuid NOT NULL,
    path_part_id  uuid NOT NULL,
    metadata      jsonb NOT NULL DEFAULT '{}',
    message_count int NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, path_part_id) REFERENCES path_parts (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX threads_path_part ON threads (tenant_id, path_part_id);

-- +goose Down
DROP TABLE threads;
