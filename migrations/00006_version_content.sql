-- +goose Up
-- Keep each document version's original bytes (owned by the ingest
-- package): ingest used to clear document_versions.raw once the version
-- was indexed; it now keeps them, so GET .../versions/{n}/content can
-- serve them. Versions indexed before this migration have raw = NULL and
-- answer 404 there.
COMMENT ON COLUMN document_versions.raw IS
    'the uploaded bytes, kept for the life of the version (GET /v1/documents/{id}/versions/{n}/content)';

-- +goose Down
COMMENT ON COLUMN document_versions.raw IS NULL;
