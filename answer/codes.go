package answer

import "github.com/cairn-rag/cairn/internal/apperr"

// The public error codes of answering (stored in a failed answer's steps
// and sent as SSE error events); model_error and model_unavailable are
// apperr's, shared with the embedder.
const (
	// CodeGenerationFailed is an answer that failed for a reason of its own.
	CodeGenerationFailed apperr.Code = "generation_failed"
	// CodeModelTimeout is a model server that did not answer in time.
	CodeModelTimeout apperr.Code = "model_timeout"
)
