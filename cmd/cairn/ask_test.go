package main

import (
	"context"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/answer"
	"github.com/cairn-rag/cairn/api"
	"github.com/cairn-rag/cairn/ask"
	"github.com/cairn-rag/cairn/ask/asktest"
	"github.com/cairn-rag/cairn/embed"
	"github.com/cairn-rag/cairn/internal/fixture"
	"github.com/cairn-rag/cairn/internal/testdb"
	"github.com/cairn-rag/cairn/retrieval"
	"github.com/cairn-rag/cairn/tenants"
	"github.com/cairn-rag/cairn/threads"
)

func TestSearchAndAskAgainstTheAPI(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t)
	cfg := testdb.Config(t, nil)
	s, err := retrieval.New(pool, embed.NewHashing(), retrieval.Config{})
	require.NoError(t, err)
	tenant, key := testdb.Tenant(t, pool)
	_, err = fixture.Document(context.Background(), pool, tenant, "/kb", "tea.txt",
		[]string{"Green tea 绿茶 is steamed in Japan. ", "Black tea is fully oxidised before drying."})
	require.NoError(t, err)
	srv := httptest.NewServer(api.New(api.Deps{Config: cfg, Pool: pool, Tenants: tenants.NewStore(pool),
		Threads: threads.NewStore(pool), Search: s, Ask: asktest.Service(t, pool, s, answer.Extractive{}, ask.Config{})}).Handler())
	t.Cleanup(srv.Close)
	vars := map[string]string{"CAIRN_URL": srv.URL, "CAIRN_API_KEY": key}

	code, out, errOut := runCLI(t, vars, "search", "oxidised black tea", "--mode", "text", "--folder", "/kb")
	require.Equal(t, 0, code, errOut)
	require.True(t, strings.HasPrefix(out, "1. tea.txt v1"), out)
	require.Contains(t, out, "/kb/tea.txt/")

	code, out, errOut = runCLI(t, vars, "ask", "How is black tea made?")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "Black tea is fully oxidised before drying. [1]")
	require.Contains(t, out, "Citations:\n[1] tea.txt v1")
	require.Contains(t, out, "“Black tea is fully oxidised before drying.”")
	require.Contains(t, errOut, "--thread ")

	code, _, errOut = runCLI(t, vars, "search")
	require.Equal(t, 2, code, errOut)

	// A query that starts with "-" is a query, not an unknown flag.
	code, out, errOut = runCLI(t, vars, "search", "-oxidised black tea", "--mode", "text")
	require.Equal(t, 0, code, errOut)
	require.True(t, strings.HasPrefix(out, "1. tea.txt v1"), out)
	code, out, errOut = runCLI(t, vars, "ask", "--", "-oxidised black tea?")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "Black tea is fully oxidised before drying. [1]")

	// Every marker of the text is in the citation list with its number.
	code, out, errOut = runCLI(t, vars, "ask", "Is green tea steamed and black tea oxidised?")
	require.Equal(t, 0, code, errOut)
	text, list, ok := strings.Cut(out, "Citations:\n")
	require.True(t, ok, out)
	for _, m := range regexp.MustCompile(`\[\d+\]`).FindAllString(text, -1) {
		require.Contains(t, list, m+" tea.txt", out)
	}

	for _, cmd := range []string{"ask", "search", "ingest"} {
		code, out, errOut = runCLI(t, vars, cmd, "--help")
		require.Equal(t, 0, code, errOut)
		require.Contains(t, out, "usage: cairn "+cmd)
		require.Contains(t, out, "-folder")
	}
	code, out, _ = runCLI(t, vars, "--help")
	require.Equal(t, 0, code)
	require.Contains(t, out, "commands:")
}
