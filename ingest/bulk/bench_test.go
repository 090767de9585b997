package bulk_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pgvector/pgvector-go"
	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/ingest"
	"github.com/cairn-rag/cairn/ingest/bulk"
	"github.com/cairn-rag/cairn/ingest/ingesttest"
	"github.com/cairn-rag/cairn/internal/testdb"
)

// BenchmarkIngestThroughput ingests a generated corpus of more than
// 20,000 chunks end to end (bulk.Load: upload, River job, extraction,
// chunking, offline embedding, COPY, visibility flip) and then COPYs the
// very same rows raw into the same table with the same indexes, and
// prints both rates and their ratio. For scale it also times, inside a
// rolled-back transaction, the raw COPY without the HNSW index and the
// index build after the load.
func BenchmarkIngestThroughput(b *testing.B) {
	pool := testdb.Pool(b)
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		tenant, _ := testdb.Tenant(b, pool)
		svc := ingesttest.Service(b, pool, ingest.Options{}, 6)
		dir := b.TempDir()
		const files = 2600
		corpus := writeCorpus(b, dir, "/bench", files, 6000)
		var bytes int64
		_ = filepath.Walk(dir, func(_ string, fi os.FileInfo, _ error) error {
			if fi != nil && !fi.IsDir() {
				bytes += fi.Size()
			}
			return nil
		})
		b.ResetTimer()
		sum, err := bulk.Load(ctx, svc, tenant, corpus, bulk.Options{Concurrency: 6})
		b.StopTimer()
		require.NoError(b, err)
		require.Equal(b, files, sum.New, "%+v", sum.Failures)
		require.GreaterOrEqual(b, sum.Chunks, 20000)
		e2e := sum.Elapsed.Seconds()
		e2eRate := float64(sum.Chunks) / e2e
		fmt.Printf("ingest end-to-end: %d files, %d chunks, %.1f MB in %.1fs: %.1f files/s, %.0f chunks/s, %.2f MB/s\n",
			files, sum.Chunks, float64(bytes)/1e6, e2e, float64(files)/e2e, e2eRate, float64(bytes)/1e6/e2e)

		rows := loadRows(b, pool, tenant)
		// Same tenant, fresh ids, rolled back afterwards.
		rawDur := rawCopy(b, pool, tenant, rows, "")
		rawRate := float64(len(rows)) / rawDur.Seconds()
		fmt.Printf("raw CopyFrom, same rows, same table and indexes (HNSW present): %d rows in %.1fs: %.0f rows/s\n", len(rows), rawDur.Seconds(), rawRate)
		fmt.Printf("ratio end-to-end/raw: %.2f\n", e2eRate/rawRate)

		rawCopy(b, pool, uuid.Nil, rows, "no-hnsw")
		for _, ef := range []int{64, 32} {
			d := scratchCopy(b, pool, rows, fmt.Sprintf("m = 16, ef_construction = %d", ef))
			fmt.Printf("for scale: raw CopyFrom into a scratch copy with HNSW (m=16, ef_construction=%d) maintained row by row: %.0f rows/s\n",
				ef, float64(len(rows))/d.Seconds())
		}
		// The same corpus again under a new folder with the HNSW index
		// dropped for the load and rebuilt at the end (time included).
		deferred := make([]bulk.File, len(corpus))
		for i, f := range corpus {
			deferred[i] = bulk.File{Path: f.Path, Folder: "/bench-deferred" + strings.TrimPrefix(f.Folder, "/bench"), Name: f.Name}
		}
		dsum, err := bulk.Load(ctx, svc, tenant, deferred, bulk.Options{Concurrency: 6, DeferIndex: true})
		require.NoError(b, err)
		require.Equal(b, files, dsum.New)
		dRate := float64(dsum.Chunks) / dsum.Elapsed.Seconds()
		fmt.Printf("ingest end-to-end with --defer-index (HNSW dropped, rebuilt after; rebuild included): %d chunks in %.1fs: %.1f files/s, %.0f chunks/s, %.2f MB/s; ratio to raw with HNSW: %.2f\n",
			dsum.Chunks, dsum.Elapsed.Seconds(), float64(files)/dsum.Elapsed.Seconds(), dRate, float64(bytes)/1e6/dsum.Elapsed.Seconds(), dRate/rawRate)
		var idx bool
		require.NoError(b, pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_indexes WHERE indexname = 'chunks_hnsw_cairn_hash_384_v1')`).Scan(&idx))
		require.True(b, idx, "the HNSW index is back")
		b.ReportMetric(e2eRate, "chunks/s")
		b.ReportMetric(e2eRate/rawRate, "ratio")
	}
}

// loadRows reads back the chunk rows of a tenant, in COPY column order.
func loadRows(b *testing.B, pool *pgxpool.Pool, tenant uuid.UUID) [][]any {
	rs, err := pool.Query(context.Background(), `SELECT document_id, version_id, ordinal, content, start_offset, end_offset, page, search_terms, model_id, embedding
		FROM chunks WHERE tenant_id = $1 ORDER BY version_id, ordinal`, tenant)
	require.NoError(b, err)
	var out [][]any
	for rs.Next() {
		var doc, ver uuid.UUID
		var ord, so, eo int
		var page *int
		var content, terms, model string
		var vec pgvector.Vector
		require.NoError(b, rs.Scan(&doc, &ver, &ord, &content, &so, &eo, &page, &terms, &model, &vec))
		out = append(out, []any{nil, nil, doc, ver, ord, content, so, eo, page, terms, model, vec})
	}
	require.NoError(b, rs.Err())
	return out
}

var benchColumns = []string{"tenant_id", "id", "document_id", "version_id", "ordinal", "content", "start_offset", "end_offset", "page",
	"search_terms", "model_id", "embedding"}

// rawCopy COPYs rows into chunks under tenant in one transaction and
// returns the COPY's duration; the transaction is rolled back. mode "no-hnsw" drops the HNSW index inside
// the transaction, times the COPY and then the index build, prints both
// and rolls everything back.
func rawCopy(b *testing.B, pool *pgxpool.Pool, tenant uuid.UUID, rows [][]any, mode string) time.Duration {
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	require.NoError(b, err)
	defer func() { _ = tx.Rollback(ctx) }()
	if mode == "no-hnsw" {
		// A scratch table shaped like chunks, with its indexes but no HNSW.
		_, err = tx.Exec(ctx, `CREATE TEMP TABLE scratch (LIKE chunks INCLUDING DEFAULTS INCLUDING GENERATED INCLUDING INDEXES) ON COMMIT DROP`)
		require.NoError(b, err)
		var hnsw string
		require.NoError(b, tx.QueryRow(ctx, `SELECT indexname FROM pg_indexes WHERE tablename = 'scratch' AND indexdef LIKE '%hnsw%'`).Scan(&hnsw))
		_, err = tx.Exec(ctx, `DROP INDEX `+pgx.Identifier{hnsw}.Sanitize())
		require.NoError(b, err)
		t0 := time.Now()
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"scratch"}, benchColumns, withIDs(rows, uuid.New()))
		require.NoError(b, err)
		d := time.Since(t0)
		t1 := time.Now()
		_, err = tx.Exec(ctx, `CREATE INDEX ON scratch USING hnsw ((embedding::vector(384)) vector_cosine_ops) WHERE model_id = 'cairn-hash-384-v1'`)
		require.NoError(b, err)
		fmt.Printf("for scale: raw CopyFrom without the HNSW index: %.0f rows/s; HNSW build after the load: %.1fs (%d rows)\n",
			float64(len(rows))/d.Seconds(), time.Since(t1).Seconds(), len(rows))
		return d
	}
	t0 := time.Now()
	_, err = tx.CopyFrom(ctx, pgx.Identifier{"chunks"}, benchColumns, withIDs(rows, tenant))
	require.NoError(b, err)
	return time.Since(t0)
}

// withIDs fills tenant and fresh chunk ids into the rows.
func withIDs(rows [][]any, tenant uuid.UUID) pgx.CopyFromSource {
	i := 0
	return pgx.CopyFromFunc(func() ([]any, error) {
		if i >= len(rows) {
			return nil, nil
		}
		r := append([]any(nil), rows[i]...)
		r[0], r[1] = tenant, uuid.Must(uuid.NewV7())
		i++
		return r, nil
	})
}

// scratchCopy COPYs rows into a rolled-back scratch table shaped like
// chunks whose HNSW index has the given storage parameters.
func scratchCopy(b *testing.B, pool *pgxpool.Pool, rows [][]any, params string) time.Duration {
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	require.NoError(b, err)
	defer func() { _ = tx.Rollback(ctx) }()
	_, err = tx.Exec(ctx, `CREATE TEMP TABLE scratch_ef (LIKE chunks INCLUDING DEFAULTS INCLUDING GENERATED) ON COMMIT DROP`)
	require.NoError(b, err)
	_, err = tx.Exec(ctx, `CREATE INDEX ON scratch_ef USING hnsw ((embedding::vector(384)) vector_cosine_ops) WITH (`+params+`) WHERE model_id = 'cairn-hash-384-v1'`)
	require.NoError(b, err)
	t0 := time.Now()
	_, err = tx.CopyFrom(ctx, pgx.Identifier{"scratch_ef"}, benchColumns, withIDs(rows, uuid.New()))
	require.NoError(b, err)
	return time.Since(t0)
}

// BenchmarkReingestUnchanged ingests a directory of 1,000 files, then
// ingests it again unchanged 10 times, and prints the first time and the
// min/median/max of the unchanged ones with the speed-up of the median
// (the aim is at least 20x: an unchanged pass reads one folder's
// checksums in one query and writes nothing).
func BenchmarkReingestUnchanged(b *testing.B) {
	const files, reps = 1000, 10
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	r := reingestUnchanged(ctx, b, files)
	times := []time.Duration{r.second.Elapsed}
	for len(times) < reps {
		sum, err := bulk.Load(ctx, r.svc, r.tenant, r.files, r.opts)
		require.NoError(b, err)
		require.Equal(b, files, sum.Unchanged)
		times = append(times, sum.Elapsed)
	}
	slices.Sort(times)
	median := times[reps/2]
	b.ReportMetric(float64(r.first.Elapsed)/float64(median), "speedup")
	fmt.Printf("reingest %d files: first %v (%d chunks); unchanged x%d: min %v, median %v, max %v; speed-up of the median %.0fx (aim >= 20x)\n",
		files, r.first.Elapsed.Round(time.Millisecond), r.first.Chunks, reps, times[0].Round(time.Millisecond), median.Round(time.Millisecond),
		times[reps-1].Round(time.Millisecond), float64(r.first.Elapsed)/float64(median))
}
