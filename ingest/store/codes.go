package store

import (
	"github.com/cairn-rag/cairn/internal/apperr"
	"github.com/cairn-rag/cairn/pathtree"
)

// Public error codes of the document store.
const (
	// CodeDocumentNotFound: no document with that id in the tenant (404).
	CodeDocumentNotFound apperr.Code = "document_not_found"
	// CodeVersionNotFound: no version with that id in the tenant (404).
	CodeVersionNotFound apperr.Code = "version_not_found"
	// CodeChunkNotFound: no chunk with that id in the tenant (404).
	CodeChunkNotFound apperr.Code = "chunk_not_found"
	// CodeJobNotFound: no ingest job with that id in the tenant (404).
	CodeJobNotFound apperr.Code = "job_not_found"
	// CodePathConflict: the document's path is taken by something that is
	// not a document, or is being created concurrently (409).
	CodePathConflict = pathtree.CodePathConflict
	// CodeValidationFailed: an invalid folder or name (422).
	CodeValidationFailed = apperr.CodeValidationFailed
)
