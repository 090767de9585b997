// Package peer_test measures Cairn beside the simplest peer, langchaingo's
// pgvector store, in one run on the same database server and the same
// corpus: ingest rate (documents and chunks per second, and the ratio)
// and top-10 search latency over XQuAD questions. It is a module of its
// own so that langchaingo never enters the service's go.mod.
package peer_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/tmc/langchaingo/schema"
	"github.com/tmc/langchaingo/textsplitter"
	"github.com/tmc/langchaingo/vectorstores/pgvector"
	"golang.org/x/sync/errgroup"

	"github.com/cairn-rag/cairn/api"
	"github.com/cairn-rag/cairn/embed"
	"github.com/cairn-rag/cairn/ingest"
	"github.com/cairn-rag/cairn/ingest/bulk"
	"github.com/cairn-rag/cairn/ingest/ingesttest"
	"github.com/cairn-rag/cairn/internal/testdb"
	"github.com/cairn-rag/cairn/retrieval"
	"github.com/cairn-rag/cairn/tenants"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// rounds is how many times both stores ingest the corpus
// (CAIRN_PEER_ROUNDS, default 3).
func rounds() int {
	if n, err := strconv.Atoi(os.Getenv("CAIRN_PEER_ROUNDS")); err == nil && n > 0 {
		return n
	}
	return 3
}

// The corpus and the load, the same for both stores.
const (
	docs        = 2000
	parasPerDoc = 5
	chunkSize   = 800
	overlap     = 100
	concurrency = 2
	batchFiles  = 32
	questions   = 200
	topK        = 10
)

// xquad returns the English XQuAD paragraphs in order and its questions.
func xquad(b *testing.B) (paras, qs []string) {
	dir := os.Getenv("CAIRN_XQUAD_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "data", "xquad")
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
			paras = append(paras, p.Context)
			for _, q := range p.QAs {
				qs = append(qs, q.Question)
			}
		}
	}
	return paras, qs
}

// corpus writes docs files of parasPerDoc consecutive paragraphs each
// (wrapping around) and returns them with their total size.
func corpus(b *testing.B, paras []string) ([]bulk.File, int64) {
	dir := b.TempDir()
	files := make([]bulk.File, docs)
	var size int64
	for i := range files {
		parts := make([]string, parasPerDoc)
		for j := range parts {
			parts[j] = paras[(i+j)%len(paras)]
		}
		text := strings.Join(parts, "\n\n") + "\n"
		name := fmt.Sprintf("doc-%05d.txt", i)
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			b.Fatal(err)
		}
		size += int64(len(text))
		files[i] = bulk.File{Path: path, Folder: "/peer-bench", Name: name}
	}
	return files, size
}

// hashEmbedder is Cairn's offline embedder as a langchaingo embedder, so
// that both stores index the same vectors.
type hashEmbedder struct{ h embed.Hashing }

func (e hashEmbedder) EmbedDocuments(ctx context.Context, texts []string) ([][]float32, error) {
	return e.h.Embed(ctx, texts)
}

func (e hashEmbedder) EmbedQuery(_ context.Context, text string) ([]float32, error) {
	return e.h.Vector(text), nil
}

type rate struct {
	elapsed      time.Duration
	docs, chunks int
}

func (r rate) String() string {
	s := r.elapsed.Seconds()
	return fmt.Sprintf("%d docs, %d chunks in %.1fs: %6.0f docs/s, %6.0f chunks/s", r.docs, r.chunks, s, float64(r.docs)/s, float64(r.chunks)/s)
}

func (r rate) chunksPerSec() float64 { return float64(r.chunks) / r.elapsed.Seconds() }

func latencies(b *testing.B, name string, qs []string, f func(q string) error) {
	d := make([]time.Duration, len(qs))
	for i, q := range qs {
		t0 := time.Now()
		if err := f(q); err != nil {
			b.Fatalf("%s: %v", name, err)
		}
		d[i] = time.Since(t0)
	}
	slices.Sort(d)
	pct := func(p float64) float64 {
		return float64(d[min(len(d)-1, int(p*float64(len(d))))].Microseconds()) / 1000
	}
	fmt.Printf("peer bench: top-%d search %-44s p50 %7.2f ms  p99 %7.2f ms  (%d XQuAD questions)\n", topK, name, pct(0.5), pct(0.99), len(qs))
}

// BenchmarkPeer ingests the corpus with langchaingo's pgvector store
// (recursive character splitter, AddDocuments per batch of files,
// concurrency goroutines, HNSW m 16 / ef_construction 64) and with Cairn
// (bulk.Load, as `cairn ingest --concurrency 2`: versions, text index,
// term statistics, jobs and progress included), then runs top-10
// searches of both.
func BenchmarkPeer(b *testing.B) {
	ctx := context.Background()
	pool := testdb.Pool(b)
	paras, allQs := xquad(b)
	files, size := corpus(b, paras)
	qs := make([]string, questions)
	for i := range qs {
		qs[i] = allQs[(i*7)%len(allQs)]
	}
	fmt.Printf("peer bench: corpus %d documents of %d consecutive XQuAD-en paragraphs, %.1f MB; chunks of %d characters, %d overlap; %s (%d dims)\n",
		docs, parasPerDoc, float64(size)/1e6, chunkSize, overlap, embed.HashModelID, embed.HashDim)

	tenant, key := testdb.Tenant(b, pool)
	svc := ingesttest.Service(b, pool, ingest.Options{}, concurrency)
	for range b.N {
		// The machine is shared: several rounds, alternating which store
		// goes first, each into empty tables; the median ratio counts.
		var store pgvector.Store
		var ratios []float64
		for round := range rounds() {
			if round > 0 {
				if err := store.DropTables(ctx); err != nil {
					b.Fatal(err)
				}
				if _, err := pool.Exec(ctx, `TRUNCATE chunks, ingest_jobs, document_versions, documents, path_parts, term_stats, tenant_text_stats, term_stat_deltas, tenant_text_stat_deltas CASCADE`); err != nil {
					b.Fatal(err)
				}
			}
			var peer, cairn rate
			ingestCairn := func() {
				sum, err := bulk.Load(ctx, svc, tenant, files, bulk.Options{Concurrency: concurrency})
				if err != nil {
					b.Fatal(err)
				}
				if sum.New != len(files) {
					b.Fatalf("cairn ingested %d of %d files: %+v", sum.New, len(files), sum.Failures)
				}
				cairn = rate{elapsed: sum.Elapsed, docs: sum.New, chunks: sum.Chunks}
			}
			if round%2 == 1 {
				ingestCairn()
			}
			store, peer = ingestPeer(b, pool, files)
			if round%2 == 0 {
				ingestCairn()
			}
			ratio := cairn.chunksPerSec() / peer.chunksPerSec()
			ratios = append(ratios, ratio)
			fmt.Printf("peer bench: round %d ingest langchaingo pgvector store v0.1.14: %s\n", round+1, peer)
			fmt.Printf("peer bench: round %d ingest Cairn bulk.Load, concurrency %d:       %s\n", round+1, concurrency, cairn)
			fmt.Printf("peer bench: round %d ingest ratio Cairn/langchaingo chunks/s: %.2fx\n", round+1, ratio)
		}
		slices.Sort(ratios)
		fmt.Printf("peer bench: ingest ratio Cairn/langchaingo chunks/s, median of %d rounds: %.2fx (aim >= 1.5x)\n", len(ratios), ratios[len(ratios)/2])
		b.ReportMetric(ratios[len(ratios)/2], "ratio")

		if _, err := pool.Exec(ctx, `ANALYZE`); err != nil {
			b.Fatal(err)
		}
		latencies(b, "langchaingo SimilaritySearch", qs, func(q string) error {
			_, err := store.SimilaritySearch(ctx, q, topK)
			return err
		})
		s, err := retrieval.New(pool, embed.NewHashing(), retrieval.Config{})
		if err != nil {
			b.Fatal(err)
		}
		srv := api.New(api.Deps{Config: testdb.Config(b, nil), Logger: slog.New(slog.DiscardHandler), Pool: pool,
			Tenants: tenants.NewStore(pool), Search: s}).Handler()
		for _, mode := range []retrieval.Mode{retrieval.Vector, retrieval.Hybrid} {
			latencies(b, fmt.Sprintf("Cairn POST /v1/search %s", mode), qs, func(q string) error {
				body, _ := json.Marshal(map[string]any{"query": q, "top_k": topK, "mode": mode})
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
	}
}

// ingestPeer loads files with langchaingo's pgvector store: the
// recursive character splitter, AddDocuments per batch of batchFiles
// files from concurrency goroutines, an HNSW index (m 16,
// ef_construction 64) maintained as rows arrive.
func ingestPeer(b *testing.B, pool *pgxpool.Pool, files []bulk.File) (pgvector.Store, rate) {
	ctx := context.Background()
	store, err := pgvector.New(ctx, pgvector.WithConn(pool), pgvector.WithEmbedder(hashEmbedder{}),
		pgvector.WithVectorDimensions(embed.HashDim), pgvector.WithHNSWIndex(16, 64, "vector_cosine_ops"),
		pgvector.WithPreDeleteCollection(true), pgvector.WithCollectionName("peer_bench"))
	if err != nil {
		b.Fatal(err)
	}
	split := textsplitter.NewRecursiveCharacter(textsplitter.WithChunkSize(chunkSize), textsplitter.WithChunkOverlap(overlap))
	t0 := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(concurrency)
	chunks := make([]int, (len(files)+batchFiles-1)/batchFiles)
	for bi := range chunks {
		g.Go(func() error {
			var batch []schema.Document
			for _, f := range files[bi*batchFiles : min(len(files), (bi+1)*batchFiles)] {
				data, err := os.ReadFile(f.Path)
				if err != nil {
					return err
				}
				ds, err := textsplitter.CreateDocuments(split, []string{string(data)}, []map[string]any{{"source": f.Folder + "/" + f.Name}})
				if err != nil {
					return err
				}
				batch = append(batch, ds...)
			}
			chunks[bi] = len(batch)
			_, err := store.AddDocuments(gctx, batch)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
	peer := rate{elapsed: time.Since(t0), docs: len(files)}
	for _, n := range chunks {
		peer.chunks += n
	}
	return store, peer
}
