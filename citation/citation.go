// Package citation owns Cairn's one citation type: an exact span of a
// stored chunk (its raw fields, as an answerer produces it, a client sends
// it and a message stores it) plus the source it resolves to at read time.
// It checks citations against the tenant's chunks and locates a quote
// given loosely (by a model) as a verified span.
//
// Offsets are Unicode code points of the chunk's content, which is the
// normalised text of its document version (CRLF→LF, NFC).
package citation

import (
	"context"
	"fmt"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/cairn-rag/cairn/internal/apperr"
	"github.com/cairn-rag/cairn/internal/pg"
)

// MaxPerMessage bounds the citations of one message.
const MaxPerMessage = 200

// Citation is a span of Length code points at StartChar (0-based) in the
// content of chunk ChunkID, whose text is Quote. Source is what the chunk
// resolved to when the citation was read; it is nil on a raw citation
// (produced, sent or stored), and its fields are omitted from JSON then.
type Citation struct {
	ChunkID   uuid.UUID `json:"chunk_id"`
	Quote     string    `json:"quote"`
	StartChar int       `json:"start_char"`
	Length    int       `json:"length"`
	// Marker is the n of the "[n]" in the message text that this citation
	// backs (the answer's source number); 0 (omitted) when unknown.
	Marker int `json:"marker,omitempty"`
	*Source
}

// Source is a citation's chunk resolved at read time: its document,
// version and path. Each field is nil when the chunk (or its document) is
// gone. Sent by a client, these fields are read-only and ignored.
type Source struct {
	DocumentID        *uuid.UUID `json:"document_id"`
	DocumentVersionID *uuid.UUID `json:"document_version_id"`
	DocumentName      *string    `json:"document_name"`
	VersionNumber     *int       `json:"version_number"`
	// PathPartID is the chunk's path part id, which is the chunk id:
	// chunks have no path_parts row, and references accept it as a path
	// part of kind "chunk".
	PathPartID       *uuid.UUID `json:"path_part_id"`
	MaterializedPath *string    `json:"materialized_path"`
	// IsCurrent is whether the cited version is the document's current one.
	IsCurrent *bool `json:"is_current"`
	// VersionStartChar is the quote's start in the version text, in code
	// points (the chunk's start_offset plus StartChar).
	VersionStartChar *int `json:"version_start_char"`
	// StartUTF16 is StartChar in UTF-16 code units of the chunk's content.
	StartUTF16 *int `json:"start_utf16"`
	// LengthUTF16 is the quote's length in UTF-16 code units.
	LengthUTF16 *int `json:"length_utf16"`
	// VersionStartUTF16 is VersionStartChar in UTF-16 code units of the
	// version text.
	VersionStartUTF16 *int `json:"version_start_utf16"`
}

// Raw returns c without its resolved source: the fields that are stored.
func (c Citation) Raw() Citation {
	c.Source = nil
	return c
}

// Raw returns the raw form of each citation (never nil).
func Raw(cits []Citation) []Citation {
	out := make([]Citation, len(cits))
	for i, c := range cits {
		out[i] = c.Raw()
	}
	return out
}

// CheckShape validates a citation without the database: a chunk id, a
// non-empty quote whose length in code points is Length, and StartChar >=
// 0. field names the citation, e.g. "content.citations[2]".
func CheckShape(c Citation, field string) error {
	switch {
	case c.ChunkID == uuid.Nil:
		return apperr.Unprocessablef(CodeInvalid, field, "%s: chunk_id is required", field)
	case c.Quote == "" || !utf8.ValidString(c.Quote):
		return apperr.Unprocessablef(CodeInvalid, field, "%s: quote must be non-empty UTF-8 text", field)
	case c.StartChar < 0:
		return apperr.Unprocessablef(CodeInvalid, field, "%s: start_char must be >= 0", field)
	case c.Length != utf8.RuneCountInString(c.Quote):
		return apperr.Unprocessablef(CodeInvalid, field, "%s: length must be the quote's length in code points (%d)", field, utf8.RuneCountInString(c.Quote))
	case c.Marker < 0:
		return apperr.Unprocessablef(CodeInvalid, field, "%s: marker must be >= 1 when given", field)
	}
	return nil
}

// Validate checks every citation against the tenant's chunks in one
// query: the chunk must exist and its content, from StartChar for Length
// code points, must equal Quote. The error (422 citation_invalid) names
// the first bad citation as prefix+"[i]", e.g. "content.citations[2]".
func Validate(ctx context.Context, q pg.DB, tenantID uuid.UUID, cits []Citation, prefix string) error {
	if len(cits) == 0 {
		return nil
	}
	if len(cits) > MaxPerMessage {
		return apperr.Unprocessablef(CodeInvalid, prefix, "at most %d citations per message", MaxPerMessage)
	}
	ids := make([]uuid.UUID, 0, len(cits))
	seen := make(map[uuid.UUID]bool, len(cits))
	for i, c := range cits {
		if err := CheckShape(c, fmt.Sprintf("%s[%d]", prefix, i)); err != nil {
			return err
		}
		if !seen[c.ChunkID] {
			seen[c.ChunkID] = true
			ids = append(ids, c.ChunkID)
		}
	}
	rows, err := q.Query(ctx, `SELECT id, content FROM chunks WHERE tenant_id = $1 AND id = ANY($2)`, tenantID, ids)
	if err != nil {
		return fmt.Errorf("read cited chunks: %w", err)
	}
	content := make(map[uuid.UUID][]rune, len(ids))
	for rows.Next() {
		var id uuid.UUID
		var text string
		if err := rows.Scan(&id, &text); err != nil {
			rows.Close()
			return fmt.Errorf("scan chunk: %w", err)
		}
		content[id] = []rune(text)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read cited chunks: %w", err)
	}
	for i, c := range cits {
		field := fmt.Sprintf("%s[%d]", prefix, i)
		text, ok := content[c.ChunkID]
		if !ok {
			return apperr.Unprocessablef(CodeInvalid, field, "%s: chunk %s not found", field, c.ChunkID)
		}
		if c.StartChar+c.Length > len(text) || string(text[c.StartChar:c.StartChar+c.Length]) != c.Quote {
			return apperr.Unprocessablef(CodeInvalid, field, "%s: quote does not match the chunk content at start_char %d", field, c.StartChar)
		}
		if !onBoundaries(string(text), c.StartChar, c.StartChar+c.Length) {
			return apperr.Unprocessablef(CodeInvalid, field, "%s: the span splits a grapheme cluster (a character made of several code points, such as a ZWJ emoji)", field)
		}
	}
	return nil
}
