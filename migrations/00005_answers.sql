-- +goose Up
-- Answers (owned by the ask package).
--
-- An answer run claims the user message it answers while it generates, so
-- one message id is answered once across requests and replicas. The claim
-- is deleted in the transaction that stores the answer; a run that died
-- leaves a claim that expires at claimed_until, and the next request for
-- that message takes it over.
CREATE TABLE answer_claims (
    tenant_id       uuid NOT NULL,
    user_message_id uuid NOT NULL,
    thread_id       uuid NOT NULL,
    claimed_until   timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, user_message_id),
    FOREIGN KEY (tenant_id, user_message_id) REFERENCES messages (tenant_id, id) ON DELETE CASCADE
);

-- +goose Down
DROP TABLE answer_claims;
