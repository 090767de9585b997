package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/embed"
	"github.com/cairn-rag/cairn/ingest"
	"github.com/cairn-rag/cairn/internal/testdb"
)

// startWorker runs `cairn worker` as a subprocess against the test database.
func startWorker(t *testing.T, bin, url string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "worker")
	// The default job limits: a killed worker's small jobs must be
	// rescued within a minute without tuning.
	cmd.Env = append(os.Environ(), "DATABASE_URL="+url, "CAIRN_WORKERS=2", "CAIRN_LOG_LEVEL=warn")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd
}

// jobStates counts the tenant's ingest jobs by state.
func jobStates(pool *pgxpool.Pool, tenant uuid.UUID) (map[string]int, error) {
	rows, err := pool.Query(context.Background(), `SELECT state, count(*) FROM ingest_jobs WHERE tenant_id = $1 GROUP BY state`, tenant)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	var s string
	var n int
	_, err = pgx.ForEachRow(rows, []any{&s, &n}, func() error { out[s] = n; return nil })
	return out, err
}

// awaitStates polls the tenant's job states until cond holds, failing
// the test (from its own goroutine) when a query fails or timeout passes.
func awaitStates(t *testing.T, pool *pgxpool.Pool, tenant uuid.UUID, timeout time.Duration, what string, cond func(map[string]int) bool) map[string]int {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		s, err := jobStates(pool, tenant)
		require.NoError(t, err)
		if cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			var errs []string
			rows, err := pool.Query(context.Background(), `SELECT DISTINCT coalesce(error, '') FROM ingest_jobs WHERE tenant_id = $1`, tenant)
			if err == nil {
				errs, err = pgx.CollectRows(rows, pgx.RowTo[string])
			}
			t.Fatalf("%s: not within %v; job states %v, errors %q (%v)", what, timeout, s, errs, err)
		}
		<-tick.C
	}
}

// TestWorkerKilledMidIngestFinishesWithoutDuplicates builds the binary,
// runs `cairn worker`, kills it with SIGKILL while it is indexing, starts
// it again, and checks that every document is indexed within a minute of
// the kill, exactly once, with no orphan chunks.
func TestWorkerKilledMidIngestFinishesWithoutDuplicates(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and waits for River's rescuer")
	}
	pool := testdb.Pool(t)
	url := testdb.URL(t)
	tenant, _ := testdb.Tenant(t, pool)
	ctx := context.Background()

	bin := filepath.Join(t.TempDir(), "cairn")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	require.NoError(t, build.Run())

	// Enqueue with an insert-only client; only the subprocess works.
	svc, err := ingest.New(pool, embed.NewHashing(), ingest.Options{})
	require.NoError(t, err)
	const docs = 40
	for i := 0; i < docs; i++ {
		var sb strings.Builder
		for j := 0; sb.Len() < 150_000; j++ {
			fmt.Fprintf(&sb, "Document %d paragraph %d talks about granite, rivers and glaciers number %d.\n\n", i, j, i*j)
		}
		_, err := svc.Upload(ctx, tenant, ingest.UploadInput{Folder: "/kill", Name: fmt.Sprintf("doc%03d.txt", i), Data: []byte(sb.String())})
		require.NoError(t, err)
	}

	w := startWorker(t, bin, url)
	awaitStates(t, pool, tenant, 2*time.Minute, "the worker makes progress", func(s map[string]int) bool {
		return s[ingest.JobSucceeded] >= 3 && s[ingest.JobRunning] >= 1
	})
	require.NoError(t, w.Process.Signal(syscall.SIGKILL))
	killed := time.Now()
	_ = w.Wait()
	var stuck int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE state = 'running'`).Scan(&stuck))
	before, err := jobStates(pool, tenant)
	require.NoError(t, err)
	t.Logf("killed the worker: %d River jobs left running, ingest jobs %v", stuck, before)
	require.Less(t, before[ingest.JobSucceeded], docs, "killed before the end")

	startWorker(t, bin, url)
	// Issue 12: every document current within 60 s of the kill, with the
	// default settings (River's rescuer plus size-scaled job limits).
	awaitStates(t, pool, tenant, time.Minute, "every job finishes within a minute of the kill", func(s map[string]int) bool {
		return s[ingest.JobSucceeded] == docs
	})
	t.Logf("every document current %.1f s after the kill", time.Since(killed).Seconds())

	var current, versions, dupes, orphans, mismatched, retried int
	require.NoError(t, pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM documents WHERE tenant_id = $1 AND current_version_id IS NOT NULL),
		(SELECT count(*) FROM document_versions WHERE tenant_id = $1),
		(SELECT count(*) FROM (SELECT version_id, ordinal FROM chunks WHERE tenant_id = $1 GROUP BY 1, 2 HAVING count(*) > 1) d),
		(SELECT count(*) FROM chunks c WHERE c.tenant_id = $1 AND NOT EXISTS (
			SELECT 1 FROM documents d WHERE d.tenant_id = c.tenant_id AND d.current_version_id = c.version_id)),
		(SELECT count(*) FROM document_versions v WHERE v.tenant_id = $1 AND v.chunk_count <>
			(SELECT count(*) FROM chunks c WHERE c.tenant_id = v.tenant_id AND c.version_id = v.id)),
		(SELECT count(*) FROM ingest_jobs WHERE tenant_id = $1 AND attempts > 1)`, tenant).
		Scan(&current, &versions, &dupes, &orphans, &mismatched, &retried))
	t.Logf("after restart: %d documents current, %d versions, %d duplicate chunks, %d orphan chunks, %d jobs retried", current, versions, dupes, orphans, retried)
	require.Equal(t, docs, current)
	require.Equal(t, docs, versions)
	require.Zero(t, dupes)
	require.Zero(t, orphans)
	require.Zero(t, mismatched)
	if stuck > 0 {
		require.GreaterOrEqual(t, retried, 1, "a killed job ran again")
	}
}
