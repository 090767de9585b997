// Package store owns the rows of ingestion and their SQL: documents (path
// parts of kind "document" in the tenant's folder tree), their immutable
// versions (kind "version", named v1, v2, ...) with raw bytes, extracted
// text and a sha256 checksum, the chunks of each version, and ingest jobs
// (the progress rows beside River's jobs). It stages uploads in the
// caller's transaction (Stage), reads everything back for the API, and
// gives the job layer its reads and its one commit transaction (Commit).
// It imports no River and no extraction: the job layer calls it.
//
// Visibility rule (for retrieval): a chunk is searchable iff
//
//	chunks.version_id = documents.current_version_id
//
// joined on (tenant_id, document_id); Commit flips current_version_id in
// the same transaction that writes the version's chunks. Older versions'
// chunks stay readable by id for citations. A chunk's path part id is its
// id; its materialized path is chunk.Path(version path, ordinal).
package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cairn-rag/cairn/internal/apperr"
	"github.com/cairn-rag/cairn/pathtree"
	"github.com/cairn-rag/cairn/textsearch/termstats"
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

// Store reads and writes ingestion's rows. Its methods take a tenant and
// touch only that tenant's rows; an id of another tenant is not found.
type Store struct {
	pool *pgxpool.Pool
}

// New returns a Store over pool.
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

func notFound(code, what string, id uuid.UUID) error {
	return apperr.NotFoundf(code, "%s %s not found", what, id)
}

// Checksum is the hex sha256 of data, as stored on versions.
func Checksum(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}

const docColumns = `d.id, d.path_part_id, d.name, p.path, d.current_version_id, cv.version_number, d.created_at, d.updated_at`

const docFrom = ` FROM documents d JOIN path_parts p ON p.tenant_id = d.tenant_id AND p.id = d.path_part_id
	LEFT JOIN document_versions cv ON cv.tenant_id = d.tenant_id AND cv.id = d.current_version_id `

func scanDoc(row pgx.Row) (Document, error) {
	var d Document
	err := row.Scan(&d.ID, &d.PathPartID, &d.Name, &d.MaterializedPath, &d.CurrentVersionID, &d.CurrentVersionNumber, &d.CreatedAt, &d.UpdatedAt)
	if err == nil {
		d.Folder = strings.TrimSuffix(d.MaterializedPath, "/"+d.Name)
		if d.Folder == "" {
			d.Folder = "/"
		}
	}
	return d, err
}

// Get returns one document of the tenant; CodeDocumentNotFound if none.
func (s *Store) Get(ctx context.Context, tenant, id uuid.UUID) (Document, error) {
	d, err := scanDoc(s.pool.QueryRow(ctx, `SELECT `+docColumns+docFrom+` WHERE d.tenant_id = $1 AND d.id = $2`, tenant, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Document{}, notFound(CodeDocumentNotFound, "document", id)
	}
	if err != nil {
		return Document{}, fmt.Errorf("get document: %w", err)
	}
	return d, nil
}

// List returns documents under folder (the whole subtree; "" for all),
// ordered by path, and whether more follow.
func (s *Store) List(ctx context.Context, tenant uuid.UUID, folder string, limit, offset int) ([]Document, bool, error) {
	prefix := "/"
	if strings.TrimSpace(folder) != "" {
		f, err := CleanFolder(folder)
		if err != nil {
			return nil, false, err
		}
		if f != "/" {
			prefix = f + "/"
		}
	}
	rows, err := s.pool.Query(ctx, `SELECT `+docColumns+docFrom+` WHERE d.tenant_id = $1 AND p.path LIKE $2 ESCAPE '\'
		ORDER BY p.path LIMIT $3 OFFSET $4`, tenant, likePrefix(prefix), limit+1, offset)
	if err != nil {
		return nil, false, fmt.Errorf("list documents: %w", err)
	}
	docs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Document, error) { return scanDoc(r) })
	if err != nil {
		return nil, false, fmt.Errorf("list documents: %w", err)
	}
	more := len(docs) > limit
	if more {
		docs = docs[:limit]
	}
	if docs == nil {
		docs = []Document{}
	}
	return docs, more, nil
}

// likePrefix is the LIKE pattern of every string starting with p.
func likePrefix(p string) string { return pathtree.EscapeLike(p) + "%" }

// Versions returns every version of a document, newest first;
// CodeDocumentNotFound if there is no such document.
func (s *Store) Versions(ctx context.Context, tenant, id uuid.UUID) ([]Version, error) {
	if _, err := s.Get(ctx, tenant, id); err != nil {
		return nil, err
	}
	return s.versions(ctx, tenant, id, 0)
}

func (s *Store) versions(ctx context.Context, tenant, doc uuid.UUID, limit int) ([]Version, error) {
	q := `SELECT v.id, v.document_id, v.version_number, v.path_part_id, p.path, v.checksum, v.mime_type, v.size_bytes,
		v.state, v.error, v.chunk_count, v.id IS NOT DISTINCT FROM d.current_version_id, v.created_at, v.ready_at
		FROM document_versions v JOIN documents d ON d.tenant_id = v.tenant_id AND d.id = v.document_id
		JOIN path_parts p ON p.tenant_id = v.tenant_id AND p.id = v.path_part_id
		WHERE v.tenant_id = $1 AND v.document_id = $2 ORDER BY v.version_number DESC`
	if limit > 0 {
		q += " LIMIT " + strconv.Itoa(limit)
	}
	rows, err := s.pool.Query(ctx, q, tenant, doc)
	if err != nil {
		return nil, fmt.Errorf("list versions: %w", err)
	}
	vs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Version, error) {
		var v Version
		err := r.Scan(&v.ID, &v.DocumentID, &v.VersionNumber, &v.PathPartID, &v.MaterializedPath, &v.Checksum, &v.MimeType, &v.SizeBytes,
			&v.State, &v.Error, &v.ChunkCount, &v.IsCurrent, &v.CreatedAt, &v.ReadyAt)
		return v, err
	})
	if err != nil {
		return nil, fmt.Errorf("list versions: %w", err)
	}
	if len(vs) == 0 {
		return nil, notFound(CodeDocumentNotFound, "document", doc)
	}
	return vs, nil
}

// Delete removes a document, its versions, chunks and jobs in one
// transaction (the chunks with their term statistics, the rest by the
// path part's cascade); it leaves search at once.
// CodeDocumentNotFound if there is no such document.
func (s *Store) Delete(ctx context.Context, tenant, id uuid.UUID) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// The document row first (as Commit takes it): a commit of its
		// chunks finishes before the delete counts them, or waits for it.
		var pp uuid.UUID
		err := tx.QueryRow(ctx, `SELECT path_part_id FROM documents WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, tenant, id).Scan(&pp)
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound(CodeDocumentNotFound, "document", id)
		}
		if err != nil {
			return fmt.Errorf("delete document: %w", err)
		}
		var stats termstats.Delta
		if err := stats.RemoveDeleted(ctx, tx, `DELETE FROM chunks WHERE tenant_id = $1 AND document_id = $2 RETURNING search_terms`, tenant, id); err != nil {
			return fmt.Errorf("delete document: %w", err)
		}
		if err := stats.Write(ctx, tx, tenant); err != nil {
			return fmt.Errorf("delete document: %w", err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM path_parts WHERE tenant_id = $1 AND id = $2`, tenant, pp); err != nil {
			return fmt.Errorf("delete document: %w", err)
		}
		return nil
	})
}

// GetChunk returns one chunk of the tenant, current or not;
// CodeChunkNotFound if none.
func (s *Store) GetChunk(ctx context.Context, tenant, id uuid.UUID) (Chunk, error) {
	c, err := scanChunk(s.pool.QueryRow(ctx, chunkSelect+` WHERE c.tenant_id = $1 AND c.id = $2`, tenant, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Chunk{}, notFound(CodeChunkNotFound, "chunk", id)
	}
	if err != nil {
		return Chunk{}, fmt.Errorf("get chunk: %w", err)
	}
	return c, nil
}

// VersionChunks returns the chunks of one version in order (for tests and tools).
func (s *Store) VersionChunks(ctx context.Context, tenant, version uuid.UUID) ([]Chunk, error) {
	rows, err := s.pool.Query(ctx, chunkSelect+` WHERE c.tenant_id = $1 AND c.version_id = $2 ORDER BY c.ordinal`, tenant, version)
	if err != nil {
		return nil, fmt.Errorf("version chunks: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Chunk, error) { return scanChunk(r) })
	if err != nil {
		return nil, fmt.Errorf("version chunks: %w", err)
	}
	return out, nil
}

// VersionText returns the extracted text of a version ("" until ready);
// CodeVersionNotFound if none.
func (s *Store) VersionText(ctx context.Context, tenant, version uuid.UUID) (string, error) {
	var t string
	err := s.pool.QueryRow(ctx, `SELECT text FROM document_versions WHERE tenant_id = $1 AND id = $2`, tenant, version).Scan(&t)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", notFound(CodeVersionNotFound, "version", version)
	}
	return t, err
}

// Checksums returns the latest non-failed version checksum of every
// document directly in folder, by document name (a bulk load's skip list).
func (s *Store) Checksums(ctx context.Context, tenant uuid.UUID, folder string) (map[string]string, error) {
	f, err := CleanFolder(folder)
	if err != nil {
		return nil, err
	}
	children := likePrefix(strings.TrimSuffix(f, "/") + "/")
	// One index probe per document for its latest version (LATERAL ...
	// LIMIT 1), planned with the actual values (QueryExecModeExec): the
	// generic plan of a DISTINCT ON over the join flipped to sorting every
	// version of the tenant and stalled re-ingests for seconds.
	rows, err := s.pool.Query(ctx, `SELECT d.name, v.checksum
		FROM path_parts p
		JOIN documents d ON d.tenant_id = p.tenant_id AND d.path_part_id = p.id
		CROSS JOIN LATERAL (SELECT checksum FROM document_versions v
			WHERE v.tenant_id = d.tenant_id AND v.document_id = d.id AND v.state <> 'failed'
			ORDER BY v.version_number DESC LIMIT 1) v
		WHERE p.tenant_id = $1 AND p.path LIKE $2 ESCAPE '\' AND p.path NOT LIKE $3 ESCAPE '\'`,
		pgx.QueryExecModeExec, tenant, children, children+"/%")
	if err != nil {
		return nil, fmt.Errorf("checksums: %w", err)
	}
	out := map[string]string{}
	var name, sum string
	_, err = pgx.ForEachRow(rows, []any{&name, &sum}, func() error { out[name] = sum; return nil })
	if err != nil {
		return nil, fmt.Errorf("checksums: %w", err)
	}
	return out, nil
}
