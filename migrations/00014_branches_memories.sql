-- +goose Up
-- Branches (owned by threads): a thread is one straight branch until a
-- message has a parent of its own or is stored as a new root; this index
-- answers "is the thread branched?" with one probe (threads/branches.go).
CREATE INDEX messages_branched ON messages (tenant_id, thread_id)
    WHERE parent_message_id IS NOT NULL OR fields ? 'branch_root';

-- Memories (owned by memories): what a sender said about themselves or
-- their work, kept for that sender's later answers. A sender is a
-- client's user id (a message's sender_id) within the tenant; one
-- statement is stored once per sender. The message a memory came from
-- is named, not referenced: a memory outlives its thread.
CREATE TABLE memories (
    tenant_id         uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                uuid NOT NULL,
    sender_id         text NOT NULL CHECK (char_length(sender_id) BETWEEN 1 AND 255),
    text              text NOT NULL CHECK (char_length(text) BETWEEN 1 AND 1000),
    source_thread_id  uuid,
    source_message_id uuid,
    created_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, sender_id, text)
);
CREATE INDEX memories_sender ON memories (tenant_id, sender_id, created_at DESC, id DESC);
ALTER TABLE memories ENABLE ROW LEVEL SECURITY;
ALTER TABLE memories FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON memories
    USING (tenant_id = NULLIF(current_setting('cairn.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('cairn.tenant_id', true), '')::uuid);

-- +goose Down
DROP TABLE memories;
DROP INDEX messages_branched;
