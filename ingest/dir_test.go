package ingest_test

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
)

// writeCorpus writes n text files of about size bytes under dir, spread
// over 10 subdirectories.
func writeCorpus(t testing.TB, dir string, n, size int) {
	t.Helper()
	words := strings.Fields("granite river delta mountain glacier valley forest meadow canyon plateau estuary lagoon summit ridge basin")
	for i := 0; i < n; i++ {
		sub := filepath.Join(dir, fmt.Sprintf("part%02d", i%10))
		require.NoError(t, os.MkdirAll(sub, 0o755))
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
		require.NoError(t, os.WriteFile(filepath.Join(sub, fmt.Sprintf("doc%05d.md", i)), []byte(sb.String()), 0o644))
	}
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

// reingestRun is a generated directory ingested twice, the second time
// unchanged.
type reingestRun struct {
	tenant        uuid.UUID
	svc           *ingest.Service
	dir           string
	opts          ingest.PathsOptions
	first, second ingest.Summary
}

// reingestUnchanged ingests a generated directory of files, ingests it
// again unchanged, and checks that the second pass wrote nothing.
func reingestUnchanged(ctx context.Context, t testing.TB, files int) reingestRun {
	t.Helper()
	pool, tenant, svc := setup(t, ingest.Options{})
	r := reingestRun{tenant: tenant, svc: svc, dir: t.TempDir(), opts: ingest.PathsOptions{Folder: "/corpus", Concurrency: 8}}
	writeCorpus(t, r.dir, files, 1500)
	var err error
	r.first, err = svc.IngestPaths(ctx, tenant, []string{r.dir}, r.opts)
	require.NoError(t, err)
	require.Equal(t, files, r.first.New, "%+v", r.first.Failures)
	before := rowCounts(t, pool, tenant)
	r.second, err = svc.IngestPaths(ctx, tenant, []string{r.dir}, r.opts)
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
	tenant, svc, dir := r.tenant, r.svc, r.dir
	// Speed is measured, not asserted: BenchmarkReingestUnchanged prints
	// the speed-up; here it is only logged.
	t.Logf("first ingest of %d files: %v (%d chunks); unchanged re-ingest: %v; speed-up %.0fx",
		files, r.first.Elapsed.Round(time.Millisecond), r.first.Chunks, r.second.Elapsed.Round(time.Millisecond),
		float64(r.first.Elapsed)/float64(r.second.Elapsed))

	// One changed file and one broken file: updated and failed with a reason.
	changed := filepath.Join(dir, "part03", "doc00003.md")
	require.NoError(t, os.WriteFile(changed, []byte("# Changed\n\nNew words entirely."), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "part03", "broken.pdf"), []byte("%PDF-1.4 garbage"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "part03", "image.bin"), []byte{0x89, 'P', 'N', 'G', 0, 0, 1}, 0o644))
	third, err := svc.IngestPaths(ctx, tenant, []string{dir}, r.opts)
	require.NoError(t, err)
	require.Equal(t, 1, third.Updated)
	require.Equal(t, files-1, third.Unchanged)
	require.Equal(t, 2, third.Failed)
	require.Contains(t, third.Failures[0].Err.Error(), "extraction_failed")
	require.Contains(t, third.Failures[1].Err.Error(), "unsupported_media_type")
}

func TestDeferIndexRebuildsTheHNSWIndex(t *testing.T) {
	pool, tenant, svc := setup(t, ingest.Options{})
	dir := t.TempDir()
	writeCorpus(t, dir, 20, 2000)
	sum, err := svc.IngestPaths(context.Background(), tenant, []string{dir}, ingest.PathsOptions{Folder: "/deferred", DeferIndex: true})
	require.NoError(t, err)
	require.Equal(t, 20, sum.New)
	var valid bool
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
		WHERE c.relname = $1`, ingest.ModelIndexName("cairn-hash-384-v1")).Scan(&valid))
	require.True(t, valid)
}
