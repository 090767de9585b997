package db_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/internal/db"
	"github.com/cairn-rag/cairn/internal/testdb"
)

func TestMigrationsUpDownUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := testdb.Fresh(t)
	pool, err := db.Open(ctx, url, 4)
	require.NoError(t, err)
	defer pool.Close()
	m, err := db.NewMigrator(pool)
	require.NoError(t, err)
	defer func() { require.NoError(t, m.Close()) }()

	require.ErrorIs(t, m.CheckCurrent(ctx), db.ErrSchemaBehind, "a fresh database is behind")

	applied, err := m.Up(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, applied)
	require.NoError(t, m.CheckCurrent(ctx))

	count := func() int {
		var n int
		require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM information_schema.tables
			WHERE table_schema = 'public' AND table_name IN ('tenants', 'api_keys', 'path_parts', 'documents', 'chunks', 'threads')`).Scan(&n))
		return n
	}
	require.Equal(t, 6, count())

	undone, err := m.DownTo(ctx, 0)
	require.NoError(t, err)
	require.Len(t, undone, len(applied))
	require.Equal(t, 0, count())
	require.ErrorIs(t, m.CheckCurrent(ctx), db.ErrSchemaBehind)

	again, err := m.Up(ctx)
	require.NoError(t, err)
	require.Equal(t, applied, again)
	require.Equal(t, 6, count())
	require.NoError(t, m.CheckCurrent(ctx))

	st, err := m.Status(ctx)
	require.NoError(t, err)
	for _, s := range st {
		require.True(t, s.Applied, "migration %d applied", s.Version)
	}
}
