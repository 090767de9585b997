package chunk_test

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/ingest/chunk"
)

func TestPath(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		ordinal int
		want    string
	}{
		{"First", 0, "/kb/a.txt/v1/0000000000"},
		{"Seventh", 7, "/kb/a.txt/v1/0000000007"},
		{"Millionth", 1_000_000, "/kb/a.txt/v1/0001000000"},
		{"LargestStorable", math.MaxInt32, "/kb/a.txt/v1/2147483647"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, chunk.Path("/kb/a.txt/v1", tc.ordinal))
		})
	}
}

// TestPathSortsInChunkOrder: paths compared as strings (as ORDER BY path
// and prefix scans do) are in ordinal order, across every digit count.
func TestPathSortsInChunkOrder(t *testing.T) {
	t.Parallel()
	ords := []int{0, 1, 9, 10, 99, 100, 999_999, 1_000_000, 1_000_001, 9_999_999, 10_000_000, 999_999_999, 1_000_000_000, math.MaxInt32}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		ords = append(ords, rng.IntN(math.MaxInt32))
	}
	sort.Ints(ords)
	paths := make([]string, len(ords))
	for i, o := range ords {
		paths[i] = chunk.Path("/v1", o)
		require.Len(t, paths[i], len("/v1/")+chunk.PathDigits, "every ordinal has the same width")
	}
	require.True(t, sort.StringsAreSorted(paths), "paths sort as their ordinals do")
	require.Less(t, chunk.Path("/v1", 999_999), chunk.Path("/v1", 1_000_000))
	require.Less(t, chunk.Path("/v1", 1_000_000), chunk.Path("/v1", 1_000_001))
}

func TestPathSQL(t *testing.T) {
	t.Parallel()
	require.Equal(t, `(vp.path || '/' || lpad(c.ordinal::text, 10, '0'))`, chunk.PathSQL("vp.path", "c.ordinal"))
}
