// Package bench_test holds the benchmarks that span packages: search over
// 100,000 chunks through the whole HTTP stack beside the raw SQL of its
// legs, and filtered vector recall. (The peer comparison is the module in
// bench/peer.)
package bench_test

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
	"github.com/cairn-rag/cairn/ask/asktest"
	"github.com/cairn-rag/cairn/embed"
	"github.com/cairn-rag/cairn/internal/fixture"
	"github.com/cairn-rag/cairn/internal/testdb"
	"github.com/cairn-rag/cairn/retrieval"
	"github.com/cairn-rag/cairn/tenants"
)

func TestMain(m *testing.M) { testdb.Main(m) }

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

// BenchmarkSearch loads 100,000 chunks (89% in one tenant, 10% in a
// second, 1% in a third; COPY first, the HNSW index built after), then
// measures in the same run the raw SQL of the vector leg and of the text
// leg, and POST /v1/search (hybrid) through the whole HTTP stack, for the
// largest tenant; and the vector leg's recall@10 against an exact scan for
// the 1% and the 10% tenants, as planned and with the HNSW index forced.
func BenchmarkSearch(b *testing.B) {
	const total, docSize, queries = 100_000, 100, 300
	ctx := context.Background()
	pool := testdb.Pool(b)
	sentences, questions := benchText(b)
	big, key := testdb.Tenant(b, pool)
	ten, _ := testdb.Tenant(b, pool)
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
		switch {
		case d%100 == 0:
			tenant = small
		case d%10 == 1:
			tenant = ten
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
		Ask: asktest.Service(b, pool, s, answer.Extractive{}, ask.Config{})}).Handler()
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
		fmt.Printf("BenchmarkSearch: %-34s p50 %7.2f ms  p99 %7.2f ms  (%d queries)\n", name,
			float64(percentile(d, 0.5).Microseconds())/1000, float64(percentile(d, 0.99).Microseconds())/1000, queries)
		return d
	}
	b.ResetTimer()
	for range b.N {
		measure("raw SQL vector leg (k=30) 89% tenant", func(i int) error {
			_, err := s.VectorLeg(ctx, big, vecs[i], "", 30)
			return err
		})
		measure("raw SQL text leg (k=30) 89% tenant", func(i int) error {
			_, err := s.TextLeg(ctx, big, qs[i], "", 30)
			return err
		})
		measure("Searcher.Search hybrid (k=8) 89% tenant", func(i int) error {
			_, err := s.Search(ctx, big, retrieval.Query{Text: qs[i]})
			return err
		})
		measure("POST /v1/search hybrid (k=8) 89% tenant", func(i int) error {
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

	for _, t := range []struct {
		name   string
		tenant uuid.UUID
		chunks int
	}{{"1%", small, total / 100}, {"10%", ten, total / 10}, {"89% (control: hardly filtered)", big, total * 89 / 100}} {
		// Before: every tenant through the HNSW index.
		before, err := retrieval.New(pool, h, retrieval.Config{ExactBelow: -1})
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range []struct {
			label string
			s     *retrieval.Searcher
		}{{"HNSW for every tenant (before)", before}, {fmt.Sprintf("exact scan below %d chunks", s.Config().ExactBelow), s}} {
			planned, forced, usesIndex := recall(b, c.s, t.tenant, vecs[:100])
			fmt.Printf("BenchmarkSearch: vector leg recall@10 vs exact scan, %s tenant (%d chunks), %s: as planned %.3f (HNSW index in plan: %v); HNSW forced %.3f (aim >= 0.95)\n",
				t.name, t.chunks, c.label, planned, usesIndex, forced)
			measure(fmt.Sprintf("vector leg (k=30) %s tenant, %s", t.name, c.label), func(i int) error {
				_, err := c.s.VectorLeg(ctx, t.tenant, vecs[i], "", 30)
				return err
			})
		}
	}
}

// recall returns the vector leg's recall@10 against an exact scan (no
// cast, so the expression index cannot serve it) over the query vectors:
// as planned (Searcher.VectorLeg, which may choose an exact scan for a
// small tenant), and with the HNSW index forced (the leg's HNSW query
// with sorting and sequential scans disabled), which exercises the
// iterative scan; and whether the planner would use the index for the
// HNSW query.
func recall(b *testing.B, s *retrieval.Searcher, tenant uuid.UUID, vecs [][]float32) (planned, forced float64, usesIndex bool) {
	ctx := context.Background()
	pool := testdb.Pool(b)
	hnswForced := func(v []float32) ([]uuid.UUID, error) {
		batch := &pgx.Batch{}
		batch.Queue(`BEGIN READ ONLY`)
		for _, set := range s.VectorSettings() {
			batch.Queue(set)
		}
		batch.Queue(`SET LOCAL enable_sort = off`)
		batch.Queue(`SET LOCAL enable_seqscan = off`)
		var ids []uuid.UUID
		batch.Queue(retrieval.VectorSQL(embed.HashModelID, embed.HashDim), tenant, pgvector.NewVector(v), "", "/%", 10).Query(func(rows pgx.Rows) error {
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
	var plannedFound, forcedFound, want int
	for _, v := range vecs {
		got, err := s.VectorLeg(ctx, tenant, v, "", 10)
		if err != nil {
			b.Fatal(err)
		}
		forcedIDs, err := hnswForced(v)
		if err != nil {
			b.Fatal(err)
		}
		rows, err := pool.Query(ctx, `SELECT c.id FROM chunks c JOIN documents d ON d.tenant_id = c.tenant_id AND d.id = c.document_id AND d.current_version_id = c.version_id
			WHERE c.tenant_id = $1 ORDER BY c.embedding <=> $2 LIMIT 10`, tenant, pgvector.NewVector(v))
		if err != nil {
			b.Fatal(err)
		}
		exact, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		if err != nil {
			b.Fatal(err)
		}
		want += len(exact)
		for _, g := range got {
			if slices.Contains(exact, g.ID) {
				plannedFound++
			}
		}
		for _, id := range forcedIDs {
			if slices.Contains(exact, id) {
				forcedFound++
			}
		}
	}
	var plan string
	if err := pool.QueryRow(ctx, "EXPLAIN (FORMAT JSON) "+retrieval.VectorSQL(embed.HashModelID, embed.HashDim), tenant, pgvector.NewVector(vecs[0]), "", "/%", 10).Scan(&plan); err != nil {
		b.Fatal(err)
	}
	n := float64(max(want, 1))
	return float64(plannedFound) / n, float64(forcedFound) / n, strings.Contains(plan, "chunks_hnsw_cairn_hash_384_v1")
}
