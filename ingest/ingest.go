// Package ingest is the knowledge half of Cairn as one service: upload a
// file or text as the next immutable version of a document, and read
// documents, versions, chunks and ingest jobs back. New builds it whole
// (store, indexer, River queue); it is usable as soon as it returns.
//
// The work is done by smaller packages, each importing only those above
// it in this list:
//
//   - ingest/extract: bytes -> NFC text and a page map (pure, no database)
//   - ingest/chunk: text -> chunks with offsets, and a chunk's path (pure)
//   - ingest/store: documents, versions, chunks, ingest jobs; all their SQL
//   - ingest/jobs: the River job, its queue, and the Indexer it runs
//     (extract, chunk, embed, store.Commit)
//   - ingest (this package): the service the API and the CLI call
//   - ingest/bulk: many local files at once, on top of this package (the
//     CLI's `cairn ingest`)
//
// Flow: Upload validates the input, stages a pending version and enqueues
// its River job in ONE transaction; a worker (jobs.Worker) extracts,
// chunks and embeds it, and store.Commit writes every chunk, marks the
// version ready and makes it current in ONE transaction, so a crash at
// any point leaves nothing half-visible and a re-run never duplicates.
// See package store for the visibility rule retrieval relies on.
package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cairn-rag/cairn/embed"
	"github.com/cairn-rag/cairn/ingest/chunk"
	"github.com/cairn-rag/cairn/ingest/extract"
	"github.com/cairn-rag/cairn/ingest/jobs"
	"github.com/cairn-rag/cairn/ingest/store"
	"github.com/cairn-rag/cairn/internal/apperr"
	"github.com/cairn-rag/cairn/internal/riverkinds"
)

// The types a Service returns, owned by package store.
type (
	// Document is a named document in a folder.
	Document = store.Document
	// Version is one immutable content of a document.
	Version = store.Version
	// Chunk is one stored chunk.
	Chunk = store.Chunk
	// Job is an ingest job: one version's extraction, chunking and indexing.
	Job = store.Job
	// VersionText is a version's normalised text with its lengths.
	VersionText = store.VersionText
	// ChunkPage is one page of a version's chunks with their offsets.
	ChunkPage = store.ChunkPage
	// VersionContent is a version's original bytes.
	VersionContent = store.VersionContent
)

// Job states as the API shows them.
const (
	JobQueued    = store.JobQueued
	JobRunning   = store.JobRunning
	JobSucceeded = store.JobSucceeded
	JobFailed    = store.JobFailed
)

// Media types Cairn extracts text from (package extract).
const (
	MimeText     = extract.MimeText
	MimeMarkdown = extract.MimeMarkdown
	MimeHTML     = extract.MimeHTML
	MimePDF      = extract.MimePDF
)

// MaxBytesDefault bounds one file when Options.MaxBytes is 0.
const MaxBytesDefault = 64 << 20

// Options configure a Service; zero fields take the defaults of the
// package that uses them.
type Options struct {
	// Chunk sets chunk size and overlap (chunk.TargetDefault).
	Chunk chunk.Options
	// MaxBytes bounds one file (MaxBytesDefault; config.Config.MaxUploadBytes).
	MaxBytes int64
	// MaxTextChars bounds the extracted text of one version, in code
	// points (jobs.MaxTextCharsDefault).
	MaxTextChars int
	// MaxPages and MaxContentBytes bound a PDF's pages and its
	// decompressed content streams (extract.Limits).
	MaxPages        int
	MaxContentBytes int64
	// EmbedBatch is how many chunks go to the embedder per call
	// (jobs.EmbedBatchDefault).
	EmbedBatch int
	// EmbedConcurrency bounds concurrent embedder calls per job
	// (jobs.EmbedConcurrencyDefault).
	EmbedConcurrency int
	// MaxAttempts is how often River runs a failing job (jobs.MaxAttemptsDefault).
	MaxAttempts int
	// Workers is how many ingest jobs this process runs at once after
	// Start; 0 only enqueues (`cairn worker` processes do the work).
	Workers int
	// JobTimeout is the most time one job gets (jobs.JobTimeoutDefault).
	JobTimeout time.Duration
	// MinJobTimeout and JobTimeoutPerMiB make a job's time limit grow
	// with its size (jobs.Config); a job whose worker died runs again
	// its limit plus jobs.RescueMargin (and at most River's 30 s rescue
	// interval) after it started.
	MinJobTimeout, JobTimeoutPerMiB time.Duration
	// Queue is the River queue of ingest jobs (River's default queue when
	// empty); tests use their own so that their workers stay apart.
	Queue string
	// FairShare is how many queued jobs a tenant may have before its new
	// ones queue behind other tenants' (jobs.FairShareDefault).
	FairShare int
	// Logger receives the job layer's logs (discarded when nil).
	Logger *slog.Logger
	// Foreign are the job kinds other River clients of the database work
	// (jobs.Config.Foreign).
	Foreign []riverkinds.Register
}

// Service stores documents and runs their ingestion.
type Service struct {
	pool     *pgxpool.Pool
	store    *store.Store
	queue    *jobs.Queue
	embedder embed.Embedder
	chunk    chunk.Options
	maxBytes int64
}

// New returns a Service over pool that embeds with e: ready to upload
// and read at once. With o.Workers > 0 it also works ingest jobs between
// Start and Stop.
func New(pool *pgxpool.Pool, e embed.Embedder, o Options) (*Service, error) {
	if pool == nil || e == nil {
		return nil, fmt.Errorf("ingest: New needs a pool and an embedder")
	}
	st := store.New(pool)
	ix := jobs.NewIndexer(st, e, jobs.IndexConfig{Chunk: o.Chunk, MaxTextChars: o.MaxTextChars, MaxPages: o.MaxPages, MaxContentBytes: o.MaxContentBytes,
		EmbedBatch: o.EmbedBatch, EmbedConcurrency: o.EmbedConcurrency})
	q, err := jobs.New(pool, st, ix, jobs.Config{Workers: o.Workers, JobTimeout: o.JobTimeout,
		MinJobTimeout: o.MinJobTimeout, JobTimeoutPerMiB: o.JobTimeoutPerMiB, MaxAttempts: o.MaxAttempts,
		Queue: o.Queue, FairShare: o.FairShare, Logger: o.Logger, Foreign: o.Foreign})
	if err != nil {
		return nil, err
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = MaxBytesDefault
	}
	return &Service{pool: pool, store: st, queue: q, embedder: e, chunk: o.Chunk, maxBytes: o.MaxBytes}, nil
}

// Start starts the service's workers (none when Options.Workers is 0);
// they run until Stop or until ctx ends.
func (s *Service) Start(ctx context.Context) error { return s.queue.Start(ctx) }

// Stop lets running jobs finish until ctx ends, then cancels them (they
// run again after River's rescue delay).
func (s *Service) Stop(ctx context.Context) error { return s.queue.Stop(ctx) }

// Embedder returns the service's embedder.
func (s *Service) Embedder() embed.Embedder { return s.embedder }

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

// Prepare validates an upload (folder and name, size, media type) and
// returns it ready to stage. Errors: store.CodeValidationFailed (422),
// CodePayloadTooLarge (413), extract.CodeUnsupportedMediaType (415).
func (s *Service) Prepare(in UploadInput) (store.NewVersion, error) {
	folder, err := store.CleanFolder(in.Folder)
	if err != nil {
		return store.NewVersion{}, err
	}
	name, err := store.CleanName("name", in.Name)
	if err != nil {
		return store.NewVersion{}, err
	}
	if err := s.CheckSize(name, int64(len(in.Data))); err != nil {
		return store.NewVersion{}, err
	}
	if len(in.Data) == 0 {
		return store.NewVersion{}, apperr.Unprocessablef(store.CodeValidationFailed, "file", "%s is empty", name)
	}
	mime, err := extract.DetectType(name, in.MimeType, in.Data)
	if err != nil {
		return store.NewVersion{}, err
	}
	return store.NewVersion{Folder: folder, Name: name, MimeType: mime, Checksum: store.Checksum(in.Data), Data: in.Data}, nil
}

// CheckSize is CodePayloadTooLarge when size bytes of the file name are
// over Options.MaxBytes.
func (s *Service) CheckSize(name string, size int64) error {
	if size > s.maxBytes {
		return apperr.New(apperr.TooLarge, CodePayloadTooLarge, "%s is %d bytes, over the limit of %d", name, size, s.maxBytes)
	}
	return nil
}

// Upload records in as the next version of the document Name in Folder
// and enqueues its ingest job in the same transaction. Bytes equal to the
// latest (non-failed) version write nothing (Unchanged).
func (s *Service) Upload(ctx context.Context, tenant uuid.UUID, in UploadInput) (UploadResult, error) {
	v, err := s.Prepare(in)
	if err != nil {
		return UploadResult{}, err
	}
	staged, err := s.UploadBatch(ctx, tenant, []store.NewVersion{v})
	if err != nil {
		return UploadResult{}, err
	}
	res := UploadResult{Unchanged: staged[0].Unchanged, Created: staged[0].Created}
	res.Document, res.Version, res.Job, err = s.store.Latest(ctx, tenant, staged[0].DocumentID)
	if err != nil {
		return UploadResult{}, err
	}
	return res, nil
}

// UploadBatch stages prepared versions in one transaction with one River
// job for all that changed (bulk loads: one transaction, one job and one
// COPY per batch instead of per file). Results are in input order; any
// error writes nothing.
func (s *Service) UploadBatch(ctx context.Context, tenant uuid.UUID, vs []store.NewVersion) ([]store.Staged, error) {
	out := make([]store.Staged, len(vs))
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		res, err := s.store.StageBatch(ctx, tx, tenant, vs)
		if err != nil {
			return err
		}
		out = res
		var staged []uuid.UUID
		var bytes int64
		for i, r := range res {
			if !r.Unchanged {
				staged = append(staged, r.JobID)
				bytes += int64(len(vs[i].Data))
			}
		}
		return s.queue.Enqueue(ctx, tx, tenant, staged, bytes)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeferModelIndex drops the HNSW index of the service's embedding model
// for a bulk load and returns the function that rebuilds it
// (store.DeferModelIndex).
func (s *Service) DeferModelIndex(ctx context.Context) (rebuild func(context.Context) error, err error) {
	return store.DeferModelIndex(ctx, s.pool, s.embedder.Model(), s.embedder.Dim())
}

// ModelRows counts the chunks of the service's embedding model, of every
// tenant (the rows of its HNSW index), counting at most limit.
func (s *Service) ModelRows(ctx context.Context, limit int) (int, error) {
	return s.store.ModelRows(ctx, s.embedder.Model(), limit)
}

// ChunkStride is how many code points of text each chunk adds: the chunk
// size less the overlap.
func (s *Service) ChunkStride() int {
	c := s.chunk.WithDefaults()
	return max(c.Target-c.Overlap, 1)
}

// Get returns one document of the tenant (store.Store.Get).
func (s *Service) Get(ctx context.Context, tenant, id uuid.UUID) (Document, error) {
	return s.store.Get(ctx, tenant, id)
}

// List returns documents under folder, ordered by path, and whether more
// follow (store.Store.List).
func (s *Service) List(ctx context.Context, tenant uuid.UUID, folder string, limit, offset int) ([]Document, bool, error) {
	return s.store.List(ctx, tenant, folder, limit, offset)
}

// Versions returns every version of a document, newest first.
func (s *Service) Versions(ctx context.Context, tenant, id uuid.UUID) ([]Version, error) {
	return s.store.Versions(ctx, tenant, id)
}

// Delete removes a document with its versions, chunks and jobs.
func (s *Service) Delete(ctx context.Context, tenant, id uuid.UUID) error {
	return s.store.Delete(ctx, tenant, id)
}

// GetChunk returns one chunk, current or not.
func (s *Service) GetChunk(ctx context.Context, tenant, id uuid.UUID) (Chunk, error) {
	return s.store.GetChunk(ctx, tenant, id)
}

// VersionChunks returns the chunks of one version in order.
func (s *Service) VersionChunks(ctx context.Context, tenant, version uuid.UUID) ([]Chunk, error) {
	return s.store.VersionChunks(ctx, tenant, version)
}

// VersionText returns the extracted text of a version ("" until ready).
func (s *Service) VersionText(ctx context.Context, tenant, version uuid.UUID) (string, error) {
	return s.store.VersionText(ctx, tenant, version)
}

// TextOfVersion returns the normalised text of version n of a document
// (store.Store.TextOfVersion).
func (s *Service) TextOfVersion(ctx context.Context, tenant, doc uuid.UUID, n int) (VersionText, error) {
	return s.store.TextOfVersion(ctx, tenant, doc, n)
}

// ChunksOfVersion returns a page of the chunks of version n of a document
// (store.Store.ChunksOfVersion).
func (s *Service) ChunksOfVersion(ctx context.Context, tenant, doc uuid.UUID, n, limit, offset int) (ChunkPage, error) {
	return s.store.ChunksOfVersion(ctx, tenant, doc, n, limit, offset)
}

// ContentOfVersion returns the original bytes of version n of a document
// (store.Store.ContentOfVersion).
func (s *Service) ContentOfVersion(ctx context.Context, tenant, doc uuid.UUID, n int) (VersionContent, error) {
	return s.store.ContentOfVersion(ctx, tenant, doc, n)
}

// GetJob returns an ingest job.
func (s *Service) GetJob(ctx context.Context, tenant, id uuid.UUID) (Job, error) {
	return s.store.GetJob(ctx, tenant, id)
}

// Jobs returns the ingest jobs among ids in one query (store.Store.Jobs).
func (s *Service) Jobs(ctx context.Context, tenant uuid.UUID, ids []uuid.UUID) ([]Job, error) {
	return s.store.Jobs(ctx, tenant, ids)
}

// WaitJob polls the job until it is done or ctx ends.
func (s *Service) WaitJob(ctx context.Context, tenant, id uuid.UUID) (Job, error) {
	return s.store.WaitJob(ctx, tenant, id)
}

// Checksums returns the latest non-failed checksum of every document
// directly in folder, by name (store.Store.Checksums).
func (s *Service) Checksums(ctx context.Context, tenant uuid.UUID, folder string) (map[string]string, error) {
	return s.store.Checksums(ctx, tenant, folder)
}
