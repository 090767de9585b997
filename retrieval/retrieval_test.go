package retrieval_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pgvector/pgvector-go"
	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/embed"
	"github.com/cairn-rag/cairn/internal/fixture"
	"github.com/cairn-rag/cairn/internal/testdb"
	"github.com/cairn-rag/cairn/retrieval"
)

func TestMain(m *testing.M) { testdb.Main(m, testdb.VerifyNoLeaks()) }

type bundle struct {
	pool   *pgxpool.Pool
	tenant uuid.UUID
	s      *retrieval.Searcher
}

func setup(t *testing.T) bundle {
	t.Helper()
	pool := testdb.Pool(t)
	tenant, _ := testdb.Tenant(t, pool)
	s, err := retrieval.New(pool, embed.NewHashing(), retrieval.Config{})
	require.NoError(t, err)
	return bundle{pool: pool, tenant: tenant, s: s}
}

func (b bundle) doc(t *testing.T, folder, name string, chunks ...string) fixture.Doc {
	t.Helper()
	d, err := fixture.Document(context.Background(), b.pool, b.tenant, folder, name, chunks)
	require.NoError(t, err)
	return d
}

var corpus = []struct{ folder, name, text string }{
	{"/geo", "france.txt", "Paris is the capital of France. The Seine flows through Paris."},
	{"/geo", "japan.txt", "Tokyo is the capital of Japan. Mount Fuji is its highest mountain."},
	{"/food", "cheese.txt", "Camembert is a soft cheese from Normandy, made from cow's milk."},
	{"/zh", "beijing.txt", "北京是中华人民共和国的首都，也是政治和文化中心。"},
	{"/th", "bangkok.txt", "กรุงเทพมหานครเป็นเมืองหลวงของประเทศไทย"},
	{"/emoji", "party.txt", "Café crème brûlée 🎉 is served at the fête."},
}

func TestSearchFindsTheRightChunk(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ids := map[string]uuid.UUID{}
	for _, c := range corpus {
		ids[c.name] = b.doc(t, c.folder, c.name, c.text).Chunks[0][0]
	}
	cases := []struct {
		name, query string
		mode        retrieval.Mode
		want        string
	}{
		{"HybridEnglish", "What is the capital of Japan?", retrieval.Hybrid, "japan.txt"},
		{"TextEnglish", "soft cheese Normandy", retrieval.Text, "cheese.txt"},
		{"VectorEnglish", "Seine Paris France", retrieval.Vector, "france.txt"},
		{"TextChineseUnspaced", "中国的首都是哪里", retrieval.Text, "beijing.txt"},
		{"HybridChinese", "北京 首都", retrieval.Hybrid, "beijing.txt"},
		{"TextThaiUnspaced", "เมืองหลวงของไทย", retrieval.Text, "bangkok.txt"},
		{"TextAccents", "crème brûlée", retrieval.Text, "party.txt"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hits, err := b.s.Search(context.Background(), b.tenant, retrieval.Query{Text: tc.query, Mode: tc.mode, TopK: 3})
			require.NoError(t, err)
			require.NotEmpty(t, hits)
			require.Equal(t, ids[tc.want], hits[0].ChunkID, "top hit %s", hits[0].DocumentName)
			require.Equal(t, tc.want, hits[0].DocumentName)
			require.Equal(t, 1, hits[0].VersionNumber)
			require.True(t, strings.HasSuffix(hits[0].MaterializedPath, "/0000000000"), hits[0].MaterializedPath)
		})
	}
}

func TestSearchFilters(t *testing.T) {
	t.Parallel()
	b := setup(t)
	other := setup(t)
	ctx := context.Background()
	geo := b.doc(t, "/kb/geo", "a.txt", "The capital of Peru is Lima.")
	b.doc(t, "/kb/geology", "b.txt", "The capital of Chile is Santiago.")
	other.doc(t, "/kb/geo", "c.txt", "The capital of Peru is Lima, says the other tenant.")

	t.Run("TenantIsolation", func(t *testing.T) {
		hits, err := b.s.Search(ctx, b.tenant, retrieval.Query{Text: "capital Peru Lima tenant"})
		require.NoError(t, err)
		require.Len(t, hits, 2)
		for _, h := range hits {
			require.NotContains(t, h.Content, "other tenant")
		}
	})
	t.Run("PathPrefixIsAFolderNotAStringPrefix", func(t *testing.T) {
		for _, mode := range []retrieval.Mode{retrieval.Hybrid, retrieval.Vector, retrieval.Text} {
			hits, err := b.s.Search(ctx, b.tenant, retrieval.Query{Text: "capital", PathPrefix: "/kb/geo/", Mode: mode})
			require.NoError(t, err)
			require.Len(t, hits, 1, mode)
			require.Equal(t, geo.Chunks[0][0], hits[0].ChunkID)
		}
	})
	t.Run("CurrentVersionOnly", func(t *testing.T) {
		d := b.doc(t, "/kb/ver", "v.txt", "Old text about zebras.")
		require.NoError(t, fixture.NewVersion(ctx, b.pool, b.tenant, &d, "/kb/ver/v.txt", []string{"New text about giraffes."}))
		for _, mode := range []retrieval.Mode{retrieval.Vector, retrieval.Text} {
			hits, err := b.s.Search(ctx, b.tenant, retrieval.Query{Text: "zebras giraffes", PathPrefix: "/kb/ver", Mode: mode})
			require.NoError(t, err)
			require.Len(t, hits, 1)
			require.Equal(t, d.Chunks[1][0], hits[0].ChunkID)
			require.Equal(t, 2, hits[0].VersionNumber)
		}
	})
	t.Run("RejectsBadQueries", func(t *testing.T) {
		for _, q := range []retrieval.Query{{Text: "  "}, {Text: "x", TopK: 101}, {Text: "x", Mode: "fuzzy"}} {
			_, err := b.s.Search(ctx, b.tenant, q)
			require.Error(t, err)
		}
	})
}

func TestTextLegBoundsCandidatesForCommonTerms(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	var chunks []string
	for i := 0; i < 300; i++ {
		chunks = append(chunks, fmt.Sprintf("the common words appear in chunk %d. ", i))
	}
	chunks = append(chunks, "the common words and a rare aardvark.")
	b.doc(t, "/bulk", "bulk.txt", chunks...)
	s, err := retrieval.New(b.pool, embed.NewHashing(), retrieval.Config{TextCandidates: 50})
	require.NoError(t, err)
	hits, err := s.TextLeg(ctx, b.tenant, "the common aardvark", "", 5)
	require.NoError(t, err)
	require.NotEmpty(t, hits)
	top, err := b.s.Search(ctx, b.tenant, retrieval.Query{Text: "the common aardvark", Mode: retrieval.Text, TopK: 1})
	require.NoError(t, err)
	require.Contains(t, top[0].Content, "aardvark")
	require.Equal(t, top[0].ChunkID, hits[0].ID)
	require.Len(t, hits, 1, "only the rare term's chunk is a candidate")

	plan := retrieval.PlanText([]string{"the", "aardvark", "unknown"}, []*int64{ptr(301), ptr(1), nil}, 301, 50)
	require.Equal(t, "'aardvark'", plan.TSQuery)
	require.Equal(t, []string{"aardvark", "the"}, plan.Terms)
	require.Greater(t, plan.IDF[0], plan.IDF[1])
}

func ptr(n int64) *int64 { return &n }

func TestVectorQueryUsesHNSWIndex(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	var chunks []string
	for i := 0; i < 1500; i++ {
		chunks = append(chunks, fmt.Sprintf("chunk number %d about topic %d and subject %d", i, i%17, i%29))
	}
	b.doc(t, "/many", "many.txt", chunks...)
	_, err := b.pool.Exec(ctx, `ANALYZE chunks`)
	require.NoError(t, err)
	tx, err := b.pool.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx) //nolint:errcheck
	_, err = tx.Exec(ctx, `SET LOCAL hnsw.iterative_scan = relaxed_order`)
	require.NoError(t, err)
	v := embed.NewHashing().Vector("topic 3 subject 5")
	rows, err := tx.Query(ctx, "EXPLAIN "+retrieval.VectorSQL(embed.HashModelID, embed.HashDim), b.tenant, pgvector.NewVector(v), "", "/%", 10)
	require.NoError(t, err)
	var plan []string
	for rows.Next() {
		var line string
		require.NoError(t, rows.Scan(&line))
		plan = append(plan, line)
	}
	require.NoError(t, rows.Err())
	require.Contains(t, strings.Join(plan, "\n"), "chunks_hnsw_cairn_hash_384_v1", strings.Join(plan, "\n"))
}

func TestVectorLegExactForSmallTenantsAgreesWithTheIndex(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, c := range corpus {
		b.doc(t, c.folder, c.name, c.text)
	}
	viaIndex, err := retrieval.New(b.pool, embed.NewHashing(), retrieval.Config{ExactBelow: -1})
	require.NoError(t, err)
	v := embed.NewHashing().Vector("Seine Paris France")
	for _, prefix := range []string{"", "/geo"} {
		exact, err := b.s.VectorLeg(context.Background(), b.tenant, v, prefix, 3)
		require.NoError(t, err)
		approx, err := viaIndex.VectorLeg(context.Background(), b.tenant, v, prefix, 3)
		require.NoError(t, err)
		require.NotEmpty(t, exact)
		require.Equal(t, exact[0], approx[0], "prefix %q", prefix)
		if prefix != "" {
			require.Len(t, exact, 2, "only /geo's two documents")
		}
	}
}

func TestTextLegFindsATermIngestedAfterAQueryMissedIt(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.doc(t, "/a", "one.txt", "granite ridges and basalt plains")
	hits, err := b.s.Search(context.Background(), b.tenant, retrieval.Query{Text: "obsidian", Mode: retrieval.Text})
	require.NoError(t, err)
	require.Empty(t, hits)
	// "granite" is known (cached now); "obsidian" was not and is asked again.
	b.doc(t, "/a", "two.txt", "obsidian is volcanic glass")
	hits, err = b.s.Search(context.Background(), b.tenant, retrieval.Query{Text: "granite obsidian", Mode: retrieval.Text})
	require.NoError(t, err)
	require.Len(t, hits, 2)
	require.Equal(t, "two.txt", hits[0].DocumentName)
}
