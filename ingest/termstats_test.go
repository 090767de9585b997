package ingest_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/ingest"
	"github.com/cairn-rag/cairn/ingest/chunk"
	"github.com/cairn-rag/cairn/ingest/store"
	"github.com/cairn-rag/cairn/internal/apperr"
	"github.com/cairn-rag/cairn/textsearch/termstats"
)

// requireStatsMatchChunks checks the tenant's term statistics as the
// text leg reads them (termstats.Lookup) against a recount from the
// stored chunks' tsvectors: every lexeme's document frequency, the chunk
// count and the summed lengths.
func requireStatsMatchChunks(t *testing.T, pool *pgxpool.Pool, tenant uuid.UUID) {
	t.Helper()
	ctx := context.Background()
	rows, err := pool.Query(ctx, `SELECT u.lexeme, count(*) FROM chunks c, unnest(c.tsv) u WHERE c.tenant_id = $1 GROUP BY 1`, tenant)
	require.NoError(t, err)
	want := map[string]int64{}
	var term string
	var n int64
	_, err = pgx.ForEachRow(rows, []any{&term, &n}, func() error { want[term] = n; return nil })
	require.NoError(t, err)
	var wantChunks, wantTokens int64
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*), coalesce(sum(length(tsv)), 0) FROM chunks WHERE tenant_id = $1`, tenant).Scan(&wantChunks, &wantTokens))
	terms, err := pgx.CollectRows(must(pool.Query(ctx, `SELECT lexeme FROM chunks c, unnest(c.tsv) u WHERE c.tenant_id = $1
		UNION SELECT term FROM term_stats WHERE tenant_id = $1 UNION SELECT term FROM term_stat_deltas WHERE tenant_id = $1 ORDER BY 1`, tenant)), pgx.RowTo[string])
	require.NoError(t, err)
	chunks, tokens, dfs, err := termstats.Lookup(ctx, pool, tenant, terms)
	require.NoError(t, err)
	require.Equal(t, wantChunks, chunks, "chunks")
	require.Equal(t, wantTokens, tokens, "tokens")
	require.Len(t, dfs, len(terms))
	for i, term := range terms {
		var got int64
		if dfs[i] != nil {
			got = *dfs[i]
		}
		require.Equal(t, want[term], got, "df of %q", term)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestTermStatisticsUnderConcurrentIngestAndDelete: documents sharing
// most of their terms (in several scripts) are ingested, re-versioned and
// deleted by concurrent callers, some deleted while their job may be
// running, with compactions in between; afterwards the statistics equal
// a recount from the chunks (no lost update, no double count), before
// and after a final compaction, and no caller saw a deadlock.
func TestTermStatisticsUnderConcurrentIngestAndDelete(t *testing.T) {
	t.Parallel()
	pool, tenant, svc := setup(t, ingest.Options{Chunk: chunk.Options{Target: 80, Overlap: 10}})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	text := func(i, v int) string {
		return strings.Repeat(fmt.Sprintf("The common river flows past stone %d and word%d in version %d. 東京は日本の首都です。 กรุงเทพมหานคร हिन्दी भाषा. ", i%5, i, v), 4)
	}
	stop := make(chan struct{})
	compactions := make(chan error, 1)
	go func() {
		defer close(compactions)
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if err := termstats.Compact(ctx, pool, tenant); err != nil {
				compactions <- err
				return
			}
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < 36; i += 6 {
				in := ingest.UploadInput{Folder: "/kb", Name: fmt.Sprintf("d%d.txt", i), Data: []byte(text(i, 1))}
				res, err := svc.Upload(ctx, tenant, in)
				if err != nil {
					errs <- err
					return
				}
				switch i % 3 {
				case 0: // deleted at once, its job queued or running
					if err := svc.Delete(ctx, tenant, res.Document.ID); err != nil && !apperr.Is(err, store.CodeDocumentNotFound) {
						errs <- err
						return
					}
				case 1: // a second version, then deleted once indexed
					if _, err := svc.WaitJob(ctx, tenant, res.Job.ID); err != nil {
						errs <- err
						return
					}
					in.Data = []byte(text(i, 2))
					res2, err := svc.Upload(ctx, tenant, in)
					if err != nil {
						errs <- err
						return
					}
					if _, err := svc.WaitJob(ctx, tenant, res2.Job.ID); err != nil {
						errs <- err
						return
					}
					if err := svc.Delete(ctx, tenant, res.Document.ID); err != nil {
						errs <- err
						return
					}
				default: // kept
					if _, err := svc.WaitJob(ctx, tenant, res.Job.ID); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	// Jobs of documents deleted while queued end without writing.
	require.Eventually(t, func() bool {
		var open int
		require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE state NOT IN ('completed', 'cancelled', 'discarded') AND args->>'tenant_id' = $1`, tenant.String()).Scan(&open))
		return open == 0
	}, time.Minute, 50*time.Millisecond)
	close(stop)
	for err := range compactions {
		require.NoError(t, err)
	}
	var kept int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM documents WHERE tenant_id = $1`, tenant).Scan(&kept))
	require.Equal(t, 12, kept)
	requireStatsMatchChunks(t, pool, tenant)
	require.NoError(t, termstats.Compact(ctx, pool, tenant))
	var deltas int
	require.NoError(t, pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM term_stat_deltas WHERE tenant_id = $1) + (SELECT count(*) FROM tenant_text_stat_deltas WHERE tenant_id = $1)`, tenant).Scan(&deltas))
	require.Zero(t, deltas, "a compaction folds every delta")
	requireStatsMatchChunks(t, pool, tenant)
}
