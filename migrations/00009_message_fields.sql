-- +goose Up
-- The message fields of the other seed APIs (owned by threads): the TOOL
-- role; tags (listing filtered by tag); the parent message of a branch;
-- and the rest (name, tool_calls, tool_call_id, depth, thinking and its
-- signature, sender_id) as one JSON object, read back as fields.
ALTER TABLE messages DROP CONSTRAINT messages_role_check;
ALTER TABLE messages ADD CONSTRAINT messages_role_check CHECK (role IN ('USER', 'ASSISTANT', 'SYSTEM', 'TOOL'));
ALTER TABLE messages ADD COLUMN tags text[] NOT NULL DEFAULT '{}';
ALTER TABLE messages ADD COLUMN parent_message_id uuid;
ALTER TABLE messages ADD COLUMN fields jsonb NOT NULL DEFAULT '{}';
CREATE INDEX messages_tags ON messages USING gin (tags);

-- +goose Down
DROP INDEX messages_tags;
ALTER TABLE messages DROP COLUMN fields;
ALTER TABLE messages DROP COLUMN parent_message_id;
ALTER TABLE messages DROP COLUMN tags;
DELETE FROM messages WHERE role = 'TOOL';
ALTER TABLE messages DROP CONSTRAINT messages_role_check;
ALTER TABLE messages ADD CONSTRAINT messages_role_check CHECK (role IN ('USER', 'ASSISTANT', 'SYSTEM'));
