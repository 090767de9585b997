package ingest_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/embed"
	"github.com/cairn-rag/cairn/ingest"
	"github.com/cairn-rag/cairn/ingest/chunk"
	"github.com/cairn-rag/cairn/ingest/extract"
	"github.com/cairn-rag/cairn/ingest/extract/pdftest"
	"github.com/cairn-rag/cairn/ingest/ingesttest"
	"github.com/cairn-rag/cairn/ingest/store"
	"github.com/cairn-rag/cairn/internal/apperr"
	"github.com/cairn-rag/cairn/internal/testdb"
)

// requireExactChunks checks every chunk of a version against its slice of
// the version text.
func requireExactChunks(t *testing.T, svc *ingest.Service, tenant, version uuid.UUID) []ingest.Chunk {
	t.Helper()
	ctx := context.Background()
	text, err := svc.VersionText(ctx, tenant, version)
	require.NoError(t, err)
	chunks, err := svc.VersionChunks(ctx, tenant, version)
	require.NoError(t, err)
	require.NotEmpty(t, chunks)
	r := []rune(text)
	for i, c := range chunks {
		require.Equal(t, i, c.Ordinal)
		require.True(t, utf8.ValidString(c.Content))
		require.Equal(t, string(r[c.StartOffset:c.EndOffset]), c.Content, "chunk %d", i)
	}
	return chunks
}

func TestUploadIndexesTextWithExactOffsets(t *testing.T) {
	t.Parallel()
	pool, tenant, svc := setup(t, ingest.Options{Chunk: chunk.Options{Target: 120, Overlap: 20}})
	text := strings.Repeat("Café crème — naïve façade. 東京は日本の首都です。Emoji 🎉🚀 here! ", 20)
	res, job := ingestWait(t, svc, tenant, ingest.UploadInput{Folder: "/kb/guides", Name: "intro.txt", Data: []byte(text)})
	require.Equal(t, ingest.JobSucceeded, job.State)
	require.Equal(t, job.ChunksTotal, job.ChunksDone)
	require.Equal(t, 1, res.Version.VersionNumber)
	chunks := requireExactChunks(t, svc, tenant, res.Version.ID)
	require.Equal(t, job.ChunksTotal, len(chunks))
	require.Equal(t, "/kb/guides/intro.txt/v1/0000000000", chunks[0].MaterializedPath)
	require.Equal(t, chunks[0].ID, chunks[0].PathPartID)
	require.True(t, chunks[0].IsCurrent)
	doc, err := svc.Get(context.Background(), tenant, res.Document.ID)
	require.NoError(t, err)
	require.Equal(t, res.Version.ID, *doc.CurrentVersionID)
	require.Equal(t, "/kb/guides", doc.Folder)
	var model string
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT DISTINCT model_id FROM chunks WHERE tenant_id=$1`, tenant).Scan(&model))
	require.Equal(t, "cairn-hash-384-v1", model)
}

func TestSameBytesAgainWriteNothing(t *testing.T) {
	t.Parallel()
	pool, tenant, svc := setup(t, ingest.Options{})
	in := ingest.UploadInput{Folder: "/kb", Name: "a.md", Data: []byte("# Title\n\nSome text.")}
	first, _ := ingestWait(t, svc, tenant, in)
	again, err := svc.Upload(context.Background(), tenant, in)
	require.NoError(t, err)
	require.True(t, again.Unchanged)
	require.Equal(t, first.Version.ID, again.Version.ID)
	var versions, jobs int
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM document_versions WHERE tenant_id=$1), (SELECT count(*) FROM ingest_jobs WHERE tenant_id=$1)`, tenant).Scan(&versions, &jobs))
	require.Equal(t, 1, versions)
	require.Equal(t, 1, jobs)
}

func TestNewBytesBecomeNextVersionAndOldChunksStayReadable(t *testing.T) {
	t.Parallel()
	pool, tenant, svc := setup(t, ingest.Options{})
	ctx := context.Background()
	v1, _ := ingestWait(t, svc, tenant, ingest.UploadInput{Folder: "/kb", Name: "doc.txt", Data: []byte("first version text about llamas")})
	old := requireExactChunks(t, svc, tenant, v1.Version.ID)
	v2, job := ingestWait(t, svc, tenant, ingest.UploadInput{Folder: "/kb", Name: "doc.txt", Data: []byte("second version text about alpacas")})
	require.Equal(t, ingest.JobSucceeded, job.State)
	require.Equal(t, 2, v2.Version.VersionNumber)
	require.Equal(t, v1.Document.ID, v2.Document.ID)
	c, err := svc.GetChunk(ctx, tenant, old[0].ID)
	require.NoError(t, err)
	require.False(t, c.IsCurrent)
	require.Equal(t, 1, c.VersionNumber)
	require.Equal(t, "/kb/doc.txt/v1/0000000000", c.MaterializedPath)
	vs, err := svc.Versions(ctx, tenant, v1.Document.ID)
	require.NoError(t, err)
	require.Len(t, vs, 2)
	require.True(t, vs[0].IsCurrent)
	require.False(t, vs[1].IsCurrent)
	// Only current chunks are searchable under the visibility rule.
	var searchable int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM chunks c JOIN documents d ON d.tenant_id=c.tenant_id AND d.id=c.document_id
		WHERE c.tenant_id=$1 AND c.version_id = d.current_version_id AND c.content LIKE '%llamas%'`, tenant).Scan(&searchable))
	require.Zero(t, searchable)
}

func TestDeleteRemovesDocumentVersionsAndChunks(t *testing.T) {
	t.Parallel()
	pool, tenant, svc := setup(t, ingest.Options{})
	ctx := context.Background()
	res, _ := ingestWait(t, svc, tenant, ingest.UploadInput{Folder: "/kb", Name: "gone.txt", Data: []byte("to be deleted")})
	require.NoError(t, svc.Delete(ctx, tenant, res.Document.ID))
	_, err := svc.Get(ctx, tenant, res.Document.ID)
	require.True(t, apperr.Is(err, store.CodeDocumentNotFound))
	var n int
	require.NoError(t, pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM chunks WHERE tenant_id=$1) + (SELECT count(*) FROM document_versions WHERE tenant_id=$1)
		+ (SELECT count(*) FROM path_parts WHERE tenant_id=$1 AND kind IN ('document','version'))`, tenant).Scan(&n))
	require.Zero(t, n)
	require.True(t, apperr.Is(svc.Delete(ctx, tenant, res.Document.ID), store.CodeDocumentNotFound))
}

func TestPDFKeepsPageNumbers(t *testing.T) {
	t.Parallel()
	_, tenant, svc := setup(t, ingest.Options{Chunk: chunk.Options{Target: 40, Overlap: 0}})
	pdf := makePDF("Page one talks about granite mountains.", "Page two talks about river deltas.")
	res, job := ingestWait(t, svc, tenant, ingest.UploadInput{Folder: "/pdf", Name: "geo.pdf", Data: pdf})
	require.Equal(t, ingest.JobSucceeded, job.State, "%v", job.Error)
	require.Equal(t, ingest.MimePDF, res.Version.MimeType)
	chunks := requireExactChunks(t, svc, tenant, res.Version.ID)
	pages := map[int]string{}
	for _, c := range chunks {
		require.NotNil(t, c.Page)
		pages[*c.Page] += c.Content
	}
	require.Contains(t, pages[1], "granite")
	require.Contains(t, pages[2], "river")
}

func TestBrokenPDFFailsAndNoVersionBecomesVisible(t *testing.T) {
	t.Parallel()
	pool, tenant, svc := setup(t, ingest.Options{})
	ctx := context.Background()
	broken := append([]byte("%PDF-1.4\n1 0 obj << /Type /Catalog"), make([]byte, 100)...)
	res, job := ingestWait(t, svc, tenant, ingest.UploadInput{Folder: "/pdf", Name: "broken.pdf", Data: broken})
	require.Equal(t, ingest.JobFailed, job.State)
	require.NotNil(t, job.Error)
	require.Contains(t, *job.Error, extract.CodeExtractionFailed)
	doc, err := svc.Get(ctx, tenant, res.Document.ID)
	require.NoError(t, err)
	require.Nil(t, doc.CurrentVersionID)
	var chunks int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM chunks WHERE tenant_id=$1`, tenant).Scan(&chunks))
	require.Zero(t, chunks)
	vs, err := svc.Versions(ctx, tenant, res.Document.ID)
	require.NoError(t, err)
	require.Equal(t, "failed", vs[0].State)
}

func TestUploadRejects(t *testing.T) {
	t.Parallel()
	_, tenant, svc := setup(t, ingest.Options{MaxBytes: 2048})
	cases := []struct {
		name string
		in   ingest.UploadInput
		kind apperr.Kind
		code string
	}{
		{"binary content is unsupported", ingest.UploadInput{Name: "x.bin", Data: []byte{0x89, 'P', 'N', 'G', 0, 1, 2, 3}}, apperr.Unsupported, extract.CodeUnsupportedMediaType},
		{"over the size limit", ingest.UploadInput{Name: "big.txt", Data: []byte(strings.Repeat("a", 4096))}, apperr.TooLarge, ingest.CodePayloadTooLarge},
		{"dot-dot folder", ingest.UploadInput{Folder: "/kb/../x", Name: "a.txt", Data: []byte("a")}, apperr.Unprocessable, store.CodeValidationFailed},
		{"relative folder", ingest.UploadInput{Folder: "kb", Name: "a.txt", Data: []byte("a")}, apperr.Unprocessable, store.CodeValidationFailed},
		{"slash in name", ingest.UploadInput{Name: "a/b.txt", Data: []byte("a")}, apperr.Unprocessable, store.CodeValidationFailed},
		{"empty file", ingest.UploadInput{Name: "e.txt"}, apperr.Unprocessable, store.CodeValidationFailed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := svc.Upload(context.Background(), tenant, tc.in)
			require.Error(t, err)
			require.Equal(t, tc.kind, apperr.KindOf(err), "%v", err)
			require.True(t, apperr.Is(err, tc.code), "%v", err)
		})
	}
}

func TestOtherTenantsIDsAreNotFound(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t)
	owner, _ := testdb.Tenant(t, pool)
	other, _ := testdb.Tenant(t, pool)
	svc := newService(t, pool, ingest.Options{})
	ctx := context.Background()
	res, _ := ingestWait(t, svc, owner, ingest.UploadInput{Folder: "/kb", Name: "secret.txt", Data: []byte("owner's secret")})
	chunks := requireExactChunks(t, svc, owner, res.Version.ID)
	_, err := svc.Get(ctx, other, res.Document.ID)
	require.True(t, apperr.Is(err, store.CodeDocumentNotFound))
	_, err = svc.Versions(ctx, other, res.Document.ID)
	require.True(t, apperr.Is(err, store.CodeDocumentNotFound))
	_, err = svc.GetChunk(ctx, other, chunks[0].ID)
	require.True(t, apperr.Is(err, store.CodeChunkNotFound))
	_, err = svc.GetJob(ctx, other, res.Job.ID)
	require.True(t, apperr.Is(err, store.CodeJobNotFound))
	require.True(t, apperr.Is(svc.Delete(ctx, other, res.Document.ID), store.CodeDocumentNotFound))
	docs, _, err := svc.List(ctx, other, "", 10, 0)
	require.NoError(t, err)
	require.Empty(t, docs)
}

func TestTextOverTheLimitFailsTheJob(t *testing.T) {
	t.Parallel()
	_, tenant, svc := setup(t, ingest.Options{MaxTextChars: 100})
	res, job := ingestWait(t, svc, tenant, ingest.UploadInput{Name: "long.txt", Data: []byte(strings.Repeat("word ", 100))})
	require.Equal(t, ingest.JobFailed, job.State)
	require.Contains(t, *job.Error, extract.CodeTextTooLong)
	doc, err := svc.Get(context.Background(), tenant, res.Document.ID)
	require.NoError(t, err)
	require.Nil(t, doc.CurrentVersionID)
}

// TestNewIsReadyToUpload: the service New returns enqueues at once, with
// no workers and no second call; a service with workers started later
// works what the first one queued.
func TestNewIsReadyToUpload(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t)
	tenant, _ := testdb.Tenant(t, pool)
	queue := "test_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:20]
	insertOnly, err := ingest.New(pool, embed.NewHashing(), ingest.Options{Queue: queue})
	require.NoError(t, err)
	ctx := context.Background()
	res, err := insertOnly.Upload(ctx, tenant, ingest.UploadInput{Folder: "/kb", Name: "queued.txt", Data: []byte("waiting for a worker")})
	require.NoError(t, err)
	require.NotNil(t, res.Job)
	require.Equal(t, ingest.JobQueued, res.Job.State)
	require.True(t, res.Created)

	working, err := ingest.New(pool, embed.NewHashing(), ingest.Options{Queue: queue, Workers: 1})
	require.NoError(t, err)
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	require.NoError(t, working.Start(wctx))
	t.Cleanup(func() { _ = working.Stop(context.Background()) })
	job, err := insertOnly.WaitJob(wctx, tenant, res.Job.ID)
	require.NoError(t, err)
	require.Equal(t, ingest.JobSucceeded, job.State, "%v", job.Error)
}

func TestNewRejectsMissingParts(t *testing.T) {
	t.Parallel()
	_, err := ingest.New(nil, embed.NewHashing(), ingest.Options{})
	require.Error(t, err)
	_, err = ingest.New(testdb.Pool(t), embed.NewHashing(), ingest.Options{Workers: -1})
	require.Error(t, err)
}

// TestPDFBombFailsItsJobWithBoundedHeap uploads a 3.5 MB PDF whose page
// inflates to 1 GiB (issue 12: it took the server to 3-4 GB resident):
// its job fails with the reason, and the heap grows by less than
// jobBombHeapBound while the worker extracts it.
func TestPDFBombFailsItsJobWithBoundedHeap(t *testing.T) {
	const jobBombHeapBound = 96 << 20
	_, tenant, svc := setup(t, ingest.Options{})
	bomb := pdftest.Build(pdftest.Bomb(1024))
	var job ingest.Job
	peak := pdftest.PeakHeap(func() {
		_, job = ingestWait(t, svc, tenant, ingest.UploadInput{Folder: "/pdf", Name: "bomb.pdf", Data: bomb})
	})
	t.Logf("peak heap growth while uploading and indexing the bomb: %.1f MiB (bound %d MiB)", float64(peak)/(1<<20), jobBombHeapBound>>20)
	require.Equal(t, ingest.JobFailed, job.State)
	require.NotNil(t, job.Error)
	require.Contains(t, *job.Error, extract.CodeOverBudget)
	require.Contains(t, *job.Error, "page 1's content stream inflates past the limit")
	require.Less(t, peak, uint64(jobBombHeapBound))
}

// TestBackloggedTenantDoesNotStarveOthers queues 40 documents of one
// tenant, then one of another, with one worker: the second tenant's job
// runs after at most FairShare of the first's, not after all 40.
func TestBackloggedTenantDoesNotStarveOthers(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t)
	ctx := context.Background()
	busy, _ := testdb.Tenant(t, pool)
	other, _ := testdb.Tenant(t, pool)
	const backlog, share = 40, 8
	queue := "fair_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:20]
	enqueue, err := ingest.New(pool, embed.NewHashing(), ingest.Options{Queue: queue, FairShare: share})
	require.NoError(t, err)
	for i := range backlog {
		_, err := enqueue.Upload(ctx, busy, ingest.UploadInput{Name: fmt.Sprintf("busy%02d.txt", i), Data: []byte(fmt.Sprintf("Backlog document %d about granite.", i))})
		require.NoError(t, err)
	}
	res, err := enqueue.Upload(ctx, other, ingest.UploadInput{Name: "other.txt", Data: []byte("The other tenant's one document about rivers.")})
	require.NoError(t, err)

	work := ingesttest.ServiceOnQueue(t, pool, ingest.Options{Queue: queue, FairShare: share}, 1)
	_, err = work.WaitJob(ctx, other, res.Job.ID)
	require.NoError(t, err)
	var ahead int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM ingest_jobs WHERE tenant_id = $1 AND state = 'succeeded'
		AND finished_at < (SELECT finished_at FROM ingest_jobs WHERE id = $2)`, busy, res.Job.ID).Scan(&ahead))
	t.Logf("%d of the busy tenant's %d jobs ran before the other tenant's one", ahead, backlog)
	require.LessOrEqual(t, ahead, share)
}

func TestUploadBatchStagesNewChangedAndUnchangedTogether(t *testing.T) {
	t.Parallel()
	pool, tenant, svc := setup(t, ingest.Options{})
	ctx := context.Background()
	prep := func(folder, name, text string) store.NewVersion {
		v, err := svc.Prepare(ingest.UploadInput{Folder: folder, Name: name, Data: []byte(text)})
		require.NoError(t, err)
		return v
	}
	kept, _ := ingestWait(t, svc, tenant, ingest.UploadInput{Folder: "/kb/a", Name: "kept.txt", Data: []byte("kept words")})
	changed, _ := ingestWait(t, svc, tenant, ingest.UploadInput{Folder: "/kb/a", Name: "changed.txt", Data: []byte("old words")})
	staged, err := svc.UploadBatch(ctx, tenant, []store.NewVersion{
		prep("/kb/a", "kept.txt", "kept words"),
		prep("/kb/a", "changed.txt", "new words"),
		prep("/kb/b/c", "new.txt", "fresh words"),
	})
	require.NoError(t, err)
	require.Len(t, staged, 3)
	require.True(t, staged[0].Unchanged)
	require.Equal(t, kept.Document.ID, staged[0].DocumentID)
	require.False(t, staged[1].Unchanged)
	require.False(t, staged[1].Created)
	require.Equal(t, changed.Document.ID, staged[1].DocumentID)
	require.Equal(t, 2, staged[1].VersionNumber)
	require.True(t, staged[2].Created)
	require.Equal(t, 1, staged[2].VersionNumber)
	for _, s := range staged[1:] {
		job, err := svc.WaitJob(ctx, tenant, s.JobID)
		require.NoError(t, err)
		require.Equal(t, ingest.JobSucceeded, job.State)
	}
	var paths []string
	rows, err := pool.Query(ctx, `SELECT path FROM path_parts WHERE tenant_id = $1 AND kind IN ('document', 'version') ORDER BY path`, tenant)
	require.NoError(t, err)
	for rows.Next() {
		var p string
		require.NoError(t, rows.Scan(&p))
		paths = append(paths, p)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []string{"/kb/a/changed.txt", "/kb/a/changed.txt/v1", "/kb/a/changed.txt/v2", "/kb/a/kept.txt", "/kb/a/kept.txt/v1",
		"/kb/b/c/new.txt", "/kb/b/c/new.txt/v1"}, paths)

	// One name twice in a batch: staged one after the other, as versions 1 and 2.
	twice, err := svc.UploadBatch(ctx, tenant, []store.NewVersion{prep("/kb", "twice.txt", "one"), prep("/kb", "twice.txt", "two")})
	require.NoError(t, err)
	require.Equal(t, 1, twice[0].VersionNumber)
	require.Equal(t, 2, twice[1].VersionNumber)
	require.Equal(t, twice[0].DocumentID, twice[1].DocumentID)

	// A folder where a document would go fails the batch, writing nothing.
	_, err = svc.UploadBatch(ctx, tenant, []store.NewVersion{prep("/kb", "fine.txt", "fine"), prep("/kb", "a", "clash")})
	require.Error(t, err)
	require.True(t, apperr.Is(err, store.CodePathConflict), "%v", err)
	var n int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM path_parts WHERE tenant_id = $1 AND path = '/kb/fine.txt'`, tenant).Scan(&n))
	require.Zero(t, n)
}
