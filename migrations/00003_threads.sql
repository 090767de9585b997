-- +goose Up
-- Threads, messages and message attachments (owned by the threads package).
-- A thread, each of its messages and each attachment is a path part:
--   /folder/thread                 kind thread
--   /folder/thread/0000000001      kind message (name = zero-padded sequence)
--   /folder/thread/attachments/ID  kind attachment
-- Deleting a thread's path part cascades to everything below it.
--
-- message_count doubles as the sequence counter: a create locks the thread
-- row, so sequences are gap-free and strictly increasing under concurrent
-- writers. last_message_at makes created_at strictly increasing within a
-- thread, so a timestamp cursor (before / after) never skips or repeats.
CREATE TABLE threads (
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id              uuid NOT NULL,
    path_part_id    uuid NOT NULL,
    metadata        jsonb NOT NULL DEFAULT '{}',
    message_count   bigint NOT NULL DEFAULT 0,
    last_message_at timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, path_part_id) REFERENCES path_parts (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX threads_path_part ON threads (tenant_id, path_part_id);
CREATE INDEX threads_created ON threads (tenant_id, created_at DESC, id DESC);

-- citations: raw [{chunk_id, quote, start_char, length}] as validated at
-- write time; enriched at read time by joining chunks and documents.
-- refs: [{ref_type, path_part_id}]; resolved at read time.
CREATE TABLE messages (
    tenant_id    uuid NOT NULL,
    id           uuid NOT NULL,
    thread_id    uuid NOT NULL,
    path_part_id uuid NOT NULL,
    sequence     bigint NOT NULL CHECK (sequence >= 1),
    role         text NOT NULL CHECK (role IN ('USER', 'ASSISTANT', 'SYSTEM')),
    text         text NOT NULL,
    is_error     boolean NOT NULL DEFAULT false,
    citations    jsonb NOT NULL DEFAULT '[]',
    refs         jsonb NOT NULL DEFAULT '[]',
    details      jsonb,
    metadata     jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, thread_id) REFERENCES threads (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, path_part_id) REFERENCES path_parts (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX messages_sequence ON messages (tenant_id, thread_id, sequence);
CREATE INDEX messages_created ON messages (tenant_id, thread_id, created_at DESC, sequence DESC);

CREATE TABLE message_attachments (
    tenant_id    uuid NOT NULL,
    id           uuid NOT NULL,
    thread_id    uuid NOT NULL,
    message_id   uuid NOT NULL,
    path_part_id uuid NOT NULL,
    ordinal      int NOT NULL,
    name         text NOT NULL,
    mime_type    text NOT NULL,
    width        int,
    height       int,
    size_bytes   bigint NOT NULL,
    data         bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, message_id) REFERENCES messages (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, path_part_id) REFERENCES path_parts (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX message_attachments_message ON message_attachments (tenant_id, message_id, ordinal);

-- +goose Down
DROP TABLE message_attachments;
DROP TABLE messages;
DROP TABLE threads;
