package threads_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/internal/db"
	"github.com/cairn-rag/cairn/internal/testdb"
)

func TestMigrationsDownAndUpAgain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, err := db.Open(ctx, testdb.Fresh(t), 2)
	require.NoError(t, err)
	defer pool.Close()
	m, err := db.NewMigrator(pool)
	require.NoError(t, err)
	defer func() { require.NoError(t, m.Close()) }()
	_, err = m.Up(ctx)
	require.NoError(t, err)
	_, err = m.DownTo(ctx, 2)
	require.NoError(t, err)
	var exists bool
	require.NoError(t, pool.QueryRow(ctx, `SELECT to_regclass('messages') IS NOT NULL`).Scan(&exists))
	require.False(t, exists)
	_, err = m.Up(ctx)
	require.NoError(t, err)
	require.NoError(t, m.CheckCurrent(ctx))
}
