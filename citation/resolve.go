package citation

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"github.com/cairn-rag/cairn/ingest/chunk"
	"github.com/cairn-rag/cairn/internal/pg"
)

// ResolveSQL is the one definition of a citation's resolution, as a SQL
// expression: the jsonb array raw (of raw citations) of tenant tenant, in
// its order, with each element's source joined in (chunk, version,
// document, the version's path part); a gone chunk resolves to nulls. The
// chunk's path part id is the chunk id: chunks are path parts without a
// row (see chunk.Path). raw and tenant are SQL expressions, never input.
func ResolveSQL(raw, tenant string) string {
	return `(SELECT coalesce(jsonb_agg(jsonb_build_object(
      'chunk_id', e.c->'chunk_id', 'quote', e.c->'quote', 'start_char', e.c->'start_char', 'length', e.c->'length',
      'document_id', ch.document_id, 'document_version_id', ch.version_id, 'document_name', d.name,
      'version_number', v.version_number, 'path_part_id', ch.id,
      'materialized_path', ` + chunk.PathSQL("vp.path", "ch.ordinal") + `
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
