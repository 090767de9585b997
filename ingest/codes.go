package ingest

import "github.com/cairn-rag/cairn/internal/apperr"

// Public error codes of the ingest service (the store, extraction and
// job packages declare their own).
const (
	// CodePayloadTooLarge: a file over Options.MaxBytes (413).
	CodePayloadTooLarge = apperr.CodePayloadTooLarge
)
