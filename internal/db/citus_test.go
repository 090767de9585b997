package db_test

import (
	"context"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/internal/db"
	"github.com/cairn-rag/cairn/internal/testdb"
)

// TestTenantKeysIncludeTenantID is the schema check behind distributing by
// tenant_id: every primary key, unique constraint or unique index and
// foreign key of a tenant table includes tenant_id, and a foreign key to
// another tenant table pairs tenant_id with tenant_id (Citus accepts
// those only; a key without it would have to be dropped to distribute).
func TestTenantKeysIncludeTenantID(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.Pool(t)
	tables, err := db.TenantTables(ctx, pool)
	require.NoError(t, err)
	require.Contains(t, tables, "chunks")
	require.NotContains(t, tables, "tenants")

	rows, err := pool.Query(ctx, `
SELECT format('%s: %s', conrelid::regclass, pg_get_constraintdef(oid))
FROM pg_constraint con
WHERE con.contype IN ('p', 'u', 'f') AND con.conrelid::regclass::text = ANY ($1)
  AND NOT EXISTS (
      SELECT 1 FROM unnest(con.conkey) WITH ORDINALITY k(attnum, i)
      JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum AND a.attname = 'tenant_id'
      WHERE con.contype <> 'f'
         OR con.confrelid::regclass::text = ANY ($2)
         OR (SELECT attname FROM pg_attribute WHERE attrelid = con.confrelid AND attnum = con.confkey[k.i]) = 'tenant_id')
UNION ALL
SELECT format('%s: %s', indrelid::regclass, pg_get_indexdef(indexrelid))
FROM pg_index i
WHERE i.indisunique AND i.indrelid::regclass::text = ANY ($1)
  AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = i.indrelid AND a.attname = 'tenant_id' AND a.attnum = ANY (i.indkey))
ORDER BY 1`, tables, db.ReferenceTables)
	require.NoError(t, err)
	bad, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	assert.Empty(t, bad, "keys of tenant tables without tenant_id")
}

// TestCitusStatements: the statements `cairn migrate up` runs on a Citus
// database, derived from this schema's catalog: reference tables first,
// every tenant table once, each after the tables its foreign keys
// reference, all co-located with the first; nothing for a table already
// distributed.
func TestCitusStatements(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.Pool(t)
	tables, err := db.TenantTables(ctx, pool)
	require.NoError(t, err)

	stmts := db.CitusStatements(tables, nil)
	require.Len(t, stmts, len(db.ReferenceTables)+len(tables))
	assert.Equal(t, `SELECT create_reference_table('"tenants"')`, stmts[0])
	assert.Equal(t, `SELECT create_reference_table('"api_keys"')`, stmts[1])
	first := tables[0]
	assert.Equal(t, `SELECT create_distributed_table('"`+first+`"', 'tenant_id')`, stmts[2])
	pos := map[string]int{}
	for i, tbl := range tables {
		pos[tbl] = i
		if i > 0 {
			assert.Equal(t, `SELECT create_distributed_table('"`+tbl+`"', 'tenant_id', colocate_with => '"`+first+`"')`, stmts[2+i])
		}
	}
	for _, rt := range []string{"river_job", "river_queue", "goose_db_version"} {
		for _, s := range stmts {
			assert.NotContains(t, s, rt)
		}
	}

	rows, err := pool.Query(ctx, `SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint
		WHERE contype = 'f' AND conrelid <> confrelid AND conrelid::regclass::text = ANY ($1)`, tables)
	require.NoError(t, err)
	n := 0
	for rows.Next() {
		var from, to string
		require.NoError(t, rows.Scan(&from, &to))
		if slices.Contains(db.ReferenceTables, to) {
			continue
		}
		n++
		assert.Less(t, pos[to], pos[from], "%s references %s: distributed after it", from, to)
	}
	require.NoError(t, rows.Err())
	require.NotZero(t, n, "the schema has foreign keys between tenant tables")

	// Idempotent: what is distributed is not distributed again; a table
	// added later co-locates with the tables already there.
	all := map[string]bool{}
	for _, tbl := range append(slices.Clone(db.ReferenceTables), tables...) {
		all[tbl] = true
	}
	assert.Empty(t, db.CitusStatements(tables, all))
	delete(all, tables[len(tables)-1])
	assert.Equal(t, []string{`SELECT create_distributed_table('"` + tables[len(tables)-1] + `"', 'tenant_id', colocate_with => '"` + first + `"')`},
		db.CitusStatements(tables, all))
}
