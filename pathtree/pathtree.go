// Package pathtree owns the path_parts tree that folders, documents and
// threads hang from: validation of path segment names and folder paths
// (NFC, valid UTF-8, no empty, '.' or '..' segments, no control
// characters, bounded length and depth), creation of missing folders
// (EnsureFolder), and the helpers that build materialized paths.
//
// Validation errors are *apperr.Error of kind Invalid with code
// CodeInvalidPath naming the offending field; a caller whose API reports
// such input differently (ingest: 422 validation_failed) converts them.
package pathtree

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"golang.org/x/text/unicode/norm"

	"github.com/cairn-rag/cairn/internal/apperr"
	"github.com/cairn-rag/cairn/internal/pg"
)

// MaxNameBytes bounds one path segment (a folder, document or thread
// name), in bytes of its NFC form.
const MaxNameBytes = 255

// MaxDepth bounds the number of segments of a folder path.
const MaxDepth = 32

// Root is the materialized path of the root folder.
const Root = "/"

// ValidateName checks one path segment and returns it NFC-normalised: valid
// UTF-8, not empty, not "." or "..", no '/', at most MaxNameBytes bytes, no
// control characters. field names the input for the error.
func ValidateName(name, field string) (string, error) {
	if !utf8.ValidString(name) {
		return "", invalid(field, "%s must be valid UTF-8", field)
	}
	n := norm.NFC.String(name)
	switch {
	case n == "":
		return "", invalid(field, "%s must not be empty", field)
	case n == "." || n == "..":
		return "", invalid(field, "%s must not be %q", field, n)
	case strings.ContainsRune(n, '/'):
		return "", invalid(field, "%s must not contain '/'", field)
	case len(n) > MaxNameBytes:
		return "", invalid(field, "%s must be at most %d bytes", field, MaxNameBytes)
	case strings.IndexFunc(n, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0:
		return "", invalid(field, "%s must not contain control characters", field)
	}
	return n, nil
}

// ParseFolder validates a folder path such as "/support/acme" and returns
// its normalised segments; "/" and "" are the root (no segments). The path
// starts with '/', has at most MaxDepth segments and no trailing slash, and
// every segment passes ValidateName. field names the input for the error.
func ParseFolder(path, field string) ([]string, error) {
	if path == "" || path == Root {
		return nil, nil
	}
	if !strings.HasPrefix(path, "/") {
		return nil, invalid(field, "%s must start with '/', got %q", field, path)
	}
	return ValidateSegments(strings.Split(path[1:], "/"), field)
}

// ValidateSegments checks the segments of a folder path: at most MaxDepth,
// each passing ValidateName. It returns them NFC-normalised.
func ValidateSegments(parts []string, field string) ([]string, error) {
	if len(parts) > MaxDepth {
		return nil, invalid(field, "%s must have at most %d segments", field, MaxDepth)
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

// Join returns the materialized path of segs ("/" for none).
func Join(segs ...string) string { return "/" + strings.Join(segs, "/") }

// Child returns the materialized path of name inside the folder at path.
func Child(folder, name string) string {
	if folder == Root {
		return Root + name
	}
	return folder + "/" + name
}

// Split returns the segments of a materialized folder path (none for the
// root); it does not validate.
func Split(path string) []string {
	if path == Root || path == "" {
		return nil
	}
	return strings.Split(strings.TrimPrefix(path, "/"), "/")
}

// Querier is pg.DB, under the name callers of EnsureFolder knew.
type Querier = pg.DB

// EscapeLike is pg.EscapeLike, kept for callers that know it here.
func EscapeLike(s string) string { return pg.EscapeLike(s) }

const lookupSQL = `SELECT id, kind FROM path_parts WHERE tenant_id = $1 AND path = $2`

const createFolderSQL = `
INSERT INTO path_parts (tenant_id, id, parent_id, name, kind, path)
VALUES ($1, $2, $3, $4, 'folder', $5)
ON CONFLICT DO NOTHING`

// EnsureFolder returns the path part id of the folder with segments segs,
// creating the missing folders (concurrent creators agree on one row). It
// returns nil for the root. A path that exists but is not a folder is a
// Conflict path_conflict naming the field "folder". Call it inside the
// transaction that uses the id.
func EnsureFolder(ctx context.Context, q pg.DB, tenantID uuid.UUID, segs []string) (*uuid.UUID, error) {
	if len(segs) == 0 {
		return nil, nil
	}
	// Fast path: the folder usually exists already (one query, not one per segment).
	var id uuid.UUID
	var kind string
	full := Join(segs...)
	err := q.QueryRow(ctx, lookupSQL, tenantID, full).Scan(&id, &kind)
	if err == nil {
		if kind != "folder" {
			return nil, notFolder(full, kind)
		}
		return &id, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("look up folder %s: %w", full, err)
	}
	var parent *uuid.UUID
	for i := range segs {
		path := Join(segs[:i+1]...)
		nid := uuid.Must(uuid.NewV7())
		if _, err := q.Exec(ctx, createFolderSQL, tenantID, nid, parent, segs[i], path); err != nil {
			return nil, fmt.Errorf("create folder %s: %w", path, err)
		}
		if err := q.QueryRow(ctx, lookupSQL, tenantID, path).Scan(&id, &kind); err != nil {
			return nil, fmt.Errorf("look up folder %s: %w", path, err)
		}
		if kind != "folder" {
			return nil, notFolder(path, kind)
		}
		pid := id
		parent = &pid
	}
	return parent, nil
}

func invalid(field, format string, args ...any) *apperr.Error {
	return apperr.Invalidf(CodeInvalidPath, field, format, args...)
}

func notFolder(path, kind string) *apperr.Error {
	return apperr.New(apperr.Conflict, CodePathConflict, "%s is a %s, not a folder", path, kind).WithField("folder")
}
