// Package termstats keeps the text leg's BM25 statistics (document
// frequency per tenant and term, chunk and length totals per tenant)
// without triggers: the writer of chunks counts them in Go and records a
// Delta in the same transaction as the chunks.
//
// Deltas are append-only rows (term_stat_deltas, tenant_text_stat_deltas;
// migration 00010), so concurrent ingests and deletes of the same terms
// never update one row: no lost updates, no lock waits, no deadlocks.
// Readers add them to the summary (term_stats, tenant_text_stats) at
// read time; Compact folds a tenant's deltas into its summary, one
// compaction per tenant at a time. A chunk's terms are the fields of its
// search_terms (textsearch.Document), the lexemes its tsv holds; its
// length is their number, distinct, as length(tsv).
package termstats

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/cairn-rag/cairn/internal/pg"
)

// CompactAfter is how many uncompacted deltas a tenant may have before
// MaybeCompact folds them: it bounds the rows a lookup sums per term.
const CompactAfter = 16

// Delta is a change of one tenant's statistics: chunks added (positive)
// or removed (negative).
type Delta struct {
	Chunks, Tokens int64
	DF             map[string]int64
}

// Add counts a chunk written with searchTerms.
func (d *Delta) Add(searchTerms string) { d.add(searchTerms, 1) }

// Remove counts a chunk deleted that had searchTerms.
func (d *Delta) Remove(searchTerms string) { d.add(searchTerms, -1) }

func (d *Delta) add(searchTerms string, sign int64) {
	terms := strings.Fields(searchTerms)
	slices.Sort(terms)
	terms = slices.Compact(terms)
	if d.DF == nil {
		d.DF = map[string]int64{}
	}
	d.Chunks += sign
	d.Tokens += sign * int64(len(terms))
	for _, t := range terms {
		d.DF[t] += sign
	}
}

// Empty reports whether d changes nothing.
func (d *Delta) Empty() bool {
	if d.Chunks != 0 || d.Tokens != 0 {
		return false
	}
	for _, n := range d.DF {
		if n != 0 {
			return false
		}
	}
	return true
}

const (
	insertTermsSQL = `INSERT INTO term_stat_deltas (tenant_id, term, df)
		SELECT $1, t, n FROM unnest($2::text[], $3::bigint[]) AS u(t, n)`
	insertTenantSQL = `INSERT INTO tenant_text_stat_deltas (tenant_id, chunks, tokens) VALUES ($1, $2, $3)`
)

// Queue adds the statements that record d for tenant to b, so they go
// with the caller's other statements in one round trip; nothing if d is
// empty.
func (d *Delta) Queue(b *pgx.Batch, tenant uuid.UUID) {
	if d.Empty() {
		return
	}
	terms, dfs := d.rows()
	if len(terms) > 0 {
		b.Queue(insertTermsSQL, tenant, terms, dfs)
	}
	b.Queue(insertTenantSQL, tenant, d.Chunks, d.Tokens)
}

// Write records d for tenant in tx (the caller's transaction), in one
// round trip: the statements Queue makes.
func (d *Delta) Write(ctx context.Context, tx pgx.Tx, tenant uuid.UUID) error {
	b := &pgx.Batch{}
	d.Queue(b, tenant)
	if b.Len() == 0 {
		return nil
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("term statistics: %w", err)
	}
	return nil
}

// RemoveDeleted runs sql, a DELETE of chunks RETURNING search_terms, and
// counts each deleted chunk out of d.
func (d *Delta) RemoveDeleted(ctx context.Context, db pg.DB, sql string, args ...any) error {
	rows, err := db.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	var terms string
	_, err = pgx.ForEachRow(rows, []any{&terms}, func() error {
		d.Remove(terms)
		return nil
	})
	return err
}

func (d *Delta) rows() ([]string, []int64) {
	terms := make([]string, 0, len(d.DF))
	for t, n := range d.DF {
		if n != 0 {
			terms = append(terms, t)
		}
	}
	slices.Sort(terms)
	dfs := make([]int64, len(terms))
	for i, t := range terms {
		dfs[i] = d.DF[t]
	}
	return terms, dfs
}

// LookupSQL reads a tenant's statistics, summary plus deltas: chunks,
// tokens and the document frequency of each of the terms $2 in order
// (NULL: no chunk ever had it). $1 is the tenant.
const LookupSQL = `
WITH t AS (
  SELECT coalesce(sum(chunks), 0)::bigint AS chunks, coalesce(sum(tokens), 0)::bigint AS tokens FROM (
    SELECT chunks, tokens FROM tenant_text_stats WHERE tenant_id = $1
    UNION ALL
    SELECT chunks, tokens FROM tenant_text_stat_deltas WHERE tenant_id = $1) s
)
SELECT t.chunks, t.tokens,
       coalesce((SELECT array_agg(s.df ORDER BY q.ord) FROM unnest($2::text[]) WITH ORDINALITY q(term, ord)
         CROSS JOIN LATERAL (SELECT sum(x.df)::bigint AS df FROM (
           SELECT df FROM term_stats WHERE tenant_id = $1 AND term = q.term
           UNION ALL
           SELECT df FROM term_stat_deltas WHERE tenant_id = $1 AND term = q.term) x) s), '{}')
FROM t`

// Lookup returns the tenant's chunk and length totals and the document
// frequency of each term (nil: unknown).
func Lookup(ctx context.Context, db pg.DB, tenant uuid.UUID, terms []string) (chunks, tokens int64, dfs []*int64, err error) {
	if terms == nil {
		terms = []string{}
	}
	err = db.QueryRow(ctx, LookupSQL, tenant, terms).Scan(&chunks, &tokens, &dfs)
	return chunks, tokens, dfs, err
}

// MaybeCompact compacts the tenant's statistics when it has
// CompactAfter deltas or more.
func MaybeCompact(ctx context.Context, db pg.DB, tenant uuid.UUID) error {
	var n int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM tenant_text_stat_deltas WHERE tenant_id = $1 LIMIT $2) s`,
		tenant, CompactAfter).Scan(&n); err != nil {
		return fmt.Errorf("count term statistics deltas: %w", err)
	}
	if n < CompactAfter {
		return nil
	}
	return Compact(ctx, db, tenant)
}

// Compact folds the tenant's deltas into its summary in one transaction
// (readers see the deltas or their sum, never both or neither). One
// compaction per tenant runs at a time: another one meanwhile returns at
// once, leaving the deltas to the next.
func Compact(ctx context.Context, db pg.DB, tenant uuid.UUID) error {
	tx, err := db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("compact term statistics: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit, a no-op
	if _, err := tx.Exec(ctx, `INSERT INTO tenant_text_stats (tenant_id, chunks, tokens) VALUES ($1, 0, 0) ON CONFLICT (tenant_id) DO NOTHING`, tenant); err != nil {
		return fmt.Errorf("compact term statistics: %w", err)
	}
	var locked int
	err = tx.QueryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM tenant_text_stats WHERE tenant_id = $1 FOR UPDATE SKIP LOCKED) s`, tenant).Scan(&locked)
	if err != nil {
		return fmt.Errorf("compact term statistics: %w", err)
	}
	if locked == 0 {
		return nil // another compaction of this tenant is running
	}
	// Each statement takes the deltas committed when it starts and
	// deletes exactly those; later ones wait for the next compaction.
	if _, err := tx.Exec(ctx, `WITH moved AS (DELETE FROM tenant_text_stat_deltas WHERE tenant_id = $1 RETURNING chunks, tokens)
		UPDATE tenant_text_stats s SET chunks = s.chunks + m.chunks, tokens = s.tokens + m.tokens
		FROM (SELECT coalesce(sum(chunks), 0) AS chunks, coalesce(sum(tokens), 0) AS tokens FROM moved) m
		WHERE s.tenant_id = $1`, tenant); err != nil {
		return fmt.Errorf("compact term statistics: %w", err)
	}
	if _, err := tx.Exec(ctx, `WITH moved AS (DELETE FROM term_stat_deltas WHERE tenant_id = $1 RETURNING term, df)
		INSERT INTO term_stats AS s (tenant_id, term, df)
		SELECT $1, term, sum(df) FROM moved GROUP BY term ORDER BY term
		ON CONFLICT (tenant_id, term) DO UPDATE SET df = s.df + excluded.df`, tenant); err != nil {
		return fmt.Errorf("compact term statistics: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("compact term statistics: %w", err)
	}
	return nil
}
