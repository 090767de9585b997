package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/cairn-rag/cairn/ingest/chunk"
	"github.com/cairn-rag/cairn/internal/offsets"
)

// What a frontend reads of one version to show a citation in its
// document: the normalised text, its chunks with their offsets, and the
// original bytes. A version is named by its document and its number.
//
// Every offset counts Unicode code points of the version's normalised
// text (CRLF -> LF, then NFC, done once at ingest); the *_utf16 fields
// count UTF-16 code units of the same text, as JavaScript indexes it.

// VersionText is a version's normalised text ("" until it is ready).
type VersionText struct {
	DocumentID    uuid.UUID `json:"document_id"`
	VersionID     uuid.UUID `json:"document_version_id"`
	VersionNumber int       `json:"version_number"`
	IsCurrent     bool      `json:"is_current"`
	State         string    `json:"state"`
	Text          string    `json:"text"`
	// Length is the text's length in code points.
	Length int `json:"length"`
	// LengthUTF16 is the text's length in UTF-16 units.
	LengthUTF16 int `json:"length_utf16"`
}

// VersionChunk is a chunk in its version's list, with its offsets in the
// version text in both units.
type VersionChunk struct {
	Chunk
	StartUTF16 int `json:"start_utf16"`
	EndUTF16   int `json:"end_utf16"`
}

// ChunkPage is one page of a version's chunks, in order.
type ChunkPage struct {
	Data    []VersionChunk `json:"data"`
	HasMore bool           `json:"has_more"`
}

// VersionContent is a version's original bytes.
type VersionContent struct {
	Name     string
	MimeType string
	Data     []byte
}

// versionRef resolves version number n of document doc to its id, its
// text and whether it is current. CodeDocumentNotFound when there is no
// such document, CodeVersionNotFound when it has no version n.
func (s *Store) versionRef(ctx context.Context, tenant, doc uuid.UUID, n int, withText bool) (VersionText, error) {
	v := VersionText{DocumentID: doc, VersionNumber: n}
	var id *uuid.UUID
	var current *bool
	var state, text *string
	err := s.pool.QueryRow(ctx, `SELECT v.id, v.id = d.current_version_id, v.state, CASE WHEN $4 THEN v.text END
		FROM documents d LEFT JOIN document_versions v ON v.tenant_id = d.tenant_id AND v.document_id = d.id AND v.version_number = $3
		WHERE d.tenant_id = $1 AND d.id = $2`, tenant, doc, n, withText).Scan(&id, &current, &state, &text)
	if errors.Is(err, pgx.ErrNoRows) {
		return v, notFound(CodeDocumentNotFound, "document", doc)
	}
	if err != nil {
		return v, fmt.Errorf("find version: %w", err)
	}
	if id == nil {
		return v, notFoundVersion(doc, n)
	}
	v.VersionID, v.IsCurrent, v.State = *id, current != nil && *current, *state
	if text != nil {
		v.Text = *text
	}
	return v, nil
}

func notFoundVersion(doc uuid.UUID, n int) error {
	return notFound(CodeVersionNotFound, fmt.Sprintf("version %d of document", n), doc)
}

// TextOfVersion returns the normalised text of version n of document doc
// with its lengths. Errors: CodeDocumentNotFound, CodeVersionNotFound (404).
func (s *Store) TextOfVersion(ctx context.Context, tenant, doc uuid.UUID, n int) (VersionText, error) {
	v, err := s.versionRef(ctx, tenant, doc, n, true)
	if err != nil {
		return v, err
	}
	ix := offsets.NewIndex(v.Text)
	v.Length, v.LengthUTF16 = ix.Len(), ix.UTF16Len()
	return v, nil
}

// ChunksOfVersion returns a page of the chunks of version n of document
// doc in order, each with its offsets in both units. Errors as
// TextOfVersion.
func (s *Store) ChunksOfVersion(ctx context.Context, tenant, doc uuid.UUID, n, limit, offset int) (ChunkPage, error) {
	v, err := s.versionRef(ctx, tenant, doc, n, true)
	if err != nil {
		return ChunkPage{}, err
	}
	rows, err := s.pool.Query(ctx, chunkSelect+` WHERE c.tenant_id = $1 AND c.version_id = $2 ORDER BY c.ordinal LIMIT $3 OFFSET $4`,
		tenant, v.VersionID, limit+1, offset)
	if err != nil {
		return ChunkPage{}, fmt.Errorf("version chunks: %w", err)
	}
	cs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Chunk, error) { return scanChunk(r) })
	if err != nil {
		return ChunkPage{}, fmt.Errorf("version chunks: %w", err)
	}
	page := ChunkPage{Data: make([]VersionChunk, 0, len(cs))}
	if len(cs) > limit {
		cs, page.HasMore = cs[:limit], true
	}
	ix := offsets.NewIndex(v.Text)
	for _, c := range cs {
		page.Data = append(page.Data, VersionChunk{Chunk: c, StartUTF16: ix.UTF16(c.StartOffset), EndUTF16: ix.UTF16(c.EndOffset)})
	}
	return page, nil
}

// ContentOfVersion returns the original bytes of version n of document
// doc and their media type. Errors as TextOfVersion; CodeVersionNotFound
// also for a version indexed before its bytes were kept (migration 00006).
func (s *Store) ContentOfVersion(ctx context.Context, tenant, doc uuid.UUID, n int) (VersionContent, error) {
	v, err := s.versionRef(ctx, tenant, doc, n, false)
	if err != nil {
		return VersionContent{}, err
	}
	var c VersionContent
	var raw []byte
	err = s.pool.QueryRow(ctx, `SELECT d.name, v.mime_type, v.raw FROM document_versions v
		JOIN documents d ON d.tenant_id = v.tenant_id AND d.id = v.document_id
		WHERE v.tenant_id = $1 AND v.id = $2`, tenant, v.VersionID).Scan(&c.Name, &c.MimeType, &raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, notFoundVersion(doc, n) // deleted meanwhile
	}
	if err != nil {
		return c, fmt.Errorf("version content: %w", err)
	}
	if raw == nil {
		return c, notFound(CodeVersionNotFound, fmt.Sprintf("the original bytes of version %d were not kept; document", n), doc)
	}
	c.Data = raw
	return c, nil
}

// chunkSelect reads chunks (scanChunk) joined to their version, document
// and version path part; callers add WHERE and ORDER BY on c.
var chunkSelect = `SELECT c.id, c.document_id, c.version_id, d.name, v.version_number, c.version_id IS NOT DISTINCT FROM d.current_version_id,
		c.ordinal, c.content, c.start_offset, c.end_offset, c.page, c.model_id, ` + chunk.PathSQL("vp.path", "c.ordinal") + `
		FROM chunks c JOIN document_versions v ON v.tenant_id = c.tenant_id AND v.id = c.version_id
		JOIN documents d ON d.tenant_id = c.tenant_id AND d.id = c.document_id
		JOIN path_parts vp ON vp.tenant_id = v.tenant_id AND vp.id = v.path_part_id`

func scanChunk(r pgx.Row) (Chunk, error) {
	var c Chunk
	err := r.Scan(&c.ID, &c.DocumentID, &c.DocumentVersionID, &c.DocumentName, &c.VersionNumber, &c.IsCurrent,
		&c.Ordinal, &c.Content, &c.StartOffset, &c.EndOffset, &c.Page, &c.ModelID, &c.MaterializedPath)
	c.PathPartID = c.ID
	return c, err
}
