package threads

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"golang.org/x/text/unicode/norm"

	"github.com/cairn-rag/cairn/internal/apperr"
)

// MaxNameBytes bounds one path segment (a folder or thread name).
const MaxNameBytes = 255

// MaxPathDepth bounds the number of segments of a folder path.
const MaxPathDepth = 32

// ValidateName checks one path segment and returns it NFC-normalised: not
// empty, no '/', not "." or "..", valid UTF-8, no control characters, at
// most MaxNameBytes bytes. field names the input for the error.
func ValidateName(name, field string) (string, error) {
	if !utf8.ValidString(name) {
		return "", apperr.Invalidf("invalid_path", field, "%s must be valid UTF-8", field)
	}
	n := norm.NFC.String(name)
	switch {
	case n == "":
		return "", apperr.Invalidf("invalid_path", field, "%s must not be empty", field)
	case n == "." || n == "..":
		return "", apperr.Invalidf("invalid_path", field, "%s must not be %q", field, n)
	case strings.ContainsRune(n, '/'):
		return "", apperr.Invalidf("invalid_path", field, "%s must not contain '/'", field)
	case len(n) > MaxNameBytes:
		return "", apperr.Invalidf("invalid_path", field, "%s must be at most %d bytes", field, MaxNameBytes)
	}
	for _, r := range n {
		if r < 0x20 || r == 0x7f {
			return "", apperr.Invalidf("invalid_path", field, "%s must not contain control characters", field)
		}
	}
	return n, nil
}

// ParseFolder validates a folder path such as "/support/acme" and returns
// its normalised segments; "/" and "" are the root (no segments).
func ParseFolder(path, field string) ([]string, error) {
	if path == "" || path == "/" {
		return nil, nil
	}
	if !strings.HasPrefix(path, "/") {
		return nil, apperr.Invalidf("invalid_path", field, "%s must start with '/'", field)
	}
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	if len(parts) > MaxPathDepth {
		return nil, apperr.Invalidf("invalid_path", field, "%s must have at most %d segments", field, MaxPathDepth)
	}
	out := make([]string, len(parts))
	for i, p := range parts {
		n, err := ValidateName(p, field)
		if err != nil {
			return nil, err
		}
		out[i] = n
	}
	return out, nil
}

// joinPath returns the materialized path of segments ("/" + joined).
func joinPath(segs []string) string { return "/" + strings.Join(segs, "/") }

// escapeLike escapes s for use as a LIKE prefix.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// ensureFolder returns the path part id of the folder segs, creating the
// missing folders. It returns nil for the root. A segment that exists but
// is not a folder is a 409 path_conflict.
func ensureFolder(ctx context.Context, q DB, tenantID uuid.UUID, segs []string) (*uuid.UUID, error) {
	var parent *uuid.UUID
	for i := range segs {
		path := joinPath(segs[:i+1])
		id := uuid.Must(uuid.NewV7())
		if _, err := q.Exec(ctx, `
INSERT INTO path_parts (tenant_id, id, parent_id, name, kind, path)
VALUES ($1, $2, $3, $4, 'folder', $5)
ON CONFLICT DO NOTHING`, tenantID, id, parent, segs[i], path); err != nil {
			return nil, fmt.Errorf("create folder %s: %w", path, err)
		}
		var kind string
		err := q.QueryRow(ctx, `SELECT id, kind FROM path_parts WHERE tenant_id = $1 AND path = $2`, tenantID, path).Scan(&id, &kind)
		if err != nil {
			return nil, fmt.Errorf("read folder %s: %w", path, err)
		}
		if kind != "folder" {
			return nil, apperr.New(apperr.Conflict, "path_conflict", "%s is a %s, not a folder", path, kind).WithField("folder")
		}
		parent = &id
	}
	return parent, nil
}

// isUnique reports whether err is a unique violation.
func isUnique(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// noRows reports whether err is pgx.ErrNoRows.
func noRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }
