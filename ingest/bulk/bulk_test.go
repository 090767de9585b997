package bulk_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/ingest"
	"github.com/cairn-rag/cairn/ingest/bulk"
	"github.com/cairn-rag/cairn/ingest/extract"
	"github.com/cairn-rag/cairn/ingest/ingesttest"
	"github.com/cairn-rag/cairn/ingest/store"
	"github.com/cairn-rag/cairn/internal/apperr"
	"github.com/cairn-rag/cairn/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// writeCorpus writes n text files of about size bytes under dir, spread
// over 10 subdirectories, and returns them as Files under folder (each
// subdirectory a subfolder).
func writeCorpus(t testing.TB, dir, folder string, n, size int) []bulk.File {
	t.Helper()
	words := strings.Fields("granite river delta mountain glacier valley forest meadow canyon plateau estuary lagoon summit ridge basin")
	var files []bulk.File
	for i := 0; i < n; i++ {
		var sb strings.Builder
		fmt.Fprintf(&sb, "# Document %d\n\n", i)
		for j := 0; sb.Len() < size; j++ {
			sb.WriteString(words[(i*7+j*3)%len(words)])
			if j%12 == 11 {
				sb.WriteString(".\n\n")
			} else {
				sb.WriteByte(' ')
			}
		}
		files = append(files, writeFile(t, dir, folder, fmt.Sprintf("part%02d", i%10), fmt.Sprintf("doc%05d.md", i), sb.String()))
	}
	return files
}

// writeFile writes dir/sub/name and returns it as the File folder/sub/name.
func writeFile(t testing.TB, dir, folder, sub, name, content string) bulk.File {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, sub), 0o755))
	p := filepath.Join(dir, sub, name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	return bulk.File{Path: p, Folder: folder + "/" + sub, Name: name}
}

// rowCounts counts everything ingestion writes for a tenant.
func rowCounts(t testing.TB, pool *pgxpool.Pool, tenant uuid.UUID) [5]int64 {
	t.Helper()
	var c [5]int64
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT
		(SELECT count(*) FROM documents WHERE tenant_id = $1),
		(SELECT count(*) FROM document_versions WHERE tenant_id = $1),
		(SELECT count(*) FROM chunks WHERE tenant_id = $1),
		(SELECT count(*) FROM ingest_jobs WHERE tenant_id = $1),
		(SELECT count(*) FROM path_parts WHERE tenant_id = $1)`, tenant).Scan(&c[0], &c[1], &c[2], &c[3], &c[4]))
	return c
}

// reingestRun is a generated directory loaded twice, the second time
// unchanged.
type reingestRun struct {
	tenant        uuid.UUID
	svc           *ingest.Service
	dir           string
	files         []bulk.File
	opts          bulk.Options
	first, second bulk.Summary
}

// reingestUnchanged loads a generated directory of files, loads it again
// unchanged, and checks that the second pass wrote nothing.
func reingestUnchanged(ctx context.Context, t testing.TB, files int) reingestRun {
	t.Helper()
	pool, tenant, svc := ingesttest.Setup(t, ingest.Options{})
	r := reingestRun{tenant: tenant, svc: svc, dir: t.TempDir(), opts: bulk.Options{Concurrency: 8}}
	r.files = writeCorpus(t, r.dir, "/corpus", files, 1500)
	var err error
	r.first, err = bulk.Load(ctx, svc, tenant, r.files, r.opts)
	require.NoError(t, err)
	require.Equal(t, files, r.first.New, "%+v", r.first.Failures)
	before := rowCounts(t, pool, tenant)
	r.second, err = bulk.Load(ctx, svc, tenant, r.files, r.opts)
	require.NoError(t, err)
	require.Equal(t, files, r.second.Unchanged)
	require.Equal(t, before, rowCounts(t, pool, tenant), "an unchanged re-ingest writes nothing")
	return r
}

func TestReingestUnchangedDirectoryWritesNothing(t *testing.T) {
	const files = 1000
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	r := reingestUnchanged(ctx, t, files)
	// Speed is measured, not asserted: BenchmarkReingestUnchanged prints
	// the speed-up; here it is only logged.
	t.Logf("first ingest of %d files: %v (%d chunks); unchanged re-ingest: %v; speed-up %.0fx",
		files, r.first.Elapsed.Round(time.Millisecond), r.first.Chunks, r.second.Elapsed.Round(time.Millisecond),
		float64(r.first.Elapsed)/float64(r.second.Elapsed))

	// One changed file and one broken file: updated and failed with a reason.
	changed := writeFile(t, r.dir, "/corpus", "part03", "doc00003.md", "# Changed\n\nNew words entirely.")
	require.Contains(t, r.files, changed)
	all := append(r.files,
		writeFile(t, r.dir, "/corpus", "part03", "broken.pdf", "%PDF-1.4 garbage"),
		writeFile(t, r.dir, "/corpus", "part03", "image.bin", "\x89PNG\x00\x00\x01"))
	third, err := bulk.Load(ctx, r.svc, r.tenant, all, r.opts)
	require.NoError(t, err)
	require.Equal(t, 1, third.Updated)
	require.Equal(t, files-1, third.Unchanged)
	require.Equal(t, 2, third.Failed)
	require.Contains(t, third.Failures[0].Err.Error(), extract.CodeExtractionFailed)
	require.Contains(t, third.Failures[1].Err.Error(), extract.CodeUnsupportedMediaType)
}

func TestLoadFailsFilesOfAnInvalidFolderAndKeepsTheRest(t *testing.T) {
	t.Parallel()
	_, tenant, svc := ingesttest.Setup(t, ingest.Options{MaxBytes: 1024})
	dir := t.TempDir()
	good := writeFile(t, dir, "/kb", "ok", "a.txt", "fine words")
	bad := writeFile(t, dir, "/kb", "ok", "b.txt", "lost words")
	bad.Folder = "/kb/../x"
	big := writeFile(t, dir, "/kb", "ok", "big.txt", strings.Repeat("x", 2048))
	var progress []bulk.Progress
	sum, err := bulk.Load(context.Background(), svc, tenant, []bulk.File{good, bad, big},
		bulk.Options{Progress: func(p bulk.Progress) { progress = append(progress, p) }})
	require.NoError(t, err)
	require.Equal(t, 1, sum.New)
	require.Equal(t, 2, sum.Failed)
	require.Len(t, progress, 3)
	require.Equal(t, 3, progress[2].FilesDone)
	byName := map[string]error{}
	for _, f := range sum.Failures {
		byName[f.Name] = f.Err
	}
	require.True(t, apperr.Is(byName["b.txt"], store.CodeValidationFailed), "%v", byName["b.txt"])
	require.True(t, apperr.Is(byName["big.txt"], ingest.CodePayloadTooLarge), "%v", byName["big.txt"])
}

func TestDeferIndexRebuildsTheHNSWIndex(t *testing.T) {
	pool, tenant, svc := ingesttest.Setup(t, ingest.Options{})
	files := writeCorpus(t, t.TempDir(), "/deferred", 20, 2000)
	sum, err := bulk.Load(context.Background(), svc, tenant, files, bulk.Options{DeferIndex: true})
	require.NoError(t, err)
	require.Equal(t, 20, sum.New)
	var valid bool
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
		WHERE c.relname = $1`, store.ModelIndexName("cairn-hash-384-v1")).Scan(&valid))
	require.True(t, valid)
}

func TestALoadLargerThanTheIndexRebuildsItAndASmallOneKeepsIt(t *testing.T) {
	pool, tenant, svc := ingesttest.Setup(t, ingest.Options{})
	ctx := context.Background()
	indexOID := func() uint32 {
		var oid uint32
		require.NoError(t, pool.QueryRow(ctx, `SELECT c.oid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
			WHERE c.relname = $1 AND i.indisvalid`, store.ModelIndexName("cairn-hash-384-v1")).Scan(&oid))
		return oid
	}
	var indexed int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM chunks`).Scan(&indexed))
	// About 3,400 chunks (by bulk's estimate, 2.4 MB over 700 code points
	// a chunk): more than the index holds unless other tests filled it,
	// so the load defers it (a new index afterwards).
	const files, size = 30, 80_000
	before := indexOID()
	sum, err := bulk.Load(ctx, svc, tenant, writeCorpus(t, t.TempDir(), "/auto", files, size), bulk.Options{})
	require.NoError(t, err)
	require.Equal(t, files, sum.New)
	after := indexOID()
	if indexed < files*size/700 {
		require.NotEqual(t, before, after, "the index was rebuilt")
	}
	// The same load with KeepIndex, and one under the threshold, keep it.
	_, err = bulk.Load(ctx, svc, tenant, writeCorpus(t, t.TempDir(), "/kept", 20, 2000), bulk.Options{AutoDeferChunks: 10, KeepIndex: true})
	require.NoError(t, err)
	_, err = bulk.Load(ctx, svc, tenant, writeCorpus(t, t.TempDir(), "/small", 20, 2000), bulk.Options{})
	require.NoError(t, err)
	require.Equal(t, after, indexOID())
}
