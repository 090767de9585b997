package ingest

// Public error codes of the ingest service (the store, extraction and
// job packages declare their own).
const (
	// CodePayloadTooLarge: a file over Options.MaxBytes (413).
	CodePayloadTooLarge = "payload_too_large"
)
