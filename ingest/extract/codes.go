package extract

import "github.com/cairn-rag/cairn/internal/apperr"

// Public error codes of extraction (the code of a problem+json and of a
// failed ingest job's error).
const (
	// CodeUnsupportedMediaType is content Cairn cannot extract text from (415).
	CodeUnsupportedMediaType = apperr.CodeUnsupportedMediaType
	// CodeExtractionFailed is a file of a supported type that does not parse (422).
	CodeExtractionFailed apperr.Code = "extraction_failed"
	// CodeTextTooLong is extracted text over Limits.MaxChars (413).
	CodeTextTooLong = apperr.CodeTextTooLong
	// CodeOverBudget is a file whose extraction passed its budget of pages
	// or decompressed bytes (Limits); the message says which (413).
	CodeOverBudget apperr.Code = "extraction_over_budget"
)
