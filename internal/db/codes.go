package db

import "github.com/cairn-rag/cairn/internal/apperr"

// The public error codes of the database layer.
const (
	// CodeDatabaseUnavailable is a request that could not reach Postgres
	// (down, restarting, refusing connections); it answers 503 with
	// Retry-After.
	CodeDatabaseUnavailable apperr.Code = "database_unavailable"
)
