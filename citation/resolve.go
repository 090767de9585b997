package citation

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"github.com/cairn-rag/cairn/ingest/chunk"
	"github.com/cairn-rag/cairn/internal/pg"
)

// Read-time enrichment: a citation's chunk resolved to its document,
// version, path and offsets, in SQL, so a page of messages is enriched in
// the statement that reads it (no query per citation).
//
// Offsets: StartChar and Length count code points of the chunk's
// content; VersionStartChar counts code points of the version text (the
// chunk's start_offset plus StartChar); StartUTF16, LengthUTF16 and
// VersionStartUTF16 are the same offsets in UTF-16 code units, so
// JavaScript's text.slice(version_start_utf16, version_start_utf16 +
// length_utf16) on the version text is the quote.

// utf16SQL is the length in UTF-16 units of the SQL text expression x:
// its code points, plus one for each above U+FFFF.
func utf16SQL(x string) string {
	return "(char_length(" + x + ") + char_length(regexp_replace(" + x + `, '[^\U00010000-\U0010FFFF]', '', 'g')))`
}

// ResolveSQL is the one definition of a citation's resolution, as a SQL
// expression: the jsonb array raw (of raw citations) of tenant tenant, in
// its order, with each element's source joined in (chunk, version,
// document, the version's path part) and its offsets computed; a gone
// chunk resolves to nulls (the raw fields and marker stay). The chunk's
// path part id is the chunk id: chunks are path parts without a row (see
// chunk.Path). raw and tenant are SQL expressions, never input.
func ResolveSQL(raw, tenant string) string {
	start := "(e.c->>'start_char')::int"
	prefix := "left(ch.content, " + start + ")"
	chunkStart16 := "coalesce(ch.start_utf16, " + utf16SQL("left(v.text, ch.start_offset)") + ")"
	return `(SELECT coalesce(jsonb_agg(jsonb_build_object(
      'marker', e.c->'marker', 'chunk_id', e.c->'chunk_id', 'quote', e.c->'quote', 'start_char', e.c->'start_char', 'length', e.c->'length',
      'document_id', ch.document_id, 'document_version_id', ch.version_id, 'document_name', d.name,
      'version_number', v.version_number, 'path_part_id', ch.id,
      'materialized_path', ` + chunk.PathSQL("vp.path", "ch.ordinal") + `,
      'is_current', CASE WHEN ch.id IS NOT NULL THEN ch.version_id IS NOT DISTINCT FROM d.current_version_id END,
      'version_start_char', ch.start_offset + ` + start + `,
      'start_utf16', CASE WHEN ch.id IS NOT NULL THEN ` + utf16SQL(prefix) + ` END,
      'length_utf16', CASE WHEN ch.id IS NOT NULL THEN ` + utf16SQL("(e.c->>'quote')") + ` END,
      'version_start_utf16', ` + chunkStart16 + ` + ` + utf16SQL(prefix) + `
    ) ORDER BY e.n), '[]'::jsonb)
   FROM jsonb_array_elements(` + raw + `) WITH ORDINALITY AS e(c, n)
   LEFT JOIN chunks ch ON ch.tenant_id = ` + tenant + ` AND ch.id = (e.c->>'chunk_id')::uuid
   LEFT JOIN document_versions v ON v.tenant_id = ch.tenant_id AND v.id = ch.version_id
   LEFT JOIN documents d ON d.tenant_id = ch.tenant_id AND d.id = ch.document_id
   LEFT JOIN path_parts vp ON vp.tenant_id = v.tenant_id AND vp.id = v.path_part_id)`
}

var resolveSQL = `SELECT ` + ResolveSQL("$2::jsonb", "$1::uuid")

// Resolve returns cits with their sources resolved now (for citations that
// are not stored in a message, such as those of a stateless completion).
func Resolve(ctx context.Context, q pg.DB, tenantID uuid.UUID, cits []Citation) ([]Citation, error) {
	if len(cits) == 0 {
		return []Citation{}, nil
	}
	raw, err := json.Marshal(Raw(cits))
	if err != nil {
		return nil, fmt.Errorf("encode citations: %w", err)
	}
	var out []byte
	if err := q.QueryRow(ctx, resolveSQL, tenantID, raw).Scan(&out); err != nil {
		return nil, fmt.Errorf("resolve citations: %w", err)
	}
	var res []Citation
	if err := json.Unmarshal(out, &res); err != nil {
		return nil, fmt.Errorf("decode citations: %w", err)
	}
	return res, nil
}
