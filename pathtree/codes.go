package pathtree

import "github.com/cairn-rag/cairn/internal/apperr"

// The public error codes of the path tree.
const (
	// CodeInvalidPath is the code of every validation error of this
	// package: a bad segment name or folder path.
	CodeInvalidPath apperr.Code = "invalid_path"
	// CodePathConflict is a path that exists as another kind of part (a
	// folder wanted where a document is, or the reverse), or that is being
	// created concurrently.
	CodePathConflict apperr.Code = "path_conflict"
)
