package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/ingest/bulk"
	"github.com/cairn-rag/cairn/internal/testdb"
	"github.com/cairn-rag/cairn/pathtree"
)

// ingestCLI returns a function that runs `cairn ingest ARGS...` against
// the test database for tenant.
func ingestCLI(t *testing.T, tenant uuid.UUID) func(args ...string) (int, string, string) {
	vars := map[string]string{"DATABASE_URL": testdb.URL(t), "CAIRN_TENANT_ID": tenant.String()}
	return func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		env := &environment{stdout: &out, stderr: &errOut, getenv: func(k string) string { return vars[k] }}
		return run(context.Background(), env, append([]string{"ingest"}, args...)), out.String(), errOut.String()
	}
}

// write writes content to dir/rel, creating directories.
func write(t *testing.T, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
}

// versionText returns the text of the version at path.
func versionText(t *testing.T, pool *pgxpool.Pool, tenant uuid.UUID, path string) string {
	t.Helper()
	var text string
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT v.text FROM document_versions v JOIN path_parts p ON p.tenant_id = v.tenant_id AND p.id = v.path_part_id
		WHERE v.tenant_id = $1 AND p.path = $2`, tenant, path).Scan(&text), path)
	return text
}

func TestIngestCommandSummarisesAndFailsOnBadFiles(t *testing.T) {
	pool := testdb.Pool(t)
	tenant, _ := testdb.Tenant(t, pool)
	dir := filepath.Join(t.TempDir(), "site")
	write(t, dir, "readme.md", "# Readme\n\nHello there.")
	write(t, dir, "guides/page.html", "<html><body><nav>menu</nav><p>Guide text.</p></body></html>")
	ingest := ingestCLI(t, tenant)

	code, out, stderr := ingest(dir, "--folder", "/kb", "--concurrency", "2")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "2 new, 0 updated, 0 unchanged, 0 failed")
	require.Contains(t, out, dir+" -> /kb/site/: 2 files: 2 new")
	require.Contains(t, stderr, "ingest: 2/2 files", "plain progress lines when not on a terminal")

	write(t, dir, "readme.md", "# Readme\n\nChanged.")
	write(t, dir, "photo.png", "\x89PNG\r\n\x1a\n\x00\x00")
	code, out, _ = ingest("--folder", "/kb", dir)
	require.Equal(t, 1, code)
	require.Contains(t, out, "0 new, 1 updated, 1 unchanged, 1 failed")
	require.Contains(t, out, "photo.png -> /kb/site/photo.png: unsupported_media_type")

	require.Equal(t, "Guide text.", strings.TrimSpace(versionText(t, pool, tenant, "/kb/site/guides/page.html/v1")))

	require.NoError(t, os.Remove(filepath.Join(dir, "photo.png")))
	code, out, stderr = ingest("--folder", "/kb", dir)
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "0 new, 0 updated, 2 unchanged, 0 failed")
	code, _, stderr = ingest("--tenant", "nope", dir)
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "tenant")
}

// TestIngestCommandKeepsEachTree: two trees with the same file names
// become two folders; no file becomes a version of another's document.
func TestIngestCommandKeepsEachTree(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t)
	tenant, _ := testdb.Tenant(t, pool)
	root := t.TempDir()
	a, b := filepath.Join(root, "a"), filepath.Join(root, "b")
	write(t, a, "notes.txt", "alpha notes about granite")
	write(t, a, "sub/deep.md", "# Alpha deep")
	write(t, b, "notes.txt", "beta notes about rivers")
	write(t, b, "sub/deep.md", "# Beta deep")
	write(t, root, "single.txt", "a single file")

	code, out, stderr := ingestCLI(t, tenant)(a+"/", b, filepath.Join(root, "single.txt"), "--folder", "/kb/x")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "5 new, 0 updated, 0 unchanged, 0 failed")
	require.Contains(t, out, a+"/ -> /kb/x/a/: 2 files: 2 new")
	require.Contains(t, out, b+" -> /kb/x/b/: 2 files: 2 new")
	require.Contains(t, out, "single.txt -> /kb/x/single.txt: 1 file: 1 new")
	for path, text := range map[string]string{
		"/kb/x/a/notes.txt/v1":   "alpha notes about granite",
		"/kb/x/b/notes.txt/v1":   "beta notes about rivers",
		"/kb/x/a/sub/deep.md/v1": "# Alpha deep",
		"/kb/x/b/sub/deep.md/v1": "# Beta deep",
		"/kb/x/single.txt/v1":    "a single file",
	} {
		require.Equal(t, text, versionText(t, pool, tenant, path))
	}
	var docs, versions int
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM documents WHERE tenant_id = $1),
		(SELECT count(*) FROM document_versions WHERE tenant_id = $1)`, tenant).Scan(&docs, &versions))
	require.Equal(t, 5, docs)
	require.Equal(t, 5, versions, "every file is version 1 of its own document")
}

func TestIngestCommandRefusesTwoFilesForOneDocument(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t)
	tenant, _ := testdb.Tenant(t, pool)
	root := t.TempDir()
	write(t, root, "a/notes.txt", "alpha")
	write(t, root, "b/notes.txt", "beta")
	code, _, stderr := ingestCLI(t, tenant)(filepath.Join(root, "a", "notes.txt"), filepath.Join(root, "b", "notes.txt"), "--folder", "/kb/x")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "would both become /kb/x/notes.txt")
	var docs int
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT count(*) FROM documents WHERE tenant_id = $1`, tenant).Scan(&docs))
	require.Zero(t, docs, "nothing is written")
}

func TestPlanIngest(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	write(t, root, "go/doc/a.md", "a")
	write(t, root, "go/b.txt", "b")
	write(t, root, "go/.git/config", "hidden")
	write(t, root, "go/.hidden.txt", "hidden")
	write(t, root, "other/go/b.txt", "another b")
	write(t, root, "loose.txt", "loose")
	rel := func(p string) string { return filepath.Join(root, filepath.FromSlash(p)) }
	dests := func(p ingestPlan) map[string]string {
		out := map[string]string{}
		for _, f := range p.files {
			out[strings.TrimPrefix(f.Path, root+string(filepath.Separator))] = pathtree.Child(f.Folder, f.Name)
		}
		return out
	}

	t.Run("DirectoryBecomesAFolderNamedAfterIt", func(t *testing.T) {
		t.Parallel()
		p, err := planIngest([]string{rel("go") + "/"}, "/kb", 10)
		require.NoError(t, err)
		require.Equal(t, map[string]string{"go/doc/a.md": "/kb/go/doc/a.md", "go/b.txt": "/kb/go/b.txt"}, dests(p))
		require.Equal(t, []ingestArg{{Arg: rel("go") + "/", Dest: "/kb/go", Dir: true}}, p.args)
	})
	t.Run("FileLandsInTheFolder", func(t *testing.T) {
		t.Parallel()
		p, err := planIngest([]string{rel("loose.txt")}, "/", 10)
		require.NoError(t, err)
		require.Equal(t, map[string]string{"loose.txt": "/loose.txt"}, dests(p))
		require.Equal(t, "/loose.txt", p.args[0].Dest)
	})
	t.Run("DotPutsTheContentsInTheFolder", func(t *testing.T) {
		t.Parallel()
		name, err := dirName(".")
		require.NoError(t, err)
		require.Empty(t, name)
		name, err = dirName(rel("go"))
		require.NoError(t, err)
		require.Equal(t, "go", name)
	})
	t.Run("TwoDirectoriesOfOneNameClash", func(t *testing.T) {
		t.Parallel()
		_, err := planIngest([]string{rel("go"), rel("other/go")}, "/kb", 10)
		require.ErrorAs(t, err, new(usageError))
		require.Contains(t, err.Error(), "would both become /kb/go/b.txt")
	})
	t.Run("SameFileTwiceIsTakenOnce", func(t *testing.T) {
		t.Parallel()
		p, err := planIngest([]string{rel("loose.txt"), rel("loose.txt")}, "/kb", 10)
		require.NoError(t, err)
		require.Len(t, p.files, 1)
	})
	t.Run("EachFileKnowsItsArgument", func(t *testing.T) {
		t.Parallel()
		p, err := planIngest([]string{rel("loose.txt"), rel("go")}, "/kb", 10)
		require.NoError(t, err)
		for _, f := range p.files {
			want := 1
			if f.Name == "loose.txt" {
				want = 0
			}
			require.Equal(t, want, p.argOf[f], f.Path)
		}
		require.Equal(t, bulk.File{Path: rel("loose.txt"), Folder: "/kb", Name: "loose.txt"}, p.files[0])
	})
	t.Run("TooManyFiles", func(t *testing.T) {
		t.Parallel()
		_, err := planIngest([]string{rel("go")}, "/kb", 1)
		require.ErrorContains(t, err, codeTooManyFiles)
	})
	t.Run("InvalidFolder", func(t *testing.T) {
		t.Parallel()
		_, err := planIngest([]string{rel("go")}, "/kb/../x", 10)
		require.Error(t, err)
	})
	t.Run("MissingPath", func(t *testing.T) {
		t.Parallel()
		_, err := planIngest([]string{rel("nope")}, "/kb", 10)
		require.ErrorIs(t, err, os.ErrNotExist)
	})
}
