package testdb

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cairn-rag/cairn/internal/db"
	"github.com/cairn-rag/cairn/internal/sqlcheck"
)

// recorder is the pgx tracer testdb installs on every pool db.Open makes
// in a test binary (the package's pool and the pools the code under test
// opens): it keeps each distinct statement the code sends, for Main to
// check with internal/sqlcheck. Left out: a statement written in a
// _test.go file (a test's own look at the tables), and the migrations'
// (goose's) statements, which run once, before Citus distributes
// anything.
type recorder struct {
	mu   sync.Mutex
	seen map[string]bool
}

var statements = &recorder{seen: map[string]bool{}}

func init() { db.TraceForTests(statements) }

func (r *recorder) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	r.record(data.SQL)
	return ctx
}

func (r *recorder) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (r *recorder) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}

func (r *recorder) TraceBatchQuery(_ context.Context, _ *pgx.Conn, data pgx.TraceBatchQueryData) {
	r.record(data.SQL)
}

func (r *recorder) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

const module = "github.com/cairn-rag/cairn/"

func (r *recorder) record(sql string) {
	if notApplication() {
		return
	}
	r.mu.Lock()
	r.seen[sql] = true
	r.mu.Unlock()
}

// notApplication reports whether the statement being sent comes from a
// migration or from a _test.go file (the nearest caller in Cairn's module
// outside internal/db and internal/testdb).
func notApplication() bool {
	pcs := make([]uintptr, 128)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(3, pcs)])
	for {
		f, more := frames.Next()
		if strings.HasPrefix(f.Function, "github.com/pressly/goose/") {
			return true
		}
		if strings.HasPrefix(f.Function, module) &&
			!strings.HasPrefix(f.Function, module+"internal/db.") && !strings.HasPrefix(f.Function, module+"internal/testdb.") {
			return strings.HasSuffix(f.File, "_test.go")
		}
		if !more {
			return false
		}
	}
}

func (r *recorder) sorted() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.seen))
	for s := range r.seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// checkStatements runs sqlcheck over every recorded statement, with the
// tenant tables and volatile functions of p's catalog, and prints the
// findings; it returns how many there were.
func checkStatements(ctx context.Context, p *pgxpool.Pool) (int, error) {
	stmts := statements.sorted()
	if len(stmts) == 0 {
		return 0, nil
	}
	c, err := Checker(ctx, p)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, s := range stmts {
		for _, f := range c.Check(s) {
			if n == 0 {
				fmt.Fprintln(os.Stderr, "testdb: statements Citus cannot distribute by tenant_id (internal/sqlcheck):")
			}
			n++
			fmt.Fprintln(os.Stderr, "  "+f.String())
		}
	}
	return n, nil
}

// Checker returns a sqlcheck.Checker for p's schema: its tenant tables
// (db.TenantTables) and the volatile functions of pg_proc.
func Checker(ctx context.Context, p *pgxpool.Pool) (*sqlcheck.Checker, error) {
	tables, err := db.TenantTables(ctx, p)
	if err != nil {
		return nil, err
	}
	rows, err := p.Query(ctx, `SELECT DISTINCT proname::text FROM pg_proc WHERE provolatile = 'v'`)
	if err != nil {
		return nil, fmt.Errorf("list volatile functions: %w", err)
	}
	volatile, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list volatile functions: %w", err)
	}
	return sqlcheck.New(tables, volatile), nil
}
