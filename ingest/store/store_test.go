package store_test

import (
	"context"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/ingest/chunk"
	"github.com/cairn-rag/cairn/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// TestChunkPathSQLAgreesWithGo: the SQL every reader uses for a chunk's
// path gives what chunk.Path gives, and Postgres orders those paths by
// ordinal (as a subtree listing by path does), across digit counts.
func TestChunkPathSQLAgreesWithGo(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t)
	ords := []int{0, 7, 10, 999_999, 1_000_000, 1_000_001, 123_456_789, math.MaxInt32}
	rows, err := pool.Query(context.Background(), `SELECT o, `+chunk.PathSQL("'/kb/a.txt/v1'", "o")+` AS p
		FROM unnest($1::int[]) AS t(o) ORDER BY p`, ords)
	require.NoError(t, err)
	i := 0
	for rows.Next() {
		var o int
		var p string
		require.NoError(t, rows.Scan(&o, &p))
		require.Equal(t, ords[i], o, "ordered by path = ordered by ordinal")
		require.Equal(t, chunk.Path("/kb/a.txt/v1", o), p)
		i++
	}
	require.NoError(t, rows.Err())
	require.Equal(t, len(ords), i)
}
