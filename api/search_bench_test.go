package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/pgvector/pgvector-go"
	"golang.org/x/sync/errgroup"

	"github.com/cairn-rag/cairn/answer"
	"github.com/cairn-rag/cairn/api"
	"github.com/cairn-rag/cairn/ask"
	"github.com/cairn-rag/cairn/embed"
	"github.com/cairn-rag/cairn/internal/fixture"
	"github.com/cairn-rag/cairn/internal/testdb"
	"github.com/cairn-rag/cairn/retrieval"
	"github.com/cairn-rag/cairn/tenants"
	"github.com/cairn-rag/cairn/threads"
)

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// benchSentences are the English XQuAD sentences (real text with common
// and rare words) that the benchmark's chunks are made of, and its
// queries the XQuAD questions.
func benchText(b *testing.B) (sentences, questions []string) {
	dir := os.Getenv("CAIRN_XQUAD_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "shared", "data", "xquad")
	}
	raw, err := os.ReadFile(filepath.Join(dir, "xquad.en.json"))
	if err != nil {
		b.Skipf("XQuAD data not found (CAIRN_XQUAD_DIR): %v", err)
	}
	var ds struct {
		Data []struct {
			Paragraphs []struct {
				Context string `json:"context"`
				QAs     []struct {
					Question string `json:"question"`
				} `json:"qas"`
			} `json:"paragraphs"`
		} `json:"data"`
	}
	if err := json.Unmarshal(raw, &ds); err != nil {
		b.Fatal(err)
	}
	for _, a := range ds.Data {
		for _, p := range a.Paragraphs {
			for _, s := range retrieval.Sentences(p.Context) {
				sentences = append(sentences, s.Text)
			}
			for _, q := range p.QAs {
				questions = append(questions, q.Question)
			}
		}
	}
	return sentences, questions
}

func percentile(d []time.Duration, p float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

// BenchmarkSearch loads 100,000 chunks (99% in one tenant, 1% in another;
// COPY first, the HNSW index built after), then measures in the same run
// the raw SQL of the vector leg and of the text leg, and POST /v1/search
// (hybrid) through the whole HTTP stack; and the vector leg's recall@10
// against an exact scan for the tenant that owns 1% of the rows.
func BenchmarkSearch(b *testing.B) {
	const total, docSize, queries = 100_000, 100, 300
	ctx := context.Background()
	pool := testdb.Pool(b)
	sentences, questions := benchText(b)
	big, key := testdb.Tenant(b, pool)
	small, _ := testdb.Tenant(b, pool)
	rng := rand.New(rand.NewPCG(1, 2))

	t0 := time.Now()
	if _, err := pool.Exec(ctx, `DROP INDEX IF EXISTS chunks_hnsw_cairn_hash_384_v1`); err != nil {
		b.Fatal(err)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(2)
	for d := 0; d < total/docSize; d++ {
		tenant := big
		if d%100 == 0 {
			tenant = small
		}
		chunks := make([]string, docSize)
		for i := range chunks {
			n := 2 + rng.IntN(3)
			parts := make([]string, n)
			for j := range parts {
				parts[j] = sentences[rng.IntN(len(sentences))]
			}
			chunks[i] = strings.Join(parts, " ") + " "
		}
		g.Go(func() error {
			_, err := fixture.Document(gctx, pool, tenant, "/bench", fmt.Sprintf("doc-%05d.txt", d), chunks)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
	loaded := time.Since(t0)
	t1 := time.Now()
	conn, err := pool.Acquire(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `SET maintenance_work_mem = '1GB'; CREATE INDEX chunks_hnsw_cairn_hash_384_v1 ON chunks USING hnsw ((embedding::vector(384)) vector_cosine_ops) WHERE model_id = 'cairn-hash-384-v1'; ANALYZE chunks; ANALYZE documents`); err != nil {
		b.Fatal(err)
	}
	conn.Release()
	fmt.Printf("BenchmarkSearch: loaded %d chunks with COPY in %s, built the HNSW index in %s\n", total, loaded.Round(time.Millisecond), time.Since(t1).Round(time.Millisecond))

	cfg := testdb.Config(b, nil)
	h := embed.NewHashing()
	s, err := retrieval.New(pool, h, retrieval.Config{})
	if err != nil {
		b.Fatal(err)
	}
	srv := api.New(api.Deps{Config: cfg, Logger: discard(), Pool: pool, Tenants: tenants.NewStore(pool), Search: s,
		Ask: ask.New(pool, threads.NewStore(pool), &answer.Pipeline{Searcher: s, Answerer: answer.Extractive{}}, ask.Config{})}).Handler()
	qs := make([]string, queries)
	vecs := make([][]float32, queries)
	for i := range qs {
		qs[i] = questions[rng.IntN(len(questions))]
		vecs[i] = h.Vector(qs[i])
	}
	measure := func(name string, f func(i int) error) []time.Duration {
		d := make([]time.Duration, queries)
		for i := range qs {
			st := time.Now()
			if err := f(i); err != nil {
				b.Fatalf("%s: %v", name, err)
			}
			d[i] = time.Since(st)
		}
		fmt.Printf("BenchmarkSearch: %-34s p50 %7.2f ms  p99 %7.2f ms  (%d queries, 99,000-chunk tenant)\n", name,
			float64(percentile(d, 0.5).Microseconds())/1000, float64(percentile(d, 0.99).Microseconds())/1000, queries)
		return d
	}
	b.ResetTimer()
	for range b.N {
		measure("raw SQL vector leg (k=30)", func(i int) error {
			_, err := s.VectorLeg(ctx, big, vecs[i], "", 30)
			return err
		})
		measure("raw SQL text leg (k=30)", func(i int) error {
			_, err := s.TextLeg(ctx, big, qs[i], "", 30)
			return err
		})
		measure("Searcher.Search hybrid (k=8)", func(i int) error {
			_, err := s.Search(ctx, big, retrieval.Query{Text: qs[i]})
			return err
		})
		measure("POST /v1/search hybrid (k=8)", func(i int) error {
			body, _ := json.Marshal(map[string]any{"query": qs[i]})
			req := httptest.NewRequest("POST", "/v1/search", strings.NewReader(string(body)))
			req.Header.Set("Authorization", "Bearer "+key)
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				return fmt.Errorf("status %d: %s", rec.Code, rec.Body.String())
			}
			return nil
		})
	}
	b.StopTimer()

	// Recall@10 of the vector leg for the 1% tenant against an exact scan
	// (no cast, so the expression index cannot serve it): as planned (the
	// planner may prefer an exact scan of so few rows), and with the HNSW
	// index forced (sorting disabled), which exercises the iterative scan.
	hnswForced := func(v []float32) ([]uuid.UUID, error) {
		batch := &pgx.Batch{}
		batch.Queue(`BEGIN READ ONLY`)
		batch.Queue(`SET LOCAL hnsw.iterative_scan = relaxed_order`)
		batch.Queue(fmt.Sprintf(`SET LOCAL hnsw.ef_search = %d`, s.Config().EfSearch))
		batch.Queue(`SET LOCAL enable_sort = off`)
		batch.Queue(`SET LOCAL enable_seqscan = off`)
		var ids []uuid.UUID
		batch.Queue(retrieval.VectorSQL(embed.HashModelID, embed.HashDim), small, pgvector.NewVector(v), "", "/%", 10).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var id uuid.UUID
				var sim float64
				if err := rows.Scan(&id, &sim); err != nil {
					return err
				}
				ids = append(ids, id)
			}
			return rows.Err()
		})
		batch.Queue(`COMMIT`)
		return ids, pool.SendBatch(ctx, batch).Close()
	}
	var hitsFound, forcedFound, want int
	for i := 0; i < 100; i++ {
		got, err := s.VectorLeg(ctx, small, vecs[i], "", 10)
		if err != nil {
			b.Fatal(err)
		}
		forced, err := hnswForced(vecs[i])
		if err != nil {
			b.Fatal(err)
		}
		rows, err := pool.Query(ctx, `SELECT c.id FROM chunks c JOIN documents d ON d.tenant_id = c.tenant_id AND d.id = c.document_id AND d.current_version_id = c.version_id
			WHERE c.tenant_id = $1 ORDER BY c.embedding <=> $2 LIMIT 10`, small, pgvector.NewVector(vecs[i]))
		if err != nil {
			b.Fatal(err)
		}
		exact := map[uuid.UUID]bool{}
		for rows.Next() {
			var id uuid.UUID
			if err := rows.Scan(&id); err != nil {
				b.Fatal(err)
			}
			exact[id] = true
		}
		rows.Close()
		want += len(exact)
		for _, g := range got {
			if exact[g.ID] {
				hitsFound++
			}
		}
		for _, id := range forced {
			if exact[id] {
				forcedFound++
			}
		}
	}
	fmt.Printf("BenchmarkSearch: vector leg recall@10 vs exact scan, 1%% tenant, HNSW forced (iterative scan, ef_search %d): %.3f\n",
		s.Config().EfSearch, float64(forcedFound)/float64(max(want, 1)))
	var plan string
	if err := pool.QueryRow(ctx, "EXPLAIN (FORMAT JSON) "+retrieval.VectorSQL(embed.HashModelID, embed.HashDim), small, pgvector.NewVector(vecs[0]), "", "/%", 10).Scan(&plan); err != nil {
		b.Fatal(err)
	}
	fmt.Printf("BenchmarkSearch: vector leg recall@10 vs exact scan, 1%% tenant (1,000 chunks), as planned: %.3f (HNSW index in plan: %v)\n",
		float64(hitsFound)/float64(max(want, 1)), strings.Contains(plan, "chunks_hnsw_cairn_hash_384_v1"))
}
