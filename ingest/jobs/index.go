package jobs

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"

	"github.com/cairn-rag/cairn/embed"
	"github.com/cairn-rag/cairn/ingest/chunk"
	"github.com/cairn-rag/cairn/ingest/extract"
	"github.com/cairn-rag/cairn/ingest/store"
	"github.com/cairn-rag/cairn/internal/apperr"
)

// Defaults for IndexConfig.
const (
	MaxTextCharsDefault     = 10_000_000
	EmbedBatchDefault       = 64
	EmbedConcurrencyDefault = 4
)

// IndexConfig tunes indexing; zero fields take defaults.
type IndexConfig struct {
	// Chunk sets chunk size and overlap (chunk.Options.WithDefaults).
	Chunk chunk.Options
	// MaxTextChars bounds the extracted text of one version, in code
	// points (MaxTextCharsDefault).
	MaxTextChars int
	// EmbedBatch is how many chunks go to the embedder per call
	// (EmbedBatchDefault).
	EmbedBatch int
	// EmbedConcurrency bounds concurrent embedder calls per job
	// (EmbedConcurrencyDefault).
	EmbedConcurrency int
	// MaxPages and MaxContentBytes bound a PDF's pages and decompressed
	// content streams (extract.MaxPagesDefault,
	// extract.MaxContentBytesDefault).
	MaxPages        int
	MaxContentBytes int64
}

// WithDefaults returns c with zero fields set to their defaults.
func (c IndexConfig) WithDefaults() IndexConfig {
	c.Chunk = c.Chunk.WithDefaults()
	if c.MaxTextChars <= 0 {
		c.MaxTextChars = MaxTextCharsDefault
	}
	if c.EmbedBatch <= 0 {
		c.EmbedBatch = EmbedBatchDefault
	}
	if c.EmbedConcurrency <= 0 {
		c.EmbedConcurrency = EmbedConcurrencyDefault
	}
	return c
}

// Indexer indexes versions: extract, chunk, embed, then store.Commit.
// It knows nothing of River; Worker runs it for River jobs.
type Indexer struct {
	store    *store.Store
	embedder embed.Embedder
	cfg      IndexConfig
}

// NewIndexer returns an Indexer writing to st with embeddings of e.
func NewIndexer(st *store.Store, e embed.Embedder, cfg IndexConfig) *Indexer {
	return &Indexer{store: st, embedder: e, cfg: cfg.WithDefaults()}
}

// permanent reports whether err is a property of the file, not worth a retry.
func permanent(err error) bool {
	k := apperr.KindOf(err)
	return k == apperr.Unprocessable || k == apperr.Unsupported || k == apperr.TooLarge
}

// Index indexes the versions of the given ingest jobs as attempt number
// attempt. It is idempotent: jobs that already finished, or whose
// document was deleted, are skipped; everything is written in one
// transaction. A version that cannot be processed (does not parse, too
// long) fails on its own; any other error is returned, and nothing is
// written.
func (ix *Indexer) Index(ctx context.Context, tenant uuid.UUID, jobIDs []uuid.UUID, attempt int) error {
	pending, err := ix.store.LoadPending(ctx, tenant, jobIDs)
	if err != nil || len(pending) == 0 {
		return err
	}
	results := make([]store.Indexed, len(pending))
	var spans []chunk.Span
	ids, totals := make([]uuid.UUID, len(pending)), make([]int32, len(pending))
	for i, p := range pending {
		r := store.Indexed{Pending: p}
		ext, err := extract.ExtractContext(ctx, p.MimeType, p.Raw, extract.Limits{
			MaxChars: ix.cfg.MaxTextChars, MaxPages: ix.cfg.MaxPages, MaxContentBytes: ix.cfg.MaxContentBytes})
		switch {
		case err != nil && !permanent(err):
			return err
		case err != nil:
			r.Failed = err
		default:
			r.Text = ext.Text
			for _, sp := range chunk.SplitPages(ext.Text, ext.PageStarts, ix.cfg.Chunk) {
				c := store.NewChunk{Content: sp.Content, Start: sp.Start, End: sp.End}
				if len(ext.PageStarts) > 0 {
					page := ext.PageAt(sp.Start)
					c.Page = &page
				}
				r.Chunks = append(r.Chunks, c)
				spans = append(spans, sp)
			}
		}
		results[i] = r
		ids[i], totals[i] = p.JobID, int32(len(r.Chunks))
	}
	if err := ix.store.MarkRunning(ctx, tenant, ids, totals, attempt); err != nil {
		return err
	}
	var progressJob *uuid.UUID
	if len(pending) == 1 {
		progressJob = &pending[0].JobID
	}
	vecs, err := ix.embedAll(ctx, tenant, progressJob, spans)
	if err != nil {
		return err
	}
	k := 0
	for i := range results {
		for j := range results[i].Chunks {
			results[i].Chunks[j].Embedding = vecs[k]
			k++
		}
	}
	return ix.store.Commit(ctx, tenant, ix.embedder.Model(), attempt, results)
}

// embedAll embeds the spans in batches, at most EmbedConcurrency calls at
// once, recording progress on the job (when one job is given).
func (ix *Indexer) embedAll(ctx context.Context, tenant uuid.UUID, jobID *uuid.UUID, spans []chunk.Span) ([][]float32, error) {
	vecs := make([][]float32, len(spans))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(ix.cfg.EmbedConcurrency)
	var mu sync.Mutex
	done, last := 0, time.Now()
	for lo := 0; lo < len(spans); lo += ix.cfg.EmbedBatch {
		hi := min(lo+ix.cfg.EmbedBatch, len(spans))
		g.Go(func() error {
			texts := make([]string, hi-lo)
			for i := range texts {
				texts[i] = spans[lo+i].Content
			}
			vs, err := ix.embedder.Embed(gctx, texts)
			if err != nil {
				return fmt.Errorf("embed chunks %d-%d: %w", lo, hi, err)
			}
			if len(vs) != len(texts) {
				return fmt.Errorf("embedder returned %d vectors for %d texts", len(vs), len(texts))
			}
			copy(vecs[lo:hi], vs)
			mu.Lock()
			done += hi - lo
			report := time.Since(last) > 250*time.Millisecond
			if report {
				last = time.Now()
			}
			n := done
			mu.Unlock()
			if report && jobID != nil {
				_ = ix.store.Progress(gctx, tenant, *jobID, n)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return vecs, nil
}
