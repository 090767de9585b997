// Package pg holds what Cairn's stores share about Postgres: DB, the
// subset of pgx that a pool, a connection and a transaction all have, so
// one store function runs on any of them; and EscapeLike, for LIKE
// patterns built from stored paths.
package pg

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DB runs statements: a *pgxpool.Pool, a *pgx.Conn or a pgx.Tx. Begin on
// a pgx.Tx opens a savepoint, so a function that writes through Begin is
// atomic on its own and also inside a caller's transaction.
type DB interface {
	Begin(ctx context.Context) (pgx.Tx, error)
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

var (
	_ DB = (*pgxpool.Pool)(nil)
	_ DB = (*pgx.Conn)(nil)
	_ DB = pgx.Tx(nil)
)

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// EscapeLike escapes s so that, inside a LIKE pattern, it matches itself
// only: \, % and _ get a backslash, LIKE's default escape character (say
// ESCAPE '\' where another default could be in force). Append the
// wildcards after it: EscapeLike(path) + "/%" matches every path under
// path.
func EscapeLike(s string) string { return likeEscaper.Replace(s) }
