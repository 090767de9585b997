package pg_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/internal/pg"
	"github.com/cairn-rag/cairn/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m, testdb.VerifyNoLeaks()) }

func TestEscapeLike(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":            "",
		"/plain/path": "/plain/path",
		"/100%":       `/100\%`,
		"/a_b":        `/a\_b`,
		`/back\slash`: `/back\\slash`,
		`/%_\`:        `/\%\_\\`,
		"/café/東京_%":  `/café/東京\_\%`,
	} {
		require.Equal(t, want, pg.EscapeLike(in), in)
	}
}

// TestEscapeLikeMatchesOnlyItself runs the patterns in Postgres: an
// escaped prefix plus "/%" matches the paths under it and no path that
// differs where the prefix had a wildcard character.
func TestEscapeLikeMatchesOnlyItself(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t)
	ctx := context.Background()
	for _, tc := range []struct {
		prefix, path string
		match        bool
	}{
		{"/a_b", "/a_b/doc", true},
		{"/a_b", "/axb/doc", false},
		{"/100%", "/100%/doc", true},
		{"/100%", "/1000/doc", false},
		{`/x\y`, `/x\y/doc`, true},
		{`/x\y`, "/xy/doc", false},
		{"/a", "/ab/doc", false},
		{"/a", "/a", false},
	} {
		var got bool
		require.NoError(t, pool.QueryRow(ctx, `SELECT $1::text LIKE $2`, tc.path, pg.EscapeLike(tc.prefix)+"/%").Scan(&got))
		require.Equalf(t, tc.match, got, "%q under %q", tc.path, tc.prefix)
	}
}
