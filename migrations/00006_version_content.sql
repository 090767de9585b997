-- +goose Up
-- What a frontend reads to show a citation in its document (owned by the
-- ingest package).
--
-- 1. Keep each version's original bytes: ingest used to clear
--    document_versions.raw once the version was indexed; it now keeps
--    them, so GET /v1/documents/{id}/versions/{n}/content can serve them.
--    Versions indexed before this migration have raw = NULL (404 there).
COMMENT ON COLUMN document_versions.raw IS
    'the uploaded bytes, kept for the life of the version (GET /v1/documents/{id}/versions/{n}/content)';

-- 2. start_utf16: the chunk's start_offset counted in UTF-16 code units of
--    the version text (what JavaScript indexes), written by ingest beside
--    the code point offset, so an enriched citation gets its UTF-16
--    offsets without reading the version text. Backfilled here: a code
--    point above U+FFFF is two units. NULL (chunks written by other
--    means) is computed at read time the same way.
ALTER TABLE chunks ADD COLUMN start_utf16 int CHECK (start_utf16 >= start_offset);
UPDATE chunks c SET start_utf16 = c.start_offset
    + char_length(regexp_replace(left(v.text, c.start_offset), '[^\U00010000-\U0010FFFF]', '', 'g'))
    FROM document_versions v WHERE v.tenant_id = c.tenant_id AND v.id = c.version_id;

-- +goose Down
ALTER TABLE chunks DROP COLUMN start_utf16;
COMMENT ON COLUMN document_versions.raw IS NULL;
