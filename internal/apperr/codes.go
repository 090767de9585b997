package apperr

// The codes that several packages share. A code owned by one package is
// declared there (threads.CodeThreadNotFound, api.CodeInvalidJSON).
const (
	// CodeInternal is every unexpected failure; its detail is only
	// "internal error".
	CodeInternal Code = "internal"
	// CodeValidationFailed is input that fails a validation rule; the
	// field names the input.
	CodeValidationFailed Code = "validation_failed"
	// CodePayloadTooLarge is a body, file or upload over its byte limit.
	CodePayloadTooLarge Code = "payload_too_large"
	// CodeUnsupportedMediaType is a content type Cairn cannot read.
	CodeUnsupportedMediaType Code = "unsupported_media_type"
	// CodeTextTooLong is a text over its limit of code points.
	CodeTextTooLong Code = "text_too_long"
	// CodeModelError is a model server (chat or embeddings) that answered
	// with an error or with something unusable.
	CodeModelError Code = "model_error"
	// CodeModelUnavailable is a model server that could not be reached or
	// stayed overloaded through the retries.
	CodeModelUnavailable Code = "model_unavailable"
)
