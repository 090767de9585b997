// Package retrieval owns search over the stored chunks: a vector leg
// (pgvector HNSW, cosine, one partial index per embedding model, iterative
// scans so tenant and path filters still return k rows), a text leg (BM25
// over a bounded candidate set chosen rare-term-first from the GIN index,
// with per-tenant term statistics kept by triggers), and their weighted
// reciprocal rank fusion. Every search filters by tenant, by optional path
// prefix, and to current document versions only. It owns its SQL.
package retrieval

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pgvector/pgvector-go"
	"golang.org/x/sync/errgroup"

	"github.com/cairn-rag/cairn/embed"
	"github.com/cairn-rag/cairn/ingest/chunk"
	"github.com/cairn-rag/cairn/internal/apperr"
	"github.com/cairn-rag/cairn/internal/pg"
	"github.com/cairn-rag/cairn/textsearch"
)

// Mode selects the legs a search runs.
type Mode string

// The search modes.
const (
	// Hybrid runs both legs and fuses them.
	Hybrid Mode = "hybrid"
	// Vector runs only the embedding leg.
	Vector Mode = "vector"
	// Text runs only the full-text leg.
	Text Mode = "text"
)

// The fusion methods of Config.Fusion.
const (
	FusionScore = "score"
	FusionRRF   = "rrf"
)

// Defaults of Config and Query: the one place each is set (the service
// configuration refers to them).
const (
	// RRFKDefault is Config.RRFK's default.
	RRFKDefault = 60
	// VectorWeightDefault is Config.VectorWeight's default.
	VectorWeightDefault = 0.1
	// TextWeightDefault is Config.TextWeight's default.
	TextWeightDefault = 1.0
	// FusionDefault is Config.Fusion's default.
	FusionDefault = FusionScore
	// EfSearchDefault is Config.EfSearch's default.
	EfSearchDefault = 100
	// StatsTTLDefault is Config.StatsTTL's default.
	StatsTTLDefault = 30 * time.Second
	// ExactBelowDefault is Config.ExactBelow's default.
	ExactBelowDefault = 2_000
	// TextCandidatesDefault is Config.TextCandidates's default.
	TextCandidatesDefault = 300
	// TopKDefault is the hits of a Query whose TopK is 0.
	TopKDefault = 8
	// MaxTopK bounds Query.TopK.
	MaxTopK = 100
	// BM25K1Default is Config.K1's default.
	BM25K1Default = 1.2
	// BM25BDefault is Config.B's default.
	BM25BDefault = 0.75
	// RerankWeightDefault is Config.RerankWeight's default.
	RerankWeightDefault = 2.0
	// WindowWeightDefault is Config.WindowWeight's default.
	WindowWeightDefault = 0.8
	// rerankCandidates is how many fused hits the sentence rerank rescores.
	rerankCandidates = 20
)

// Config tunes retrieval. The zero value of each field selects its default.
type Config struct {
	// RRFK is the k of reciprocal rank fusion: score = Σ weight/(k+rank).
	RRFK float64
	// VectorWeight weighs the vector leg in the fusion.
	VectorWeight float64
	// TextWeight weighs the text leg in the fusion.
	TextWeight float64
	// Fusion is how hybrid search merges the legs: "score" (default) adds
	// each leg's score normalised by the leg's best score, times its weight;
	// "rrf" is weighted reciprocal rank fusion, Σ weight/(RRFK+rank).
	Fusion string
	// EfSearch is hnsw.ef_search for the vector leg.
	EfSearch int
	// ExactBelow makes the vector leg scan a tenant with fewer stored
	// chunks than this exactly instead of through the HNSW index (whose
	// graph spans every tenant and, with the offline embedder, misses
	// about a fifth of the true top 10 whatever the filter); 0 selects
	// the default, negative never. An exact scan costs about 8 ms per
	// 1,000 rows (embeddings are read from TOAST), hence the low default.
	ExactBelow int
	// TextCandidates caps the chunks the text leg scores: rare query terms
	// are taken until their summed document frequency reaches it, and the
	// candidate scan stops there.
	TextCandidates int
	// RerankWeight weighs, in hybrid search, the share of the query's IDF
	// mass that a candidate's best sentence covers (questions are usually
	// answered by one sentence); 0 selects the default, negative disables.
	RerankWeight float64
	// PhraseWeight scales the rerank's bonus for query term pairs that
	// occur adjacent in a sentence (0, the default, disables it: on XQuAD
	// it did not help).
	PhraseWeight float64
	// WindowWeight also scores pairs of consecutive sentences in the
	// rerank, discounted by this factor (0 selects the default, negative
	// disables).
	WindowWeight float64
	// StatsTTL is how long the text leg reuses a tenant's term statistics
	// (chunk count, length total, document frequencies) before reading
	// them again; negative reads them on every query.
	StatsTTL time.Duration
	// K1 and B are the BM25 parameters of the text leg.
	K1, B float64
}

func (c Config) withDefaults() Config {
	if c.RRFK <= 0 {
		c.RRFK = RRFKDefault
	}
	if c.VectorWeight <= 0 {
		c.VectorWeight = VectorWeightDefault
	}
	if c.TextWeight <= 0 {
		c.TextWeight = TextWeightDefault
	}
	if c.Fusion == "" {
		c.Fusion = FusionDefault
	}
	if c.EfSearch <= 0 {
		c.EfSearch = EfSearchDefault
	}
	if c.ExactBelow == 0 {
		c.ExactBelow = ExactBelowDefault
	}
	if c.TextCandidates <= 0 {
		c.TextCandidates = TextCandidatesDefault
	}
	if c.RerankWeight == 0 {
		c.RerankWeight = RerankWeightDefault
	}
	if c.WindowWeight == 0 {
		c.WindowWeight = WindowWeightDefault
	}
	if c.StatsTTL == 0 {
		c.StatsTTL = StatsTTLDefault
	}
	if c.K1 <= 0 {
		c.K1 = BM25K1Default
	}
	if c.B <= 0 {
		c.B = BM25BDefault
	}
	return c
}

// Query is one search request.
type Query struct {
	// Text is the user's query.
	Text string
	// TopK is the number of hits wanted (1..MaxTopK; 0 selects TopKDefault).
	TopK int
	// PathPrefix restricts the search to documents under this path.
	PathPrefix string
	// Mode is hybrid (default), vector or text.
	Mode Mode
}

// Hit is one retrieved chunk.
type Hit struct {
	ChunkID          uuid.UUID `json:"chunk_id"`
	DocumentID       uuid.UUID `json:"document_id"`
	VersionID        uuid.UUID `json:"document_version_id"`
	DocumentName     string    `json:"document_name"`
	VersionNumber    int       `json:"version_number"`
	Ordinal          int       `json:"ordinal"`
	MaterializedPath string    `json:"materialized_path"`
	Content          string    `json:"content"`
	StartOffset      int       `json:"start_offset"`
	EndOffset        int       `json:"end_offset"`
	// Score is the fused score (hybrid), the cosine similarity (vector) or
	// the BM25 score (text).
	Score float64 `json:"score"`
	// VectorRank and TextRank are the 1-based ranks in each leg (0: absent).
	VectorRank int `json:"vector_rank,omitempty"`
	TextRank   int `json:"text_rank,omitempty"`
}

// Searcher runs searches for one embedding model.
type Searcher struct {
	pool      *pgxpool.Pool
	embedder  embed.Embedder
	cfg       Config
	vectorSQL string
	exactSQL  string
	stats     *statsCache
}

// New returns a Searcher over pool that embeds queries with embedder.
func New(pool *pgxpool.Pool, embedder embed.Embedder, cfg Config) (*Searcher, error) {
	if embedder.Dim() <= 0 || embedder.Dim() > 16000 {
		return nil, fmt.Errorf("retrieval: embedding dimension %d out of range", embedder.Dim())
	}
	cfg = cfg.withDefaults()
	return &Searcher{pool: pool, embedder: embedder, cfg: cfg,
		vectorSQL: VectorSQL(embedder.Model(), embedder.Dim()), exactSQL: ExactVectorSQL(embedder.Model()), stats: newStatsCache(cfg.StatsTTL)}, nil
}

// Config returns the effective configuration.
func (s *Searcher) Config() Config { return s.cfg }

// ParseMode validates a mode string ("" is hybrid).
func ParseMode(m string) (Mode, error) {
	switch Mode(m) {
	case "", Hybrid:
		return Hybrid, nil
	case Vector, Text:
		return Mode(m), nil
	}
	return "", apperr.Invalidf(CodeInvalidMode, "mode", "mode must be hybrid, vector or text, got %q", m)
}

// Validate checks q and fills its defaults.
func (q *Query) Validate() error {
	q.Text = strings.TrimSpace(q.Text)
	if q.Text == "" {
		return apperr.Invalidf(apperr.CodeValidationFailed, "query", "query must not be empty")
	}
	if len([]rune(q.Text)) > 4000 {
		return apperr.Invalidf(apperr.CodeValidationFailed, "query", "query must be at most 4000 characters")
	}
	if q.TopK == 0 {
		q.TopK = TopKDefault
	}
	if q.TopK < 1 || q.TopK > MaxTopK {
		return apperr.Invalidf(apperr.CodeValidationFailed, "top_k", "top_k must be between 1 and %d, got %d", MaxTopK, q.TopK)
	}
	m, err := ParseMode(string(q.Mode))
	if err != nil {
		return err
	}
	q.Mode = m
	p := strings.TrimSpace(q.PathPrefix)
	if p != "" && !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	q.PathPrefix = strings.TrimRight(p, "/")
	return nil
}

// Scored is one chunk id with its leg score, in rank order.
type Scored struct {
	ID    uuid.UUID
	Score float64
}

// Search runs q for tenantID and returns at most q.TopK hits, best first.
func (s *Searcher) Search(ctx context.Context, tenantID uuid.UUID, q Query) ([]Hit, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	legK := q.TopK
	if q.Mode == Hybrid {
		legK = max(2*q.TopK, 30)
	}
	var vec, txt []Scored
	var plan TextPlan
	g, gctx := errgroup.WithContext(ctx)
	if q.Mode != Text {
		g.Go(func() error {
			v, err := s.embedder.Embed(gctx, []string{q.Text})
			if err != nil {
				return fmt.Errorf("embed query: %w", err)
			}
			vec, err = s.VectorLeg(gctx, tenantID, v[0], q.PathPrefix, legK)
			return err
		})
	}
	if q.Mode != Vector {
		g.Go(func() error {
			var err error
			txt, plan, err = s.textLeg(gctx, tenantID, q.Text, q.PathPrefix, legK)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	rerank := q.Mode == Hybrid && s.cfg.RerankWeight > 0 && len(plan.Terms) > 0
	n := q.TopK
	if rerank {
		n = max(n, rerankCandidates)
	}
	hits, err := s.hydrate(ctx, tenantID, s.fuse(vec, txt, n))
	if err != nil || !rerank {
		return hits, err
	}
	s.rerank(hits, q.Text, plan)
	return hits[:min(q.TopK, len(hits))], nil
}

// rerank adds RerankWeight times the share of the query's IDF mass that
// each hit's best sentence covers (query terms, plus half the weight of
// query term pairs found adjacent, a phrase match), and re-sorts.
func (s *Searcher) rerank(hits []Hit, query string, plan TextPlan) {
	idf := make(map[string]float64, len(plan.Terms))
	var total float64
	for i, t := range plan.Terms {
		idf[t] = plan.IDF[i]
		total += plan.IDF[i]
	}
	if total <= 0 {
		return
	}
	qt := textsearch.Terms(query)
	pairs := map[[2]string]float64{}
	for i := 0; i+1 < len(qt); i++ {
		a, b := idf[qt[i]], idf[qt[i+1]]
		if a > 0 && b > 0 {
			pairs[[2]string{qt[i], qt[i+1]}] = 0.5 * min(a, b)
		}
	}
	for i := range hits {
		best, prev := 0.0, map[string]bool(nil)
		for _, sent := range Sentences(hits[i].Content) {
			seen := map[string]bool{}
			seenPair := map[[2]string]bool{}
			sum := 0.0
			terms := textsearch.Terms(sent.Text)
			for j, t := range terms {
				if w, ok := idf[t]; ok && !seen[t] {
					seen[t] = true
					sum += w
				}
				if j+1 < len(terms) {
					p := [2]string{t, terms[j+1]}
					if w, ok := pairs[p]; ok && !seenPair[p] && s.cfg.PhraseWeight > 0 {
						seenPair[p] = true
						sum += w * s.cfg.PhraseWeight
					}
				}
			}
			best = max(best, sum)
			if s.cfg.WindowWeight > 0 && prev != nil {
				// Two consecutive sentences, discounted: some answers span both.
				union := sum
				for t := range prev {
					if !seen[t] {
						union += idf[t]
					}
				}
				best = max(best, s.cfg.WindowWeight*union)
			}
			prev = seen
		}
		hits[i].Score += s.cfg.RerankWeight * best / total
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].Score > hits[j].Score })
}

type fusedHit struct {
	id                   uuid.UUID
	score                float64
	vectorRank, textRank int
}

// fuse merges the legs by Config.Fusion; a single leg keeps its own
// scores.
func (s *Searcher) fuse(vec, txt []Scored, k int) []fusedHit {
	byID := map[uuid.UUID]*fusedHit{}
	var order []*fusedHit
	get := func(id uuid.UUID) *fusedHit {
		h, ok := byID[id]
		if !ok {
			h = &fusedHit{id: id}
			byID[id] = h
			order = append(order, h)
		}
		return h
	}
	single := vec == nil || txt == nil
	add := func(leg []Scored, weight float64, setRank func(*fusedHit, int)) {
		top := 0.0
		if len(leg) > 0 {
			top = leg[0].Score
		}
		for i, r := range leg {
			h := get(r.ID)
			setRank(h, i+1)
			switch {
			case single:
				h.score = r.Score
			case s.cfg.Fusion == FusionRRF:
				h.score += weight / (s.cfg.RRFK + float64(i+1))
			case top > 0:
				h.score += weight * r.Score / top
			}
		}
	}
	add(vec, s.cfg.VectorWeight, func(h *fusedHit, r int) { h.vectorRank = r })
	add(txt, s.cfg.TextWeight, func(h *fusedHit, r int) { h.textRank = r })
	sort.SliceStable(order, func(i, j int) bool { return order[i].score > order[j].score })
	out := make([]fusedHit, 0, min(k, len(order)))
	for _, h := range order {
		if len(out) == k {
			break
		}
		out = append(out, *h)
	}
	return out
}

// VectorSQL is the vector leg's query for one model: the model id and the
// dimension are part of the text so that the planner can match the
// model's partial expression index. Parameters: $1 tenant, $2 query
// vector, $3 path prefix (” for none), $4 LIKE pattern of the prefix, $5 k.
func VectorSQL(model string, dim int) string {
	lit := "'" + strings.ReplaceAll(model, "'", "''") + "'"
	// OFFSET 0 keeps the visibility check a per-row filter of the index
	// scan: as a semi-join the planner misjudges its selectivity and sorts.
	return fmt.Sprintf(`SELECT id, 1 - dist FROM (
  SELECT c.id, c.embedding::vector(%[2]d) <=> $2::vector(%[2]d) AS dist
  FROM chunks c
  WHERE c.tenant_id = $1 AND c.model_id = %[1]s
    AND EXISTS (SELECT 1 FROM documents d
                WHERE d.tenant_id = c.tenant_id AND d.id = c.document_id AND d.current_version_id = c.version_id
                  AND ($3 = '' OR EXISTS (SELECT 1 FROM path_parts p WHERE p.tenant_id = d.tenant_id AND p.id = d.path_part_id AND (p.path = $3 OR p.path LIKE $4)))
                OFFSET 0)
  ORDER BY c.embedding::vector(%[2]d) <=> $2::vector(%[2]d)
  LIMIT $5
) x ORDER BY dist`, lit, dim)
}

// ExactVectorSQL is VectorSQL without the cast that lets the planner use
// the model's HNSW index: an exact scan of the tenant's rows, for tenants
// small enough (Config.ExactBelow) that reading them all is cheap and an
// approximate graph search over every tenant's rows only loses recall.
// Same parameters as VectorSQL.
func ExactVectorSQL(model string) string {
	lit := "'" + strings.ReplaceAll(model, "'", "''") + "'"
	return fmt.Sprintf(`SELECT c.id, 1 - (c.embedding <=> $2::vector) AS sim
FROM chunks c
JOIN documents d ON d.tenant_id = c.tenant_id AND d.id = c.document_id AND d.current_version_id = c.version_id
WHERE c.tenant_id = $1 AND c.model_id = %[1]s
  AND ($3 = '' OR EXISTS (SELECT 1 FROM path_parts p WHERE p.tenant_id = d.tenant_id AND p.id = d.path_part_id AND (p.path = $3 OR p.path LIKE $4)))
ORDER BY c.embedding <=> $2::vector
LIMIT $5`, lit)
}

// likePrefix is the LIKE pattern matching paths strictly under prefix.
func likePrefix(prefix string) string {
	return pg.EscapeLike(prefix) + "/%"
}

// VectorLeg returns the k nearest current chunks of tenantID to v by
// cosine distance, with their similarity: by an exact scan for a tenant
// with fewer than Config.ExactBelow chunks, otherwise through the model's
// HNSW index with an iterative scan so that filtered-out rows do not
// shrink the result.
func (s *Searcher) VectorLeg(ctx context.Context, tenantID uuid.UUID, v []float32, prefix string, k int) ([]Scored, error) {
	sql, args := s.vectorSQL, []any{tenantID, pgvector.NewVector(v), prefix, likePrefix(prefix), k}
	if s.cfg.ExactBelow > 0 {
		chunks, err := s.stats.tenantChunks(ctx, s.pool, tenantID)
		if err != nil {
			return nil, fmt.Errorf("vector leg: %w", err)
		}
		if chunks < int64(s.cfg.ExactBelow) {
			sql = s.exactSQL
		}
	}
	b := &pgx.Batch{}
	b.Queue(`BEGIN READ ONLY`)
	for _, set := range s.VectorSettings() {
		b.Queue(set)
	}
	var out []Scored
	b.Queue(sql, args...).Query(func(rows pgx.Rows) error {
		var err error
		out, err = collectScored(rows)
		return err
	})
	b.Queue(`COMMIT`)
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("vector leg: %w", err)
	}
	return out, nil
}

// VectorSettings are the SET LOCAL statements the vector leg runs before
// VectorSQL in its read-only transaction: no JIT (a plan estimated over
// jit_above_cost, as the HNSW plan forced by disabling sorts is, spent
// 390 ms compiling a 5 ms query), the iterative scan (relaxed order:
// VectorSQL sorts what it keeps) and ef_search.
func (s *Searcher) VectorSettings() []string {
	return []string{
		`SET LOCAL jit = off`,
		`SET LOCAL hnsw.iterative_scan = relaxed_order`,
		fmt.Sprintf(`SET LOCAL hnsw.ef_search = %d`, s.cfg.EfSearch),
	}
}

func collectScored(rows pgx.Rows) ([]Scored, error) {
	var out []Scored
	for rows.Next() {
		var r Scored
		if err := rows.Scan(&r.ID, &r.Score); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// TextSQL is the text leg's scoring query: candidates are current chunks
// matching the rare-term tsquery (GIN index on (tenant_id, tsv)), capped,
// then scored by BM25 over all query terms. setweight + ts_filter cut each
// candidate's tsvector down to the query's lexemes in C before unnesting;
// a chunk's length is its number of distinct lexemes (length(tsv)), as in
// the tenant statistics. Parameters: $1 tenant, $2
// candidate tsquery, $3 path prefix, $4 its LIKE pattern, $5 candidate cap,
// $6 terms, $7 their IDF, $8 k1, $9 b, $10 average chunk length, $11 k.
const TextSQL = `
WITH cand AS (
  SELECT c.id, ts_filter(setweight(c.tsv, 'A', $6::text[]), '{a}') AS tsv, length(c.tsv)::float8 AS dl
  FROM chunks c
  JOIN documents d ON d.tenant_id = c.tenant_id AND d.id = c.document_id AND d.current_version_id = c.version_id
  WHERE c.tenant_id = $1 AND c.tsv @@ $2::tsquery
    AND ($3::text = '' OR EXISTS (SELECT 1 FROM path_parts p WHERE p.tenant_id = d.tenant_id AND p.id = d.path_part_id AND (p.path = $3::text OR p.path LIKE $4::text)))
  LIMIT $5::int
)
SELECT cand.id,
       sum(w.idf * cardinality(u.positions) * ($8::float8 + 1) / (cardinality(u.positions) + $8::float8 * (1 - $9::float8 + $9::float8 * cand.dl / $10::float8))) AS score
FROM cand
CROSS JOIN LATERAL unnest(cand.tsv) u
JOIN unnest($6::text[], $7::float8[]) AS w(term, idf) ON w.term = u.lexeme
GROUP BY cand.id
ORDER BY score DESC, cand.id
LIMIT $11::int`

// TextLeg returns the k best current chunks of tenantID for the query
// text by BM25. Only a bounded candidate set is scored: the query's terms
// are taken rarest first until their summed document frequency reaches
// Config.TextCandidates, so common terms cannot make a query scan every
// row; all terms contribute to the score of each candidate.
func (s *Searcher) TextLeg(ctx context.Context, tenantID uuid.UUID, query, prefix string, k int) ([]Scored, error) {
	out, _, err := s.textLeg(ctx, tenantID, query, prefix, k)
	return out, err
}

func (s *Searcher) textLeg(ctx context.Context, tenantID uuid.UUID, query, prefix string, k int) ([]Scored, TextPlan, error) {
	terms := uniqueTerms(query)
	if len(terms) == 0 {
		return nil, TextPlan{}, nil
	}
	n, tokens, dfs, err := s.stats.lookup(ctx, s.pool, tenantID, terms)
	if err != nil {
		return nil, TextPlan{}, fmt.Errorf("text leg: term statistics: %w", err)
	}
	plan := PlanText(terms, dfs, n, s.cfg.TextCandidates)
	if plan.TSQuery == "" {
		return []Scored{}, plan, nil
	}
	avgdl := 1.0
	if n > 0 && tokens > 0 {
		avgdl = float64(tokens) / float64(n)
	}
	// A custom plan for each query (a generic plan cannot see how
	// selective the tsquery is and may scan every row), and no JIT (as
	// in VectorSettings).
	b := &pgx.Batch{}
	b.Queue(`BEGIN READ ONLY`)
	b.Queue(`SET LOCAL plan_cache_mode = force_custom_plan`)
	b.Queue(`SET LOCAL jit = off`)
	var out []Scored
	b.Queue(TextSQL, tenantID, plan.TSQuery, prefix, likePrefix(prefix), s.cfg.TextCandidates,
		plan.Terms, plan.IDF, s.cfg.K1, s.cfg.B, avgdl, k).Query(func(rows pgx.Rows) error {
		var err error
		out, err = collectScored(rows)
		return err
	})
	b.Queue(`COMMIT`)
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, plan, fmt.Errorf("text leg: %w", err)
	}
	return out, plan, nil
}

// TextPlan is the text leg's choice of candidate terms and its IDF weights.
type TextPlan struct {
	// TSQuery ORs the rare terms that select candidates ("" if none is known).
	TSQuery string
	// Terms and IDF are the known query terms and their BM25 IDF.
	Terms []string
	IDF   []float64
}

// PlanText chooses candidate terms rarest first until their summed
// document frequency reaches budget (always at least the rarest), and
// weighs every known term by BM25's IDF over n chunks.
func PlanText(terms []string, dfs []*int64, n int64, budget int) TextPlan {
	type tdf struct {
		term string
		df   int64
	}
	var known []tdf
	for i, t := range terms {
		if i < len(dfs) && dfs[i] != nil && *dfs[i] > 0 {
			known = append(known, tdf{t, *dfs[i]})
		}
	}
	var p TextPlan
	if len(known) == 0 {
		return p
	}
	sort.SliceStable(known, func(i, j int) bool { return known[i].df < known[j].df })
	var sum int64
	var sel []string
	for i, t := range known {
		if i > 0 && sum+t.df > int64(budget) {
			break
		}
		sum += t.df
		sel = append(sel, t.term)
	}
	for _, t := range known {
		p.Terms = append(p.Terms, t.term)
		nf, df := float64(max(n, t.df)), float64(t.df)
		p.IDF = append(p.IDF, ln(1+(nf-df+0.5)/(df+0.5)))
	}
	p.TSQuery = textsearch.Query(strings.Join(sel, " "))
	return p
}

func uniqueTerms(s string) []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range textsearch.Terms(s) {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

var hydrateSQL = `
SELECT c.id, c.document_id, c.version_id, d.name, v.version_number, c.ordinal,
       ` + chunk.PathSQL("vp.path", "c.ordinal") + `, c.content, c.start_offset, c.end_offset
FROM chunks c
JOIN documents d ON d.tenant_id = c.tenant_id AND d.id = c.document_id
JOIN document_versions v ON v.tenant_id = c.tenant_id AND v.id = c.version_id
JOIN path_parts vp ON vp.tenant_id = v.tenant_id AND vp.id = v.path_part_id
WHERE c.tenant_id = $1 AND c.id = ANY($2)`

func (s *Searcher) hydrate(ctx context.Context, tenantID uuid.UUID, fused []fusedHit) ([]Hit, error) {
	out := make([]Hit, 0, len(fused))
	if len(fused) == 0 {
		return out, nil
	}
	ids := make([]uuid.UUID, len(fused))
	for i, f := range fused {
		ids[i] = f.id
	}
	rows, err := s.pool.Query(ctx, hydrateSQL, tenantID, ids)
	if err != nil {
		return nil, fmt.Errorf("load hits: %w", err)
	}
	byID := map[uuid.UUID]Hit{}
	for rows.Next() {
		var h Hit
		if err := rows.Scan(&h.ChunkID, &h.DocumentID, &h.VersionID, &h.DocumentName, &h.VersionNumber, &h.Ordinal,
			&h.MaterializedPath, &h.Content, &h.StartOffset, &h.EndOffset); err != nil {
			rows.Close()
			return nil, fmt.Errorf("load hits: %w", err)
		}
		byID[h.ChunkID] = h
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load hits: %w", err)
	}
	for _, f := range fused {
		h, ok := byID[f.id] // a chunk deleted between the legs and here is skipped
		if !ok {
			continue
		}
		h.Score, h.VectorRank, h.TextRank = f.score, f.vectorRank, f.textRank
		out = append(out, h)
	}
	return out, nil
}

func ln(x float64) float64 { return math.Log(x) }
