// Package threadstest holds test helpers for code that reads threads and
// citations: it writes document, version and chunk rows directly with SQL
// (the ingest package's tables), so citation tests need no ingest pipeline.
package threadstest

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cairn-rag/cairn/ingest/chunk"
	"github.com/cairn-rag/cairn/textsearch/termstats"
)

// Chunk is a chunk written by InsertDocument, with what enrichment resolves.
type Chunk struct {
	ID               uuid.UUID
	DocumentID       uuid.UUID
	VersionID        uuid.UUID
	DocumentName     string
	VersionNumber    int
	Content          string
	MaterializedPath string
}

// InsertDocument writes a document named name under /kb with one version
// (number 1) and one chunk per content, in the tenant, and returns the chunks.
func InsertDocument(t testing.TB, pool *pgxpool.Pool, tenantID uuid.UUID, name string, contents ...string) []Chunk {
	t.Helper()
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatalf("threadstest: begin: %v", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("threadstest: %v", err)
		}
	}
	var kb uuid.UUID
	_, err = tx.Exec(ctx, `INSERT INTO path_parts (tenant_id, id, parent_id, name, kind, path)
VALUES ($1, $2, NULL, 'kb', 'folder', '/kb') ON CONFLICT DO NOTHING`, tenantID, uuid.New())
	must(err)
	must(tx.QueryRow(ctx, `SELECT id FROM path_parts WHERE tenant_id = $1 AND path = '/kb'`, tenantID).Scan(&kb))
	docPP, verPP, docID, verID := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	_, err = tx.Exec(ctx, `INSERT INTO path_parts (tenant_id, id, parent_id, name, kind, path) VALUES ($1, $2, $3, $4, 'document', $5)`,
		tenantID, docPP, kb, name, "/kb/"+name)
	must(err)
	_, err = tx.Exec(ctx, `INSERT INTO path_parts (tenant_id, id, parent_id, name, kind, path) VALUES ($1, $2, $3, 'v1', 'version', $4)`,
		tenantID, verPP, docPP, "/kb/"+name+"/v1")
	must(err)
	_, err = tx.Exec(ctx, `INSERT INTO documents (tenant_id, id, path_part_id, name) VALUES ($1, $2, $3, $4)`, tenantID, docID, docPP, name)
	must(err)
	text := ""
	for _, c := range contents {
		text += c
	}
	_, err = tx.Exec(ctx, `INSERT INTO document_versions (tenant_id, id, document_id, path_part_id, version_number, checksum, mime_type, size_bytes, text, state, chunk_count)
VALUES ($1, $2, $3, $4, 1, 'x', 'text/plain', $5, $6, 'ready', $7)`, tenantID, verID, docID, verPP, len(text), text, len(contents))
	must(err)
	_, err = tx.Exec(ctx, `UPDATE documents SET current_version_id = $3 WHERE tenant_id = $1 AND id = $2`, tenantID, docID, verID)
	must(err)
	out := make([]Chunk, len(contents))
	off := 0
	for i, c := range contents {
		id := uuid.New()
		n := len([]rune(c))
		_, err = tx.Exec(ctx, `INSERT INTO chunks (tenant_id, id, document_id, version_id, ordinal, content, start_offset, end_offset, model_id, embedding)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'test', '[1,0,0]')`, tenantID, id, docID, verID, i, c, off, off+n)
		must(err)
		off += n
		out[i] = Chunk{ID: id, DocumentID: docID, VersionID: verID, DocumentName: name, VersionNumber: 1, Content: c,
			MaterializedPath: chunk.Path("/kb/"+name+"/v1", i)}
	}
	var stats termstats.Delta
	for range contents {
		stats.Add("") // no search_terms: counted as termless chunks
	}
	must(stats.Write(ctx, tx, tenantID))
	must(tx.Commit(ctx))
	return out
}

// DeleteChunk deletes one chunk (as a document deletion would).
func DeleteChunk(t testing.TB, pool *pgxpool.Pool, tenantID, chunkID uuid.UUID) {
	t.Helper()
	ctx := context.Background()
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		var stats termstats.Delta
		if err := stats.RemoveDeleted(ctx, tx, `DELETE FROM chunks WHERE tenant_id = $1 AND id = $2 RETURNING search_terms`, tenantID, chunkID); err != nil {
			return err
		}
		if stats.Chunks != -1 {
			return fmt.Errorf("no chunk %s", chunkID)
		}
		return stats.Write(ctx, tx, tenantID)
	})
	if err != nil {
		t.Fatalf("threadstest: delete chunk: %v", err)
	}
}
