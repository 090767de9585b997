// Package testdb gives each test package its own real Postgres database,
// cloned from a template that is migrated once per schema version. It
// needs DATABASE_URL (set by `make test`) to point at a server with
// pgvector where the user may create databases.
package testdb

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/goleak"

	"github.com/cairn-rag/cairn/internal/config"
	"github.com/cairn-rag/cairn/internal/db"
	"github.com/cairn-rag/cairn/migrations"
	"github.com/cairn-rag/cairn/tenants"
)

var (
	once    sync.Once
	dbURL   string
	pool    *pgxpool.Pool
	initErr error
)

// Option changes what Main checks after the tests.
type Option func(*mainOptions)

type mainOptions struct {
	leaks    bool
	leakOpts []goleak.Option
}

// VerifyNoLeaks makes Main fail the run when goroutines the tests started
// are still running once they ended and the pool is closed (goleak; opts
// may ignore known ones). For packages that start servers, workers or
// streams.
func VerifyNoLeaks(opts ...goleak.Option) Option {
	return func(o *mainOptions) { o.leaks, o.leakOpts = true, opts }
}

// Main runs the package's tests and then drops its database. Call it from
// TestMain: func TestMain(m *testing.M) { testdb.Main(m) }.
func Main(m *testing.M, opts ...Option) {
	var o mainOptions
	for _, opt := range opts {
		opt(&o)
	}
	code := m.Run()
	if code == 0 && os.Getenv("CAIRN_SQLCHECK") != "off" {
		// Every statement the tests made the code send must be one that
		// Citus can route by tenant_id (see trace.go).
		setup()
		if initErr == nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			n, err := checkStatements(ctx, pool)
			cancel()
			if err != nil || n > 0 {
				fmt.Fprintf(os.Stderr, "testdb: statement check: %d findings %v\n", n, err)
				code = 1
			}
		}
	}
	if pool != nil {
		pool.Close()
		if err := dropDatabase(dbURL); err != nil {
			fmt.Fprintln(os.Stderr, "testdb:", err)
		}
	}
	if o.leaks && code == 0 {
		if err := goleak.Find(o.leakOpts...); err != nil {
			fmt.Fprintln(os.Stderr, "testdb: goroutines leaked by the tests:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// Pool returns the package's pool on its own migrated database.
func Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	setup()
	if initErr != nil {
		t.Fatalf("testdb: %v", initErr)
	}
	return pool
}

// URL returns the connection URL of the package's database.
func URL(t testing.TB) string {
	t.Helper()
	Pool(t)
	return dbURL
}

// Fresh returns the URL of a new, empty (unmigrated) database that is
// dropped when t ends; for migration tests.
func Fresh(t testing.TB) string {
	t.Helper()
	admin := adminURL(t)
	name := "cairn_fresh_" + randomSuffix()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("testdb: connect: %v", err)
	}
	defer closeAdmin(ctx, conn)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("testdb: create %s: %v", name, err)
	}
	u := withDatabase(admin, name)
	t.Cleanup(func() { _ = dropDatabase(u) })
	return u
}

// Config returns the validated configuration a test server runs with:
// DATABASE_URL is the package's database, env overrides other variables,
// and everything else takes its default.
func Config(t testing.TB, env map[string]string) config.Config {
	t.Helper()
	url := URL(t)
	cfg, err := config.Load(func(k string) string {
		if k == "DATABASE_URL" {
			return url
		}
		return env[k]
	})
	if err != nil {
		t.Fatalf("testdb: config: %v", err)
	}
	return cfg
}

// Tenant creates a tenant with a unique name and returns its id and key.
func Tenant(t testing.TB, p *pgxpool.Pool) (uuid.UUID, string) {
	t.Helper()
	tn, key, err := tenants.NewStore(p).Create(context.Background(), "test-"+randomSuffix())
	if err != nil {
		t.Fatalf("testdb: create tenant: %v", err)
	}
	return tn.ID, key.Secret
}

func adminURL(t testing.TB) string {
	u := os.Getenv("DATABASE_URL")
	if u == "" {
		t.Fatalf("testdb: DATABASE_URL is not set; run the tests with `make test`")
	}
	return u
}

func setup() {
	once.Do(func() {
		admin := os.Getenv("DATABASE_URL")
		if admin == "" {
			initErr = fmt.Errorf("DATABASE_URL is not set; run the tests with `make test`")
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		tpl, err := ensureTemplate(ctx, admin)
		if err != nil {
			initErr = err
			return
		}
		name := "cairn_test_" + randomSuffix()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			initErr = fmt.Errorf("connect: %w", err)
			return
		}
		defer closeAdmin(ctx, conn)
		if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s",
			pgx.Identifier{name}.Sanitize(), pgx.Identifier{tpl}.Sanitize())); err != nil {
			initErr = fmt.Errorf("clone template %s: %w", tpl, err)
			return
		}
		dbURL = withDatabase(admin, name)
		pool, initErr = db.Open(ctx, dbURL, 80)
	})
}

// ensureTemplate creates and migrates the template for the current
// migrations once, serialised across test processes by an advisory lock.
func ensureTemplate(ctx context.Context, admin string) (string, error) {
	h := sha256.New()
	_ = fs.WalkDir(migrations.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := fs.ReadFile(migrations.FS, path)
		h.Write([]byte(path))
		h.Write(b)
		return nil
	})
	tpl := "cairn_tpl_" + hex.EncodeToString(h.Sum(nil))[:16]

	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", fmt.Errorf("connect to %s: %w", redact(admin), err)
	}
	defer closeAdmin(ctx, conn)
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(727274)`); err != nil {
		return "", fmt.Errorf("template lock: %w", err)
	}
	defer conn.Exec(context.Background(), `SELECT pg_advisory_unlock(727274)`) //nolint:errcheck // closing the connection releases the lock anyway

	var ready bool
	err = conn.QueryRow(ctx, `SELECT datistemplate FROM pg_database WHERE datname = $1`, tpl).Scan(&ready)
	if err == nil && ready {
		return tpl, nil
	}
	if err == nil { // a half-made template from a crashed run
		if _, err := conn.Exec(ctx, "DROP DATABASE "+pgx.Identifier{tpl}.Sanitize()+" WITH (FORCE)"); err != nil {
			return "", fmt.Errorf("drop stale template: %w", err)
		}
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{tpl}.Sanitize()); err != nil {
		return "", fmt.Errorf("create template: %w", err)
	}
	tplURL := withDatabase(admin, tpl)
	p, err := db.Open(ctx, tplURL, 4)
	if err != nil {
		return "", err
	}
	m, err := db.NewMigrator(p)
	if err != nil {
		p.Close()
		return "", err
	}
	_, err = m.Up(ctx)
	err = errors.Join(err, m.Close())
	p.Close()
	if err != nil {
		return "", fmt.Errorf("migrate template: %w", err)
	}
	if _, err := conn.Exec(ctx, `UPDATE pg_database SET datistemplate = true WHERE datname = $1`, tpl); err != nil {
		return "", fmt.Errorf("mark template: %w", err)
	}
	return tpl, nil
}

// closeAdmin closes an admin connection. Its statements have each run in
// their own implicit transaction, so a failed close loses nothing.
func closeAdmin(ctx context.Context, conn *pgx.Conn) { _ = conn.Close(ctx) }

func dropDatabase(u string) error {
	parsed, err := url.Parse(u)
	if err != nil {
		return err
	}
	name := strings.TrimPrefix(parsed.Path, "/")
	admin := os.Getenv("DATABASE_URL")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer closeAdmin(ctx, conn)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop %s: %w", name, err)
	}
	return nil
}

func withDatabase(u, name string) string {
	parsed, err := url.Parse(u)
	if err != nil {
		return u
	}
	parsed.Path = "/" + name
	return parsed.String()
}

func redact(u string) string {
	parsed, err := url.Parse(u)
	if err != nil {
		return "DATABASE_URL"
	}
	return parsed.Redacted()
}

func randomSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
