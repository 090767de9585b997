-- +goose Up
-- Threads listed by last activity (owned by the threads package):
-- GET /v1/threads?sort_by=last_activity_at orders by the latest message,
-- or the creation time of a thread without messages.
CREATE INDEX threads_activity ON threads (tenant_id, (coalesce(last_message_at, created_at)) DESC, id DESC);

-- +goose Down
DROP INDEX threads_activity;
