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

// StageBatch stages every version of vs in tx, as Stage does one by one,
// in a fixed number of statements for the whole batch (a bulk load's
// upload was eight round trips per file): folders are ensured once each,
// the documents looked up, locked (in id order) and created together, the
// latest versions read in one query, and the new path parts, versions
// and job rows inserted from arrays. A batch naming one document twice,
// or a document created concurrently, falls back to Stage for that file.
// Results are in input order.
func (s *Store) StageBatch(ctx context.Context, tx pgx.Tx, tenant uuid.UUID, vs []NewVersion) ([]Staged, error) {
	out := make([]Staged, len(vs))
	paths := make([]string, len(vs))
	seen := make(map[string]bool, len(vs))
	for i, v := range vs {
		paths[i] = joinPath(v.Folder, v.Name)
		if seen[paths[i]] {
			return s.stageEach(ctx, tx, tenant, vs)
		}
		seen[paths[i]] = true
	}
	folders := map[string]*uuid.UUID{}
	for _, v := range vs {
		if _, ok := folders[v.Folder]; ok {
			continue
		}
		id, err := ensureFolder(ctx, tx, tenant, v.Folder)
		if err != nil {
			return nil, err
		}
		folders[v.Folder] = id
	}
	// Existing path parts at the documents' paths.
	rows, err := tx.Query(ctx, `SELECT p.path, p.kind, p.id, d.id FROM path_parts p
		LEFT JOIN documents d ON d.tenant_id = p.tenant_id AND d.path_part_id = p.id
		WHERE p.tenant_id = $1 AND p.path = ANY($2)`, tenant, paths)
	if err != nil {
		return nil, fmt.Errorf("look up documents: %w", err)
	}
	existing := map[string]docRef{}
	var path, kind string
	var ppID uuid.UUID
	var docID *uuid.UUID
	_, err = pgx.ForEachRow(rows, []any{&path, &kind, &ppID, &docID}, func() error {
		if kind != "document" || docID == nil {
			return apperr.New(apperr.Conflict, CodePathConflict, "%s is a %s, not a document", path, kind)
		}
		existing[path] = docRef{ID: *docID, PathPartID: ppID}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("look up documents: %w", err)
	}
	docs := make([]docRef, len(vs))
	var lock []uuid.UUID
	var newIDs, newParents []*uuid.UUID
	var newNames, newPaths []string
	for i, v := range vs {
		if d, ok := existing[paths[i]]; ok {
			docs[i] = d
			lock = append(lock, d.ID)
			continue
		}
		id := uuid.Must(uuid.NewV7())
		docs[i] = docRef{ID: id, PathPartID: id}
		out[i].Created = true
		newIDs, newParents = append(newIDs, &id), append(newParents, folders[v.Folder])
		newNames, newPaths = append(newNames, v.Name), append(newPaths, paths[i])
	}
	if len(lock) > 0 {
		if _, err := tx.Exec(ctx, `SELECT 1 FROM documents WHERE tenant_id = $1 AND id = ANY($2) ORDER BY id FOR UPDATE`, tenant, lock); err != nil {
			return nil, fmt.Errorf("lock documents: %w", err)
		}
	}
	raced := map[string]bool{}
	if len(newIDs) > 0 {
		rows, err := tx.Query(ctx, `INSERT INTO path_parts (tenant_id, id, parent_id, name, kind, path)
			SELECT $1, t.id, t.parent, t.name, 'document', t.path FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::text[]) AS t(id, parent, name, path)
			ON CONFLICT DO NOTHING RETURNING path`, tenant, newIDs, newParents, newNames, newPaths)
		if err != nil {
			return nil, fmt.Errorf("document path parts: %w", err)
		}
		made, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, fmt.Errorf("document path parts: %w", err)
		}
		for _, p := range newPaths {
			raced[p] = true
		}
		for _, p := range made {
			delete(raced, p)
		}
		var ids []*uuid.UUID
		var names []string
		for i, p := range newPaths {
			if !raced[p] {
				ids, names = append(ids, newIDs[i]), append(names, newNames[i])
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO documents (tenant_id, id, path_part_id, name)
			SELECT $1, t.id, t.id, t.name FROM unnest($2::uuid[], $3::text[]) AS t(id, name)`, tenant, ids, names); err != nil {
			return nil, fmt.Errorf("insert documents: %w", err)
		}
	}
	// The latest version of each existing document.
	type latestVersion struct {
		n          int
		sum, state string
	}
	latest := map[uuid.UUID]latestVersion{}
	if len(lock) > 0 {
		rows, err := tx.Query(ctx, `SELECT DISTINCT ON (document_id) document_id, version_number, checksum, state FROM document_versions
			WHERE tenant_id = $1 AND document_id = ANY($2) ORDER BY document_id, version_number DESC`, tenant, lock)
		if err != nil {
			return nil, fmt.Errorf("latest versions: %w", err)
		}
		var id uuid.UUID
		var l latestVersion
		if _, err := pgx.ForEachRow(rows, []any{&id, &l.n, &l.sum, &l.state}, func() error { latest[id] = l; return nil }); err != nil {
			return nil, fmt.Errorf("latest versions: %w", err)
		}
	}
	var (
		vIDs, vDocs, vDocPPs, jIDs []uuid.UUID
		vNames, vPaths, vSums      []string
		vMimes                     []string
		vNums                      []int32
		vSizes                     []int64
		vRaw                       [][]byte
	)
	for i, v := range vs {
		if raced[paths[i]] {
			r, err := s.Stage(ctx, tx, tenant, v)
			if err != nil {
				return nil, err
			}
			out[i] = r
			continue
		}
		out[i].DocumentID = docs[i].ID
		l := latest[docs[i].ID]
		if l.n > 0 && l.sum == v.Checksum && l.state != "failed" {
			out[i].Unchanged = true
			continue
		}
		n := l.n + 1
		vid, jid := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
		vname := "v" + strconv.Itoa(n)
		vIDs, vDocs, vDocPPs, jIDs = append(vIDs, vid), append(vDocs, docs[i].ID), append(vDocPPs, docs[i].PathPartID), append(jIDs, jid)
		vNames, vPaths, vSums, vMimes = append(vNames, vname), append(vPaths, paths[i]+"/"+vname), append(vSums, v.Checksum), append(vMimes, v.MimeType)
		vNums, vSizes, vRaw = append(vNums, int32(n)), append(vSizes, int64(len(v.Data))), append(vRaw, v.Data)
		out[i].JobID, out[i].VersionNumber = jid, n
	}
	if len(vIDs) == 0 {
		return out, nil
	}
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO path_parts (tenant_id, id, parent_id, name, kind, path)
		SELECT $1, t.id, t.parent, t.name, 'version', t.path FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::text[]) AS t(id, parent, name, path)`,
		tenant, vIDs, vDocPPs, vNames, vPaths)
	b.Queue(`INSERT INTO document_versions (tenant_id, id, document_id, path_part_id, version_number, checksum, mime_type, size_bytes, raw)
		SELECT $1, t.id, t.doc, t.id, t.n, t.sum, t.mime, t.size, t.raw
		FROM unnest($2::uuid[], $3::uuid[], $4::int[], $5::text[], $6::text[], $7::bigint[], $8::bytea[]) AS t(id, doc, n, sum, mime, size, raw)`,
		tenant, vIDs, vDocs, vNums, vSums, vMimes, vSizes, vRaw)
	b.Queue(`INSERT INTO ingest_jobs (tenant_id, id, document_id, version_id)
		SELECT $1, t.id, t.doc, t.ver FROM unnest($2::uuid[], $3::uuid[], $4::uuid[]) AS t(id, doc, ver)`, tenant, jIDs, vDocs, vIDs)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("insert versions: %w", err)
	}
	return out, nil
}

// stageEach stages vs one by one with Stage.
func (s *Store) stageEach(ctx context.Context, tx pgx.Tx, tenant uuid.UUID, vs []NewVersion) ([]Staged, error) {
	out := make([]Staged, len(vs))
	for i, v := range vs {
		r, err := s.Stage(ctx, tx, tenant, v)
		if err != nil {
			return nil, err
		}
		out[i] = r
	}
	return out, nil
}
