package pathtree

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/cairn-rag/cairn/internal/pg"
)

// Folder is a folder of the tree.
type Folder struct {
	// ID is the folder's path part id.
	ID uuid.UUID
	// Path is its materialized path, e.g. "/kb/handbook".
	Path string
	// CreatedAt is when the folder was created.
	CreatedAt time.Time
}

// holdsDocumentSQL is true when folder f has a document anywhere below
// it. The range on path (text_pattern_ops operators: every path that
// starts with f.path||'/' sorts before f.path||'0', '0' being the byte
// after '/') uses the index path_parts_path, which a LIKE whose pattern
// is built from a column could not.
const holdsDocumentSQL = `EXISTS (SELECT 1 FROM path_parts p
	WHERE p.tenant_id = f.tenant_id AND p.kind = 'document'
	  AND p.path ~>=~ (f.path || '/') AND p.path ~<~ (f.path || '0'))`

const topDocumentFoldersSQL = `SELECT f.id, f.path, f.created_at FROM path_parts f
WHERE f.tenant_id = $1 AND f.parent_id IS NULL AND f.kind = 'folder' AND ` + holdsDocumentSQL + `
ORDER BY f.path`

// TopDocumentFolders returns the tenant's top-level folders that hold at
// least one document (at any depth), ordered by path.
func TopDocumentFolders(ctx context.Context, q pg.DB, tenantID uuid.UUID) ([]Folder, error) {
	rows, err := q.Query(ctx, topDocumentFoldersSQL, tenantID)
	if err != nil {
		return nil, fmt.Errorf("list top-level folders: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanFolder)
	if err != nil {
		return nil, fmt.Errorf("list top-level folders: %w", err)
	}
	if out == nil {
		out = []Folder{}
	}
	return out, nil
}

const documentFolderSQL = `SELECT f.id, f.path, f.created_at FROM path_parts f
WHERE f.tenant_id = $1 AND f.path = $2 AND f.kind = 'folder' AND ` + holdsDocumentSQL

// DocumentFolder returns the folder at path (a materialized path, not
// validated) when it exists and holds at least one document; ok is false
// otherwise.
func DocumentFolder(ctx context.Context, q pg.DB, tenantID uuid.UUID, path string) (f Folder, ok bool, err error) {
	rows, err := q.Query(ctx, documentFolderSQL, tenantID, path)
	if err != nil {
		return Folder{}, false, fmt.Errorf("look up folder: %w", err)
	}
	f, err = pgx.CollectExactlyOneRow(rows, scanFolder)
	if errors.Is(err, pgx.ErrNoRows) {
		return Folder{}, false, nil
	}
	if err != nil {
		return Folder{}, false, fmt.Errorf("look up folder: %w", err)
	}
	return f, true, nil
}

func scanFolder(r pgx.CollectableRow) (Folder, error) {
	var f Folder
	err := r.Scan(&f.ID, &f.Path, &f.CreatedAt)
	f.CreatedAt = f.CreatedAt.UTC()
	return f, err
}
