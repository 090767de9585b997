package threads

import (
	"context"
	"fmt"

	"github.com/google/uuid"
)

// Clients that name things by their own ids (a thread id, a message id, a
// document or version id) rather than by path part id map between the
// two with EntityPathParts and PathPartEntities. Folders and chunks have
// no other id: their path part id (a chunk's is its id) is the entity id.

// EntityPathParts returns, for each id of ids that is the id of a thread,
// message, document or document version of the tenant, its path part id.
// Ids that name none of them are left out.
func (s *Store) EntityPathParts(ctx context.Context, tenantID uuid.UUID, ids []uuid.UUID) (map[uuid.UUID]uuid.UUID, error) {
	return idMap(ctx, s, `
SELECT e.id, coalesce(t.path_part_id, m.path_part_id, d.path_part_id, v.path_part_id)
FROM unnest($2::uuid[]) AS e(id)
LEFT JOIN threads t ON t.tenant_id = $1 AND t.id = e.id
LEFT JOIN messages m ON m.tenant_id = $1 AND m.id = e.id
LEFT JOIN documents d ON d.tenant_id = $1 AND d.id = e.id
LEFT JOIN document_versions v ON v.tenant_id = $1 AND v.id = e.id
WHERE coalesce(t.id, m.id, d.id, v.id) IS NOT NULL`, tenantID, ids)
}

// PathPartEntities returns, for each id of ids that is the path part of a
// thread, message, document or document version of the tenant, the id of
// that thread, message, document or version. Others are left out. A
// message is found by its thread and sequence (its path part's parent
// and name), a version among its document's versions, so every lookup
// uses an index.
func (s *Store) PathPartEntities(ctx context.Context, tenantID uuid.UUID, ids []uuid.UUID) (map[uuid.UUID]uuid.UUID, error) {
	return idMap(ctx, s, `
SELECT p.id, coalesce(t.id, m.id, d.id, v.id)
FROM unnest($2::uuid[]) AS e(id)
JOIN path_parts p ON p.tenant_id = $1 AND p.id = e.id AND p.kind IN ('thread', 'message', 'document', 'version')
LEFT JOIN threads t ON p.kind = 'thread' AND t.tenant_id = $1 AND t.path_part_id = p.id
LEFT JOIN threads mt ON p.kind = 'message' AND mt.tenant_id = $1 AND mt.path_part_id = p.parent_id
LEFT JOIN messages m ON m.tenant_id = $1 AND m.thread_id = mt.id AND m.sequence = CASE WHEN p.kind = 'message' THEN p.name::bigint END
LEFT JOIN documents d ON p.kind = 'document' AND d.tenant_id = $1 AND d.path_part_id = p.id
LEFT JOIN documents vd ON p.kind = 'version' AND vd.tenant_id = $1 AND vd.path_part_id = p.parent_id
LEFT JOIN document_versions v ON v.tenant_id = $1 AND v.document_id = vd.id AND v.path_part_id = p.id
WHERE coalesce(t.id, m.id, d.id, v.id) IS NOT NULL`, tenantID, ids)
}

func idMap(ctx context.Context, s *Store, sql string, tenantID uuid.UUID, ids []uuid.UUID) (map[uuid.UUID]uuid.UUID, error) {
	out := map[uuid.UUID]uuid.UUID{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, sql, tenantID, ids)
	if err != nil {
		return nil, fmt.Errorf("map ids: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var from, to uuid.UUID
		if err := rows.Scan(&from, &to); err != nil {
			return nil, fmt.Errorf("scan ids: %w", err)
		}
		out[from] = to
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("map ids: %w", err)
	}
	return out, nil
}
