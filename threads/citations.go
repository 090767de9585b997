package threads

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/cairn-rag/cairn/internal/apperr"
)

// MaxCitations bounds the citations of one message.
const MaxCitations = 200

// MaxReferences bounds the references of one message.
const MaxReferences = 100

// Citation is a citation as stored and as sent by a client: a span of
// Length code points at StartChar (0-based, code points) in the chunk's
// content, which must equal Quote.
type Citation struct {
	ChunkID   uuid.UUID `json:"chunk_id"`
	Quote     string    `json:"quote"`
	StartChar int       `json:"start_char"`
	Length    int       `json:"length"`
}

// EnrichedCitation is a Citation as read: the raw fields plus what was
// resolved at read time, each nil when the chunk (or its document) is gone.
type EnrichedCitation struct {
	ChunkID           uuid.UUID  `json:"chunk_id"`
	Quote             string     `json:"quote"`
	StartChar         int        `json:"start_char"`
	Length            int        `json:"length"`
	DocumentID        *uuid.UUID `json:"document_id"`
	DocumentVersionID *uuid.UUID `json:"document_version_id"`
	DocumentName      *string    `json:"document_name"`
	VersionNumber     *int       `json:"version_number"`
	PathPartID        *uuid.UUID `json:"path_part_id"`
	MaterializedPath  *string    `json:"materialized_path"`
}

// Reference is an inline reference to a path part (folder, document,
// thread ...), as sent. RefType, when given, must be the path part's kind.
type Reference struct {
	RefType    string    `json:"ref_type,omitempty"`
	PathPartID uuid.UUID `json:"path_part_id"`
}

// EnrichedReference is a Reference as read; MaterializedPath is nil when
// the path part is gone.
type EnrichedReference struct {
	RefType          string    `json:"ref_type"`
	PathPartID       uuid.UUID `json:"path_part_id"`
	MaterializedPath *string   `json:"materialized_path"`
}

// Querier runs read queries: a *pgxpool.Pool, a pgx.Tx or a *pgx.Conn.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// CheckCitationShape validates a citation without the database: a chunk
// id, a non-empty quote whose length in code points is Length, and
// StartChar >= 0. field names the citation, e.g. "content.citations[2]".
func CheckCitationShape(c Citation, field string) error {
	switch {
	case c.ChunkID == uuid.Nil:
		return apperr.Unprocessablef("citation_invalid", field, "%s: chunk_id is required", field)
	case c.Quote == "" || !utf8.ValidString(c.Quote):
		return apperr.Unprocessablef("citation_invalid", field, "%s: quote must be non-empty UTF-8 text", field)
	case c.StartChar < 0:
		return apperr.Unprocessablef("citation_invalid", field, "%s: start_char must be >= 0", field)
	case c.Length != utf8.RuneCountInString(c.Quote):
		return apperr.Unprocessablef("citation_invalid", field, "%s: length must be the quote's length in code points (%d)", field, utf8.RuneCountInString(c.Quote))
	}
	return nil
}

// ValidateCitations checks every citation against the tenant's chunks in
// one query: the chunk must exist and its content, from StartChar for
// Length code points, must equal Quote. The error (422 citation_invalid)
// names the first bad citation as prefix+"[i]", e.g. "content.citations[2]".
func ValidateCitations(ctx context.Context, q Querier, tenantID uuid.UUID, cits []Citation, prefix string) error {
	if len(cits) == 0 {
		return nil
	}
	if len(cits) > MaxCitations {
		return apperr.Unprocessablef("citation_invalid", prefix, "at most %d citations per message", MaxCitations)
	}
	ids := make([]uuid.UUID, 0, len(cits))
	seen := make(map[uuid.UUID]bool, len(cits))
	for i, c := range cits {
		if err := CheckCitationShape(c, fmt.Sprintf("%s[%d]", prefix, i)); err != nil {
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
			return apperr.Unprocessablef("citation_invalid", field, "%s: chunk %s not found", field, c.ChunkID)
		}
		if c.StartChar+c.Length > len(text) || string(text[c.StartChar:c.StartChar+c.Length]) != c.Quote {
			return apperr.Unprocessablef("citation_invalid", field, "%s: quote does not match the chunk content at start_char %d", field, c.StartChar)
		}
	}
	return nil
}

// pathKinds are the kinds of path part a reference may name.
var pathKinds = map[string]bool{"folder": true, "thread": true, "message": true, "attachment": true, "document": true, "version": true}

// validateReferences checks that each reference names a path part of the
// tenant (of the given kind, when set) and returns them with ref_type set.
func validateReferences(ctx context.Context, q Querier, tenantID uuid.UUID, refs []Reference, prefix string) ([]Reference, error) {
	if len(refs) == 0 {
		return []Reference{}, nil
	}
	if len(refs) > MaxReferences {
		return nil, apperr.Unprocessablef("reference_invalid", prefix, "at most %d references per message", MaxReferences)
	}
	ids := make([]uuid.UUID, len(refs))
	for i, r := range refs {
		field := fmt.Sprintf("%s[%d]", prefix, i)
		if r.PathPartID == uuid.Nil {
			return nil, apperr.Unprocessablef("reference_invalid", field, "%s: path_part_id is required", field)
		}
		if r.RefType != "" && !pathKinds[strings.ToLower(r.RefType)] {
			return nil, apperr.Unprocessablef("reference_invalid", field, "%s: unknown ref_type %q", field, r.RefType)
		}
		ids[i] = r.PathPartID
	}
	rows, err := q.Query(ctx, `SELECT id, kind FROM path_parts WHERE tenant_id = $1 AND id = ANY($2)`, tenantID, ids)
	if err != nil {
		return nil, fmt.Errorf("read referenced path parts: %w", err)
	}
	kinds := map[uuid.UUID]string{}
	for rows.Next() {
		var id uuid.UUID
		var kind string
		if err := rows.Scan(&id, &kind); err != nil {
			rows.Close()
			return nil, fmt.Errorf("scan path part: %w", err)
		}
		kinds[id] = kind
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read referenced path parts: %w", err)
	}
	out := make([]Reference, len(refs))
	for i, r := range refs {
		field := fmt.Sprintf("%s[%d]", prefix, i)
		kind, ok := kinds[r.PathPartID]
		if !ok {
			return nil, apperr.Unprocessablef("reference_invalid", field, "%s: path part %s not found", field, r.PathPartID)
		}
		if r.RefType != "" && strings.ToLower(r.RefType) != kind {
			return nil, apperr.Unprocessablef("reference_invalid", field, "%s: path part %s is a %s, not a %s", field, r.PathPartID, kind, r.RefType)
		}
		out[i] = Reference{RefType: kind, PathPartID: r.PathPartID}
	}
	return out, nil
}
