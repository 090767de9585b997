package citation

import "github.com/cairn-rag/cairn/internal/apperr"

// CodeInvalid (citation_invalid, 422) is a citation whose chunk is gone,
// whose quote is not the chunk's text at start_char, or that is malformed.
const CodeInvalid apperr.Code = "citation_invalid"
