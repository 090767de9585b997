package threads

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/cairn-rag/cairn/internal/apperr"
)

// FolderPath returns the materialized path of the folder path part id of
// the tenant, so a client that names a folder by its path part id can file
// a thread there (NewThread.Folder, ThreadListOptions.Folder). field names
// the request field in errors. Errors: parent_not_found (404),
// validation_failed (422, the path part is not a folder).
func (s *Store) FolderPath(ctx context.Context, tenantID, pathPartID uuid.UUID, field string) (string, error) {
	var path, kind string
	err := s.pool.QueryRow(ctx, `SELECT path, kind FROM path_parts WHERE tenant_id = $1 AND id = $2`, tenantID, pathPartID).Scan(&path, &kind)
	if noRows(err) {
		return "", apperr.NotFoundf(CodeParentNotFound, "path part %s not found", pathPartID).WithField(field)
	}
	if err != nil {
		return "", fmt.Errorf("read path part: %w", err)
	}
	if kind != "folder" {
		return "", apperr.Unprocessablef(apperr.CodeValidationFailed, field, "%s must name a folder; path part %s is a %s", field, pathPartID, kind)
	}
	return path, nil
}
