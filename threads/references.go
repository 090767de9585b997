package threads

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/cairn-rag/cairn/internal/apperr"
)

// MaxReferences bounds the references of one message.
const MaxReferences = 100

// Reference is an inline reference to a path part (folder, document,
// thread ...), as sent. RefType, when given, must be the path part's kind.
// A chunk is a path part of kind "chunk" whose id is the chunk id (chunks
// have no path_parts row), so an enriched citation's path_part_id is a
// valid reference.
type Reference struct {
	RefType    string    `json:"ref_type,omitempty"`
	PathPartID uuid.UUID `json:"path_part_id"`
}

// EnrichedReference is a Reference as read; MaterializedPath is nil when
// the path part is gone.
type EnrichedReference struct {
	RefType          string    `json:"ref_type"`
	PathPartID       uuid.UUID `json:"path_part_id"`
	MaterializedPath *string   `json:"materialized_path"`
}

// pathKinds are the kinds of path part a reference may name.
var pathKinds = map[string]bool{"folder": true, "thread": true, "message": true, "attachment": true, "document": true, "version": true, "chunk": true}

// validateReferences checks that each reference names a path part of the
// tenant (of the given kind, when set) and returns them with ref_type set.
func validateReferences(ctx context.Context, q DB, tenantID uuid.UUID, refs []Reference, prefix string) ([]Reference, error) {
	if len(refs) == 0 {
		return []Reference{}, nil
	}
	if len(refs) > MaxReferences {
		return nil, apperr.Unprocessablef(CodeReferenceInvalid, prefix, "at most %d references per message", MaxReferences)
	}
	ids := make([]uuid.UUID, len(refs))
	for i, r := range refs {
		field := fmt.Sprintf("%s[%d]", prefix, i)
		if r.PathPartID == uuid.Nil {
			return nil, apperr.Unprocessablef(CodeReferenceInvalid, field, "%s: path_part_id is required", field)
		}
		if r.RefType != "" && !pathKinds[strings.ToLower(r.RefType)] {
			return nil, apperr.Unprocessablef(CodeReferenceInvalid, field, "%s: unknown ref_type %q", field, r.RefType)
		}
		ids[i] = r.PathPartID
	}
	rows, err := q.Query(ctx, `SELECT id, kind FROM path_parts WHERE tenant_id = $1 AND id = ANY($2)`, tenantID, ids)
	if err != nil {
		return nil, fmt.Errorf("read referenced path parts: %w", err)
	}
	kinds := map[uuid.UUID]string{}
	for rows.Next() {
		var id uuid.UUID
		var kind string
		if err := rows.Scan(&id, &kind); err != nil {
			rows.Close()
			return nil, fmt.Errorf("scan path part: %w", err)
		}
		kinds[id] = kind
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read referenced path parts: %w", err)
	}
	if err := chunkKinds(ctx, q, tenantID, ids, kinds); err != nil {
		return nil, err
	}
	out := make([]Reference, len(refs))
	for i, r := range refs {
		field := fmt.Sprintf("%s[%d]", prefix, i)
		kind, ok := kinds[r.PathPartID]
		if !ok {
			return nil, apperr.Unprocessablef(CodeReferenceInvalid, field, "%s: path part %s not found", field, r.PathPartID)
		}
		if r.RefType != "" && strings.ToLower(r.RefType) != kind {
			return nil, apperr.Unprocessablef(CodeReferenceInvalid, field, "%s: path part %s is a %s, not a %s", field, r.PathPartID, kind, r.RefType)
		}
		out[i] = Reference{RefType: kind, PathPartID: r.PathPartID}
	}
	return out, nil
}

// chunkKinds records as kind "chunk" the ids among ids that kinds lacks
// and that are chunks of the tenant.
func chunkKinds(ctx context.Context, q DB, tenantID uuid.UUID, ids []uuid.UUID, kinds map[uuid.UUID]string) error {
	var missing []uuid.UUID
	for _, id := range ids {
		if _, ok := kinds[id]; !ok {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	rows, err := q.Query(ctx, `SELECT id FROM chunks WHERE tenant_id = $1 AND id = ANY($2)`, tenantID, missing)
	if err != nil {
		return fmt.Errorf("read referenced chunks: %w", err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return fmt.Errorf("read referenced chunks: %w", err)
	}
	for _, id := range found {
		kinds[id] = "chunk"
	}
	return nil
}
