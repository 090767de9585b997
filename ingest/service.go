package ingest

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
	"github.com/riverqueue/river"

	"github.com/cairn-rag/cairn/embed"
	"github.com/cairn-rag/cairn/internal/apperr"
)

// Options tune the pipeline; zero fields take defaults.
type Options struct {
	// Chunk sets chunk size and overlap.
	Chunk ChunkOptions
	// MaxBytes bounds one file (Config.MaxUploadBytes).
	MaxBytes int64
	// MaxTextChars bounds the extracted text of one version, in code points.
	MaxTextChars int
	// EmbedBatch is how many chunks go to the embedder per call.
	EmbedBatch int
	// EmbedConcurrency bounds concurrent embedder calls per job.
	EmbedConcurrency int
	// MaxAttempts is how often River runs a failing job.
	MaxAttempts int
}

// Defaults for Options.
const (
	DefaultMaxBytes         = 64 << 20
	DefaultMaxTextChars     = 10_000_000
	DefaultEmbedBatch       = 64
	DefaultEmbedConcurrency = 4
	DefaultMaxAttempts      = 5
)

func (o Options) norm() Options {
	o.Chunk = o.Chunk.norm()
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxTextChars <= 0 {
		o.MaxTextChars = DefaultMaxTextChars
	}
	if o.EmbedBatch <= 0 {
		o.EmbedBatch = DefaultEmbedBatch
	}
	if o.EmbedConcurrency <= 0 {
		o.EmbedConcurrency = DefaultEmbedConcurrency
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	return o
}

// Service stores documents and runs their ingestion.
type Service struct {
	pool     *pgxpool.Pool
	embedder embed.Embedder
	opts     Options
	river    *river.Client[pgx.Tx]
	queue    string
}

// New returns a Service. Call NewRiverClient before Upload.
func New(pool *pgxpool.Pool, e embed.Embedder, o Options) *Service {
	return &Service{pool: pool, embedder: e, opts: o.norm()}
}

// Embedder returns the service's embedder.
func (s *Service) Embedder() embed.Embedder { return s.embedder }

func notFound(what string, id uuid.UUID) error {
	return apperr.NotFoundf(what+"_not_found", "%s %s not found", what, id)
}

// Checksum is the hex sha256 of data, as stored on versions.
func Checksum(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}

// Upload records data as the next version of the document Name in
// Folder and enqueues its ingest job in the same transaction. Bytes equal
// to the latest (non-failed) version write nothing (Unchanged).
func (s *Service) Upload(ctx context.Context, tenant uuid.UUID, in UploadInput) (UploadResult, error) {
	res, folder, name, err := s.upload(ctx, tenant, in)
	if err != nil {
		return UploadResult{}, err
	}
	return s.describeUpload(ctx, tenant, folder, name, res)
}

// uploaded is what upload wrote (ids only; Upload reads the rest back).
type uploaded struct {
	UploadResult
	jobID         uuid.UUID
	versionNumber int
}

// prepared is a validated upload, ready to be staged in a transaction.
type prepared struct {
	folder, name, mime, sum string
	data                    []byte
}

// prepare validates an upload: names, size, media type.
func (s *Service) prepare(in UploadInput) (prepared, error) {
	folder, err := CleanFolder(in.Folder)
	if err != nil {
		return prepared{}, err
	}
	name, err := CleanName("name", in.Name)
	if err != nil {
		return prepared{}, err
	}
	if int64(len(in.Data)) > s.opts.MaxBytes {
		return prepared{}, apperr.New(apperr.TooLarge, "payload_too_large", "%s is %d bytes, over the limit of %d", name, len(in.Data), s.opts.MaxBytes)
	}
	if len(in.Data) == 0 {
		return prepared{}, apperr.Unprocessablef("validation_failed", "file", "%s is empty", name)
	}
	mime, err := DetectType(name, in.MimeType, in.Data)
	if err != nil {
		return prepared{}, err
	}
	return prepared{folder: folder, name: name, mime: mime, sum: Checksum(in.Data), data: in.Data}, nil
}

func (s *Service) upload(ctx context.Context, tenant uuid.UUID, in UploadInput) (res uploaded, folder, name string, err error) {
	if s.river == nil {
		return res, "", "", errors.New("ingest: no River client (call NewRiverClient)")
	}
	p, err := s.prepare(in)
	if err != nil {
		return res, "", "", err
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		res, err = s.stage(ctx, tx, tenant, p)
		if err != nil || res.Unchanged {
			return err
		}
		return s.enqueue(ctx, tx, tenant, []uuid.UUID{res.jobID})
	})
	return res, p.folder, p.name, err
}

// uploadBatch stages several validated uploads in one transaction with
// one River job for all of them (bulk loads: one transaction and one
// COPY per batch instead of per file). Results are in input order.
func (s *Service) uploadBatch(ctx context.Context, tenant uuid.UUID, ps []prepared) ([]uploaded, error) {
	out := make([]uploaded, len(ps))
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var jobs []uuid.UUID
		for i, p := range ps {
			r, err := s.stage(ctx, tx, tenant, p)
			if err != nil {
				return err
			}
			out[i] = r
			if !r.Unchanged {
				jobs = append(jobs, r.jobID)
			}
		}
		if len(jobs) == 0 {
			return nil
		}
		return s.enqueue(ctx, tx, tenant, jobs)
	})
	return out, err
}

// enqueue inserts one River job for the given ingest jobs and links them.
func (s *Service) enqueue(ctx context.Context, tx pgx.Tx, tenant uuid.UUID, jobs []uuid.UUID) error {
	args := JobArgs{TenantID: tenant, JobID: jobs[0]}
	if len(jobs) > 1 {
		args.JobIDs = jobs
	}
	rj, err := s.river.InsertTx(ctx, tx, args, &river.InsertOpts{MaxAttempts: s.opts.MaxAttempts, Queue: s.queue})
	if err != nil {
		return fmt.Errorf("enqueue ingest job: %w", err)
	}
	if _, err := tx.Exec(ctx, `UPDATE ingest_jobs SET river_job_id = $3 WHERE tenant_id = $1 AND id = ANY($2)`, tenant, jobs, rj.Job.ID); err != nil {
		return fmt.Errorf("link job: %w", err)
	}
	return nil
}

// stage records p as the next version of its document with an ingest
// job row, unless its bytes equal the latest (non-failed) version.
func (s *Service) stage(ctx context.Context, tx pgx.Tx, tenant uuid.UUID, p prepared) (uploaded, error) {
	var res uploaded
	folderID, err := ensureFolder(ctx, tx, tenant, p.folder)
	if err != nil {
		return res, err
	}
	docPath := joinPath(p.folder, p.name)
	doc, created, err := s.lockOrCreateDocument(ctx, tx, tenant, folderID, p.folder, p.name, docPath)
	if err != nil {
		return res, err
	}
	res.Created = created
	latest := 0
	var latestSum, latestState string
	err = tx.QueryRow(ctx, `SELECT version_number, checksum, state FROM document_versions
		WHERE tenant_id = $1 AND document_id = $2 ORDER BY version_number DESC LIMIT 1`, tenant, doc.ID).
		Scan(&latest, &latestSum, &latestState)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return res, fmt.Errorf("latest version: %w", err)
	}
	if latest > 0 && latestSum == p.sum && latestState != "failed" {
		res.Unchanged = true
		return res, nil
	}
	n := latest + 1
	vid := uuid.Must(uuid.NewV7())
	vpath := docPath + "/v" + strconv.Itoa(n)
	if _, err := tx.Exec(ctx, `INSERT INTO path_parts (tenant_id, id, parent_id, name, kind, path) VALUES ($1, $2, $3, $4, 'version', $5)`,
		tenant, vid, doc.PathPartID, "v"+strconv.Itoa(n), vpath); err != nil {
		return res, fmt.Errorf("version path part: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO document_versions (tenant_id, id, document_id, path_part_id, version_number, checksum, mime_type, size_bytes, raw)
		VALUES ($1, $2, $3, $2, $4, $5, $6, $7, $8)`, tenant, vid, doc.ID, n, p.sum, p.mime, len(p.data), p.data); err != nil {
		return res, fmt.Errorf("insert version: %w", err)
	}
	jid := uuid.Must(uuid.NewV7())
	if _, err := tx.Exec(ctx, `INSERT INTO ingest_jobs (tenant_id, id, document_id, version_id) VALUES ($1, $2, $3, $4)`,
		tenant, jid, doc.ID, vid); err != nil {
		return res, fmt.Errorf("insert job: %w", err)
	}
	res.jobID, res.versionNumber = jid, n
	return res, nil
}

// describeUpload reads back the document, its latest version and job.
func (s *Service) describeUpload(ctx context.Context, tenant uuid.UUID, folder, name string, up uploaded) (UploadResult, error) {
	res := up.UploadResult
	var docID uuid.UUID
	if err := s.pool.QueryRow(ctx, `SELECT d.id FROM documents d JOIN path_parts p ON p.tenant_id = d.tenant_id AND p.id = d.path_part_id
		WHERE d.tenant_id = $1 AND p.path = $2`, tenant, joinPath(folder, name)).Scan(&docID); err != nil {
		return UploadResult{}, fmt.Errorf("read back document: %w", err)
	}
	doc, err := s.Get(ctx, tenant, docID)
	if err != nil {
		return UploadResult{}, err
	}
	vs, err := s.versions(ctx, tenant, docID, 1)
	if err != nil {
		return UploadResult{}, err
	}
	res.Document, res.Version = doc, vs[0]
	job, err := s.jobOfVersion(ctx, tenant, vs[0].ID)
	if err == nil {
		res.Job = &job
	} else if !apperr.Is(err, "job_not_found") {
		return UploadResult{}, err
	}
	return res, nil
}

func (s *Service) lockOrCreateDocument(ctx context.Context, tx pgx.Tx, tenant uuid.UUID, folderID *uuid.UUID, folder, name, path string) (Document, bool, error) {
	for attempt := 0; attempt < 3; attempt++ {
		var d Document
		var kind string
		err := tx.QueryRow(ctx, `SELECT p.kind, p.id, d.id FROM path_parts p LEFT JOIN documents d ON d.tenant_id = p.tenant_id AND d.path_part_id = p.id
			WHERE p.tenant_id = $1 AND p.path = $2`, tenant, path).Scan(&kind, &d.PathPartID, &d.ID)
		if err == nil {
			if kind != "document" {
				return Document{}, false, apperr.New(apperr.Conflict, "path_conflict", "%s is a %s, not a document", path, kind)
			}
			if err := tx.QueryRow(ctx, `SELECT id FROM documents WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, tenant, d.ID).Scan(&d.ID); err != nil {
				return Document{}, false, fmt.Errorf("lock document: %w", err)
			}
			return d, false, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return Document{}, false, fmt.Errorf("look up document: %w", err)
		}
		id := uuid.Must(uuid.NewV7())
		tag, err := tx.Exec(ctx, `INSERT INTO path_parts (tenant_id, id, parent_id, name, kind, path) VALUES ($1, $2, $3, $4, 'document', $5) ON CONFLICT DO NOTHING`,
			tenant, id, folderID, name, path)
		if err != nil {
			return Document{}, false, fmt.Errorf("document path part: %w", err)
		}
		if tag.RowsAffected() == 0 {
			continue // created concurrently: look it up again
		}
		if _, err := tx.Exec(ctx, `INSERT INTO documents (tenant_id, id, path_part_id, name) VALUES ($1, $2, $2, $3)`, tenant, id, name); err != nil {
			return Document{}, false, fmt.Errorf("insert document: %w", err)
		}
		return Document{ID: id, PathPartID: id, Name: name, Folder: folder, MaterializedPath: path}, true, nil
	}
	return Document{}, false, apperr.New(apperr.Conflict, "path_conflict", "%s is being created concurrently; retry", path)
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

// Get returns one document of the tenant.
func (s *Service) Get(ctx context.Context, tenant, id uuid.UUID) (Document, error) {
	d, err := scanDoc(s.pool.QueryRow(ctx, `SELECT `+docColumns+docFrom+` WHERE d.tenant_id = $1 AND d.id = $2`, tenant, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Document{}, notFound("document", id)
	}
	if err != nil {
		return Document{}, fmt.Errorf("get document: %w", err)
	}
	return d, nil
}

// List returns documents under folder (the whole subtree; "" for all),
// ordered by path, and whether more follow.
func (s *Service) List(ctx context.Context, tenant uuid.UUID, folder string, limit, offset int) ([]Document, bool, error) {
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

func likePrefix(p string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(p) + "%"
}

// Versions returns every version of a document, newest first.
func (s *Service) Versions(ctx context.Context, tenant, id uuid.UUID) ([]Version, error) {
	if _, err := s.Get(ctx, tenant, id); err != nil {
		return nil, err
	}
	return s.versions(ctx, tenant, id, 0)
}

func (s *Service) versions(ctx context.Context, tenant, doc uuid.UUID, limit int) ([]Version, error) {
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
		return nil, notFound("document", doc)
	}
	return vs, nil
}

// Delete removes a document, its versions, chunks and jobs in one
// transaction; it leaves search at once.
func (s *Service) Delete(ctx context.Context, tenant, id uuid.UUID) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM path_parts WHERE tenant_id = $1 AND id = (SELECT path_part_id FROM documents WHERE tenant_id = $1 AND id = $2)`, tenant, id)
	if err != nil {
		return fmt.Errorf("delete document: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("document", id)
	}
	return nil
}

// GetChunk returns one chunk of the tenant, current or not.
func (s *Service) GetChunk(ctx context.Context, tenant, id uuid.UUID) (Chunk, error) {
	var c Chunk
	err := s.pool.QueryRow(ctx, `SELECT c.id, c.document_id, c.version_id, d.name, v.version_number, c.version_id IS NOT DISTINCT FROM d.current_version_id,
		c.ordinal, c.content, c.start_offset, c.end_offset, c.page, c.model_id, `+fmt.Sprintf(chunkPathSQL, "vp.path", "c.ordinal")+`
		FROM chunks c JOIN document_versions v ON v.tenant_id = c.tenant_id AND v.id = c.version_id
		JOIN documents d ON d.tenant_id = c.tenant_id AND d.id = c.document_id
		JOIN path_parts vp ON vp.tenant_id = v.tenant_id AND vp.id = v.path_part_id
		WHERE c.tenant_id = $1 AND c.id = $2`, tenant, id).Scan(&c.ID, &c.DocumentID, &c.DocumentVersionID, &c.DocumentName, &c.VersionNumber, &c.IsCurrent,
		&c.Ordinal, &c.Content, &c.StartOffset, &c.EndOffset, &c.Page, &c.ModelID, &c.MaterializedPath)
	if errors.Is(err, pgx.ErrNoRows) {
		return Chunk{}, notFound("chunk", id)
	}
	if err != nil {
		return Chunk{}, fmt.Errorf("get chunk: %w", err)
	}
	c.PathPartID = c.ID
	return c, nil
}

// VersionChunks returns the chunks of one version in order (for tests and tools).
func (s *Service) VersionChunks(ctx context.Context, tenant, version uuid.UUID) ([]Chunk, error) {
	rows, err := s.pool.Query(ctx, `SELECT id FROM chunks WHERE tenant_id = $1 AND version_id = $2 ORDER BY ordinal`, tenant, version)
	if err != nil {
		return nil, fmt.Errorf("version chunks: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, fmt.Errorf("version chunks: %w", err)
	}
	out := make([]Chunk, 0, len(ids))
	for _, id := range ids {
		c, err := s.GetChunk(ctx, tenant, id)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// VersionText returns the extracted text of a version ("" until ready).
func (s *Service) VersionText(ctx context.Context, tenant, version uuid.UUID) (string, error) {
	var t string
	err := s.pool.QueryRow(ctx, `SELECT text FROM document_versions WHERE tenant_id = $1 AND id = $2`, tenant, version).Scan(&t)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", notFound("version", version)
	}
	return t, err
}

const jobSelect = `SELECT j.id, j.document_id, j.version_id, j.state, j.chunks_done, j.chunks_total, j.attempts, j.error,
	j.created_at, j.updated_at, j.finished_at, rj.state::text, rj.attempt, rj.errors[array_length(rj.errors, 1)]->>'error'
	FROM ingest_jobs j LEFT JOIN river_job rj ON rj.id = j.river_job_id `

func scanJob(row pgx.Row) (Job, error) {
	var j Job
	var rstate, rerr *string
	var rattempt *int
	if err := row.Scan(&j.ID, &j.DocumentID, &j.VersionID, &j.State, &j.ChunksDone, &j.ChunksTotal, &j.Attempts, &j.Error,
		&j.CreatedAt, &j.UpdatedAt, &j.FinishedAt, &rstate, &rattempt, &rerr); err != nil {
		return Job{}, err
	}
	if rattempt != nil && *rattempt > j.Attempts {
		j.Attempts = *rattempt
	}
	if j.Done() || rstate == nil {
		return j, nil
	}
	switch *rstate {
	case "running":
		j.State = JobRunning
	case "available", "scheduled", "retryable", "pending":
		j.State = JobQueued
	case "discarded", "cancelled":
		j.State = JobFailed
	case "completed":
		j.State = JobSucceeded
	}
	if j.Error == nil && rerr != nil {
		j.Error = rerr
	}
	return j, nil
}

// GetJob returns an ingest job of the tenant.
func (s *Service) GetJob(ctx context.Context, tenant, id uuid.UUID) (Job, error) {
	return s.job(ctx, id, `WHERE j.tenant_id = $1 AND j.id = $2`, tenant, id)
}

func (s *Service) jobOfVersion(ctx context.Context, tenant, version uuid.UUID) (Job, error) {
	return s.job(ctx, version, `WHERE j.tenant_id = $1 AND j.version_id = $2 ORDER BY j.created_at DESC LIMIT 1`, tenant, version)
}

// job returns the job that where (a clause over jobSelect) selects; none
// is job_not_found naming id.
func (s *Service) job(ctx context.Context, id uuid.UUID, where string, args ...any) (Job, error) {
	j, err := scanJob(s.pool.QueryRow(ctx, jobSelect+where, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return Job{}, notFound("job", id)
	}
	if err != nil {
		return Job{}, fmt.Errorf("get job: %w", err)
	}
	return j, nil
}

// WaitJob polls the job until it is done or ctx ends.
func (s *Service) WaitJob(ctx context.Context, tenant, id uuid.UUID) (Job, error) {
	delay := 10 * time.Millisecond
	for {
		j, err := s.GetJob(ctx, tenant, id)
		if err != nil || j.Done() {
			return j, err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return j, ctx.Err()
		case <-t.C:
		}
		delay = min(delay*2, 250*time.Millisecond)
	}
}

// Checksums returns the latest non-failed version checksum of every
// document directly in folder, by document name (the CLI's skip list).
func (s *Service) Checksums(ctx context.Context, tenant uuid.UUID, folder string) (map[string]string, error) {
	f, err := CleanFolder(folder)
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT ON (d.id) d.name, v.checksum
		FROM documents d JOIN path_parts p ON p.tenant_id = d.tenant_id AND p.id = d.path_part_id
		JOIN document_versions v ON v.tenant_id = d.tenant_id AND v.document_id = d.id AND v.state <> 'failed'
		WHERE d.tenant_id = $1 AND p.path LIKE $2 ESCAPE '\' AND p.path NOT LIKE $3 ESCAPE '\'
		ORDER BY d.id, v.version_number DESC`, tenant, likePrefix(strings.TrimSuffix(f, "/")+"/"), likePrefix(strings.TrimSuffix(f, "/")+"/")+"/%")
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
