package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Execer runs a statement: a pool, a connection or a transaction.
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// ModelIndexName is the name of the HNSW index of one embedding model.
// Vector search over model M of dimension D (WHERE c.tenant_id = $1 AND
// c.model_id = M ORDER BY c.embedding::vector(D) <=> $q) uses it.
func ModelIndexName(model string) string {
	b := []byte("chunks_hnsw_")
	for _, r := range model {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b = append(b, byte(r))
		case r >= 'A' && r <= 'Z':
			b = append(b, byte(r+'a'-'A'))
		default:
			b = append(b, '_')
		}
	}
	if len(b) > 63 {
		b = b[:63]
	}
	return string(b)
}

// EnsureModelIndex creates the partial HNSW expression index of a model
// unless it exists (the offline model's comes with the migrations; a
// bulk load with DeferModelIndex drops and rebuilds it). It must not run
// inside a transaction (CREATE INDEX CONCURRENTLY).
func EnsureModelIndex(ctx context.Context, db Execer, model string, dim int) error {
	q := fmt.Sprintf(`CREATE INDEX CONCURRENTLY IF NOT EXISTS %s ON chunks USING hnsw ((embedding::vector(%d)) vector_cosine_ops) WHERE model_id = %s`,
		pgx.Identifier{ModelIndexName(model)}.Sanitize(), dim, quoteLiteral(model))
	if _, err := db.Exec(ctx, q); err != nil {
		return fmt.Errorf("create HNSW index for model %s: %w", model, err)
	}
	return nil
}

func quoteLiteral(s string) string {
	out := []byte{'\''}
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' {
			out = append(out, '\'')
		}
		out = append(out, s[i])
	}
	return string(append(out, '\''))
}

// DeferModelIndex drops the HNSW index of model for a bulk load and
// returns the function that builds it again (CONCURRENTLY, so writes go
// on meanwhile). Building the graph once after the load is several times
// cheaper than maintaining it row by row. While the index is missing,
// vector search stays correct (an exact scan) but slower; a process that
// dies before rebuilding leaves that state until the next `cairn serve`,
// `cairn worker` or `cairn ingest` start, which runs EnsureModelIndex.
func DeferModelIndex(ctx context.Context, db Execer, model string, dim int) (rebuild func(context.Context) error, err error) {
	if _, err := db.Exec(ctx, `DROP INDEX IF EXISTS `+pgx.Identifier{ModelIndexName(model)}.Sanitize()); err != nil {
		return nil, fmt.Errorf("drop HNSW index for model %s: %w", model, err)
	}
	return func(ctx context.Context) error { return EnsureModelIndex(ctx, db, model, dim) }, nil
}

// ModelRows counts the chunks embedded with model, of every tenant (the
// rows of its HNSW index), counting at most limit.
func (s *Store) ModelRows(ctx context.Context, model string, limit int) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT /* cairn:all-tenants */ count(*) FROM (SELECT 1 FROM chunks WHERE model_id = $1 LIMIT $2) x`, model, limit).Scan(&n); err != nil {
		return 0, fmt.Errorf("count model rows: %w", err)
	}
	return n, nil
}
