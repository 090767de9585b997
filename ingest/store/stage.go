package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/cairn-rag/cairn/internal/apperr"
)

// NewVersion is a validated upload: Folder from CleanFolder, Name from
// CleanName, MimeType chosen by extraction, Checksum of Data.
type NewVersion struct {
	Folder, Name, MimeType, Checksum string
	Data                             []byte
}

// Staged is what Stage wrote.
type Staged struct {
	// Unchanged is true when the bytes equal the latest non-failed
	// version: nothing was written.
	Unchanged bool
	// Created is true when the document itself is new.
	Created bool
	// DocumentID is the document's id.
	DocumentID uuid.UUID
	// JobID and VersionNumber are the new version's ingest job and number
	// (zero when Unchanged).
	JobID         uuid.UUID
	VersionNumber int
}

// Stage records v as the next version of its document (created with its
// folders when missing) with a pending ingest job row, in tx, unless its
// bytes equal the latest non-failed version. The caller enqueues the job
// in the same transaction (LinkRiverJob records which River job runs it).
// CodePathConflict when the path is taken by a non-document.
func (s *Store) Stage(ctx context.Context, tx pgx.Tx, tenant uuid.UUID, v NewVersion) (Staged, error) {
	var res Staged
	folderID, err := ensureFolder(ctx, tx, tenant, v.Folder)
	if err != nil {
		return res, err
	}
	docPath := joinPath(v.Folder, v.Name)
	doc, created, err := lockOrCreateDocument(ctx, tx, tenant, folderID, v.Name, docPath)
	if err != nil {
		return res, err
	}
	res.Created, res.DocumentID = created, doc.ID
	latest := 0
	var latestSum, latestState string
	err = tx.QueryRow(ctx, `SELECT version_number, checksum, state FROM document_versions
		WHERE tenant_id = $1 AND document_id = $2 ORDER BY version_number DESC LIMIT 1`, tenant, doc.ID).
		Scan(&latest, &latestSum, &latestState)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return res, fmt.Errorf("latest version: %w", err)
	}
	if latest > 0 && latestSum == v.Checksum && latestState != "failed" {
		res.Unchanged = true
		return res, nil
	}
	n := latest + 1
	vid := uuid.Must(uuid.NewV7())
	vname := "v" + strconv.Itoa(n)
	if _, err := tx.Exec(ctx, `INSERT INTO path_parts (tenant_id, id, parent_id, name, kind, path) VALUES ($1, $2, $3, $4, 'version', $5)`,
		tenant, vid, doc.PathPartID, vname, docPath+"/"+vname); err != nil {
		return res, fmt.Errorf("version path part: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO document_versions (tenant_id, id, document_id, path_part_id, version_number, checksum, mime_type, size_bytes, raw)
		VALUES ($1, $2, $3, $2, $4, $5, $6, $7, $8)`, tenant, vid, doc.ID, n, v.Checksum, v.MimeType, len(v.Data), v.Data); err != nil {
		return res, fmt.Errorf("insert version: %w", err)
	}
	jid := uuid.Must(uuid.NewV7())
	if _, err := tx.Exec(ctx, `INSERT INTO ingest_jobs (tenant_id, id, document_id, version_id) VALUES ($1, $2, $3, $4)`,
		tenant, jid, doc.ID, vid); err != nil {
		return res, fmt.Errorf("insert job: %w", err)
	}
	res.JobID, res.VersionNumber = jid, n
	return res, nil
}

// LinkRiverJob records, in tx, that River job riverJobID runs the given
// ingest jobs (job reads then follow its state).
func (s *Store) LinkRiverJob(ctx context.Context, tx pgx.Tx, tenant uuid.UUID, jobs []uuid.UUID, riverJobID int64) error {
	if _, err := tx.Exec(ctx, `UPDATE ingest_jobs SET river_job_id = $3 WHERE tenant_id = $1 AND id = ANY($2)`, tenant, jobs, riverJobID); err != nil {
		return fmt.Errorf("link job: %w", err)
	}
	return nil
}

// QueuedJobs counts the tenant's ingest jobs waiting for a worker, as
// seen by tx, counting no further than upTo.
func (s *Store) QueuedJobs(ctx context.Context, tx pgx.Tx, tenant uuid.UUID, upTo int) (int, error) {
	var n int
	err := tx.QueryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM ingest_jobs WHERE tenant_id = $1 AND state = 'queued' LIMIT $2) q`,
		tenant, upTo).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count queued jobs: %w", err)
	}
	return n, nil
}

// Latest returns a document with its latest version and that version's
// job (nil when it has none): what an upload answers.
func (s *Store) Latest(ctx context.Context, tenant, docID uuid.UUID) (Document, Version, *Job, error) {
	doc, err := s.Get(ctx, tenant, docID)
	if err != nil {
		return Document{}, Version{}, nil, err
	}
	vs, err := s.versions(ctx, tenant, docID, 1)
	if err != nil {
		return Document{}, Version{}, nil, err
	}
	job, err := s.JobOfVersion(ctx, tenant, vs[0].ID)
	if apperr.Is(err, CodeJobNotFound) {
		return doc, vs[0], nil, nil
	}
	if err != nil {
		return Document{}, Version{}, nil, err
	}
	return doc, vs[0], &job, nil
}

// docRef is a locked or new document row.
type docRef struct{ ID, PathPartID uuid.UUID }

// lockOrCreateDocument returns the document at path, locked FOR UPDATE,
// or creates it; created reports which.
func lockOrCreateDocument(ctx context.Context, tx pgx.Tx, tenant uuid.UUID, folderID *uuid.UUID, name, path string) (d docRef, created bool, err error) {
	for attempt := 0; attempt < 3; attempt++ {
		var kind string
		err := tx.QueryRow(ctx, `SELECT p.kind, p.id, d.id FROM path_parts p LEFT JOIN documents d ON d.tenant_id = p.tenant_id AND d.path_part_id = p.id
			WHERE p.tenant_id = $1 AND p.path = $2`, tenant, path).Scan(&kind, &d.PathPartID, &d.ID)
		if err == nil {
			if kind != "document" {
				return docRef{}, false, apperr.New(apperr.Conflict, CodePathConflict, "%s is a %s, not a document", path, kind)
			}
			if err := tx.QueryRow(ctx, `SELECT id FROM documents WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, tenant, d.ID).Scan(&d.ID); err != nil {
				return docRef{}, false, fmt.Errorf("lock document: %w", err)
			}
			return d, false, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return docRef{}, false, fmt.Errorf("look up document: %w", err)
		}
		id := uuid.Must(uuid.NewV7())
		tag, err := tx.Exec(ctx, `INSERT INTO path_parts (tenant_id, id, parent_id, name, kind, path) VALUES ($1, $2, $3, $4, 'document', $5) ON CONFLICT DO NOTHING`,
			tenant, id, folderID, name, path)
		if err != nil {
			return docRef{}, false, fmt.Errorf("document path part: %w", err)
		}
		if tag.RowsAffected() == 0 {
			continue // created concurrently: look it up again
		}
		if _, err := tx.Exec(ctx, `INSERT INTO documents (tenant_id, id, path_part_id, name) VALUES ($1, $2, $2, $3)`, tenant, id, name); err != nil {
			return docRef{}, false, fmt.Errorf("insert document: %w", err)
		}
		return docRef{ID: id, PathPartID: id}, true, nil
	}
	return docRef{}, false, apperr.New(apperr.Conflict, CodePathConflict, "%s is being created concurrently; retry", path)
}
