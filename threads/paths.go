package threads

import (
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cairn-rag/cairn/pathtree"
)

// MaxNameBytes bounds one path segment (a folder or thread name).
const MaxNameBytes = pathtree.MaxNameBytes

// MaxPathDepth bounds the number of segments of a folder path.
const MaxPathDepth = pathtree.MaxDepth

// ValidateName checks one path segment and returns it NFC-normalised
// (pathtree.ValidateName: 400 invalid_path naming field).
func ValidateName(name, field string) (string, error) { return pathtree.ValidateName(name, field) }

// ParseFolder validates a folder path such as "/support/acme" and returns
// its normalised segments; "/" and "" are the root (no segments)
// (pathtree.ParseFolder: 400 invalid_path naming field).
func ParseFolder(path, field string) ([]string, error) { return pathtree.ParseFolder(path, field) }

// joinPath returns the materialized path of segments ("/" + joined).
func joinPath(segs []string) string { return pathtree.Join(segs...) }

// isUnique reports whether err is a unique violation.
func isUnique(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// noRows reports whether err is pgx.ErrNoRows.
func noRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

// rowTo adapts a scan function to pgx.CollectRows.
func rowTo[T any](scan func(pgx.Row) (T, error)) pgx.RowToFunc[T] {
	return func(row pgx.CollectableRow) (T, error) { return scan(row) }
}
