package migrations_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// TestNoTriggerOnATenantTableUsesTransitionTables: Citus cannot run a
// trigger that reads transition tables ("executor could not find named
// tuplestore"), so no trigger on a table with a tenant_id column may
// declare REFERENCING OLD/NEW TABLE. Checked on the migrated schema.
func TestNoTriggerOnATenantTableUsesTransitionTables(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t)
	ctx := context.Background()
	const q = `SELECT c.relname || '.' || t.tgname FROM pg_trigger t
		JOIN pg_class c ON c.oid = t.tgrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE NOT t.tgisinternal AND n.nspname = current_schema()
		  AND (t.tgoldtable IS NOT NULL OR t.tgnewtable IS NOT NULL)
		  AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
		ORDER BY 1`
	rows, err := pool.Query(ctx, q)
	require.NoError(t, err)
	bad, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Empty(t, bad, "triggers with transition tables on tenant tables")

	// The check finds one: a transition-table trigger added in a
	// transaction that is rolled back.
	tx, err := pool.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx) //nolint:errcheck
	_, err = tx.Exec(ctx, `CREATE FUNCTION probe_noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
		CREATE TRIGGER probe_transition AFTER INSERT ON chunks REFERENCING NEW TABLE AS n FOR EACH STATEMENT EXECUTE FUNCTION probe_noop()`)
	require.NoError(t, err)
	rows, err = tx.Query(ctx, q)
	require.NoError(t, err)
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, []string{"chunks.probe_transition"}, found)
}
