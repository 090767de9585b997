-- +goose Up
-- Background answers and the per-thread event log (owned by threads,
-- events and ask).
--
-- An ASSISTANT message is created pending when its question is taken and
-- completed (or failed) in place when the answer is stored; answer_to
-- names the USER message it answers, at most one answer per question.
ALTER TABLE messages ADD COLUMN status text NOT NULL DEFAULT 'completed'
    CHECK (status IN ('pending', 'completed', 'failed'));
ALTER TABLE messages ADD COLUMN answer_to uuid;
CREATE UNIQUE INDEX messages_answer_to ON messages (tenant_id, answer_to) WHERE answer_to IS NOT NULL;

-- Every event of a thread (message created, status, answer deltas,
-- citations, steps, done) in one order: seq is gap-free per thread,
-- assigned under the row lock of the thread's head, so a reader that has
-- seen seq n and reads "after n" misses nothing, whatever commits later.
CREATE TABLE thread_event_heads (
    tenant_id uuid NOT NULL,
    thread_id uuid NOT NULL,
    last_seq  bigint NOT NULL,
    PRIMARY KEY (tenant_id, thread_id),
    FOREIGN KEY (tenant_id, thread_id) REFERENCES threads (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE thread_events (
    tenant_id  uuid NOT NULL,
    thread_id  uuid NOT NULL,
    seq        bigint NOT NULL,
    type       text NOT NULL,
    message_id uuid,
    data       jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant_id, thread_id, seq),
    FOREIGN KEY (tenant_id, thread_id) REFERENCES threads (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX thread_events_message ON thread_events (tenant_id, thread_id, message_id, seq);

-- +goose Down
DROP TABLE thread_events;
DROP TABLE thread_event_heads;
DROP INDEX messages_answer_to;
ALTER TABLE messages DROP COLUMN answer_to;
ALTER TABLE messages DROP COLUMN status;
