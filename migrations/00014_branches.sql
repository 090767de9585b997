-- +goose Up
-- Branches (owned by threads): a thread is one straight branch until a
-- message has a parent of its own or is stored as a new root; this index
-- answers "is the thread branched?" with one probe (threads/branches.go).
CREATE INDEX messages_branched ON messages (tenant_id, thread_id)
    WHERE parent_message_id IS NOT NULL OR fields ? 'branch_root';

-- +goose Down
DROP INDEX messages_branched;
