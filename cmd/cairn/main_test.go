package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/internal/testdb"
	"github.com/cairn-rag/cairn/tenants"
)

func TestMain(m *testing.M) { testdb.Main(m, testdb.VerifyNoLeaks()) }

// runCLI runs the binary's entry point in-process with DATABASE_URL set.
func runCLI(t *testing.T, vars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := &environment{stdout: &out, stderr: &errOut, getenv: func(k string) string { return vars[k] }}
	code := run(context.Background(), env, args)
	return code, out.String(), errOut.String()
}

func TestTenantCreatePrintsAWorkingKey(t *testing.T) {
	t.Parallel()
	url := testdb.URL(t)
	code, out, stderr := runCLI(t, map[string]string{"DATABASE_URL": url}, "tenant", "create", "Acme Corp")
	require.Equal(t, 0, code, stderr)
	m := regexp.MustCompile(`tenant_id: (\S+)\napi_key:   (cairn_\S+)\n`).FindStringSubmatch(out)
	require.NotNil(t, m, out)
	got, err := tenants.NewStore(testdb.Pool(t)).Authenticate(context.Background(), m[2])
	require.NoError(t, err)
	require.Equal(t, m[1], got.String())
}

func TestBootstrapIsIdempotent(t *testing.T) {
	t.Parallel()
	vars := map[string]string{"DATABASE_URL": testdb.URL(t)}
	keyFile := filepath.Join(t.TempDir(), "sub", "api-key")
	code, _, stderr := runCLI(t, vars, "tenant", "bootstrap", "--key-file", keyFile)
	require.Equal(t, 0, code, stderr)
	first, err := os.ReadFile(keyFile)
	require.NoError(t, err)
	code, _, stderr = runCLI(t, vars, "tenant", "bootstrap", "--key-file", keyFile)
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stderr, "is valid")
	second, err := os.ReadFile(keyFile)
	require.NoError(t, err)
	require.Equal(t, first, second)
	info, err := os.Stat(keyFile)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())
}

func TestMigrateCommands(t *testing.T) {
	t.Parallel()
	vars := map[string]string{"DATABASE_URL": testdb.Fresh(t)}
	code, out, stderr := runCLI(t, vars, "migrate", "status")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "pending")
	code, out, stderr = runCLI(t, vars, "migrate", "up")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "applied 00001")
	code, out, _ = runCLI(t, vars, "migrate", "up")
	require.Equal(t, 0, code)
	require.Contains(t, out, "schema is current")
	code, out, _ = runCLI(t, vars, "migrate", "down", "--to", "0")
	require.Equal(t, 0, code)
	require.Contains(t, out, "rolled back 00001")
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"NoCommand", nil, "usage: cairn"},
		{"UnknownCommand", []string{"fly"}, "unknown command"},
		{"MigrateWithoutAction", []string{"migrate"}, "want up, down or status"},
		{"TenantCreateWithoutName", []string{"tenant", "create"}, "usage: cairn tenant create NAME"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, _, stderr := runCLI(t, map[string]string{"DATABASE_URL": "postgres://x@127.0.0.1:1/x"}, tc.args...)
			require.Equal(t, 2, code)
			require.True(t, strings.Contains(stderr, tc.want), stderr)
		})
	}
}

func TestServeRejectsBadConfig(t *testing.T) {
	t.Parallel()
	code, _, stderr := runCLI(t, map[string]string{"DATABASE_URL": "postgres://x@127.0.0.1:1/x", "CAIRN_ADDR": "nope"}, "serve")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "CAIRN_ADDR must be host:port")
}

// failingWriter fails every write, like a closed pipe or a full disk.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestLostOutputFailsTheCommand(t *testing.T) {
	t.Parallel()
	vars := map[string]string{"DATABASE_URL": testdb.URL(t)}
	var errOut bytes.Buffer
	env := &environment{stdout: failingWriter{}, stderr: &errOut, getenv: func(k string) string { return vars[k] }}
	code := run(context.Background(), env, []string{"tenant", "create", "Lost Output"})
	require.Equal(t, 1, code, "a key that could not be shown must not look like success")
	require.Contains(t, errOut.String(), "cairn tenant: write output: disk full")
}
