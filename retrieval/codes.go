package retrieval

import "github.com/cairn-rag/cairn/internal/apperr"

// The public error codes of search. Other bad queries are
// apperr.CodeValidationFailed naming the field.
const (
	// CodeInvalidMode is a search mode other than hybrid, vector or text.
	CodeInvalidMode apperr.Code = "invalid_mode"
)
