// Package ingest owns the knowledge half of Cairn: documents (path parts
// of kind "document" in the tenant's folder tree), their immutable
// versions (kind "version", named v1, v2, ...) with extracted text and a
// sha256 checksum, and the chunks of each version with exact code point
// offsets into the version text, embedded and written with COPY.
//
// Flow: Upload records a pending version and enqueues a River job in the
// same transaction; the job (Worker) extracts text (txt, Markdown, HTML,
// PDF), chunks it (Split), embeds the chunks in batches with bounded
// concurrency, and in ONE transaction COPYs every chunk, marks the
// version ready and flips documents.current_version_id. A crash at any
// point leaves nothing half-visible; a re-run rewrites the version's
// chunks from scratch, so there are never duplicates.
//
// Search contract (for retrieval): a chunk is searchable iff
//
//	chunks.version_id = documents.current_version_id
//
// joined on (tenant_id, document_id). Vector search over model M of
// dimension D: WHERE c.tenant_id = $1 AND c.model_id = M ORDER BY
// c.embedding::vector(D) <=> $q, which uses the per-model partial HNSW
// index (ModelIndexName). Older versions' chunks stay readable by id for
// citations. A chunk's path part id is its id; its materialized path is
// ChunkPath(version path, ordinal). The search query does not change
// during bulk loads: IngestPaths batches files (one upload transaction,
// River job and COPY per batch), and with DeferIndex drops the model's
// HNSW index for the load and rebuilds it after, during which the same
// query is answered by an exact scan.
package ingest

import (
	"time"

	"github.com/google/uuid"
)

// Document is a named document in a folder.
type Document struct {
	ID                   uuid.UUID  `json:"id"`
	PathPartID           uuid.UUID  `json:"path_part_id"`
	Name                 string     `json:"name"`
	Folder               string     `json:"folder"`
	MaterializedPath     string     `json:"materialized_path"`
	CurrentVersionID     *uuid.UUID `json:"current_version_id"`
	CurrentVersionNumber *int       `json:"current_version_number"`
	CreatedAt            time.Time  `json:"created_at"`
	UpdatedAt            time.Time  `json:"updated_at"`
}

// Version is one immutable content of a document.
type Version struct {
	ID               uuid.UUID  `json:"id"`
	DocumentID       uuid.UUID  `json:"document_id"`
	VersionNumber    int        `json:"version_number"`
	PathPartID       uuid.UUID  `json:"path_part_id"`
	MaterializedPath string     `json:"materialized_path"`
	Checksum         string     `json:"checksum"`
	MimeType         string     `json:"mime_type"`
	SizeBytes        int64      `json:"size_bytes"`
	State            string     `json:"state"`
	Error            *string    `json:"error"`
	ChunkCount       int        `json:"chunk_count"`
	IsCurrent        bool       `json:"is_current"`
	CreatedAt        time.Time  `json:"created_at"`
	ReadyAt          *time.Time `json:"ready_at"`
}

// Job is an ingest job: one version's extraction, chunking and indexing.
type Job struct {
	ID          uuid.UUID  `json:"id"`
	DocumentID  uuid.UUID  `json:"document_id"`
	VersionID   uuid.UUID  `json:"version_id"`
	State       string     `json:"state"`
	ChunksDone  int        `json:"chunks_done"`
	ChunksTotal int        `json:"chunks_total"`
	Attempts    int        `json:"attempts"`
	Error       *string    `json:"error"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	FinishedAt  *time.Time `json:"finished_at"`
}

// Job states as the API shows them.
const (
	JobQueued    = "queued"
	JobRunning   = "running"
	JobSucceeded = "succeeded"
	JobFailed    = "failed"
)

// Done reports whether the job finished (succeeded or failed).
func (j Job) Done() bool { return j.State == JobSucceeded || j.State == JobFailed }

// Chunk is one stored chunk.
type Chunk struct {
	ID                uuid.UUID `json:"id"`
	DocumentID        uuid.UUID `json:"document_id"`
	DocumentVersionID uuid.UUID `json:"document_version_id"`
	DocumentName      string    `json:"document_name"`
	VersionNumber     int       `json:"version_number"`
	IsCurrent         bool      `json:"is_current"`
	Ordinal           int       `json:"ordinal"`
	Content           string    `json:"content"`
	StartOffset       int       `json:"start_offset"`
	EndOffset         int       `json:"end_offset"`
	Page              *int      `json:"page"`
	ModelID           string    `json:"model_id"`
	PathPartID        uuid.UUID `json:"path_part_id"`
	MaterializedPath  string    `json:"materialized_path"`
}

// UploadInput is one file or text to ingest.
type UploadInput struct {
	// Folder is the folder path ("/kb/x"); "" is the root.
	Folder string
	// Name is the document name within the folder.
	Name string
	// Data is the raw bytes.
	Data []byte
	// MimeType is the client's declared type (optional; sniffing decides).
	MimeType string
}

// UploadResult is what Upload did.
type UploadResult struct {
	Document Document `json:"document"`
	Version  Version  `json:"version"`
	Job      *Job     `json:"job"`
	// Unchanged is true when the bytes equal the latest version: nothing
	// was written and Job is that version's job (if any).
	Unchanged bool `json:"unchanged"`
	// Created is true when the document itself is new.
	Created bool `json:"-"`
}
