package retrieval

import (
	"context"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/cairn-rag/cairn/internal/pg"
	"github.com/cairn-rag/cairn/textsearch/termstats"
)

// statsCacheMax bounds the cached document frequencies; past it the cache
// starts again empty.
const statsCacheMax = 200_000

// statsCache keeps what the text leg reads from the term statistics
// (termstats.Lookup) for ttl, so that a query whose terms were seen
// recently skips that round trip. The statistics are approximate anyway
// (older versions count); a known term's IDF is at most ttl stale, and a
// term no chunk had is looked up again on every query.
type statsCache struct {
	ttl     time.Duration
	mu      sync.Mutex
	tenants map[uuid.UUID]tenantStats
	terms   map[termKey]termStat
}

type tenantStats struct {
	chunks, tokens int64
	at             time.Time
}

type termKey struct {
	tenant uuid.UUID
	term   string
}

type termStat struct {
	df *int64
	at time.Time
}

func newStatsCache(ttl time.Duration) *statsCache {
	return &statsCache{ttl: ttl, tenants: map[uuid.UUID]tenantStats{}, terms: map[termKey]termStat{}}
}

// lookup returns the tenant's chunk and length totals and the document
// frequency of each term (nil: unknown), from the cache where fresh and
// from the database otherwise.
func (c *statsCache) lookup(ctx context.Context, db pg.DB, tenant uuid.UUID, terms []string) (chunks, tokens int64, dfs []*int64, err error) {
	now := time.Now()
	dfs = make([]*int64, len(terms))
	var missing []string
	var missingAt []int
	c.mu.Lock()
	ts, ok := c.tenants[tenant]
	fresh := ok && now.Sub(ts.at) < c.ttl
	for i, t := range terms {
		st, ok := c.terms[termKey{tenant, t}]
		if fresh && ok && now.Sub(st.at) < c.ttl {
			dfs[i] = st.df
			continue
		}
		missing, missingAt = append(missing, t), append(missingAt, i)
	}
	c.mu.Unlock()
	if fresh && len(missing) == 0 {
		return ts.chunks, ts.tokens, dfs, nil
	}
	chunks, tokens, got, err := termstats.Lookup(ctx, db, tenant, missing)
	if err != nil {
		return 0, 0, nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.terms)+len(missing) > statsCacheMax {
		c.terms = map[termKey]termStat{}
	}
	c.tenants[tenant] = tenantStats{chunks: chunks, tokens: tokens, at: now}
	for j, i := range missingAt {
		var df *int64
		if j < len(got) {
			df = got[j]
		}
		dfs[i] = df
		if df != nil && *df > 0 {
			// Unknown terms are asked again: a document just ingested
			// may bring them.
			c.terms[termKey{tenant, terms[i]}] = termStat{df: df, at: now}
		}
	}
	return chunks, tokens, dfs, nil
}

// tenantChunks returns the tenant's stored chunk count (every version),
// from the cache where fresh.
func (c *statsCache) tenantChunks(ctx context.Context, db pg.DB, tenant uuid.UUID) (int64, error) {
	c.mu.Lock()
	ts, ok := c.tenants[tenant]
	c.mu.Unlock()
	if ok && time.Since(ts.at) < c.ttl {
		return ts.chunks, nil
	}
	chunks, _, _, err := c.lookup(ctx, db, tenant, nil)
	return chunks, err
}
