package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/internal/testdb"
)

func TestIngestCommandSummarisesAndFailsOnBadFiles(t *testing.T) {
	pool := testdb.Pool(t)
	tenant, _ := testdb.Tenant(t, pool)
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "guides"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "readme.md"), []byte("# Readme\n\nHello there."), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "guides", "page.html"), []byte("<html><body><nav>menu</nav><p>Guide text.</p></body></html>"), 0o644))
	vars := map[string]string{"DATABASE_URL": testdb.URL(t), "CAIRN_TENANT_ID": tenant.String()}
	ingest := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		env := &environment{stdout: &out, stderr: &errOut, getenv: func(k string) string { return vars[k] }}
		return run(context.Background(), env, append([]string{"ingest"}, args...)), out.String(), errOut.String()
	}

	code, out, stderr := ingest(dir, "--folder", "/kb", "--concurrency", "2")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "2 new, 0 updated, 0 unchanged, 0 failed")
	require.Contains(t, stderr, "ingest: 2/2 files", "plain progress lines when not on a terminal")

	require.NoError(t, os.WriteFile(filepath.Join(dir, "readme.md"), []byte("# Readme\n\nChanged."), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "photo.png"), []byte("\x89PNG\r\n\x1a\n\x00\x00"), 0o644))
	code, out, _ = ingest("--folder", "/kb", dir)
	require.Equal(t, 1, code)
	require.Contains(t, out, "0 new, 1 updated, 1 unchanged, 1 failed")
	require.Contains(t, out, "photo.png: unsupported_media_type")

	var html string
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT v.text FROM document_versions v JOIN path_parts p ON p.tenant_id = v.tenant_id AND p.id = v.path_part_id
		WHERE v.tenant_id = $1 AND p.path = '/kb/guides/page.html/v1'`, tenant).Scan(&html))
	require.Equal(t, "Guide text.", strings.TrimSpace(html))

	require.NoError(t, os.Remove(filepath.Join(dir, "photo.png")))
	code, out, stderr = ingest("--folder", "/kb", dir)
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "0 new, 0 updated, 2 unchanged, 0 failed")
	code, _, stderr = ingest("--tenant", "nope", dir)
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "tenant")
}
