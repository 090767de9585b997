package api_test

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/answer"
)

// openAIClientDir holds the npm project that pins the openai package.
const openAIClientDir = "../clients/openai-test"

// TestOpenAINodeClient runs clients/openai-test/test.mjs (node's test
// runner, the official openai npm package pinned by package-lock.json,
// installed with npm ci) against a Cairn server on a loopback port.
// It needs node and npm on PATH, as the project's machines have.
func TestOpenAINodeClient(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	require.NoError(t, err, "node is required (Debian: apt-get install nodejs npm)")
	npm, err := exec.LookPath("npm")
	require.NoError(t, err, "npm is required (Debian: apt-get install npm)")
	dir, err := filepath.Abs(openAIClientDir)
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	install := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
	install.Dir = dir
	out, err := install.CombinedOutput()
	require.NoErrorf(t, err, "npm ci: %s", out)

	a := newAskServer(t, answer.Extractive{})
	a.upload(t, "/kb/geo", "paris.txt", parisV1)
	a.upload(t, "/handbook", "leave.txt", "Employees take leave by asking their manager in writing.")
	srv := httptest.NewServer(a.h)
	t.Cleanup(srv.Close)

	run := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", "test.mjs")
	run.Dir = dir
	run.Env = append(os.Environ(), "CAIRN_OPENAI_BASE_URL="+srv.URL+"/openai/v1", "CAIRN_API_KEY="+a.key, "NO_COLOR=1")
	out, err = run.CombinedOutput()
	t.Logf("node --test:\n%s", out)
	require.NoError(t, err, "the openai client tests failed")
}
