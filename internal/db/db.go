// Package db owns Cairn's connection to Postgres: the pgx pool (with the
// pgvector types registered), the schema migrations (goose over the
// embedded migrations, River's tables through River's migrator) and the
// readiness check.
package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	pgxvec "github.com/pgvector/pgvector-go/pgx"
	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/cairn-rag/cairn/migrations"
)

// Open connects a pool to url with at most maxConns connections and the
// pgvector types registered on every connection.
func Open(ctx context.Context, url string, maxConns int32) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	if t := testTracer.Load(); t != nil {
		cfg.ConnConfig.Tracer = *t
	}
	cfg.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
		// The vector type exists only once migrations ran; tolerate its
		// absence so that `cairn migrate` can connect to a fresh database.
		var exists bool
		if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_type WHERE typname = 'vector')`).Scan(&exists); err != nil {
			return fmt.Errorf("look up vector type: %w", err)
		}
		if !exists {
			return nil
		}
		if err := pgxvec.RegisterTypes(ctx, conn); err != nil {
			return fmt.Errorf("register pgvector types: %w", err)
		}
		return nil
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open pool: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	return pool, nil
}

var testTracer atomic.Pointer[pgx.QueryTracer]

// TraceForTests makes every pool Open returns from now on report its
// statements to tracer (internal/testdb records a test run's statements
// with it, pools opened by the code under test included). Tests only.
func TraceForTests(tracer pgx.QueryTracer) { testTracer.Store(&tracer) }

// Migrator applies Cairn's and River's migrations to one database.
type Migrator struct {
	pool  *pgxpool.Pool
	sqlDB *sql.DB
	goose *goose.Provider
	river *rivermigrate.Migrator[pgx.Tx]
}

// NewMigrator returns a Migrator over pool. Close it when done.
func NewMigrator(pool *pgxpool.Pool) (*Migrator, error) {
	sqlDB := stdlib.OpenDBFromPool(pool)
	gp, err := goose.NewProvider(goose.DialectPostgres, sqlDB, migrations.FS)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("goose provider: %w", err), sqlDB.Close())
	}
	rm, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("river migrator: %w", err), sqlDB.Close())
	}
	return &Migrator{pool: pool, sqlDB: sqlDB, goose: gp, river: rm}, nil
}

// Close releases the migrator's database/sql handle (not the pool).
func (m *Migrator) Close() error { return m.sqlDB.Close() }

// Up applies River's migrations, then every pending Cairn migration, and
// returns the versions applied. On a database with the citus extension it
// then distributes what is not distributed yet (CitusStatements).
func (m *Migrator) Up(ctx context.Context) ([]int64, error) {
	if _, err := m.river.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return nil, fmt.Errorf("river migrate up: %w", err)
	}
	res, err := m.goose.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate up: %w", err)
	}
	if err := distributeIfCitus(ctx, m.pool); err != nil {
		return nil, err
	}
	return versions(res), nil
}

// DownTo rolls Cairn's schema back to version (0 removes every Cairn
// table; River's tables stay) and returns the versions rolled back.
func (m *Migrator) DownTo(ctx context.Context, version int64) ([]int64, error) {
	res, err := m.goose.DownTo(ctx, version)
	if err != nil {
		return nil, fmt.Errorf("migrate down to %d: %w", version, err)
	}
	return versions(res), nil
}

// Down rolls back the newest Cairn migration and returns its version.
func (m *Migrator) Down(ctx context.Context) (int64, error) {
	res, err := m.goose.Down(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrate down: %w", err)
	}
	return res.Source.Version, nil
}

// MigrationStatus is one migration and whether it is applied.
type MigrationStatus struct {
	Version   int64
	Name      string
	Applied   bool
	AppliedAt time.Time
}

// Status lists Cairn's migrations and their state.
func (m *Migrator) Status(ctx context.Context) ([]MigrationStatus, error) {
	st, err := m.goose.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migration status: %w", err)
	}
	out := make([]MigrationStatus, 0, len(st))
	for _, s := range st {
		out = append(out, MigrationStatus{
			Version:   s.Source.Version,
			Name:      s.Source.Path,
			Applied:   s.State == goose.StateApplied,
			AppliedAt: s.AppliedAt,
		})
	}
	return out, nil
}

// ErrSchemaBehind means the database lacks migrations this binary has.
var ErrSchemaBehind = errors.New("database schema is not current")

// CheckCurrent returns nil when every Cairn and River migration is applied,
// ErrSchemaBehind when some are pending, or the database error.
func (m *Migrator) CheckCurrent(ctx context.Context) error {
	pending, err := m.goose.HasPending(ctx)
	if err != nil {
		return fmt.Errorf("check migrations: %w", err)
	}
	if pending {
		return ErrSchemaBehind
	}
	res, err := m.river.Migrate(ctx, rivermigrate.DirectionUp, &rivermigrate.MigrateOpts{DryRun: true})
	if err != nil {
		return fmt.Errorf("check river migrations: %w", err)
	}
	if len(res.Versions) > 0 {
		return ErrSchemaBehind
	}
	return nil
}

func versions(res []*goose.MigrationResult) []int64 {
	out := make([]int64, 0, len(res))
	for _, r := range res {
		out = append(out, r.Source.Version)
	}
	return out
}
