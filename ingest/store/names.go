package store

import (
	"context"
	"strings"

	"github.com/google/uuid"

	"github.com/cairn-rag/cairn/internal/apperr"
	"github.com/cairn-rag/cairn/pathtree"
)

// CleanName validates one path segment after trimming surrounding space
// (pathtree.ValidateName). Invalid names are 422 CodeValidationFailed.
func CleanName(field, name string) (string, error) {
	n, err := pathtree.ValidateName(strings.TrimSpace(name), field)
	return n, asValidation(err)
}

// CleanFolder validates a folder path such as /kb/guides
// (pathtree.ParseFolder) after trimming surrounding space from the path
// and from each segment; a trailing slash is allowed. "" and "/" are the
// root. The result has no trailing slash ("/" for root). Invalid paths are
// 422 CodeValidationFailed.
func CleanFolder(p string) (string, error) {
	p = strings.TrimSpace(p)
	if p == "" || p == "/" {
		return "/", nil
	}
	if !strings.HasPrefix(p, "/") {
		_, err := pathtree.ParseFolder(p, "folder")
		return "", asValidation(err)
	}
	segs := strings.Split(strings.TrimSuffix(p, "/")[1:], "/")
	for i, s := range segs {
		segs[i] = strings.TrimSpace(s)
	}
	segs, err := pathtree.ValidateSegments(segs, "folder")
	if err != nil {
		return "", asValidation(err)
	}
	return pathtree.Join(segs...), nil
}

// asValidation reports pathtree's invalid_path errors as ingest reports
// all input validation: 422 CodeValidationFailed, same field and message.
func asValidation(err error) error {
	if e, ok := apperr.As(err); ok && e.Code == pathtree.CodeInvalidPath {
		return apperr.Unprocessablef(CodeValidationFailed, e.Field, "%s", e.Message)
	}
	return err
}

func joinPath(folder, name string) string { return pathtree.Child(folder, name) }

// ensureFolder returns the id of the folder path part at the clean folder
// path (nil for the root), creating missing folders.
func ensureFolder(ctx context.Context, q pathtree.Querier, tenant uuid.UUID, path string) (*uuid.UUID, error) {
	return pathtree.EnsureFolder(ctx, q, tenant, pathtree.Split(path))
}
